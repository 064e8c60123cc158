"""The canonical refund case: one shape for every platform, exactly as the casebook lists it.

Money is integer fen, times are timezone-aware, every closed set is an enum. Adapters map their
wire format into these models; the policy reads only these. A payload that does not validate is
never dropped: ``parse_case`` turns it into a ``QuarantinedCase`` carrying plain-words problems.
"""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from connector.errors import CaseValidationError, FieldProblem

MAX_AMOUNT_FEN = 10**12
"""Ten billion yuan: no order line comes near it. A larger amount (either sign) is a bad payload,
and would not fit the store's 64-bit integers once summed or multiplied. Amounts of 0 or below
stay valid canonical input (casebook rule 2 sends them to a person); adapters refuse negative
money on the wire, where the platform's protocol never sends it."""

MAX_QUANTITY = 1_000_000


class CaseType(StrEnum):
    refund_only = "refund_only"
    return_and_refund = "return_and_refund"
    exchange = "exchange"
    repair = "repair"


class Reason(StrEnum):
    no_reason_7d = "no_reason_7d"
    not_as_described = "not_as_described"
    quality = "quality"
    damaged = "damaged"
    shipping_fee = "shipping_fee"
    not_received = "not_received"
    invoice = "invoice"
    late_shipment = "late_shipment"
    out_of_stock = "out_of_stock"
    wrong_order = "wrong_order"
    changed_mind = "changed_mind"
    wrong_item_sent = "wrong_item_sent"
    price_difference = "price_difference"
    other = "other"


class CaseStatus(StrEnum):
    awaiting_seller = "awaiting_seller"
    awaiting_buyer_return = "awaiting_buyer_return"
    awaiting_seller_receipt = "awaiting_seller_receipt"
    refused = "refused"
    in_dispute = "in_dispute"
    refunded = "refunded"
    closed = "closed"


class OrderStatus(StrEnum):
    not_shipped = "not_shipped"
    shipped = "shipped"
    delivered = "delivered"
    completed = "completed"


class LogisticsStatus(StrEnum):
    in_transit = "in_transit"
    delivered = "delivered"
    lost = "lost"
    refused = "refused"
    returned = "returned"


class ReturnLogisticsStatus(StrEnum):
    in_transit = "in_transit"
    delivered = "delivered"


class EvidenceKind(StrEnum):
    photo = "photo"
    video = "video"
    chat = "chat"


class WarehouseState(StrEnum):
    not_printed = "not_printed"
    printed = "printed"
    shipped = "shipped"
    voided = "voided"


TERMINAL_STATUSES = frozenset({CaseStatus.refunded, CaseStatus.closed})
AFTER_SHIPMENT = frozenset({OrderStatus.shipped, OrderStatus.delivered, OrderStatus.completed})
AFTER_DELIVERY = frozenset({OrderStatus.delivered, OrderStatus.completed})


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=False)


class Item(_Model):
    sku: str
    title: str = ""
    category: str = ""
    quantity: StrictInt = Field(default=1, ge=1, le=MAX_QUANTITY)
    price: StrictInt = Field(ge=0, le=MAX_AMOUNT_FEN, description="unit price in fen")
    no_reason_eligible: StrictBool = False


class Logistics(_Model):
    carrier: str | None = None
    waybill: str | None = None
    status: LogisticsStatus


class ReturnLogistics(_Model):
    carrier: str | None = None
    waybill: str | None = None
    status: ReturnLogisticsStatus


class Inspection(_Model):
    resellable: StrictBool
    note: str = ""


class Evidence(_Model):
    kind: EvidenceKind
    url: str = ""


class ChatRole(StrEnum):
    buyer = "buyer"
    seller = "seller"
    platform = "platform"


class ChatMessage(_Model):
    """One message of the case's chat record (Taobao: the refund's messages), for the desk.

    Display only: not a case fact (``connector.casechange.DISPLAY_ONLY_FIELDS``). The adapter
    masks personal data in ``text`` (``connector.privacy.mask_free_text``) and caps it."""

    at: AwareDatetime | None = None
    role: ChatRole
    text: str = ""
    pictures: StrictInt = Field(default=0, ge=0)


class TrackStep(_Model):
    """One step of a parcel's logistics trace: when, and the carrier's words (where and what).

    Display only, like ``ChatMessage``; the parcel's status stays in ``Logistics``."""

    at: AwareDatetime | None = None
    description: str = ""


class Buyer(_Model):
    id: str = Field(min_length=1, description="pseudonymous buyer id; never a name")
    refunds_90d: StrictInt = Field(default=0, ge=0)
    flagged: StrictBool = False


class Warehouse(_Model):
    order_state: WarehouseState


