"""CaseSpec: a platform-neutral description of a case for a fake to create (docs/mocks.md).

Written in the casebook's canonical words; each fake turns a spec into its own wire record.
Unknown keys are refused, so a typo in a scenario file is an error naming the key, not a case
silently built from defaults.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

CaseTypeName = Literal["refund_only", "return_and_refund", "exchange", "repair"]
ReasonName = Literal[
    "no_reason_7d",
    "not_as_described",
    "quality",
    "damaged",
    "shipping_fee",
    "not_received",
    "invoice",
    "late_shipment",
    "out_of_stock",
    "wrong_order",
    "changed_mind",
    "wrong_item_sent",
    "price_difference",
    "other",
]
StatusName = Literal[
    "awaiting_seller",
    "awaiting_buyer_return",
    "awaiting_seller_receipt",
    "refused",
    "in_dispute",
    "refunded",
    "closed",
]
OrderStatusName = Literal["not_shipped", "shipped", "delivered", "completed"]
LogisticsName = Literal["in_transit", "delivered", "lost", "refused", "returned"]
ReturnLogisticsName = Literal["in_transit", "delivered"]
EvidenceKind = Literal["photo", "video", "chat"]
WarehouseState = Literal["not_printed", "printed", "shipped", "voided"]


class ItemSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = "SKU-1"
    title: str = "sample item"
    category: str = "general"
    quantity: int = Field(default=1, ge=1)
    price: int = Field(default=9900, ge=0, description="fen")
    no_reason_eligible: bool = True


class CaseSpec(BaseModel):
    """What to create. Money is fen; times are aware; personal data exists only inside the fake."""

    model_config = ConfigDict(extra="forbid")

    shop_id: str
    case_id: str | None = None
    type: CaseTypeName = "refund_only"
    reason: ReasonName = "other"
    reason_text: str | None = None
    status: StatusName = "awaiting_seller"
    order_status: OrderStatusName = "not_shipped"
    paid_amount: int = Field(default=9900, ge=0)
    refund_amount: int | None = Field(default=None, description="fen; default = paid_amount")
    item: ItemSpec = Field(default_factory=ItemSpec)
    created_at: AwareDatetime | None = None
    deadline_s: float | None = Field(default=None, ge=0)
    shipped_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    logistics_status: LogisticsName | None = None
    carrier: str | None = None
    waybill: str | None = None
    return_logistics_status: ReturnLogisticsName | None = None
    return_carrier: str | None = None
    return_waybill: str | None = None
    evidence: list[EvidenceKind] = Field(default_factory=list)
    buyer_id: str | None = None
    buyer_name: str | None = None
    buyer_phone: str | None = None
    buyer_address: str | None = None
    # Platform extras: a fake uses those that exist on its platform and ignores the rest.
    tmall: bool | None = None
    cannot_refuse: bool = False
    phase: Literal["onsale", "aftersale"] | None = None
    warehouse_state: WarehouseState | None = None
    dispute_outcome: Literal["buyer", "seller"] = "seller"
    label: str | None = Field(default=None, description="which situation a generator meant")

    @property
    def requested_amount(self) -> int:
        return self.paid_amount if self.refund_amount is None else self.refund_amount


def parse_specs(raw: object) -> list[CaseSpec]:
    """Validate a list of CaseSpec dicts; the error names the index and the field."""
    if not isinstance(raw, list):
        msg = "cases must be a list of CaseSpec objects"
        raise ValueError(msg)
    specs: list[CaseSpec] = []
    for index, item in enumerate(raw):
        try:
            specs.append(CaseSpec.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            msg = f"cases[{index}] is not a valid CaseSpec: {problems}"
            raise ValueError(msg) from exc
    return specs


def spec_created_at(spec: CaseSpec, now: datetime) -> datetime:
    return spec.created_at if spec.created_at is not None else now
