"""Backtest: replay past decisions through a candidate policy before it goes live.

Each case's latest policy decision in range is decided again by the candidate, on the facts and
at the time it was first decided (kept with every decision since migration 0008), and compared
with what was decided and, on cases a person decided, with what the person did.

"What was decided" is the recorded decision. Where the daemon overrode its policy after deciding
(the platform refused the action, the refund exceeded what was left on the order, the adapter
lacked the capability), the candidate is counted unchanged when it says what the recorded
version's policy said: the override would have applied to it just the same. So replaying the
live policy gives ``changed == 0`` (tests/policy/test_policy_backtest.py).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.models import RefundCase
from connector.policy.decision import APPROVING_ACTIONS, EXPECT_KEYS, Action, Decision
from connector.policy.engine import decide
from connector.policy.model import Policy
from connector.store.api import ReplayRow

PERSON_ACTIONS = {"ask_buyer": Action.ask_buyer_to_modify.value}
"""A reviewer's action names where they differ from the policy's."""

_APPROVING = frozenset(a.value for a in APPROVING_ACTIONS)


@dataclass(frozen=True, slots=True)
class Replay:
    """One decision replayed."""

    decision_id: int
    platform: str
    shop_id: str
    case_id: str
    decided_at: datetime
    recorded_rule: str
    recorded_action: str
    recorded_refund: int
    """Fen the recorded decision approved automatically (0 if it approved nothing)."""
    rule: str
    """The candidate's rule (it may reach the same outcome by another rule)."""
    action: str
    refund: int
    """Fen the candidate would approve automatically."""
    changed: bool
    person_action: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "shop_id": self.shop_id,
            "case_id": self.case_id,
            "decided_at": self.decided_at.isoformat(),
            "recorded": {"rule": self.recorded_rule, "action": self.recorded_action},
            "candidate": {"rule": self.rule, "action": self.action},
            "money_delta_fen": self.refund - self.recorded_refund,
            "person_action": self.person_action,
        }


@dataclass
class BacktestReport:
    """What a candidate would have done differently, and how it agrees with people."""

    candidate_name: str
    candidate_version: str
    replays: list[Replay] = field(default_factory=list)

    @property
    def replayed(self) -> int:
        return len(self.replays)

    @property
    def changed_replays(self) -> list[Replay]:
        return [r for r in self.replays if r.changed]

    @property
    def changed(self) -> int:
        return sum(1 for r in self.replays if r.changed)

    def by_rule(self) -> list[dict[str, Any]]:
        """Changed decisions grouped by (recorded rule and action) -> (candidate rule and
        action), most first, each with its case ids."""
        groups: dict[tuple[str, str, str, str], list[Replay]] = defaultdict(list)
        for r in self.changed_replays:
            groups[(r.recorded_rule, r.recorded_action, r.rule, r.action)].append(r)
        out = [
            {
                "from_rule": k[0],
                "from_action": k[1],
                "to_rule": k[2],
                "to_action": k[3],
                "count": len(v),
                "money_delta_fen": sum(r.refund - r.recorded_refund for r in v),
                "case_ids": [r.case_id for r in v],
            }
            for k, v in groups.items()
        ]
        return sorted(out, key=lambda g: (-int(g["count"]), str(g["from_rule"])))

    def money(self) -> dict[str, int]:
        """Automatic approvals the candidate adds and removes, in fen and in cases."""
        added = removed = added_cases = removed_cases = 0
        for r in self.replays:
            delta = r.refund - r.recorded_refund
            if delta > 0:
                added += delta
                added_cases += 1
            elif delta < 0:
                removed -= delta
                removed_cases += 1
        return {
            "added_fen": added,
            "added_cases": added_cases,
            "removed_fen": removed,
            "removed_cases": removed_cases,
            "delta_fen": added - removed,
        }

    def agreement(self) -> dict[str, Any]:
        """Candidate vs person on the cases a person decided: a confusion matrix of case ids
        (rows: the candidate's action; columns: the person's)."""
        matrix: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        agreed = total = 0
        for r in self.replays:
            if r.person_action is None:
                continue
            total += 1
            agreed += r.action == r.person_action
            matrix[r.action][r.person_action].append(r.case_id)
        return {
            "cases": total,
            "agreed": agreed,
            "rate": round(agreed / total, 4) if total else None,
            "matrix": {row: dict(cells) for row, cells in sorted(matrix.items())},
        }

    def as_json(self) -> dict[str, Any]:
        money = self.money()
        return {
            "candidate": {"name": self.candidate_name, "version": self.candidate_version},
            "replayed": self.replayed,
            "changed": self.changed,
            "by_rule": self.by_rule(),
            "money_delta_fen": money["delta_fen"],
            "money": money,
            "agreement": self.agreement(),
            "changed_cases": [r.as_json() for r in self.changed_replays],
        }


