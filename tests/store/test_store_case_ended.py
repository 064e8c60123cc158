"""The store applies ``connector.casechange.outlived_effects`` in every unit of work that could
otherwise leave a write to go out after a version ending the seller's part was stored: the
upsert itself, the end of a send that was in flight, recovery after a crash, and a decision made
on an older version enqueued after the ending one arrived."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_helpers import START, make_case

from connector.clock import FakeClock
from connector.effects import EffectKind, EffectStatus
from connector.store import CaseState, EffectRecord, EffectSpec
from connector.store.sqlite import SqliteStore

KEY = ("taobao", "s1", "R1")
APPROVAL = (
    EffectSpec(kind=EffectKind.agree_refund, params={"amount": 5000}),
    EffectSpec(kind=EffectKind.write_order_memo, params={"memo": "refunded"}),
)
CLOSED = {"status": "closed", "version": "v2", "updated_at": "2026-11-12T10:00:00+08:00"}


def _decide(store: SqliteStore, effects: tuple[EffectSpec, ...] = APPROVAL) -> list[EffectRecord]:
    _, created = store.record_decision(
        KEY,
        decided_version="v1",
        policy_version="p1",
        rule_id="5-small-refund",
        action="approve_refund",
        effects=effects,
    )
    return created


def _status(store: SqliteStore, effect: EffectRecord) -> EffectStatus:
    latest = store.get_effect(effect.id)
    assert latest is not None
    return latest.status


@pytest.fixture
def seeded(store: SqliteStore) -> SqliteStore:
    store.upsert_case(make_case())
    return store


def test_a_closed_version_supersedes_pending_writes_in_its_own_unit_of_work(
    seeded: SqliteStore,
) -> None:
    agree, memo = _decide(seeded)
    change = seeded.upsert_case(make_case(**CLOSED))

    assert change.record.state is CaseState.done
    assert [_status(seeded, e) for e in (agree, memo)] == [EffectStatus.superseded] * 2
    audited = [e for e in seeded.audit_entries() if e.event == "effect_superseded"]
    assert [e.details["effect_id"] for e in audited] == [agree.id, memo.id]
    assert {e.details["ended_by_version"] for e in audited} == {"v2"}
    assert {e.details["ended_by_status"] for e in audited} == {"closed"}
    assert seeded.due_effects(START + timedelta(days=1)) == []


def test_the_upsert_and_its_supersession_roll_back_together(seeded: SqliteStore) -> None:
    agree, _ = _decide(seeded)

    def store_then_fail() -> None:
        with seeded.unit_of_work():
            seeded.upsert_case(make_case(**CLOSED))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert _status(seeded, agree) is EffectStatus.pending
    record = seeded.get_case(KEY)
    assert record is not None
    assert record.version == "v1"


def test_a_send_in_flight_is_left_to_its_sender_and_not_retried_after(
    seeded: SqliteStore, clock: FakeClock
) -> None:
    """It may land: the store does not touch it. Its retryable failure then ends it."""
    agree, memo = _decide(seeded)
    seeded.claim_effect(agree.id)
    seeded.upsert_case(make_case(**CLOSED))
    assert _status(seeded, agree) is EffectStatus.in_flight
    assert _status(seeded, memo) is EffectStatus.superseded

    after = seeded.reschedule_effect(
        agree.id, error="503", next_attempt_at=clock.now() + timedelta(seconds=30)
    )
    assert after.status is EffectStatus.superseded
    assert seeded.due_effects(clock.now() + timedelta(hours=1)) == []


def test_an_unknown_agreement_is_left_for_the_reread(seeded: SqliteStore, clock: FakeClock) -> None:
    """Re-read before any resend: it may have landed (then it is done, the refund counted)."""
    agree, memo = _decide(seeded)
    seeded.claim_effect(agree.id)
    seeded.mark_effect_unknown(
        agree.id, error="timeout", next_attempt_at=clock.now() + timedelta(seconds=30)
    )
    seeded.upsert_case(make_case(**CLOSED))
    assert _status(seeded, agree) is EffectStatus.unknown
    assert _status(seeded, memo) is EffectStatus.superseded


def test_an_unknown_message_is_superseded_since_no_reread_can_tell(
    seeded: SqliteStore, clock: FakeClock
) -> None:
    [message] = _decide(seeded, (EffectSpec(kind=EffectKind.message_buyer, params={}),))
    seeded.claim_effect(message.id)
    seeded.upsert_case(make_case(**CLOSED))
    seeded.mark_effect_unknown(
        message.id, error="timeout", next_attempt_at=clock.now() + timedelta(seconds=30)
    )
    assert _status(seeded, message) is EffectStatus.superseded


def test_a_send_in_flight_at_a_crash_is_not_resent_after_restart(
    seeded: SqliteStore,
) -> None:
    [message] = _decide(seeded, (EffectSpec(kind=EffectKind.message_buyer, params={}),))
    seeded.claim_effect(message.id)
    seeded.upsert_case(make_case(**CLOSED))
    seeded.recover_in_flight()
    assert _status(seeded, message) is EffectStatus.superseded


def test_a_decision_on_an_older_version_enqueued_after_the_close_is_born_superseded(
    seeded: SqliteStore,
) -> None:
    """The decider read v1, the poll stored the closed v2 meanwhile, then the decision lands."""
    seeded.upsert_case(make_case(**CLOSED))
    created = _decide(seeded)
    assert [e.status for e in created] == [EffectStatus.superseded] * 2


def test_our_own_agreement_keeps_its_memo_when_the_refunded_version_arrives(
    seeded: SqliteStore,
) -> None:
    agree, memo = _decide(seeded)
    seeded.claim_effect(agree.id)
    seeded.mark_effect_done(agree.id)
    refunded = {**CLOSED, "status": "refunded"}
    seeded.upsert_case(make_case(**refunded))
    assert _status(seeded, memo) is EffectStatus.pending


def test_a_version_that_leaves_the_seller_a_part_supersedes_nothing(seeded: SqliteStore) -> None:
    agree, memo = _decide(seeded)
    seeded.upsert_case(make_case(**{**CLOSED, "status": "awaiting_seller", "refund_amount": 4000}))
    assert [_status(seeded, e) for e in (agree, memo)] == [EffectStatus.pending] * 2
