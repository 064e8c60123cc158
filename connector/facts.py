"""Platform facts that cost calls beyond the case record itself, and the case fields each fills.

``PlatformAdapter.get_case`` takes the set of facts to fetch: a fact outside the set is left
empty (``None`` or ``()``) unless the platform gives it for free with the case record. Which
facts a case needs is worked out from the shop's policy and the desk by
``connector.policy.reads`` (docs/adding-a-platform.md, "Facts on demand").
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Fact(StrEnum):
    """One group of case fields an adapter may need extra platform calls to fill."""

    evidence = "evidence"
    """What the buyer sent: pictures, video, chat (Taobao: the refund's messages)."""
    logistics = "logistics"
    """The outbound parcel: its trace, when it shipped and when it was signed for."""
    return_logistics = "return_logistics"
    """The buyer's return parcel (Taobao: its trace; JD: the service order's freight)."""
    item_promise = "item_promise"
    """The item's seven-day no-reason promise (Taobao: the item record)."""


ALL_FACTS: frozenset[Fact] = frozenset(Fact)
NO_FACTS: frozenset[Fact] = frozenset()

FACT_FIELDS: Mapping[Fact, frozenset[str]] = {
    Fact.evidence: frozenset({"evidence", "chat"}),
    Fact.logistics: frozenset({"logistics", "shipped_at", "delivered_at", "logistics_steps"}),
    Fact.return_logistics: frozenset({"return_logistics", "return_logistics_steps"}),
    Fact.item_promise: frozenset({"item.no_reason_eligible"}),
}
"""The ``RefundCase`` fields (dotted paths; a field covers its sub-fields) each fact fills."""

DESK_FACTS: frozenset[Fact] = frozenset({Fact.evidence, Fact.logistics, Fact.return_logistics})
"""What the review desk shows a person (connector/console/templates/case.html, `queue show`)."""


def fact_of_field(path: str) -> Fact | None:
    """The fact that fills a dotted case field (``logistics.status`` -> logistics), if any."""
    for fact, fields in FACT_FIELDS.items():
        for field in fields:
            if path == field or path.startswith(field + "."):
                return fact
    return None