def _refund(action: str, params: dict[str, Any], fallback: int) -> int:
    if action not in _APPROVING:
        return 0
    amount = params.get("refund_amount")
    return int(amount) if isinstance(amount, int) else fallback


def _view(params: dict[str, Any]) -> dict[str, Any]:
    return {key: params.get(key) for key in EXPECT_KEYS}


def replay_one(
    row: ReplayRow,
    candidate: Policy,
    recorded_policy: Callable[[str], Policy | None],
) -> Replay:
    case = RefundCase.model_validate_json(row.facts_json)
    decision = decide(case, candidate, row.facts_at)
    params = json.loads(row.params_json)
    view = decision.expect_view()
    changed = view != _view(params)
    if changed and row.policy_version != candidate.version:
        # The daemon may have overridden its policy; the override applies to the candidate too
        # when it says what the recorded version said.
        recorded = recorded_policy(row.policy_version)
        if recorded is not None:
            changed = decide(case, recorded, row.facts_at).expect_view() != view
    elif changed:
        changed = False  # same version, same facts, same time: the daemon overrode it
    person = PERSON_ACTIONS.get(row.person_action or "", row.person_action)
    recorded_refund = _refund(row.action, params, case.refund_amount)
    rule = decision.rule_id or "(none)"
    if not changed:  # the same outcome, possibly by another rule
        action, refund = row.action, recorded_refund
    else:
        action, refund = decision.action.value, _candidate_refund(decision, case)
    return Replay(
        decision_id=row.decision_id,
        platform=row.key[0],
        shop_id=row.key[1],
        case_id=row.key[2],
        decided_at=row.facts_at,
        recorded_rule=row.rule_id,
        recorded_action=row.action,
        recorded_refund=recorded_refund,
        rule=rule,
        action=action,
        refund=refund,
        changed=changed,
        person_action=person,
    )


def _candidate_refund(decision: Decision, case: RefundCase) -> int:
    if decision.action not in APPROVING_ACTIONS:
        return 0
    return decision.parameters.refund_amount or case.refund_amount


def backtest(
    rows: Iterable[ReplayRow],
    candidate: Policy,
    recorded_policy: Callable[[str], Policy | None],
) -> BacktestReport:
    """Replay ``rows`` through ``candidate``; ``recorded_policy`` finds a version's policy."""
    cache: dict[str, Policy | None] = {}

    def cached(version: str) -> Policy | None:
        if version not in cache:
            cache[version] = recorded_policy(version)
        return cache[version]

    report = BacktestReport(candidate.name, candidate.version)
    report.replays = [replay_one(row, candidate, cached) for row in rows]
    return report


def action_counts(report: BacktestReport) -> tuple[Counter[str], Counter[str]]:
    """Decisions per action, as recorded and as the candidate would have made them."""
    before = Counter(r.recorded_action for r in report.replays)
    after = Counter(r.action for r in report.replays)
    return before, after
