"""The pure case-change rules every store backend applies (``connector.casechange``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from connector.casechange import (
    SELLER_DONE_STATUSES,
    PreviousVersion,
    classify_change,
    ended_reason,
    outlived_effects,
    state_on_arrival,
)
from connector.effects import EffectKind, EffectStatus
from connector.models import CaseStatus
from connector.store import CaseState, ChangeKind

AT = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Effect:
    kind: EffectKind
    status: EffectStatus
    decision_id: int = 1
    decided_version: str | None = "v1"


def _approval(agree: EffectStatus, memo: EffectStatus = EffectStatus.pending) -> list[Effect]:
    return [Effect(EffectKind.agree_refund, agree), Effect(EffectKind.write_order_memo, memo)]


# -- classification ---------------------------------------------------------------------------


def test_a_first_read_is_new() -> None:
    assert classify_change(None, version="1", updated_at=AT, facts_hash="h") is ChangeKind.new


@pytest.mark.parametrize(
    ("version", "updated_at", "digest", "expected"),
    [
        ("1", AT, "h", ChangeKind.unchanged),
        ("2", AT + timedelta(seconds=1), "h", ChangeKind.version_only),
        ("2", AT + timedelta(seconds=1), "other", ChangeKind.facts_changed),
        ("0", AT - timedelta(seconds=1), "other", ChangeKind.stale),
        ("2", None, "other", ChangeKind.facts_changed),
    ],
)
def test_a_read_is_classified_against_what_is_stored(
    version: str, updated_at: datetime | None, digest: str, expected: ChangeKind
) -> None:
    previous = PreviousVersion(version="1", updated_at=AT, facts_hash="h")
    got = classify_change(previous, version=version, updated_at=updated_at, facts_hash=digest)
    assert got is expected


def test_refunded_or_closed_settles_the_case_other_news_is_decided() -> None:
    assert state_on_arrival(CaseStatus.closed) is CaseState.done
    assert state_on_arrival(CaseStatus.refunded) is CaseState.done
    assert state_on_arrival(CaseStatus.in_dispute) is CaseState.new
    assert state_on_arrival(CaseStatus.awaiting_seller) is CaseState.new


# -- outlived effects -------------------------------------------------------------------------


@pytest.mark.parametrize("status", sorted(SELLER_DONE_STATUSES))
def test_pending_writes_of_an_earlier_version_are_outlived_when_the_seller_part_ends(
    status: CaseStatus,
) -> None:
    effects = _approval(EffectStatus.pending)
    assert outlived_effects(status, "v2", effects) == effects


@pytest.mark.parametrize(
    "status",
    sorted(set(CaseStatus) - SELLER_DONE_STATUSES),
)
def test_nothing_is_outlived_while_the_seller_still_has_a_part(status: CaseStatus) -> None:
    assert outlived_effects(status, "v2", _approval(EffectStatus.pending)) == []


def test_writes_decided_on_the_ending_version_itself_stay() -> None:
    """A person may answer a dispute at the dispute's own version."""
    assert outlived_effects(CaseStatus.in_dispute, "v1", _approval(EffectStatus.pending)) == []


@pytest.mark.parametrize("sent", [EffectStatus.done, EffectStatus.in_flight, EffectStatus.unknown])
def test_the_follow_ups_of_our_own_agreement_stay_when_it_made_the_case_refunded(
    sent: EffectStatus,
) -> None:
    assert outlived_effects(CaseStatus.refunded, "v2", _approval(sent)) == []


def test_a_done_agreement_does_not_keep_its_follow_ups_when_the_buyer_closed_the_case() -> None:
    effects = _approval(EffectStatus.done)
    assert outlived_effects(CaseStatus.closed, "v2", effects) == [effects[1]]


def test_a_write_in_flight_is_left_to_its_sender() -> None:
    effects = [Effect(EffectKind.message_buyer, EffectStatus.in_flight)]
    assert outlived_effects(CaseStatus.closed, "v2", effects) == []


def test_an_unknown_write_a_reread_can_tell_is_left_to_the_reread() -> None:
    effects = [Effect(EffectKind.agree_refund, EffectStatus.unknown)]
    assert outlived_effects(CaseStatus.closed, "v2", effects) == []


@pytest.mark.parametrize(
    "kind",
    [EffectKind.message_buyer, EffectKind.write_order_memo, EffectKind.void_warehouse_order],
)
def test_an_unknown_write_no_reread_can_tell_is_outlived(kind: EffectKind) -> None:
    effects = [Effect(kind, EffectStatus.unknown)]
    assert outlived_effects(CaseStatus.closed, "v2", effects) == effects


@pytest.mark.parametrize(
    "status",
    [EffectStatus.done, EffectStatus.failed, EffectStatus.superseded, EffectStatus.cancelled],
)
def test_finished_effects_are_left_alone(status: EffectStatus) -> None:
    effects = [Effect(EffectKind.agree_return, status, decision_id=2)]
    assert outlived_effects(CaseStatus.closed, "v2", effects) == []


def test_notices_to_ops_stay_true_whatever_the_case_does() -> None:
    effects = [Effect(EffectKind.notify_webhook, EffectStatus.pending)]
    assert outlived_effects(CaseStatus.closed, "v2", effects) == []


def test_only_the_decision_that_brought_the_case_there_keeps_its_writes() -> None:
    older = Effect(EffectKind.message_buyer, EffectStatus.pending, decision_id=1)
    ours = [
        Effect(EffectKind.agree_refund, EffectStatus.done, decision_id=2),
        Effect(EffectKind.write_order_memo, EffectStatus.pending, decision_id=2),
    ]
    assert outlived_effects(CaseStatus.refunded, "v3", [older, *ours]) == [older]


def test_the_reason_names_the_version_that_ended_the_case() -> None:
    reason = ended_reason(CaseStatus.closed, "1762912800123")
    assert "closed" in reason
    assert "1762912800123" in reason
