"""The pure case-change rules every store backend applies (``connector.casechange``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.casechange import (
    DISPLAY_ONLY_FIELDS,
    NOT_FACTS,
    SELLER_DONE_STATUSES,
    PreviousVersion,
    changed_facts,
    classify_change,
    ended_reason,
    fact_material,
    outlived_effects,
    state_on_arrival,
)
from connector.clock import FakeClock
from connector.effects import EffectKind, EffectStatus
from connector.models import CaseStatus, RefundCase
from connector.policy.fields import CASE_FIELDS
from connector.store import CaseState, ChangeKind, open_store

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


# -- what counts as facts (issue 19, point 6: chat and trace steps are shown, not compared) -----


def _doc(**overrides: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "status": "awaiting_seller",
        "logistics": {"carrier": "YTO", "waybill": "YT1", "status": "in_transit"},
        "evidence": [],
        "version": "v1",
        "updated_at": "2026-11-12T09:00:00+08:00",
        "chat": [{"role": "buyer", "text": "还没到", "at": None, "pictures": 0}],
        "logistics_steps": [{"at": None, "description": "已揽收"}],
        "return_logistics_steps": [],
    }
    doc.update(overrides)
    return doc


def test_chat_and_trace_steps_are_not_facts() -> None:
    assert {"chat", "logistics_steps", "return_logistics_steps"} <= DISPLAY_ONLY_FIELDS
    assert DISPLAY_ONLY_FIELDS <= NOT_FACTS
    assert {"status", "logistics", "evidence"}.isdisjoint(NOT_FACTS)  # what policies read
    assert set(fact_material(_doc())) == {"status", "logistics", "evidence"}
    nameable = {path.split(".")[0] for path in CASE_FIELDS}  # what a policy condition may name
    assert nameable.isdisjoint(DISPLAY_ONLY_FIELDS)


def test_a_new_message_or_trace_step_is_no_news_but_a_parcel_status_is() -> None:
    before = _doc()
    chatty = _doc(
        chat=[
            {"role": "buyer", "text": "还没到", "at": None, "pictures": 0},
            {"role": "seller", "text": "在路上了", "at": None, "pictures": 0},
        ],
        logistics_steps=[
            {"at": None, "description": "已揽收"},
            {"at": None, "description": "运输中"},
        ],
        return_logistics_steps=[{"at": None, "description": "退货已揽收"}],
    )
    assert fact_material(chatty) == fact_material(before)
    assert changed_facts(chatty, before) == ()
    signed = _doc(logistics={"carrier": "YTO", "waybill": "YT1", "status": "delivered"})
    assert changed_facts(signed, before) == ("logistics",)


def test_a_store_read_with_only_new_chat_and_steps_is_not_decided_again(tmp_path: Path) -> None:
    """Through the store every backend shares the rule with: no re-decision, but the desk's
    copy of the case is the new one."""
    store = open_store(tmp_path / "state", clock=FakeClock(AT))
    try:
        first = _case()
        store.upsert_case(first)
        store.set_case_state(first.key, CaseState.decided)
        later = _case(
            version="v2",
            updated_at="2026-11-12T10:05:00+08:00",
            chat=[{"role": "buyer", "text": "什么时候处理？"}],
            logistics_steps=[{"description": "已揽收"}, {"description": "派送中"}],
        )
        change = store.upsert_case(later)
        assert change.kind is ChangeKind.version_only
        assert not change.needs_decision
        assert change.record.state is CaseState.decided
        assert [m.text for m in change.record.case.chat] == ["什么时候处理？"]
        assert len(change.record.case.logistics_steps) == 2
        moved = _case(
            version="v3",
            updated_at="2026-11-12T11:00:00+08:00",
            logistics={"carrier": "YTO", "waybill": "YT1", "status": "delivered"},
        )
        change = store.upsert_case(moved)
        assert change.kind is ChangeKind.facts_changed
        assert change.changed_fields == ("logistics",)
    finally:
        store.close()


def _case(**overrides: object) -> RefundCase:
    doc: dict[str, object] = {
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": "R1",
        "order_id": "O1",
        "item": {"sku": "SKU1", "price": 5000},
        "type": "refund_only",
        "reason": "not_received",
        "status": "awaiting_seller",
        "order_status": "shipped",
        "paid_amount": 5000,
        "refund_amount": 5000,
        "updated_at": "2026-11-12T10:00:00+08:00",
        "logistics": {"carrier": "YTO", "waybill": "YT1", "status": "in_transit"},
        "buyer": {"id": "b1"},
        "version": "v1",
        "chat": [{"role": "buyer", "text": "还没到"}],
        "logistics_steps": [{"description": "已揽收"}],
    }
    doc.update(overrides)
    return RefundCase.model_validate(doc)
