"""The fake's own records: refunds, trades, parcels and refund messages (money in fen, UTC times).

Buyer personal data (nick, receiver name/phone/address) lives here because the platform has it;
the connector must never store it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Parcel:
    carrier: str
    waybill: str
    status: str  # in_transit, delivered, lost, refused, returned
    shipped_at: datetime
    delivered_at: datetime | None = None


@dataclass(slots=True)
class Message:
    id: int
    refund_id: str
    owner_role: int  # 1 buyer, 2 seller, 3 platform staff
    owner_nick: str
    owner_open_uid: str
    content: str
    created: datetime
    refund_phase: str
    message_type: str = "NORMAL"
    pic_urls: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Trade:
    tid: int
    shop_id: str
    status: str  # TOP trade status
    created: datetime
    modified: datetime
    payment_fen: int
    buyer_nick: str
    buyer_open_uid: str
    receiver_name: str
    receiver_mobile: str
    receiver_address: str
    parcel: Parcel | None = None
    memo: str | None = None
    flag: int = 0


@dataclass(slots=True)
class Item:
    num_iid: int
    shop_id: str
    title: str
    sku: str
    price_fen: int
    no_reason_eligible: bool


@dataclass(slots=True)
class Refund:
    refund_id: str
    shop_id: str
    tmall: bool
    tid: int
    oid: int
    item: Item
    num: int
    seller_nick: str
    buyer_id: str
    buyer_nick: str
    buyer_open_uid: str
    case_type: str  # canonical: refund_only, return_and_refund, exchange, repair
    reason: str  # canonical reason code (ground truth for CaseView)
    reason_text: str  # what the wire shows
    desc: str
    status: str  # TOP refund status
    total_fee_fen: int
    refund_fee_fen: int
    created: datetime
    modified: datetime
    version: int
    refund_phase: str
    good_status: str
    operation_contraint: str | None = None
    refunded_fen: int = 0
    cs_status: int = 1
    escalated: bool = False
    dispute_outcome: str = "seller"
    deadline: datetime | None = None
    deadline_rule: str | None = None
    auto_acted: bool = False
    end_time: datetime | None = None
    return_parcel: Parcel | None = None
    address: str | None = None
    post_fee_bear_role: int | None = None
    refuse_message: str | None = None
    label: str | None = None
    warehouse_state: str | None = None
    evidence: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def has_good_return(self) -> bool:
        return self.case_type != "refund_only"

    @property
    def is_open(self) -> bool:
        return self.status not in {"SUCCESS", "CLOSED"}
