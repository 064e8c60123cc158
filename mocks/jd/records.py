"""The fake's records of the two JD case families, in JD's own terms (numbers, fen, aware times).

Buyer personal data (names, phones, addresses) lives here only so responses look real; views
for tests carry the pseudonymous ``oaid`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Buyer:
    pin: str  # the JD account (customerPin / buyerId): personal
    oaid: str  # pseudonymous per-app id (open_id_buyer / oaid)
    name: str
    phone: str
    address: str


@dataclass
class Parcel:
    carrier: str
    waybill: str
    status: str  # in_transit | delivered | lost | refused | returned
    shipped_at: datetime
    delivered_at: datetime | None = None


@dataclass
class Order:
    """The sales order both families point at (``orderId``)."""

    order_id: int
    shop_id: str
    paid_fen: int = 0
    created: datetime | None = None
    parcel: Parcel | None = None  # None until the seller ships
    warehouse_state: str | None = None

    @property
    def shipped(self) -> bool:
        return self.parcel is not None


@dataclass
class RefundApply:
    """A cancel-before-shipment refund application (``RefundApplyVo``); no version, no deadline."""

    apply_id: int
    shop_id: str
    order: Order
    buyer: Buyer
    status: int
    amount_fen: int
    reason: str  # canonical word
    reason_zh: str
    apply_time: datetime
    modified: datetime
    sku: str
    title: str
    check_time: datetime | None = None
    check_user: str | None = None
    check_remark: str | None = None
    reject_type: int | None = None
    refunded_fen: int = 0
    deadline: datetime | None = None
    deadline_rule: str | None = None
    stamp: int = 0  # internal change counter: stale timers are skipped by it
    auto_acted: bool = False
    label: str | None = None
    case_type: str = "refund_only"


@dataclass
class ServiceOrder:
    """One after-sale service order (``ServiceBrief`` + the audit fields of ``WaitAuditApply``)."""

    service_id: int
    apply_id: int
    shop_id: str
    order: Order
    buyer: Buyer
    expect: int  # customerExpect
    case_type: str
    status: int  # serviceStatus
    reason: str
    reason_text: str
    paid_fen: int  # actualPayPrice of this unit
    refund_fen: int  # what the customer asks back for this unit
    sku_id: int
    sku: str
    title: str
    apply_time: datetime
    updated: datetime
    sys_version: int = 1
    approve_time: datetime | None = None
    approve_pin: str | None = None
    approve_name: str | None = None
    approve_notes: str | None = None
    approve_result: int | None = None
    process_time: datetime | None = None
    process_pin: str | None = None
    process_name: str | None = None
    process_result: int | None = None
    receive_time: datetime | None = None
    quality_state: str | None = None
    return_parcel: Parcel | None = None
    pictures: list[str] = field(default_factory=list)
    refunded_fen: int = 0
    refund_done_at: datetime | None = None
    deadline: datetime | None = None
    deadline_rule: str | None = None
    audit_overtime: datetime | None = None
    escalated_from: int | None = None
    dispute_outcome: str = "seller"
    auto_acted: bool = False
    label: str | None = None
    logs: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, operator, text)
