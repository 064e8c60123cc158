"""TOP refund records <-> the canonical case, and canonical effects -> TOP request parameters.

Pure functions, no I/O. A wire field that cannot be converted becomes a ``FieldProblem`` naming
the wire field, and the record is quarantined whole; nothing is guessed or dropped. Buyer names,
phones and addresses are never read into a case, and are scrubbed from kept raw payloads.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from adapters._rpc.fields import not_a_single_value
from adapters._rpc.media import url_evidence
from adapters._rpc.values import parse_local_time, yuan_to_fen
from adapters.taobao.reasons import reason_code
from connector.errors import FieldProblem
from connector.models import (
    CaseStatus,
    CaseType,
    ChatMessage,
    ChatRole,
    Evidence,
    Logistics,
    OrderStatus,
    QuarantinedCase,
    RefundCase,
    ReturnLogistics,
    TrackStep,
    parse_case,
)
from connector.payload_caps import cap_text, keep_latest
from connector.privacy import mask_free_text

PLATFORM = "taobao"

# What we ask taobao.refunds.receive.get / taobao.refund.get for (never buyer_nick).
LIST_FIELDS: tuple[str, ...] = (
    "refund_id",
    "tid",
    "oid",
    "title",
    "total_fee",
    "payment",
    "refund_fee",
    "status",
    "created",
    "modified",
    "reason",
    "desc",
    "has_good_return",
    "good_status",
    "order_status",
    "refund_phase",
    "refund_version",
    "dispute_type",
    "sid",
    "company_name",
    "num",
    "sku",
    "outer_id",
    "operation_contraint",
    "buyer_open_uid",
)
DETAIL_FIELDS: tuple[str, ...] = (
    *LIST_FIELDS,
    "num_iid",
    "price",
    "cs_status",
    "refund_remind_timeout",
    "good_return_time",
)
MESSAGE_FIELDS: tuple[str, ...] = (
    "id",
    "refund_id",
    "content",
    "created",
    "message_type",
    "owner_role",
    "pic_urls",
)

_STATUS: dict[str, CaseStatus] = {
    "WAIT_SELLER_AGREE": CaseStatus.awaiting_seller,
    "WAIT_BUYER_RETURN_GOODS": CaseStatus.awaiting_buyer_return,
    "WAIT_SELLER_CONFIRM_GOODS": CaseStatus.awaiting_seller_receipt,
    "SELLER_REFUSE_BUYER": CaseStatus.refused,
    "CLOSED": CaseStatus.closed,
    "SUCCESS": CaseStatus.refunded,
    # Exchanges: the seller must ship the replacement, or the buyer must confirm it.
    "WAIT_SELLER_CONSIGN_GOODS": CaseStatus.awaiting_seller,
    "EXCHANGE_TRANSFORM_TO_REFUND": CaseStatus.awaiting_seller,
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": CaseStatus.awaiting_buyer_return,
}
# cs_status: 2 CS needed, 3 intervened, 4 first review done, 5 re-review failed,
# 10 evidence period, 11 appeal open -> the platform's staff are deciding.
_DISPUTE_CS_STATUS = frozenset({"2", "3", "4", "5", "10", "11"})

_TYPE: dict[str, CaseType] = {
    "REFUND": CaseType.refund_only,
    "REFUND_AND_RETURN": CaseType.return_and_refund,
    "TMALL_EXCHANGE": CaseType.exchange,
    "TAOBAO_EXCHANGE": CaseType.exchange,
    "RESHIPPING": CaseType.exchange,
    "REPAIR": CaseType.repair,
}

_ORDER_STATUS: dict[str, OrderStatus | None] = {
    "WAIT_BUYER_PAY": OrderStatus.not_shipped,
    "WAIT_SELLER_SEND_GOODS": OrderStatus.not_shipped,
    "SELLER_CONSIGNED_PART": OrderStatus.shipped,
    "WAIT_BUYER_CONFIRM_GOODS": OrderStatus.shipped,
    "TRADE_BUYER_SIGNED": OrderStatus.delivered,
    "TRADE_FINISHED": OrderStatus.completed,
    # A closed trade says nothing about the parcel; good_status and the trace decide.
    "TRADE_CLOSED": None,
    "TRADE_CLOSED_BY_TAOBAO": None,
}
_RECEIVED_GOOD_STATUS = frozenset({"BUYER_RECEIVED", "BUYER_RETURNED_GOODS"})

_PRIVATE_WORDS = ("nick", "name", "phone", "mobile", "tel", "address", "receiver", "post")


@dataclass(frozen=True, slots=True)
class CaseExtras:
    """What ``get_case`` gathers beyond the refund record itself."""

    logistics: Logistics | None = None
    return_logistics: ReturnLogistics | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    evidence: tuple[Evidence, ...] = ()
    no_reason_eligible: bool | None = None
    chat: tuple[ChatMessage, ...] = ()
    logistics_steps: tuple[TrackStep, ...] = ()
    return_logistics_steps: tuple[TrackStep, ...] = ()


_T = TypeVar("_T")


@dataclass(slots=True)
class _Collector:
    """Converts wire fields, collecting a problem per bad field instead of failing at the first."""

    wire: Mapping[str, Any]
    problems: list[FieldProblem] = field(default_factory=list)

    def convert(
        self, name: str, convert: Callable[[Any], _T], *, required: bool = True
    ) -> _T | None:
        value = self.wire.get(name)
        if value is None or value == "":
            if required:
                self.problems.append(FieldProblem(name, "is required but missing"))
            return None
        try:
            return convert(value)
        except (ValueError, TypeError, KeyError) as exc:
            self.problems.append(FieldProblem(name, str(exc)))
            return None

    def text(self, name: str) -> str:
        """The field as text; absent is empty. An object or list here is a problem, not text."""
        value = self.wire.get(name)
        if isinstance(value, Mapping | list | tuple):
            problem = FieldProblem(name, not_a_single_value(value))
            if problem not in self.problems:
                self.problems.append(problem)
            return ""
        return "" if value is None else str(value)


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        msg = f"must be an id (text or number, got {value!r})"
        raise ValueError(msg)
    text = str(value).strip()
    if not text:
        msg = "must not be empty"
        raise ValueError(msg)
    return text


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    msg = f"must be true or false (got {value!r})"
    raise ValueError(msg)


def _count(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number (got {value!r})")
    try:
        number = int(str(value))
    except ValueError as exc:
        raise ValueError(f"must be a whole number (got {value!r})") from exc
    if number < 1:
        raise ValueError(f"must be at least 1 (got {value!r})")
    return number


def _lookup(table: Mapping[str, _T], what: str) -> Callable[[Any], _T]:
    def convert(value: Any) -> _T:
        key = str(value)
        if key not in table:
            known = ", ".join(sorted(table))
            raise ValueError(f"{key!r} is not a known {what} (known: {known})")
        return table[key]

    return convert


def _sku(get: _Collector) -> str | None:
    sku = get.text("sku").split("|", 1)[0].strip()
    for candidate in (get.text("outer_id"), sku, get.text("num_iid"), get.text("oid")):
        if candidate:
            return candidate
    return None


def _deadline(value: Any) -> datetime | None:
    if not isinstance(value, Mapping):
        raise ValueError(f"must be an object with exist_timeout and timeout (got {value!r})")
    exists = value.get("exist_timeout")
    if exists in (False, "false", None) or not value.get("timeout"):
        return None
    return parse_local_time(value["timeout"])


def private_free(wire: Mapping[str, Any]) -> dict[str, Any]:
    """The wire record without buyer names, phones or addresses, for the audit log."""
    return {
        key: value
        for key, value in wire.items()
        if not any(word in key.lower() for word in _PRIVATE_WORDS)
    }


def refund_to_case(
    wire: Any, *, shop_id: str, tmall: bool, extras: CaseExtras | None = None
) -> RefundCase | QuarantinedCase:
    """One TOP ``Refund`` record as a canonical case, or quarantined with the wire field named."""
    if not isinstance(wire, Mapping):
        problem = FieldProblem("refund", f"must be an object (got {type(wire).__name__})")
        return QuarantinedCase(platform=PLATFORM, shop_id=shop_id, problems=(problem,), raw=wire)
    extras = extras or CaseExtras()
    get = _Collector(wire)
    case_id = get.convert("refund_id", _id)
    order_id = get.convert("tid", _id)
    refund_amount = get.convert("refund_fee", yuan_to_fen)
    paid_amount = get.convert("total_fee", yuan_to_fen)
    unit_price = get.convert("price", yuan_to_fen, required=False)
    quantity = get.convert("num", _count, required=False) or 1
    created_at = get.convert("created", parse_local_time, required=False)
    updated_at = get.convert("modified", parse_local_time)
    deadline_at = get.convert("refund_remind_timeout", _deadline, required=False)
    status = get.convert("status", _lookup(_STATUS, "refund status"))
    cs_status = get.text("cs_status")
    still_open = status not in {None, CaseStatus.refunded, CaseStatus.closed}
    if still_open and cs_status in _DISPUTE_CS_STATUS:
        status = CaseStatus.in_dispute
    case_type = _case_type(get)
    order_status = _order_status(get, extras)
    buyer_id = get.text("buyer_open_uid") or get.text("ouid")
    if not buyer_id:
        get.problems.append(FieldProblem("buyer_open_uid", "is required but missing"))
    sku = _sku(get)
    if sku is None:
        get.problems.append(FieldProblem("sku", "is required but missing (also no outer_id)"))
    reason_text = get.text("reason")
    title = get.text("title")
    version = get.text("refund_version") or None
    platform_fields = _platform_fields(get, tmall=tmall)
    return_logistics = extras.return_logistics or _return_logistics(get)
    if get.problems:
        return QuarantinedCase(
            platform=PLATFORM,
            shop_id=shop_id,
            case_id=case_id,
            problems=tuple(get.problems),
            raw=private_free(wire),
        )
    if unit_price is None and paid_amount is not None:
        unit_price = paid_amount // quantity
    canonical: dict[str, Any] = {
        "platform": PLATFORM,
        "shop_id": shop_id,
        "case_id": case_id,
        "order_id": order_id,
        "item": {
            "sku": sku,
            "title": title,
            "quantity": quantity,
            "price": unit_price,
            "no_reason_eligible": bool(extras.no_reason_eligible),
        },
        "type": case_type,
        "reason": reason_code(reason_text),
        "reason_text": reason_text,
        "status": status,
        "order_status": order_status,
        "paid_amount": paid_amount,
        "refund_amount": refund_amount,
        "created_at": created_at,
        "updated_at": updated_at,
        "deadline_at": deadline_at,
        "shipped_at": extras.shipped_at,
        "delivered_at": extras.delivered_at,
        "logistics": extras.logistics,
        "return_logistics": return_logistics,
        "evidence": extras.evidence,
        "chat": extras.chat,
        "logistics_steps": extras.logistics_steps,
        "return_logistics_steps": extras.return_logistics_steps,
        "buyer": {"id": buyer_id},
        "version": version,
        "platform_fields": platform_fields,
    }
    parsed = parse_case(canonical)
    if isinstance(parsed, QuarantinedCase):
        return parsed.model_copy(update={"raw": private_free(wire)})
    return parsed


def _case_type(get: _Collector) -> CaseType | None:
    dispute_type = get.text("dispute_type")
    if dispute_type in _TYPE:
        return _TYPE[dispute_type]
    has_return = get.convert("has_good_return", _bool)
    if has_return is None:
        return None
    return CaseType.return_and_refund if has_return else CaseType.refund_only


def _order_status(get: _Collector, extras: CaseExtras) -> OrderStatus | None:
    raw = get.text("order_status")
    if raw not in _ORDER_STATUS:
        known = ", ".join(sorted(_ORDER_STATUS))
        reason = f"{raw!r} is not a known trade status (known: {known})"
        get.problems.append(
            FieldProblem("order_status", reason if raw else "is required but missing")
        )
        return None
    status = _ORDER_STATUS[raw]
    received = get.text("good_status") in _RECEIVED_GOOD_STATUS
    delivered = (
        received
        or extras.delivered_at is not None
        or (extras.logistics is not None and extras.logistics.status == "delivered")
    )
    if status is None:  # a closed trade: read what happened to the parcel
        shipped = bool(get.text("sid")) or extras.logistics is not None
        status = OrderStatus.shipped if shipped else OrderStatus.not_shipped
    if status is OrderStatus.shipped and delivered:
        return OrderStatus.delivered
    return status


def _return_logistics(get: _Collector) -> ReturnLogistics | None:
    """The buyer's return parcel, when the refund record names one (sid, company_name)."""
    waybill = get.text("sid")
    if not waybill:
        return None
    received = get.text("status") == "SUCCESS" or get.text("good_status") == "BUYER_RECEIVED"
    return ReturnLogistics(
        carrier=get.text("company_name") or None,
        waybill=waybill,
        status="delivered" if received else "in_transit",
    )


