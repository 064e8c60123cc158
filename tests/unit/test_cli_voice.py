"""One CLI voice (issue 17, point 5): every --help reads plainly, money in yuan, Beijing time with
--utc, a case by its platform/shop/id key or bare id, --json lists complete."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from connector.cli import app, ops_cmd
from connector.clock import FakeClock
from connector.effects import EffectKind
from connector.models import RefundCase
from connector.store import CaseState, EffectSpec, Store, open_store

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
runner = CliRunner(env={"COLUMNS": "200"})


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    if hasattr(command, "commands"):  # a group (typer may carry its own copy of click)
        for name, sub in command.commands.items():
            yield from _paths(sub, (*prefix, name))


def test_every_command_help_works_and_shows_flags_plainly() -> None:
    root = typer.main.get_command(app)
    paths = list(_paths(root))
    assert ("demo",) in paths
    assert ("dev",) in paths
    assert len(paths) > 25
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, path
        assert "Usage: refund-connector" in result.output, path


def test_demo_help_names_every_fake_platform() -> None:
    text = runner.invoke(app, ["demo", "--help"]).output
    for name in ("Taobao", "JD", "warehouse", "--serve"):
        assert name in text


def _case(case_id: str, shop: str = "s1", **overrides: Any) -> RefundCase:
    doc: dict[str, Any] = {
        "platform": "taobao",
        "shop_id": shop,
        "case_id": case_id,
        "order_id": f"O-{case_id}",
        "item": {"sku": "SKU1", "title": "mug", "price": 129950},
        "type": "refund_only",
        "reason": "not_as_described",
        "status": "awaiting_seller",
        "order_status": "delivered",
        "paid_amount": 129950,
        "refund_amount": 129950,
        "created_at": START.isoformat(),
        "updated_at": START.isoformat(),
        "deadline_at": (START + timedelta(hours=3)).isoformat(),
        "buyer": {"id": "b-anon"},
        "version": "v1",
    }
    doc.update(overrides)
    return RefundCase.model_validate(doc)


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, Path]]:
    clock = FakeClock(START)
    monkeypatch.setattr(ops_cmd, "CLOCK", clock)
    state = tmp_path / "state"
    store = open_store(state, clock=clock)
    for shop in ("s1", "s2"):  # the same id in two shops: a bare id is ambiguous
        store.upsert_case(_case("TWIN", shop))
    store.upsert_case(_case("ONLY"))
    with store.unit_of_work():
        store.set_case_state(
            ("taobao", "s1", "ONLY"), CaseState.queued_for_human, actor="policy", reason="r"
        )
    yield store, state
    store.close()


def _cli(state: Path, *args: str) -> Any:
    return runner.invoke(app, [*args, "--state-dir", str(state)])


def test_audit_show_takes_the_key_audit_tail_prints(desk: tuple[Store, Path]) -> None:
    _, state = desk
    tail = _cli(state, "audit", "tail", "-n", "1")
    key = tail.output.rsplit("[", 1)[1].split("]", 1)[0]
    assert key == "taobao/s1/ONLY"
    by_key = _cli(state, "audit", "show", key)
    assert by_key.exit_code == 0, by_key.output
    assert "case taobao/s1/ONLY" in by_key.output
    assert _cli(state, "audit", "show", "ONLY").output == by_key.output  # bare id: unambiguous
    twin = _cli(state, "audit", "show", "taobao/s2/TWIN")
    assert "case taobao/s2/TWIN" in twin.output
    assert "taobao/s1/TWIN" not in twin.output


def test_queue_commands_take_the_key_and_name_the_shops_when_a_bare_id_is_ambiguous(
    desk: tuple[Store, Path],
) -> None:
    _, state = desk
    shown = _cli(state, "queue", "show", "taobao/s2/TWIN")
    assert shown.exit_code == 0, shown.output
    assert "case taobao/s2/TWIN" in shown.output
    ambiguous = _cli(state, "queue", "show", "TWIN")
    assert ambiguous.exit_code == 1
    assert "taobao/s1/TWIN, taobao/s2/TWIN" in ambiguous.output
    bad = _cli(state, "queue", "show", "taobao/TWIN")
    assert "platform/shop/id" in bad.output


def test_money_reads_in_yuan_and_times_in_beijing_unless_utc(desk: tuple[Store, Path]) -> None:
    _, state = desk
    listed = _cli(state, "queue", "list")
    assert "1,299.50" in listed.output
    assert "129950" not in listed.output
    assert "2026-11-12 13:00 北京" in listed.output  # 05:00 UTC
    assert "2026-11-12 05:00 UTC" in _cli(state, "queue", "list", "--utc").output
    shown = _cli(state, "queue", "show", "ONLY")
    assert "asks ¥1,299.50 of ¥1,299.50 paid" in shown.output
    audit = _cli(state, "audit", "show", "ONLY")
    assert "asks ¥1,299.50 of ¥1,299.50 paid" in audit.output
    assert "北京" in audit.output
    assert "CNY" not in audit.output
    assert "UTC" in _cli(state, "audit", "show", "ONLY", "--utc").output
    as_json = json.loads(_cli(state, "queue", "list", "--json").output)
    assert as_json[0]["refund_amount_fen"] == 129950  # machines read integer fen


def test_effects_json_lists_everything_and_the_table_says_how_to_see_more(
    desk: tuple[Store, Path],
) -> None:
    store, state = desk
    store.record_decision(
        ("taobao", "s1", "ONLY"),
        decided_version="v1",
        policy_version="p",
        rule_id="r",
        action="ask_buyer_to_modify",
        effects=[
            EffectSpec(kind=EffectKind.message_buyer, params={"n": n}, discriminator=str(n))
            for n in range(105)
        ],
    )
    everything = json.loads(_cli(state, "effects", "list", "--json").output)
    assert len(everything) == 105
    table = _cli(state, "effects", "list")
    assert "more: --limit N or --json for all" in table.output
    by_key = json.loads(_cli(state, "effects", "list", "--json", "--case", "taobao/s1/ONLY").output)
    assert len(by_key) == 105
    other_shop = _cli(state, "effects", "list", "--json", "--case", "taobao/s2/ONLY")
    assert json.loads(other_shop.output) == []


def test_queue_show_lists_the_chat_and_the_tracking_steps_in_beijing_time(
    desk: tuple[Store, Path],
) -> None:
    store, state = desk
    store.upsert_case(
        _case(
            "CHAT",
            logistics={"carrier": "YTO", "waybill": "YT1", "status": "delivered"},
            logistics_steps=[
                {"at": "2026-11-10T18:00:00+08:00", "description": "【杭州】已揽收"},
                {"at": "2026-11-11T14:20:00+08:00", "description": "【上海】已签收"},
            ],
            chat=[{"at": "2026-11-12T09:05:00+08:00", "role": "buyer", "text": "坏了",
                   "pictures": 2}],
        )
    )
    shown = _cli(state, "queue", "show", "taobao/s1/CHAT")
    assert shown.exit_code == 0, shown.output
    assert "2026-11-11 14:20:00 北京  【上海】已签收" in shown.output
    assert "2026-11-12 09:05:00 北京  buyer: 坏了 [2 picture(s)]" in shown.output
    utc = _cli(state, "queue", "show", "taobao/s1/CHAT", "--utc")
    assert "2026-11-10 10:00:00 UTC  【杭州】已揽收" in utc.output
