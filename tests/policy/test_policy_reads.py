"""Which platform facts a policy can read (connector.policy.reads): fetch only those, never less."""

from __future__ import annotations

from typing import Any

import pytest

from connector.facts import ALL_FACTS, DESK_FACTS, FACT_FIELDS, NO_FACTS, Fact, fact_of_field
from connector.models import RefundCase
from connector.policy import Policy, decide, load_default_policy, parse_policy
from connector.policy.casebook import CasebookLine, bundled_casebook_text, read_casebook
from connector.policy.reads import facts_for_case, fetch_with_facts, policy_facts
from tests.policy.policy_helpers import DELIVERED, NOW, case_dict

DEFAULT = load_default_policy()

_BLANK: dict[str, Any] = {
    "evidence": (),
    "logistics": None,
    "shipped_at": None,
    "delivered_at": None,
    "return_logistics": None,
    "chat": (),
    "logistics_steps": (),
    "return_logistics_steps": (),
}


def _without(case: RefundCase, keep: frozenset[Fact]) -> RefundCase:
    """The case as an adapter returns it when asked for ``keep`` only: other facts empty."""
    update: dict[str, Any] = {}
    for fact in set(Fact) - keep:
        for path in FACT_FIELDS[fact]:
            if path == "item.no_reason_eligible":
                update["item"] = case.item.model_copy(update={"no_reason_eligible": False})
            else:
                update[path] = _BLANK[path]
    return case.model_copy(update=update)


def _policy(rules: str) -> Policy:
    return parse_policy(
        '[policy]\nname = "t"\n[thresholds]\ndeadline_escalate = "6h"\n'
        'deadline_fallback = "1h"\n' + rules,
        source="test",
    )


def _case(*layers: dict[str, Any], **fields: Any) -> RefundCase:
    return RefundCase.model_validate(case_dict(*layers, **fields))


def test_fact_of_field_covers_sub_fields() -> None:
    assert fact_of_field("logistics.status") is Fact.logistics
    assert fact_of_field("delivered_at") is Fact.logistics
    assert fact_of_field("return_logistics.status") is Fact.return_logistics
    assert fact_of_field("item.no_reason_eligible") is Fact.item_promise
    assert fact_of_field("item.price") is None
    assert fact_of_field("logistics_x") is None


def test_default_policy_can_read_every_fact() -> None:
    assert policy_facts(DEFAULT) == ALL_FACTS


def test_policy_without_fact_conditions_reads_only_the_desk() -> None:
    policy = _policy(
        '[[rules]]\nid = "small"\ndescription = "d"\naction = "approve_refund"\n'
        "when.refund_amount.le = 100\n"
    )
    assert policy_facts(policy) == DESK_FACTS
    assert Fact.item_promise not in policy_facts(policy)


def test_certain_first_rule_needs_no_fact() -> None:
    """A pre-shipment out-of-stock refund matches on record fields alone: no extra call."""
    policy = _policy(
        '[[rules]]\nid = "oos"\ndescription = "d"\naction = "approve_refund"\n'
        'when.reason = "out_of_stock"\n'
        '[[rules]]\nid = "late"\ndescription = "d"\naction = "reject"\n'
        'when.logistics.status = "delivered"\nevidence_kinds = ["delivery_record"]\n'
    )
    assert facts_for_case(_case(reason="out_of_stock"), [policy]) == NO_FACTS
    # Another reason falls through to the rule on the parcel, then to no rule: a person.
    assert facts_for_case(_case(reason="quality"), [policy]) == {
        Fact.logistics,
        Fact.evidence,
        Fact.return_logistics,
    }


def test_rule_that_cannot_match_reads_nothing() -> None:
    policy = _policy(
        '[[rules]]\nid = "promise"\ndescription = "d"\naction = "approve_return"\n'
        'return_shipping_paid_by = "buyer"\n'
        'when.type = "return_and_refund"\nwhen.item.no_reason_eligible = true\n'
        '[[rules]]\nid = "rest"\ndescription = "d"\naction = "approve_refund"\n'
    )
    assert facts_for_case(_case(type="refund_only"), [policy]) == NO_FACTS
    assert facts_for_case(_case(type="return_and_refund"), [policy]) == {Fact.item_promise}


