"""Evidence the connector assembles for a refusal: the delivery record or logistics trace as an
image for the platform's proof upload, with its SHA-256 so the audit log shows what was sent.

Rendered in Chinese when a CJK font is installed, in English otherwise; kept under the
platform's size limit (Taobao: 130,000 bytes for ``refuse_proof``). Rendering is deterministic:
the same case facts give the same bytes and the same hash.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from connector.clock import BEIJING
from connector.effects import EffectKind
from connector.models import RefundCase

PROOF_MAX_BYTES = 130_000

_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
_LATIN_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def _font() -> tuple[FontType, bool]:
    for path in _CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, 18), True
    for path in _LATIN_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, 16), False
    return ImageFont.load_default(), False


def _when(value: Any) -> str:
    return "-" if value is None else value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M (UTC+8)")


def record_lines(case: RefundCase, kinds: list[str], *, chinese: bool) -> list[str]:
    """The facts shown on the proof image; never buyer personal data."""
    logistics = case.logistics
    carrier = (logistics.carrier if logistics else None) or "-"
    waybill = (logistics.waybill if logistics else None) or "-"
    status = logistics.status.value if logistics else "-"
    if chinese:
        lines = [
            "签收记录 / 物流凭证",
            f"订单号：{case.order_id}    售后单号：{case.case_id}",
            f"商品：{case.item.sku} {case.item.title}"[:60],
            f"快递公司：{carrier}    运单号：{waybill}",
            f"物流状态：{status}",
            f"发货时间：{_when(case.shipped_at)}",
            f"签收时间：{_when(case.delivered_at)}",
        ]
    else:
        lines = [
            "Delivery record / logistics evidence",
            f"Order: {case.order_id}    Case: {case.case_id}",
            f"Item: {case.item.sku} {case.item.title}"[:60],
            f"Carrier: {carrier}    Waybill: {waybill}",
            f"Logistics status: {status}",
            f"Shipped: {_when(case.shipped_at)}",
            f"Delivered: {_when(case.delivered_at)}",
        ]
    if "chat_record" in kinds:
        chats = [e.url for e in case.evidence if e.kind.value == "chat" and e.url]
        head = "买家聊天记录：" if chinese else "Buyer's chat record: "
        lines.extend(head + url for url in chats[:5])
        if not chats:
            lines.append(head + ("无" if chinese else "none sent"))
    lines.append(("附：" if chinese else "Attached: ") + ", ".join(kinds or ["delivery_record"]))
    return lines


def render_record(case: RefundCase, kinds: list[str]) -> bytes:
    """A PNG of the delivery record, under the platform's proof size limit."""
    font, chinese = _font()
    lines = record_lines(case, kinds, chinese=chinese)
    width, line_height = 760, 30
    image = Image.new("L", (width, 24 + line_height * len(lines)), color=255)
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(lines):
        draw.text((16, 12 + row * line_height), text, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    data = out.getvalue()
    if len(data) > PROOF_MAX_BYTES:  # pragma: no cover - a few KB in practice
        image = image.resize((width // 2, image.height // 2))
        out = io.BytesIO()
        image.save(out, format="PNG")
        data = out.getvalue()
    return data


def render_note(lines: list[str]) -> bytes:
    """A PNG of a short text (a message's picture: TOP requires one with every message)."""
    font, chinese = _font()
    wrapped: list[str] = []
    for line in lines:
        step = 34 if chinese else 70
        wrapped.extend(line[i : i + step] for i in range(0, max(len(line), 1), step))
    width, line_height = 760, 30
    image = Image.new("L", (width, 24 + line_height * len(wrapped)), color=255)
    draw = ImageDraw.Draw(image)
    for row, text in enumerate(wrapped):
        draw.text((16, 12 + row * line_height), text, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _encoded(name: str, data: bytes) -> dict[str, Any]:
    return {
        f"{name}_b64": base64.b64encode(data).decode("ascii"),
        f"{name}_sha256": hashlib.sha256(data).hexdigest(),
        f"{name}_bytes": len(data),
    }


@dataclass(frozen=True, slots=True)
class EvidenceBuilder:
    """Adds pictures to effect parameters at decision time (stored with the effect, hashed)."""

    def attach(
        self,
        kind: EffectKind,
        params: dict[str, Any],
        case: RefundCase,
        *,
        no_proof_image: str | None = None,
    ) -> dict[str, Any]:
        """``no_proof_image``: why the platform's refusal takes no image. Then none is built
        (a hash in the audit log would claim a picture that never went), and the why is kept."""
        if kind is EffectKind.refuse_refund:
            if no_proof_image is not None:
                return {**params, "proof_image_not_sent": no_proof_image}
            kinds = list(params.get("evidence_kinds") or [])
            return {**params, **_encoded("proof_image", render_record(case, kinds))}
        if kind is EffectKind.message_buyer:
            content = str(params.get("content") or "")
            picture = render_note([f"{case.order_id} / {case.case_id}", content])
            return {**params, **_encoded("image", picture)}
        return params

    @staticmethod
    def wire_params(params: dict[str, Any]) -> dict[str, Any]:
        """What the adapter receives: pictures as bytes rather than base64 text."""
        out: dict[str, Any] = {}
        for key, value in params.items():
            if key.endswith("_b64") and isinstance(value, str):
                out[key.removesuffix("_b64")] = base64.b64decode(value)
            else:
                out[key] = value
        return out