def _platform_fields(get: _Collector, *, tmall: bool) -> dict[str, str]:
    fields = {"tmall": "true" if tmall else "false"}
    for name in (
        "refund_phase",
        "operation_contraint",
        "tid",
        "oid",
        "status",
        "dispute_type",
        "cs_status",
        "good_status",
        "order_status",
    ):
        value = get.text(name)
        if value:
            fields[name] = value
    return fields


# ---- evidence and logistics -------------------------------------------------------------------

BUYER_ROLE = "1"


def messages_to_evidence(messages: Sequence[Any]) -> tuple[Evidence, ...]:
    """Pictures (or videos) the buyer attached to refund messages; other roles are ignored."""
    evidence: list[Evidence] = []
    for message in messages:
        if not isinstance(message, Mapping) or str(message.get("owner_role")) != BUYER_ROLE:
            continue
        evidence.extend(url_evidence(url) for url in _pic_urls(message.get("pic_urls")))
    return tuple(evidence)


_CHAT_ROLES = {"1": ChatRole.buyer, "2": ChatRole.seller, "3": ChatRole.platform}
MAX_CHAT_MESSAGES = 200
"""Messages kept per case (the latest ones); the adapter reads at most a few pages."""


def messages_to_chat(messages: Sequence[Any]) -> tuple[ChatMessage, ...]:
    """The refund's messages as the desk's chat record, oldest first: who (buyer, seller,
    platform staff), when, the words with personal data masked and capped, how many pictures;
    the latest messages only when there are very many (``MAX_CHAT_MESSAGES``, ``keep_latest``).

    Never the sender's nick or open uid. A message of an unknown role or unreadable time is
    kept with what can be read (the role as platform, no time) rather than dropped."""
    chat: list[tuple[datetime | None, int, ChatMessage]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            continue
        role = _CHAT_ROLES.get(str(message.get("owner_role")), ChatRole.platform)
        try:
            at = parse_local_time(message["created"]) if message.get("created") else None
        except (ValueError, TypeError):
            at = None
        content = message.get("content")
        words = content if isinstance(content, str) else ""
        entry = ChatMessage(
            at=at,
            role=role,
            text=cap_text(mask_free_text(words)),
            pictures=len(_pic_urls(message.get("pic_urls"))),
        )
        chat.append((at, index, entry))
    chat.sort(key=lambda t: (t[0] is not None, t[0] or _EPOCH, t[1]))
    latest = [entry for _, _, entry in chat[-MAX_CHAT_MESSAGES:]]
    return keep_latest(latest, lambda m: m.text)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _pic_urls(value: Any) -> list[str]:
    """``pic_urls`` arrives as ``[{"url": ..}]`` or wrapped ``{"pic_url": [..]}``."""
    if isinstance(value, Mapping):
        value = next(iter(value.values()), [])
    if isinstance(value, Mapping):
        value = [value]
    urls: list[str] = []
    for entry in value if isinstance(value, list) else []:
        url = entry.get("url") if isinstance(entry, Mapping) else entry
        if isinstance(url, str) and url:
            urls.append(url)
    return urls


def decode_image(value: Any, name: str) -> bytes:
    """Effect image parameters are bytes, or base64 text once they went through JSON."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"{name} must be image bytes or base64 text") from exc
    raise ValueError(f"{name} must be image bytes or base64 text (got {type(value).__name__})")


def image_part(content: bytes, stem: str) -> tuple[str, bytes, str]:
    """A multipart file part with the media type read from the image's magic bytes."""
    if content.startswith(b"\x89PNG"):
        return (f"{stem}.png", content, "image/png")
    if content.startswith(b"GIF8"):
        return (f"{stem}.gif", content, "image/gif")
    return (f"{stem}.jpg", content, "image/jpeg")