def test_queued_for_person_adds_the_desk() -> None:
    policy = _policy('[[rules]]\nid = "all"\ndescription = "d"\naction = "approve_refund"\n')
    case = _case()
    assert facts_for_case(case, [policy]) == NO_FACTS
    assert facts_for_case(case, [policy], queued_for_person=True) == DESK_FACTS


def test_shadow_policy_facts_join_the_live_ones() -> None:
    live = _policy('[[rules]]\nid = "all"\ndescription = "d"\naction = "approve_refund"\n')
    shadow = _policy(
        '[[rules]]\nid = "promise"\ndescription = "d"\naction = "approve_refund"\n'
        "when.item.no_reason_eligible = true\n"
        '[[rules]]\nid = "rest"\ndescription = "d"\naction = "approve_refund"\n'
    )
    assert facts_for_case(_case(), [live]) == NO_FACTS
    assert facts_for_case(_case(), [live, shadow]) == {Fact.item_promise}


def test_default_policy_skips_the_item_promise_unless_the_reason_is_no_reason() -> None:
    """Only a no-reason return reads the item's promise; a settled case reads nothing."""
    assert Fact.item_promise not in facts_for_case(_case(reason="changed_mind"), [DEFAULT])
    no_reason = _case(DELIVERED, type="return_and_refund", reason="no_reason_7d")
    assert Fact.item_promise in facts_for_case(no_reason, [DEFAULT])
    assert facts_for_case(_case(status="refunded"), [DEFAULT]) == NO_FACTS


def _casebook() -> list[CasebookLine]:
    return [
        e
        for e in read_casebook(bundled_casebook_text())
        if isinstance(e, CasebookLine) and isinstance(e.case, RefundCase)
    ]


@pytest.mark.parametrize("entry", _casebook(), ids=lambda e: e.id)
def test_decision_unchanged_without_the_facts_not_fetched(entry: CasebookLine) -> None:
    """The guarantee: blanking every fact ``facts_for_case`` leaves out changes no decision."""
    case = entry.case
    assert isinstance(case, RefundCase)
    facts = facts_for_case(case, [DEFAULT])
    full = decide(case, DEFAULT, entry.now)
    trimmed = decide(_without(case, facts), DEFAULT, entry.now)
    assert (trimmed.action, trimmed.rule_id, trimmed.parameters) == (
        full.action,
        full.rule_id,
        full.parameters,
    )


def test_casebook_needs_fewer_facts_than_everything() -> None:
    """Not a tautology: on the casebook the per-case sets are smaller than the whole."""
    sizes = [len(facts_for_case(e.case, [DEFAULT])) for e in _casebook()]  # type: ignore[arg-type]
    assert min(sizes) == 0
    assert sum(sizes) < len(sizes) * len(ALL_FACTS)


def test_fetch_with_facts_asks_once_when_the_record_agrees() -> None:
    listed = _case(reason="out_of_stock")
    asked: list[frozenset[Fact]] = []

    def get(facts: frozenset[Fact]) -> RefundCase:
        asked.append(facts)
        return listed

    assert fetch_with_facts(get, listed, [DEFAULT]) is listed
    assert asked == [facts_for_case(listed, [DEFAULT])]


def test_fetch_with_facts_asks_again_when_the_case_changed_since_the_list() -> None:
    """Listed as a refund, fetched as a no-reason return: the item's promise is fetched too."""
    listed = _case(DELIVERED, reason="quality")
    moved = _case(DELIVERED, reason="no_reason_7d", type="return_and_refund")
    asked: list[frozenset[Fact]] = []

    def get(facts: frozenset[Fact]) -> RefundCase:
        asked.append(facts)
        return moved

    fetch_with_facts(get, listed, [DEFAULT])
    assert len(asked) == 2
    assert asked[1] >= facts_for_case(moved, [DEFAULT])
    assert asked[1] > asked[0]


def test_recency_condition_is_unknown_and_reads_its_fact() -> None:
    policy = _policy(
        '[[rules]]\nid = "recent"\ndescription = "d"\naction = "approve_refund"\n'
        'when.delivered_at.within = "7d"\n'
        '[[rules]]\nid = "rest"\ndescription = "d"\naction = "approve_refund"\n'
    )
    assert facts_for_case(_case(), [policy]) == {Fact.logistics}
    assert NOW.tzinfo is not None
