"""Which platform facts a policy can read, so intake fetches only those (issue 15, point 8).

A fact (``connector.facts``) costs platform calls beyond the case record: the buyer's messages,
a parcel's trace, the item's promise. The daemon asks the adapter for the union of

- what the shop's live policy (and any shadow policy) can read for this case: the facts named by
  the conditions of every rule that can still match it, and the facts its outcome uses (a
  refusal's proof image and text read the parcel and the chat record; a carrier claim reads the
  parcel);
- what the review desk shows (``DESK_FACTS``) when the case may be queued for a person: a rule
  that hands it over, waits (the guard escalates a wait to a person) or asks the buyer, no rule
  certain to match, or a case already in the queue.

``facts_for_case`` is pure and partial: conditions on fields the case record carries (type,
status, reason, amounts, ...) are evaluated, so a rule that cannot match costs nothing and the
first rule certain to match ends the walk. Conditions on facts, on fields the daemon adds after
the fetch (buyer history, warehouse, inspection) or on time are unknown: their rule may match.
``fetch_with_facts`` re-reads the case with the missing facts when the fetched record disagrees
with the listed one (a change between list and get), so a decision never reads an unfetched fact.

Guarded by tests/policy/test_policy_reads.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from connector.facts import DESK_FACTS, Fact, fact_of_field
from connector.models import RefundCase
from connector.policy.conditions import Compare, Condition, FieldRef, Recency
from connector.policy.decision import Action
from connector.policy.model import Policy, Rule

ENRICHED_FIELDS = ("buyer.refunds_90d", "buyer.flagged", "warehouse", "inspection")
"""Fields the daemon fills after the fetch (store, warehouse): unknown when the fetch is planned."""

_PERSON_BOUND = frozenset({Action.human, Action.wait, Action.ask_buyer_to_modify})
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)
"""``now`` for checking a condition that does not read it (every kind but ``Recency``)."""


def _fields_of(condition: Condition) -> tuple[str, ...]:
    if isinstance(condition, Compare) and isinstance(condition.operand, FieldRef):
        return (condition.field, condition.operand.path)
    return (condition.field,)


def _is_enriched(path: str) -> bool:
    return any(path == f or path.startswith(f + ".") for f in ENRICHED_FIELDS)


def condition_facts(condition: Condition) -> frozenset[Fact]:
    """The facts a condition reads (none for a field of the case record itself)."""
    return frozenset(f for path in _fields_of(condition) if (f := fact_of_field(path)) is not None)


def _known(condition: Condition) -> bool:
    """Whether the case record alone settles the condition (no fact, no enrichment, no clock)."""
    if isinstance(condition, Recency):
        return False
    return not any(
        fact_of_field(path) is not None or _is_enriched(path) for path in _fields_of(condition)
    )


def outcome_facts(rule: Rule) -> frozenset[Fact]:
    """The facts the rule's outcome reads, and the desk's when it may end with a person."""
    actions = {rule.action} | ({rule.fallback} if rule.fallback is not None else set())
    facts: set[Fact] = set()
    if Action.reject in actions:
        facts |= {Fact.logistics, Fact.evidence}  # the proof image, the refusal's text
    if Action.ask_buyer_to_modify in actions or rule.carrier_claim:
        facts.add(Fact.logistics)  # the message names the delivery date; the claim the parcel
    if actions & _PERSON_BOUND or rule.escalate:
        facts |= DESK_FACTS
    return frozenset(facts)


def policy_facts(policy: Policy) -> frozenset[Fact]:
    """Every fact the policy can read for some case: the most a case of this shop needs."""
    facts: set[Fact] = set(DESK_FACTS)  # a case no rule matches goes to a person
    for rule in policy.rules:
        for condition in rule.conditions:
            facts |= condition_facts(condition)
        facts |= outcome_facts(rule)
    return frozenset(facts)


def _case_facts(case: RefundCase, policy: Policy) -> frozenset[Fact]:
    facts: set[Fact] = set()
    for rule in policy.rules:
        unknown: list[Condition] = []
        possible = True
        for condition in rule.conditions:
            if not _known(condition):
                unknown.append(condition)
            elif not condition.check(case, _NEVER, policy.thresholds, rule.id).passed:
                possible = False
                break
        if not possible:
            continue
        for condition in unknown:
            facts |= condition_facts(condition)
        facts |= outcome_facts(rule)
        if not unknown:
            return frozenset(facts)  # this rule matches: no later rule is read
    return frozenset(facts | DESK_FACTS)  # no rule is certain to match: a person may decide


def facts_for_case(
    case: RefundCase, policies: Iterable[Policy], *, queued_for_person: bool = False
) -> frozenset[Fact]:
    """The facts to fetch for ``case``: what any of ``policies`` can read for it, plus the
    desk's when a person may see it. Pure: the same case and policies give the same set."""
    facts: set[Fact] = set(DESK_FACTS) if queued_for_person else set()
    for policy in policies:
        facts |= _case_facts(case, policy)
    return frozenset(facts)


def fetch_with_facts(
    get: Callable[[frozenset[Fact]], RefundCase],
    listed: RefundCase,
    policies: Iterable[Policy],
    *,
    queued_for_person: bool = False,
) -> RefundCase:
    """``get(facts)`` with the facts the listed case needs; once more, with every fact the
    fetched record needs, if that is more (the case changed between the list and the get)."""
    chosen = tuple(policies)
    wanted = facts_for_case(listed, chosen, queued_for_person=queued_for_person)
    fetched = get(wanted)
    needed = facts_for_case(fetched, chosen, queued_for_person=queued_for_person)
    if needed <= wanted:
        return fetched
    return get(wanted | needed)
