"""People in the loop: a reviewer's decision goes through the outbox with the version they saw;
a platform step-up (SMS code) becomes a task whose code completes the original write once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from daemon_world import World

from connector.effects import EffectKind, EffectStatus
from connector.review import (
    CaseChangedError,
    ReviewAction,
    Reviewer,
    ReviewError,
    claim,
    complete_task_with_code,
    decide_by_person,
    review_queue,
)
from connector.store import CaseState

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)
ANN = Reviewer(name="ann", os_user="ann-os")
BOB = Reviewer(name="bob", os_user="bob-os")


def _signed_but_not_received(world: World, paid: int = 8800, hours: int = 20) -> str:
    now = world.clock.now()
    return world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=paid,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=hours * 3600,
    )


def test_queue_is_ordered_by_time_left_and_says_why(world: World) -> None:
    later = _signed_but_not_received(world, hours=20)
    sooner = _signed_but_not_received(world, hours=5)
    world.daemon.run_once(full=True)
    items = review_queue(world.store, world.clock.now())
    assert [i.record.case_id for i in items] == [sooner, later]
    assert "4-delivered-or-unknown" in items[0].reason


def test_reviewer_decision_is_sent_once_with_the_version_they_saw(world: World) -> None:
    case_id = _signed_but_not_received(world)
    world.daemon.run_once(full=True)
    record = world.store.get_case(("taobao", "taobao-shop", case_id))
    assert record is not None
    claim(world.store, record, ANN, world.clock.now())
    with pytest.raises(ReviewError, match="being worked by ann"):
        claim(world.store, record, BOB, world.clock.now())

    decide_by_person(
        world.store, record, ReviewAction.approve_refund, reviewer=ANN,
        reason="buyer's neighbour signed; parcel not found", now=world.clock.now(),
    )
    world.daemon.run_once()
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == ["agree_refund", "write_order_memo"]
    audit = [e for e in world.store.audit_entries(case_id=case_id) if e.event == "human_action"]
    assert audit[0].actor == "human:ann"
    assert audit[0].details["os_user"] == "ann-os"


def test_decision_on_a_case_that_changed_meanwhile_is_refused_with_the_new_state(
    world: World,
) -> None:
    case_id = _signed_but_not_received(world)
    world.daemon.run_once(full=True)
    record = world.store.get_case(("taobao", "taobao-shop", case_id))
    assert record is not None
    claim(world.store, record, ANN, world.clock.now())
    world.advance(timedelta(minutes=5))
    world.control.buyer(case_id, {"action": "add_evidence", "kind": "photo"})
    world.daemon.run_once()  # the daemon sees the new version
    with pytest.raises(CaseChangedError) as info:
        decide_by_person(
            world.store, record, ReviewAction.reject, reviewer=ANN,
            reason="签收记录显示已签收", now=world.clock.now(),
        )
    assert info.value.record.version != record.version
    assert "changed since you looked" in str(info.value)
    assert world.effects_at_platform(case_id) == []


def test_refund_above_what_is_left_on_the_order_is_refused(world: World) -> None:
    case_id = _signed_but_not_received(world, paid=5000)
    world.daemon.run_once(full=True)
    record = world.store.get_case(("taobao", "taobao-shop", case_id))
    assert record is not None
    with pytest.raises(ReviewError, match="not allowed"):
        decide_by_person(
            world.store, record, ReviewAction.approve_refund, reviewer=ANN, reason="ok",
            now=world.clock.now(), amount=5001,
        )


def test_sms_step_up_becomes_a_task_and_the_code_applies_the_refund_once(world: World) -> None:
    case_id = _signed_but_not_received(world, paid=159900)  # above 1000 yuan: a person's call
    world.daemon.run_once(full=True)
    record = world.store.get_case(("taobao", "taobao-shop", case_id))
    assert record is not None
    assert record.state is CaseState.queued_for_human
    decide_by_person(
        world.store, record, ReviewAction.approve_refund, reviewer=ANN,
        reason="VIP buyer, parcel lost by courier", now=world.clock.now(),
    )
    world.daemon.run_once()
    tasks = world.store.open_tasks("sms_code")
    assert len(tasks) == 1
    assert tasks[0].deadline_at == record.deadline_at
    assert world.effects_at_platform(case_id) == []

    code = world.control._call("GET", "/__mock/sms", shop="taobao-shop")["code"]
    complete_task_with_code(world.store, tasks[0].id, str(code), reviewer=ANN)
    world.daemon.run_once()
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == ["agree_refund", "write_order_memo"]
    agree = next(
        e for e in world.store.effects_of_case(record.key) if e.kind is EffectKind.agree_refund
    )
    assert agree.status is EffectStatus.done
    requeued = [
        e for e in world.store.audit_entries(case_id=case_id) if e.event == "effect_requeued"
    ]
    assert requeued[0].details["params_added"] == ["verify_code"]
    assert str(code) not in str([e.details for e in world.store.audit_entries(case_id=case_id)])


def test_queue_commands_list_show_and_decide(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from connector.cli import app, ops_cmd

    monkeypatch.setattr(ops_cmd, "CLOCK", world.clock)
    case_id = _signed_but_not_received(world)
    world.daemon.run_once(full=True)
    runner = CliRunner(env={"COLUMNS": "220"})
    state = ["--state-dir", str(world.state_dir)]
    listed = runner.invoke(app, ["queue", "list", *state])
    assert listed.exit_code == 0, listed.output
    assert case_id in listed.output
    shown = runner.invoke(app, ["queue", "show", case_id, "--as", "ann", *state])
    assert shown.exit_code == 0, shown.output
    assert "4-delivered-or-unknown" in shown.output
    assert "not_received" in shown.output
    refused = runner.invoke(
        app, ["queue", "decide", case_id, "reject", "--reason", "x", "--as", "bob", *state]
    )
    assert refused.exit_code == 1
    assert "claimed by ann" in refused.output
    decided = runner.invoke(
        app,
        ["queue", "decide", case_id, "reject", "--reason", "物流显示本人已签收",
         "--as", "ann", *state],
    )
    assert decided.exit_code == 0, decided.output
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == ["refuse_refund"]
