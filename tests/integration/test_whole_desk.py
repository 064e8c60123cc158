"""The whole desk (issue 5): carrier claims, refusals with evidence or to a person with the
platform's reason, shop templates, memos after refunds, ops retry/cancel, backups while running."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from daemon_world import World, make_world
from typer.testing import CliRunner

from connector.cli import app, ops_cmd
from connector.effects import EffectKind, EffectStatus
from connector.review import review_queue

pytestmark = pytest.mark.integration
HOUR = timedelta(hours=1)
ASK_TEMPLATE = "【鞋履旗舰店】订单$order_id：收到的商品有问题请改为“退货退款”，运费由我们承担。"


@pytest.fixture
def templated(tmp_path: Path) -> Iterator[World]:
    extra = {
        "templates": {"ask_to_modify": ASK_TEMPLATE},
        "refusal_reason_ids": {"refusal.default": "4001"},
    }
    yield from make_world(tmp_path, shop_extra=extra)


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, list[str]]:
    monkeypatch.setattr(ops_cmd, "CLOCK", world.clock)
    return CliRunner(env={"COLUMNS": "220"}), ["--state-dir", str(world.state_dir)]


def test_lost_parcel_is_refunded_and_a_carrier_claim_recorded_and_exported(
    world: World, cli: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only",
        reason="not_received",
        order_status="shipped",
        paid_amount=19900,
        shipped_at=(now - 6 * 24 * HOUR).isoformat(),
        logistics_status="lost",
        carrier="ZTO",
        waybill="ZTO7788",
        item={"sku": "EB-330", "title": "wireless earbuds", "price": 19900},
        deadline_s=30 * 3600,
    )
    world.daemon.run_once(full=True)
    assert world.effects_at_platform(case_id) == ["agree_refund", "write_order_memo"]
    claims = world.store.list_carrier_claims()
    assert [(c.case_id, c.sku, c.waybill, c.carrier, c.item_price) for c in claims] == [
        (case_id, "EB-330", "ZTO7788", "ZTO", 19900)
    ]
    runner, state = cli
    out = tmp_path / "claims.csv"
    result = runner.invoke(app, ["claims", "export", "--output", str(out), "--as", "ops", *state])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["order_id"] == world.order_of(case_id)
    assert "ZTO7788" in rows[0].values()


def test_memo_is_written_on_the_order_after_a_refund(world: World) -> None:
    case_id = world.seed(
        type="refund_only",
        reason="changed_mind",
        order_status="not_shipped",
        paid_amount=5900,
        deadline_s=20 * 3600,
    )
    world.warehouse_order(world.order_of(case_id), "not_printed")
    world.daemon.run_once(full=True)
    memo = world.control.case(case_id)["memo"]
    assert case_id in memo
    assert "59.00" in memo
    assert "请勿重复退款" in memo


def test_no_reason_refusal_forbidden_by_taobao_goes_to_a_person_with_its_reason(
    world: World,
) -> None:
    now = world.clock.now()
    case_id = world.seed(
        type="return_and_refund",
        reason="no_reason_7d",
        order_status="delivered",
        paid_amount=12900,
        shipped_at=(now - 14 * 24 * HOUR).isoformat(),
        delivered_at=(now - 12 * 24 * HOUR).isoformat(),
        logistics_status="delivered",
        deadline_s=3 * 24 * 3600,
    )
    world.daemon.run_once(full=True)
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == []
    items = [i for i in review_queue(world.store, world.clock.now()) if i.record.case_id == case_id]
    assert len(items) == 1
    assert "七天无理由" in items[0].reason  # the platform's own words


def test_refusal_carries_the_rendered_delivery_record_with_its_hash_in_the_audit(
    world: World,
) -> None:
    now = world.clock.now()
    case_id = world.seed(
        shop_id="tmall-shop",
        type="refund_only",
        reason="damaged",
        order_status="delivered",
        paid_amount=59900,
        shipped_at=(now - 4 * 24 * HOUR).isoformat(),
        delivered_at=(now - 2 * 24 * HOUR).isoformat(),
        logistics_status="delivered",
        deadline_s=5 * 3600,
    )
    world.daemon.run_once(full=True)
    world.advance(world.until_deadline(case_id) - timedelta(minutes=50))
    world.daemon.run_once()
    assert world.effects_at_platform(case_id)[-1] == "refuse_refund"  # Tmall needs the proof
    key = ("taobao", "tmall-shop", case_id)
    refusal = next(
        e for e in world.store.effects_of_case(key) if e.kind is EffectKind.refuse_refund
    )
    assert refusal.status is EffectStatus.done
    decided = [e for e in world.store.audit_entries(case_id=case_id) if e.event == "decided"]
    attachments = decided[-1].details["params"]["attachments"]
    assert attachments == [
        {
            "effect": "refuse_refund",
            "attachment": "proof_image",
            "sha256": refusal.params["proof_image_sha256"],
            "bytes": refusal.params["proof_image_bytes"],
        }
    ]


def test_ask_to_modify_uses_the_shops_template(templated: World) -> None:
    world = templated
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only",
        reason="quality",
        order_status="delivered",
        paid_amount=45900,
        shipped_at=(now - 4 * 24 * HOUR).isoformat(),
        delivered_at=(now - 1 * 24 * HOUR).isoformat(),
        logistics_status="delivered",
        deadline_s=8 * 3600,
    )
    world.daemon.run_once(full=True)
    refund = world.taobao.refunds[case_id]
    seller = [m.content for m in refund.messages if m.owner_role == 2]
    assert seller == [ASK_TEMPLATE.replace("$order_id", world.order_of(case_id))]
    # at the deadline the fallback refusal carries the shop's reason id for its template
    world.advance(world.until_deadline(case_id) - timedelta(minutes=50))
    world.daemon.run_once()
    key = ("taobao", "taobao-shop", case_id)
    refusal = next(
        e for e in world.store.effects_of_case(key) if e.kind is EffectKind.refuse_refund
    )
    assert refusal.params["reason_id"] == "4001"


def test_failed_effect_retried_and_another_cancelled_from_the_command_line(
    world: World, cli: tuple[CliRunner, list[str]]
) -> None:
    runner, state = cli
    first = world.seed(
        type="refund_only",
        reason="changed_mind",
        order_status="not_shipped",
        paid_amount=5900,
        deadline_s=20 * 3600,
    )
    second = world.seed(
        type="refund_only",
        reason="wrong_order",
        order_status="not_shipped",
        paid_amount=6900,
        deadline_s=20 * 3600,
    )
    for case_id in (first, second):
        world.warehouse_order(world.order_of(case_id), "voided")
    world.control.faults(
        {
            "match": {"method": "taobao.rp.refunds.agree"},
            "count": 2,
            "fault": {
                "kind": "platform_error",
                "code": "15",
                "sub_code": "isv.invalid-permission",
                "msg": "Remote service error",
            },
        }
    )
    world.daemon.run_once(full=True)
    failed = {e.case_id: e for e in world.store.list_effects(EffectStatus.failed)}
    assert set(failed) == {first, second}

    retried = runner.invoke(
        app, ["effects", "retry", str(failed[first].id), "--as", "ops-li", *state]
    )
    assert retried.exit_code == 0, retried.output
    cancelled = runner.invoke(
        app,
        [
            "effects",
            "cancel",
            str(failed[second].id),
            "--as",
            "ops-li",
            "--reason",
            "refunded by phone in the platform's own tool",
            *state,
        ],
    )
    assert cancelled.exit_code == 0, cancelled.output
    world.daemon.run_once()
    assert world.effects_at_platform(first)[0] == "agree_refund"
    assert world.effects_at_platform(second) == []
    events = [(e.event, e.actor) for e in world.store.audit_entries(case_id=second)]
    assert ("effect_cancelled", "human:ops-li") in events


def test_backup_taken_while_the_daemon_runs_opens_and_verifies(
    world: World, cli: tuple[CliRunner, list[str]], tmp_path: Path
) -> None:
    runner, state = cli
    for _ in range(30):
        world.seed(
            type="refund_only",
            reason="changed_mind",
            order_status="not_shipped",
            paid_amount=5900,
            deadline_s=20 * 3600,
        )
    stop = threading.Event()

    def keep_running() -> None:
        while not stop.is_set():
            world.daemon.run_once(full=True)

    worker = threading.Thread(target=keep_running)
    worker.start()
    try:
        target = tmp_path / "backup.db"
        result = runner.invoke(app, ["backup", str(target), *state])
    finally:
        stop.set()
        worker.join(timeout=60)
    assert result.exit_code == 0, result.output
    verified = runner.invoke(app, ["audit", "verify", "--state-dir", str(tmp_path / "restore")])
    assert verified.exit_code != 0  # no database there yet: refused, not created
    restore = tmp_path / "restore"
    restore.mkdir()
    (restore / "connector.db").write_bytes(target.read_bytes())
    verified = runner.invoke(app, ["audit", "verify", "--state-dir", str(restore)])
    assert verified.exit_code == 0, verified.output
    assert "chain intact" in verified.output