class RefundCase(_Model):
    """One after-sales request as the connector sees it, whatever the platform."""

    platform: str = Field(min_length=1)
    shop_id: str = Field(min_length=1)
    case_id: str = Field(min_length=1)
    order_id: str = Field(min_length=1)
    item: Item
    type: CaseType
    reason: Reason
    reason_text: str = ""
    status: CaseStatus
    order_status: OrderStatus
    paid_amount: StrictInt = Field(
        ge=-MAX_AMOUNT_FEN,
        le=MAX_AMOUNT_FEN,
        description="what the buyer paid for this line, in fen",
    )
    refund_amount: StrictInt = Field(
        ge=-MAX_AMOUNT_FEN,
        le=MAX_AMOUNT_FEN,
        description="what the buyer asks back, in fen; 0 or below is valid (a person decides)",
    )
    currency: Literal["CNY"] = "CNY"
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    deadline_at: AwareDatetime | None = Field(
        default=None, description="the seller's response deadline, from the platform"
    )
    shipped_at: AwareDatetime | None = None
    delivered_at: AwareDatetime | None = None
    logistics: Logistics | None = None
    return_logistics: ReturnLogistics | None = None
    inspection: Inspection | None = None
    evidence: tuple[Evidence, ...] = ()
    buyer: Buyer
    # What the desk shows beyond the facts: never compared for change detection, never read by
    # a policy (connector.casechange.DISPLAY_ONLY_FIELDS; connector.policy.fields skips them).
    chat: tuple[ChatMessage, ...] = ()
    logistics_steps: tuple[TrackStep, ...] = ()
    return_logistics_steps: tuple[TrackStep, ...] = ()
    warehouse: Warehouse | None = None
    # Connector fields, not in the casebook: the platform's compare-and-set token and facts an
    # adapter needs to write back (e.g. Tmall's refund phase, a "cannot refuse" constraint).
    version: str | None = Field(default=None, description="platform version for compare-and-set")
    platform_fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("evidence", "chat", "logistics_steps", "return_logistics_steps", mode="before")
    @classmethod
    def _evidence_list(cls, value: Any) -> Any:
        return () if value is None else value

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.platform, self.shop_id, self.case_id)

    def has_evidence(self, *kinds: EvidenceKind) -> bool:
        return any(e.kind in kinds for e in self.evidence)


class QuarantinedCase(_Model):
    """A payload that could not become a case: kept whole with what is wrong, for a person."""

    platform: str | None = None
    shop_id: str | None = None
    case_id: str | None = None
    problems: tuple[FieldProblem, ...]
    raw: Any = None

    def summary(self) -> str:
        return "; ".join(str(p) for p in self.problems)


_TYPE_WORDS = {
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number, not a fraction",
    "int_parsing": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "missing": "is required but missing",
    "timezone_aware": "must be a date-time with a UTC offset (e.g. 2026-11-12T10:00:00+08:00)",
    "datetime_type": "must be an ISO 8601 date-time with offset",
    "datetime_parsing": "must be an ISO 8601 date-time with offset",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time with offset",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "string_too_short": "must not be empty",
    "greater_than_equal": "is too small",
    "less_than_equal": "is too large",
}


def _plain_words(error: Any) -> str:
    kind = error.get("type", "")
    value = error.get("input")
    if kind == "enum":
        allowed = error.get("ctx", {}).get("expected", "")
        return f"{value!r} is not one of {allowed}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{value!r} is not allowed here (expected {expected})"
    words = _TYPE_WORDS.get(kind) or str(error.get("msg", "is not valid"))
    if kind in {"missing"}:
        return words
    try:
        shown = repr(value)
    except ValueError:  # an int too long for Python to print (over 4,300 digits)
        shown = f"a number of more than {sys.get_int_max_str_digits()} digits"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{words} (got {shown})"


def validation_problems(exc: ValidationError, prefix: str = "") -> list[FieldProblem]:
    """Turn pydantic's errors into field paths and plain words that a reviewer can act on."""
    problems: list[FieldProblem] = []
    for err in exc.errors():
        path = ".".join(str(p) for p in err.get("loc", ()))
        field = f"{prefix}{path}" if path else prefix.rstrip(".") or "(case)"
        problems.append(FieldProblem(field=field, reason=_plain_words(err)))
    return problems


def _peek(raw: Any, name: str) -> str | None:
    if isinstance(raw, dict):
        value = raw.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return str(value)
    return None


def parse_case(raw: Any) -> RefundCase | QuarantinedCase:
    """Validate a canonical payload; a failure is returned quarantined, never raised or dropped."""
    if not isinstance(raw, dict):
        problem = FieldProblem("(case)", f"must be a JSON object (got {type(raw).__name__})")
        return QuarantinedCase(problems=(problem,), raw=raw)
    try:
        return RefundCase.model_validate(raw)
    except ValidationError as exc:
        return QuarantinedCase(
            platform=_peek(raw, "platform"),
            shop_id=_peek(raw, "shop_id"),
            case_id=_peek(raw, "case_id"),
            problems=tuple(validation_problems(exc)),
            raw=raw,
        )


def require_case(raw: Any) -> RefundCase:
    """Like ``parse_case`` but raises ``CaseValidationError`` for callers that cannot quarantine."""
    parsed = parse_case(raw)
    if isinstance(parsed, QuarantinedCase):
        raise CaseValidationError(list(parsed.problems), case_id=parsed.case_id)
    return parsed


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
