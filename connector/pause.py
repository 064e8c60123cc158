"""The kill switch: pause automatic pushes, for every shop or one, from the CLI, the console or
a file; and the breaker's pause of automatic approval for one refund reason.

While paused, cases are still decided, but an automatic decision that would push anything to a
platform or warehouse goes to people instead (escalated); effects of automatic decisions that
are already in the outbox are held by the relay (put off, no attempt counted) until a resume.
Deadline fallbacks (rule 11) still go out, unless the pause says ``hold_fallbacks``. People's
own decisions are never held. Every switch is audited (``paused``, ``resumed``,
``breaker_tripped``).

The file switch is for when the console is down: a file named ``PAUSE`` in the state directory
pauses every shop (its first line, if any, is the reason; a line ``hold-fallbacks`` holds
fallbacks too); removing it resumes. Guarded by tests/integration/test_caps_and_pause.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from connector.effects import NOTICE_EFFECTS
from connector.models import RefundCase
from connector.policy.decision import APPROVING_ACTIONS, Action, Decision
from connector.policy.model import Policy
from connector.store.api import PauseRecord

if TYPE_CHECKING:
    from connector.store.api import EffectRecord, Store

PAUSE_FILE = "PAUSE"
HOLD_FALLBACKS_WORD = "hold-fallbacks"
HOLD_RECHECK = timedelta(seconds=30)
"""A held effect is looked at again this often; a resume makes held effects due at once."""
PAUSED, RESUMED, BREAKER_TRIPPED = "paused", "resumed", "breaker_tripped"

_QUIET = frozenset({Action.none, Action.human, Action.wait})
"""Actions that push nothing: a pause leaves them alone."""


@dataclass(frozen=True)
class PauseState:
    """What is paused for one shop right now."""

    paused: bool = False
    hold_fallbacks: bool = False
    why: str = ""
    reasons: frozenset[str] = field(default_factory=frozenset)
    """Refund reasons whose automatic approval the breaker paused."""


def pause_file(store: Store) -> Path | None:
    db = getattr(store, "path", None)
    return None if db is None else Path(db).parent / PAUSE_FILE


def _file_switch(store: Store) -> tuple[str, bool] | None:
    path = pause_file(store)
    if path is None or not path.exists():
        return None
    try:
        lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    except (OSError, UnicodeDecodeError):
        lines = []
    hold = HOLD_FALLBACKS_WORD in lines
    why = next((x for x in lines if x != HOLD_FALLBACKS_WORD), "")
    return (f"{PAUSE_FILE} file: {why}" if why else f"{PAUSE_FILE} file present"), hold


def state_for(store: Store, shop_id: str, pauses: list[PauseRecord] | None = None) -> PauseState:
    mine = [
        p
        for p in (store.open_pauses() if pauses is None else pauses)
        if p.shop_id in (None, shop_id)
    ]
    whole = [p for p in mine if p.reason_code is None]
    reasons = frozenset(p.reason_code for p in mine if p.reason_code is not None)
    switch = _file_switch(store)
    if switch is not None:
        return PauseState(
            True, switch[1] or any(p.hold_fallbacks for p in whole), switch[0], reasons
        )
    if whole:
        return PauseState(
            True, any(p.hold_fallbacks for p in whole), "; ".join(p.why for p in whole), reasons
        )
    return PauseState(reasons=reasons)


def hold_if_paused(store: Store, policy: Policy, case: RefundCase, decision: Decision) -> Decision:
    """The decider's gate: while paused, what would push goes to people instead; at the
    guard's last step a person's case takes its deadline fallback, unless fallbacks are held."""
    if decision.action in _QUIET:
        return decision
    state = state_for(store, case.shop_id)
    from connector.caps import to_people

    if state.paused:
        if decision.deadline_fallback and not state.hold_fallbacks:
            return decision
        people = to_people(
            case,
            policy,
            decision,
            f"automatic pushes are paused ({state.why}): a person decides",
            f"自动推送已暂停（{state.why}）：转人工",
        )
        if people.deadline_fallback and state.hold_fallbacks:
            return _plain_human(people)
        return people
    if (
        str(case.reason) in state.reasons
        and decision.action in APPROVING_ACTIONS
        and not decision.deadline_fallback
    ):
        return to_people(
            case,
            policy,
            decision,
            f"the breaker paused automatic approval for {case.reason}: a person decides",
            f"熔断已暂停原因 {case.reason} 的自动同意：转人工",
        )
    return decision


def _plain_human(decision: Decision) -> Decision:
    """Fallbacks held: the case stays a person's, and the platform's own timeout applies."""
    return decision.model_copy(
        update={
            "action": Action.human,
            "parameters": decision.parameters.model_copy(update={"escalated": True}),
            "deadline_fallback": False,
            "left_to_platform": True,
        }
    )


def holds_effect(store: Store, effect: EffectRecord, now: datetime) -> bool:
    """The relay's gate: hold an automatic decision's write while its shop is paused."""
    if effect.kind in NOTICE_EFFECTS:
        return False
    state = state_for(store, effect.shop_id)
    if not state.paused:
        return False
    decision = store.get_decision(effect.decision_id)
    if decision is None or decision.actor != "policy":
        return False
    if decision.params.get("deadline_fallback") and not state.hold_fallbacks:
        return False
    store.hold_effect(effect.id, until=now + HOLD_RECHECK, why="paused")
    return True


def pause(
    store: Store, *, shop_id: str | None, actor: str, why: str, hold_fallbacks: bool = False
) -> PauseRecord:
    return store.add_pause(
        shop_id=shop_id,
        reason_code=None,
        hold_fallbacks=hold_fallbacks,
        why=why,
        actor=actor,
        event=PAUSED,
    )


def resume(
    store: Store, *, shop_id: str | None, actor: str, reason_code: str | None = None, why: str = ""
) -> list[PauseRecord]:
    return store.resume_pauses(shop_id=shop_id, reason_code=reason_code, actor=actor, why=why)


def trip_breaker(store: Store, shop_id: str, reason_code: str, why: str) -> PauseRecord | None:
    """Open the breaker's pause for this reason unless one is open already."""
    if any(p.shop_id == shop_id and p.reason_code == reason_code for p in store.open_pauses()):
        return None
    return store.add_pause(
        shop_id=shop_id,
        reason_code=reason_code,
        hold_fallbacks=False,
        why=why,
        actor="system",
        event=BREAKER_TRIPPED,
    )
