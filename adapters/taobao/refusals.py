"""Refusals TOP forbids, declared so the core never spends a call that must fail.

``taobao.refund.refuse`` is illegal for a 7-day no-reason return and for goods not yet shipped:
TOP answers ``isv.refuse-forbidden:no-reason-7d`` / ``isv.refuse-forbidden:unshipped``.
Guarded by tests/unit/test_forbidden_refusals.py.
"""

from __future__ import annotations

from connector.adapter import ForbiddenRefusal
from connector.models import OrderStatus, Reason, RefundCase

NO_REASON_7D = ForbiddenRefusal(
    code="isv.refuse-forbidden:no-reason-7d",
    platform_words="七天无理由退货申请不能拒绝",
    reason_en="Taobao does not let a seller refuse a 7-day no-reason return; "
    "agree, or take it up with Taobao's customer service",
    reason_zh="淘宝不允许卖家拒绝七天无理由退货申请；请同意，或联系平台客服处理",
)
UNSHIPPED = ForbiddenRefusal(
    code="isv.refuse-forbidden:unshipped",
    platform_words="订单尚未发货，不能拒绝退款",
    reason_en="Taobao does not let a seller refuse a refund on goods not yet shipped",
    reason_zh="订单尚未发货，淘宝不允许卖家拒绝退款",
)


def refusal_forbidden(case: RefundCase) -> ForbiddenRefusal | None:
    if case.reason is Reason.no_reason_7d:
        return NO_REASON_7D
    if case.order_status is OrderStatus.not_shipped:
        return UNSHIPPED
    return None
