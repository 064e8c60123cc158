"""Buyer-facing texts and order memos, from templates (Chinese by default, editable per shop).

Texts stay within the platforms' limits (a refusal message is 2-200 characters on Taobao; a
refund message at most 400 bytes) and never carry buyer personal data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from string import Template

from connector.models import Reason, RefundCase

REFUSAL_MAX_CHARS = 200
MESSAGE_MAX_BYTES = 400

DEFAULT_TEMPLATES: dict[str, str] = {
    "ask_to_modify": (
        "您好，您的订单 $order_id 显示已签收商品。如商品有问题，请将售后类型修改为“退货退款”"
        "并选择对应原因，我们收到退货后会尽快处理。"
    ),
    "refusal.no_reason_window": (
        "您好，订单 $order_id 已于 $delivered_on 签收，已超过7天无理由退货期限，"
        "本次申请无法同意，签收记录已作为凭证上传。"
    ),
    "refusal.default": (
        "您好，订单 $order_id 的本次申请暂不符合同意条件，相关凭证已上传，如有疑问请联系客服。"
    ),
    # For platforms whose refusal takes text only (no proof upload): no claim of an upload.
    "refusal.no_reason_window.text_only": (
        "您好，订单 $order_id 已于 $delivered_on 签收，已超过7天无理由退货期限，本次申请无法同意。"
    ),
    "refusal.default.text_only": (
        "您好，订单 $order_id 的本次申请暂不符合同意条件，如有疑问请联系客服。"
    ),
    "memo.refunded": "[售后] $case_id 已退款 $amount_yuan 元（$decided_by），请勿重复退款。",
}


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True, slots=True)
class MessageTemplates:
    """Template texts by name; ``overrides`` (a shop's own) win over the defaults."""

    overrides: dict[str, str] = field(default_factory=dict)
    reason_ids: dict[str, str] = field(default_factory=dict)
    """Template name -> the platform's refusal reason id (Taobao's refuse_reason_id)."""

    def refusal_template(self, case: RefundCase) -> str:
        return (
            "refusal.no_reason_window" if case.reason is Reason.no_reason_7d else "refusal.default"
        )

    def refusal_reason_id(self, case: RefundCase) -> str | None:
        return self.reason_ids.get(self.refusal_template(case))

    def _render(self, name: str, case: RefundCase, **extra: str) -> str:
        text = self.overrides.get(name) or DEFAULT_TEMPLATES[name]
        values = {
            "order_id": case.order_id,
            "case_id": case.case_id,
            "delivered_on": (
                case.delivered_at.date().isoformat() if case.delivered_at else "（未知）"
            ),
            "refund_yuan": _yuan(case.refund_amount),
            **extra,
        }
        return Template(text).safe_substitute(values)

    def ask_to_modify(self, case: RefundCase) -> str:
        return _fit_bytes(self._render("ask_to_modify", case), MESSAGE_MAX_BYTES)

    def refusal(self, case: RefundCase, *, proof_uploaded: bool = True) -> str:
        """The refusal reason; ``proof_uploaded`` False where the refusal takes text only."""
        name = self.refusal_template(case) + ("" if proof_uploaded else ".text_only")
        text = self._render(name, case)[:REFUSAL_MAX_CHARS]
        return text if len(text) >= 2 else DEFAULT_TEMPLATES["refusal.default"][:REFUSAL_MAX_CHARS]

    def refund_memo(
        self, case: RefundCase, amount: int, decided_by: str = "refund-connector"
    ) -> str:
        return self._render("memo.refunded", case, amount_yuan=_yuan(amount), decided_by=decided_by)


def _fit_bytes(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")
