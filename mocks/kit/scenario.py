"""Seeded generator of a realistic mix of the casebook's situations, as platform-neutral CaseSpecs.

The same (seed, count, shops, now) always yields the same specs, so a chaos run can be replayed.
Each spec carries a ``label`` naming its situation so checkers can group outcomes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from mocks.kit.casespec import CaseSpec, ItemSpec

HOUR = 3600.0
DAY = 24 * HOUR

_CATALOGUE: tuple[tuple[str, str, str, int], ...] = (
    ("SH-2291-38", "women's leather loafer", "shoes", 29900),
    ("TS-0042-M", "cotton t-shirt", "apparel", 5900),
    ("MUG-07", "ceramic mug", "home", 2500),
    ("EB-330", "wireless earbuds", "electronics", 19900),
    ("CH-88", "ergonomic office chair", "furniture", 129900),
    ("SK-12", "wool socks, 3 pairs", "apparel", 1990),
    ("KB-60", "mechanical keyboard", "electronics", 45900),
    ("TEA-250", "green tea 250 g", "food", 8800),
)
_CARRIERS = ("SF", "ZTO", "YTO", "STO", "YUNDA", "JD")
_FREQUENT_BUYERS = ("b-frequent-1", "b-frequent-2")


class _Builder:
    """Draws one case at a time from a seeded RNG."""

    def __init__(
        self, rng: random.Random, now: datetime, deadline_range: tuple[float, float] | None
    ) -> None:
        self.rng = rng
        self.now = now
        self.deadline_range = deadline_range
        self.serial = 0

    def base(self, shop: str, tmall: bool, label: str, **fields: object) -> CaseSpec:
        rng = self.rng
        self.serial += 1
        sku, title, category, price = rng.choice(_CATALOGUE)
        quantity = 1 if rng.random() < 0.85 else 2
        paid = price * quantity
        buyer_no = rng.randrange(1, 4000)
        values: dict[str, object] = {
            "shop_id": shop,
            "paid_amount": paid,
            "item": ItemSpec(
                sku=sku,
                title=title,
                category=category,
                quantity=quantity,
                price=price,
                no_reason_eligible=category not in {"food"},
            ),
            "created_at": self.now - timedelta(seconds=rng.uniform(HOUR, 2 * DAY)),
            "deadline_s": self._deadline(),
            "buyer_id": f"b-{buyer_no:05d}",
            "buyer_name": f"测试买家{buyer_no}",
            "buyer_phone": f"1380000{buyer_no:04d}",
            "buyer_address": f"测试省测试市样例路{buyer_no}号",
            "tmall": tmall,
            "label": label,
        }
        values.update(fields)
        if values.get("refund_amount") == "full":
            values["refund_amount"] = values["paid_amount"]
        return CaseSpec.model_validate(values)

    def _deadline(self) -> float:
        if self.deadline_range is not None:
            low, high = self.deadline_range
            return self.rng.uniform(low, high)
        return self.rng.uniform(2 * HOUR, 20 * HOUR)

    def ago(self, low_days: float, high_days: float) -> datetime:
        return self.now - timedelta(seconds=self.rng.uniform(low_days * DAY, high_days * DAY))

    def waybill(self) -> tuple[str, str]:
        carrier = self.rng.choice(_CARRIERS)
        return carrier, f"{carrier}{self.rng.randrange(10**9, 10**10)}"


Situation = Callable[[_Builder, str, bool], CaseSpec]


def _pre_shipment(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    state = b.rng.choice(("not_printed", "not_printed", "printed", "shipped", "voided"))
    reason = b.rng.choice(("changed_mind", "wrong_order", "out_of_stock", "late_shipment"))
    return b.base(
        shop,
        tmall,
        f"pre_shipment:{state}",
        reason=reason,
        warehouse_state=state,
        refund_amount="full",
    )


def _pre_shipment_partial(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    spec = b.base(
        shop,
        tmall,
        "pre_shipment:partial",
        reason="price_difference",
        warehouse_state="not_printed",
    )
    return spec.model_copy(update={"refund_amount": max(1, spec.paid_amount // 3)})


def _not_received(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    parcel = b.rng.choice(("lost", "returned", "refused", "in_transit", "delivered"))
    carrier, waybill = b.waybill()
    shipped = b.ago(3, 8)
    delivered = b.ago(0.5, 2) if parcel == "delivered" else None
    return b.base(
        shop,
        tmall,
        f"not_received:{parcel}",
        reason="not_received",
        order_status=("delivered" if parcel == "delivered" else "shipped"),
        refund_amount="full",
        shipped_at=shipped,
        delivered_at=delivered,
        logistics_status=parcel,
        carrier=carrier,
        waybill=waybill,
    )


def _delivered_base(b: _Builder) -> dict[str, object]:
    carrier, waybill = b.waybill()
    delivered = b.ago(0.5, 5)
    return {
        "order_status": "delivered",
        "shipped_at": delivered - timedelta(days=2),
        "delivered_at": delivered,
        "logistics_status": "delivered",
        "carrier": carrier,
        "waybill": waybill,
    }


def _small_money(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    reason = b.rng.choice(("shipping_fee", "price_difference"))
    amount = b.rng.choice((500, 800, 1200, 2000, 2500, 4000))
    return b.base(
        shop,
        tmall,
        f"{reason}:{'small' if amount <= 2000 else 'large'}",
        reason=reason,
        refund_amount=amount,
        **_delivered_base(b),
    )


def _quality_refund_only(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    reason = b.rng.choice(("quality", "damaged", "not_as_described"))
    evidence = b.rng.choice(([], ["photo"], ["video"], ["chat"]))
    spec = b.base(
        shop,
        tmall,
        f"refund_only_quality:{'+'.join(evidence) or 'none'}",
        reason=reason,
        refund_amount="full",
        evidence=evidence,
        **_delivered_base(b),
    )
    if b.rng.random() < 0.5:  # cheap items, where the policy refunds with a photo
        spec = spec.model_copy(update={"paid_amount": 1990, "refund_amount": 1990})
    return spec


def _quality_return(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    reason = b.rng.choice(("quality", "damaged", "not_as_described", "wrong_item_sent"))
    evidence = b.rng.choice(([], ["photo"], ["photo", "chat"], ["video"]))
    return b.base(
        shop,
        tmall,
        f"return_quality:{'+'.join(evidence) or 'none'}",
        type="return_and_refund",
        reason=reason,
        refund_amount="full",
        evidence=evidence,
        **_delivered_base(b),
    )


def _no_reason(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    inside = b.rng.random() < 0.6
    fields = _delivered_base(b)
    if not inside:
        delivered = b.ago(8, 14)
        fields.update(delivered_at=delivered, shipped_at=delivered - timedelta(days=2))
    spec = b.base(
        shop,
        tmall,
        f"no_reason:{'inside' if inside else 'outside'}_7d",
        type="return_and_refund",
        reason="no_reason_7d",
        refund_amount="full",
        **fields,
    )
    if b.rng.random() < 0.15:
        spec = spec.model_copy(
            update={
                "item": spec.item.model_copy(update={"no_reason_eligible": False}),
                "label": "no_reason:not_eligible",
            }
        )
    return spec


def _awaiting_receipt(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    returned = b.rng.choice(("in_transit", "delivered"))
    carrier, waybill = b.waybill()
    return b.base(
        shop,
        tmall,
        f"awaiting_receipt:{returned}",
        type="return_and_refund",
        reason=b.rng.choice(("quality", "no_reason_7d", "not_as_described")),
        status="awaiting_seller_receipt",
        refund_amount="full",
        return_logistics_status=returned,
        return_carrier=carrier,
        return_waybill=waybill,
        **_delivered_base(b),
    )


def _exchange_repair(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    kind = b.rng.choice(("exchange", "repair"))
    return b.base(
        shop, tmall, kind, type=kind, reason="quality", refund_amount=0, **_delivered_base(b)
    )


def _invoice(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    return b.base(shop, tmall, "invoice", reason="invoice", refund_amount=500, **_delivered_base(b))


def _high_value(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    price = b.rng.choice((129900, 259900, 520000))
    return b.base(
        shop,
        tmall,
        "high_value",
        reason="changed_mind",
        paid_amount=price,
        refund_amount=price,
        item=ItemSpec(
            sku="HV-1", title="premium espresso machine", category="appliances", price=price
        ),
        warehouse_state="not_printed",
    )


def _frequent_buyer(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    return b.base(
        shop,
        tmall,
        "frequent_buyer",
        reason="not_as_described",
        buyer_id=b.rng.choice(_FREQUENT_BUYERS),
        refund_amount="full",
        evidence=["photo"],
        **_delivered_base(b),
    )


def _cannot_refuse(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    return b.base(
        shop,
        tmall,
        "cannot_refuse",
        reason="not_as_described",
        type="return_and_refund",
        cannot_refuse=True,
        refund_amount="full",
        **_delivered_base(b),
    )


def _history(b: _Builder, shop: str, tmall: bool) -> CaseSpec:
    status = b.rng.choice(("refunded", "closed", "refused", "in_dispute", "awaiting_buyer_return"))
    return b.base(
        shop,
        tmall,
        f"history:{status}",
        status=status,
        reason="quality",
        type="return_and_refund" if status == "awaiting_buyer_return" else "refund_only",
        refund_amount="full",
        evidence=["photo"],
        **_delivered_base(b),
    )


# (weight, situation): roughly the mix a mid-size shop sees in a week.
SITUATIONS: tuple[tuple[int, Situation], ...] = (
    (18, _pre_shipment),
    (3, _pre_shipment_partial),
    (12, _not_received),
    (8, _small_money),
    (12, _quality_refund_only),
    (10, _quality_return),
    (12, _no_reason),
    (8, _awaiting_receipt),
    (3, _exchange_repair),
    (2, _invoice),
    (3, _high_value),
    (3, _frequent_buyer),
    (2, _cannot_refuse),
    (4, _history),
)


def generate_cases(
    *,
    seed: int,
    count: int,
    shops: Sequence[str],
    now: datetime,
    deadline_range: tuple[float, float] | None = None,
    tmall_shops: Sequence[str] = (),
) -> list[CaseSpec]:
    """``count`` specs spread over ``shops``; same arguments, same specs."""
    if count < 0:
        msg = "count must be >= 0"
        raise ValueError(msg)
    if not shops:
        msg = "shops must name at least one shop"
        raise ValueError(msg)
    if deadline_range is not None and not 0 <= deadline_range[0] <= deadline_range[1]:
        msg = "deadline_min_s must be >= 0 and <= deadline_max_s"
        raise ValueError(msg)
    rng = random.Random(seed)
    builder = _Builder(rng, now, deadline_range)
    weights = [w for w, _ in SITUATIONS]
    situations = [s for _, s in SITUATIONS]
    specs: list[CaseSpec] = []
    for index in range(count):
        shop = shops[index % len(shops)]
        situation = rng.choices(situations, weights)[0]
        specs.append(situation(builder, shop, shop in tmall_shops))
    return specs
