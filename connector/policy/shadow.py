"""Shadow mode: a candidate policy decides beside a shop's live policy, recorded, never pushed.

``policy shadow CANDIDATE.toml --shop S --as NAME`` starts it (audited ``shadow_started``),
``policy shadow stop`` ends it. After every live decision the decider calls
``decide_beside``: the candidate decides the same facts at the same time and the result is
stored with the live one (audited ``shadow_decided``); nothing of it reaches the outbox, and a
failure in it never touches the live decision. ``shadow_report`` compares shadow vs live vs
people; ``promote`` makes the candidate live (audited ``policy_promoted``) and ends the shadow.
Guarded by tests/policy/test_policy_shadow.py and tests/integration/test_policy_safety.py.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector.errors import PolicyError
from connector.models import RefundCase
from connector.policy.backtest import PERSON_ACTIONS
from connector.policy.decision import APPROVING_ACTIONS, Decision
from connector.policy.engine import decide
from connector.policy.history import POLICY_PROMOTED, install, install_as, stored_policy
from connector.policy.model import Policy
from connector.store.api import PolicyInstallRecord, PolicyRole, ShadowDecisionRecord

if TYPE_CHECKING:
    from connector.store.api import CaseKey, Store

logger = logging.getLogger(__name__)

SHADOW_STARTED = "shadow_started"
SHADOW_STOPPED = "shadow_stopped"


def automatic_refund(decision: Decision, case: RefundCase) -> int:
    """Fen an automatic decision lets go (0 unless it approves)."""
    if decision.action not in APPROVING_ACTIONS:
        return 0
    return decision.parameters.refund_amount or case.refund_amount


def start(
    store: Store, candidate: Policy, *, shop_id: str, actor: str, note: str = ""
) -> PolicyInstallRecord:
    return install_as(
        store, candidate, PolicyRole.shadow, shop_id=shop_id, actor=actor, event=SHADOW_STARTED,
        note=note,
    )


def stop(store: Store, *, shop_id: str, actor: str) -> PolicyInstallRecord:
    if current_version(store, shop_id) is None:
        raise PolicyError(shop_id, ["no shadow policy runs for this shop"])
    return store.install_policy(
        None, shop_id=shop_id, role=PolicyRole.shadow, actor=actor, event=SHADOW_STOPPED
    )


def current_version(store: Store, shop_id: str) -> str | None:
    found = store.current_policy_install(shop_id, PolicyRole.shadow)
    return None if found is None else found.version


def decide_beside(
    store: Store, key: CaseKey, case: RefundCase, now: datetime, live: Decision
) -> None:
    """The decider's hook, after the live decision committed: decide again by the shadow."""
    try:
        version = current_version(store, key[1])
        if version is None:
            return
        shadow = decide(case, stored_policy(store, version), now)
        store.record_shadow_decision(
            key,
            decided_version=case.version,
            shadow_version=version,
            rule_id=shadow.rule_id or "(none)",
            action=shadow.action.value,
            refund_amount=automatic_refund(shadow, case),
            live_version=live.policy_version,
            live_rule_id=live.rule_id or "(none)",
            live_action=live.action.value,
            live_refund_amount=automatic_refund(live, case),
        )
    except Exception:  # a shadow must never stop the live decider
        logger.exception("shadow decision failed", extra={"case_id": key[2]})


def promote(store: Store, *, shop_id: str, actor: str, note: str = "") -> PolicyInstallRecord:
    """Make the running shadow live for ``shop_id`` and end the shadow, both audited."""
    version = current_version(store, shop_id)
    if version is None:
        raise PolicyError(shop_id, ["no shadow policy runs for this shop: nothing to promote"])
    candidate = stored_policy(store, version)
    with store.unit_of_work():
        installed = install(
            store, candidate, shop_id=shop_id, actor=actor, note=note, event=POLICY_PROMOTED
        )
        store.install_policy(
            None,
            shop_id=shop_id,
            role=PolicyRole.shadow,
            actor=actor,
            event=SHADOW_STOPPED,
            details={"promoted": version},
        )
    return installed


@dataclass
class ShadowReport:
    shop_id: str
    version: str | None
    decisions: list[ShadowDecisionRecord]

    def as_json(self) -> dict[str, Any]:
        pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
        people: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        live_people = Counter[str]()
        shadow_people = Counter[str]()
        for d in self.decisions:
            pairs[(d.live_action, d.action)].append(d.case_id)
            if d.person_action is not None:
                person = PERSON_ACTIONS.get(d.person_action, d.person_action)
                people[d.action][person].append(d.case_id)
                shadow_people["agreed" if d.action == person else "disagreed"] += 1
                live_people["agreed" if d.live_action == person else "disagreed"] += 1
        agree = sum(1 for d in self.decisions if d.action == d.live_action)
        return {
            "shop_id": self.shop_id,
            "shadow_version": self.version,
            "decisions": len(self.decisions),
            "agree_with_live": agree,
            "disagree_with_live": len(self.decisions) - agree,
            "live_vs_shadow": [
                {"live": k[0], "shadow": k[1], "count": len(v), "case_ids": v}
                for k, v in sorted(pairs.items(), key=lambda kv: -len(kv[1]))
            ],
            "money_delta_fen": sum(d.refund_amount - d.live_refund_amount for d in self.decisions),
            "people": {
                "cases": shadow_people.total(),
                "shadow_agreed": shadow_people["agreed"],
                "live_agreed": live_people["agreed"],
                "matrix": {row: dict(cells) for row, cells in sorted(people.items())},
            },
        }


def shadow_report(store: Store, shop_id: str, version: str | None = None) -> ShadowReport:
    """Shadow vs live vs people so far, for the running shadow (or ``version``)."""
    wanted = version or current_version(store, shop_id)
    if wanted is None:
        installs = store.policy_installs(shop_id=shop_id, role=PolicyRole.shadow)
        wanted = next((i.version for i in installs if i.version is not None), None)
    decisions = [] if wanted is None else store.shadow_decisions(shop_id, shadow_version=wanted)
    return ShadowReport(shop_id, wanted, decisions)
