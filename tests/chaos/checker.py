"""The checker: the fakes' ledgers (ground truth) against the daemon's store and audit log.

Every invariant is a count that must be 0 (reliability.md, "Proposed measurable goals"):

- ``cases_lost``: a fake case missing from the store, or stored at another version than the
  fake's (stale) after quiescence.
- ``effects_applied_twice``: two seller ledger entries of the same effect on one case at one
  platform version (one decision point); for the warehouse, one order voided twice.
- ``conflicting_effects``: a case the seller both agreed (refund or return) and refused.
- ``refunds_above_paid``: a case or an order whose ledger refunds exceed what was paid.
- ``auto_acts``: the platform acting for a seller who missed the deadline (the timeouts the
  demo counts) on a case no decision left to the platform, unless an outage overlapped the
  case's guard window (the platform was not reachable throughout it) or the platform's
  listings hid the case until its guard window had begun.
- ``late_escalations``: a case that needed a person at its guard moment (its decision then was
  ``human`` or ``wait``, or it had none and the next one was) whose first ``escalated`` audit
  entry is later than deadline - guard + 2 sweeper intervals (if the daemon was down, killed
  and not yet serving again, around that moment: 2 sweeper intervals after it serves again).
  A case that no listing showed before its guard moment (late visibility struck a version the
  buyer replaced before it became listable, and then the new one) is due from the moment it
  became listable instead; those are counted apart.
- ``malformed_dropped``: a case whose listed item the fake broke that is neither quarantined
  nor stored (re-fetched).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connector.demo import SELLER_TIMEOUT_EFFECTS
from connector.store import CaseKey, DecisionRecord, Store

PLATFORM = "taobao"
AGREE_EFFECTS = frozenset({"agree_refund", "confirm_return_and_refund", "agree_return"})
REFUSE_EFFECTS = frozenset({"refuse_refund"})
NEEDS_PERSON = frozenset({"human", "wait"})
INVARIANTS = (
    "cases_lost",
    "effects_applied_twice",
    "conflicting_effects",
    "refunds_above_paid",
    "auto_acts",
    "late_escalations",
    "malformed_dropped",
)
EXAMPLES = 5

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class RunFacts:
    """What the runner knows besides the ledgers and the store."""

    initial_views: list[JsonDict]
    final_views: list[JsonDict]
    ledger: list[JsonDict]
    warehouse_ledger: list[JsonDict]
    profile: JsonDict
    downtimes: list[list[str]]
    """[killed at, serving again at] of every daemon restart (UTC ISO)."""
    guard_s: float
    sweep_s: float


@dataclass
class Findings:
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, offenders: Iterable[str]) -> None:
        found = sorted(set(offenders))
        self.counts[name] = len(found)
        if found:
            self.examples[name] = found[:EXAMPLES]


def _time(text: str | None) -> datetime | None:
    return None if not text else datetime.fromisoformat(text)


def _outages(profile: JsonDict) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]))
        for o in profile.get("outages", [])
    ]


def check(facts: RunFacts, store: Store) -> Findings:
    findings = Findings()
    seller = [e for e in facts.ledger if e.get("actor") == "seller"]
    findings.add("cases_lost", _lost(facts, store))
    findings.add("effects_applied_twice", _twice(seller, facts.warehouse_ledger))
    findings.add("conflicting_effects", _conflicting(seller))
    findings.add("refunds_above_paid", _above_paid(facts))
    findings.add("auto_acts", _auto_acts(facts, store, findings))
    findings.add("late_escalations", _late_escalations(facts, store, findings))
    findings.add("malformed_dropped", _malformed_dropped(facts, store, findings))
    findings.info["seller_writes"] = len(seller)
    return findings


def _lost(facts: RunFacts, store: Store) -> list[str]:
    lost = []
    for view in facts.final_views:
        record = store.get_case((PLATFORM, view["shop_id"], view["case_id"]))
        if record is None:
            lost.append(f"{view['case_id']} missing")
        elif record.version != view["version"]:
            lost.append(f"{view['case_id']} stale {record.version} < {view['version']}")
    return lost


def _twice(seller: list[JsonDict], warehouse: list[JsonDict]) -> list[str]:
    points = Counter((e["case_id"], e["effect"], e.get("version_before")) for e in seller)
    twice = [f"{case} {effect}@{version}" for (case, effect, version), n in points.items() if n > 1]
    voids = Counter(e["order_id"] for e in warehouse if e.get("effect") == "void_order")
    twice += [f"order {order} voided {n}x" for order, n in voids.items() if n > 1]
    return twice


def _conflicting(seller: list[JsonDict]) -> list[str]:
    stances: dict[str, set[str]] = defaultdict(set)
    for entry in seller:
        if entry["effect"] in AGREE_EFFECTS:
            stances[entry["case_id"]].add("agree")
        elif entry["effect"] in REFUSE_EFFECTS:
            stances[entry["case_id"]].add("refuse")
    return [case for case, seen in stances.items() if len(seen) > 1]


def _above_paid(facts: RunFacts) -> list[str]:
    paid = {v["case_id"]: int(v["paid_amount"]) for v in facts.final_views}
    order_paid = {v["order_id"]: int(v["paid_amount"]) for v in facts.final_views}
    by_case: Counter[str] = Counter()
    by_order: Counter[str] = Counter()
    for entry in facts.ledger:
        if entry.get("amount"):
            by_case[entry["case_id"]] += int(entry["amount"])
            by_order[entry["order_id"]] += int(entry["amount"])
    above = [f"case {c}: {n} > {paid.get(c, 0)}" for c, n in by_case.items() if n > paid.get(c, 0)]
    above += [
        f"order {o}: {n} > {order_paid.get(o, 0)}"
        for o, n in by_order.items()
        if n > order_paid.get(o, 0)
    ]
    above += [
        f"case {v['case_id']} view: {v['refunded_amount']} > {v['paid_amount']}"
        for v in facts.final_views
        if int(v["refunded_amount"]) > int(v["paid_amount"])
    ]
    return above


def _overlaps_outage(deadline: datetime, facts: RunFacts) -> bool:
    start = deadline - timedelta(seconds=facts.guard_s)
    return any(o_start < deadline and start < o_end for o_start, o_end in _outages(facts.profile))


def _auto_acts(facts: RunFacts, store: Store, findings: Findings) -> list[str]:
    left = store.cases_left_to_platform()
    listable = _first_listable(facts)
    guard = timedelta(seconds=facts.guard_s)
    missed, excused, by_rule, hidden = [], 0, 0, 0
    for entry in facts.ledger:
        if (
            entry.get("actor") != "platform_auto"
            or entry.get("effect") not in SELLER_TIMEOUT_EFFECTS
        ):
            continue
        if (PLATFORM, entry["shop_id"], entry["case_id"]) in left:
            by_rule += 1
        elif _overlaps_outage(datetime.fromisoformat(entry["at"]), facts):
            excused += 1
        elif _hidden_into_guard_window(
            listable.get(entry["case_id"]), datetime.fromisoformat(entry["at"]) - guard
        ):
            hidden += 1
        else:
            missed.append(f"{entry['case_id']} {entry['effect']} at {entry['at']}")
    findings.info["auto_acts_left_to_platform"] = by_rule
    findings.info["auto_acts_in_outage_guard_window"] = excused
    findings.info["auto_acts_hidden_by_listing_into_guard_window"] = hidden
    return missed


def _late_escalations(facts: RunFacts, store: Store, findings: Findings) -> list[str]:
    escalations: dict[str, list[datetime]] = defaultdict(list)
    for entry in store.audit_entries():
        if entry.event == "escalated" and entry.case_id is not None:
            escalations[entry.case_id].append(datetime.fromisoformat(entry.at))
    tolerance = timedelta(seconds=2 * facts.sweep_s)
    guard = timedelta(seconds=facts.guard_s)
    listable = _first_listable(facts)
    late, needed, excused, hidden = [], 0, 0, 0
    for view in facts.initial_views:
        deadline = _time(view.get("deadline_at"))
        if deadline is None or view.get("status") not in {
            "awaiting_seller",
            "awaiting_seller_receipt",
        }:
            continue
        key: CaseKey = (PLATFORM, view["shop_id"], view["case_id"])
        if not _needs_person_at_guard(store.decisions_of_case(key), deadline - guard, deadline):
            continue
        needed += 1
        first = min((t for t in escalations[view["case_id"]] if t <= deadline), default=None)
        start = deadline - guard
        shown = listable.get(view["case_id"])
        if _hidden_into_guard_window(shown, start):
            assert shown is not None
            hidden += 1
            if shown + tolerance >= deadline:
                continue  # no reader could see it before the deadline
            start = shown
        due = _back_up_at(start, tolerance, facts)
        if first is not None and first <= due + tolerance:
            continue
        if _overlaps_outage(deadline, facts):
            excused += 1
            continue
        when = "never" if first is None else f"{(first - (deadline - guard)).total_seconds():.1f} s"
        late.append(f"{view['case_id']} escalated {when} after its guard moment")
    findings.info["escalations_needed"] = needed
    findings.info["escalations_in_outage_guard_window"] = excused
    findings.info["escalations_due_from_late_listing"] = hidden
    return late


def _hidden_into_guard_window(listable: datetime | None, guard_at: datetime) -> bool:
    return listable is not None and listable > guard_at


def _first_listable(facts: RunFacts) -> dict[str, datetime]:
    """When each case first showed in a listing: its first version not hidden past the next change.

    A version the fake hid (``late``) is listable from ``listed_from``; if the case changed
    before that, that version was never listed and the next one counts.
    """
    late = {
        (entry["case_id"], entry["version"]): datetime.fromisoformat(entry["listed_from"])
        for entry in facts.profile.get("late", [])
    }
    changes: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for entry in sorted(facts.ledger, key=lambda e: int(e.get("seq") or 0)):
        if entry.get("version_after"):
            changes[entry["case_id"]].append(
                (datetime.fromisoformat(entry["at"]), str(entry["version_after"]))
            )
    first: dict[str, datetime] = {}
    for view in facts.initial_views:
        modified = _time(view.get("modified_at"))
        if modified is None:
            continue
        case_id = view["case_id"]
        versions = [(modified, str(view["version"])), *changes[case_id]]
        for index, (at, version) in enumerate(versions):
            shown = max(at, late.get((case_id, version), at))
            following = versions[index + 1][0] if index + 1 < len(versions) else None
            if following is None or shown < following:
                first[case_id] = shown
                break
    return first


def _back_up_at(guard_at: datetime, tolerance: timedelta, facts: RunFacts) -> datetime:
    """The guard moment, or when the daemon served again if it was down around that moment."""
    for down, up in facts.downtimes:
        start, end = datetime.fromisoformat(down), datetime.fromisoformat(up)
        if start <= guard_at + tolerance and guard_at <= end:
            return max(guard_at, end)
    return guard_at


def _needs_person_at_guard(
    decisions: list[DecisionRecord], guard_at: datetime, deadline: datetime
) -> bool:
    """Was a person (or the guard's escalation) what the case needed at its guard moment?"""
    standing = [d for d in decisions if d.decided_at <= guard_at]
    if standing:
        latest = standing[-1]
    else:
        later = [d for d in decisions if d.decided_at <= deadline]
        if not later:
            return False
        latest = later[0]
    return latest.action in NEEDS_PERSON and not latest.params.get("left_to_platform")


def _malformed_dropped(facts: RunFacts, store: Store, findings: Findings) -> list[str]:
    injected = facts.profile.get("malformed", [])
    quarantined = {q.case_id for q in store.list_quarantine(include_resolved=True)}
    dropped = [
        item["case_id"]
        for item in injected
        if item["case_id"] not in quarantined
        and store.get_case((PLATFORM, item["shop_id"], item["case_id"])) is None
    ]
    findings.info["malformed_injected"] = len(injected)
    findings.info["malformed_quarantined"] = sum(
        1 for item in injected if item["case_id"] in quarantined
    )
    return dropped
