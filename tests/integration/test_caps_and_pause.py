"""Caps and the kill switch through real daemons over loopback HTTP, against the fake's ledger
(issue 20)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from daemon_world import World, config_for
from typer.testing import CliRunner

from connector.cli import app
from connector.daemon.runtime import build_daemon
from connector.policy import history, parse_policy
from connector.policy.loader import default_policy_text
from connector.store import CaseState, open_store
from mocks.taobao import TaobaoConfig

pytestmark = pytest.mark.integration
SHOP = "taobao-shop"
runner = CliRunner()


def seed_approvable(world: World, count: int, paid: int = 29900) -> list[str]:
    return [world.seed_approvable(paid) for _ in range(count)]


def agreed(world: World, ids: list[str]) -> list[str]:
    return [c for c in ids if "agree_refund" in world.effects_at_platform(c)]


@pytest.fixture
def second_worker(world: World) -> Iterator[object]:
    """Another daemon process's view: its own store connection on the same database file."""
    store = open_store(world.state_dir, clock=world.clock)
    daemon = build_daemon(
        config_for(world.taobao_url, world.warehouse_url, TaobaoConfig()),
        store=store,
        clock=world.clock,
        sleep=lambda _s: None,
    )
    yield daemon
    daemon.close()
    store.close()


def test_a_cap_below_the_demand_sends_the_rest_to_people_across_two_workers(
    world: World, second_worker: object
) -> None:
    capped = parse_policy(
        default_policy_text() + "\n[caps]\nhour_count = 3\nday_total = 89700\n", "capped.toml"
    )
    history.install(world.store, capped, shop_id=SHOP, actor="human:li")
    ids = seed_approvable(world, 8)
    world.daemon.poll_shop(next(iter(world.daemon.shops.values())), full=True)
    other = second_worker
    assert hasattr(other, "decide_pending")
    workers = [
        threading.Thread(target=world.daemon.decide_pending),
        threading.Thread(target=other.decide_pending),
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    world.daemon.run_once()
    assert len(agreed(world, ids)) == 3
    queued = world.store.cases_in_state(CaseState.queued_for_human)
    assert sorted(r.case_id for r in queued) == sorted(set(ids) - set(agreed(world, ids)))
    crossed = [e for e in world.store.audit_entries() if e.event == "cap_crossed"]
    assert len(crossed) == 5


def test_pause_stops_automatic_pushes_within_one_relay_tick(world: World) -> None:
    ids = seed_approvable(world, 3)
    world.daemon.poll_shop(next(iter(world.daemon.shops.values())), full=True)
    world.daemon.decide_pending()
    # Decided and queued in the outbox, not sent yet: now the switch.
    result = runner.invoke(
        app, ["pause", "--as", "li", "--reason", "fraud wave", "--state-dir", str(world.state_dir)]
    )
    assert result.exit_code == 0, result.output
    world.daemon.run_once()  # the next tick: every relay round of it
    assert agreed(world, ids) == []
    assert [e for e in world.control.ledger()[0] if e.get("actor") == "seller"] == []
    assert [e for e in world.warehouse_ledger() if e.get("effect") == "void_order"] == []
    # New cases are still decided, and go to people.
    world.advance(timedelta(minutes=1))
    [late] = seed_approvable(world, 1)
    world.daemon.run_once(full=True)
    assert agreed(world, [late]) == []
    record = world.store.get_case(("taobao", SHOP, late))
    assert record is not None
    assert record.state is CaseState.queued_for_human
    # Resume: the held writes go at the next tick.
    result = runner.invoke(app, ["resume", "--as", "li", "--state-dir", str(world.state_dir)])
    assert result.exit_code == 0, result.output
    world.daemon.run_once()
    assert sorted(agreed(world, ids)) == sorted(ids)
    events = [e.event for e in world.store.audit_entries()]
    assert events.count("paused") == 1
    assert events.count("resumed") == 1


def test_the_pause_file_stops_pushes_when_the_console_is_down(world: World) -> None:
    ids = seed_approvable(world, 2)
    world.daemon.poll_shop(next(iter(world.daemon.shops.values())), full=True)
    world.daemon.decide_pending()
    (world.state_dir / "PAUSE").write_text("console down, ops on call\n", encoding="utf-8")
    world.daemon.run_once()
    assert agreed(world, ids) == []
    (world.state_dir / "PAUSE").unlink()
    world.advance(timedelta(seconds=31))
    world.daemon.run_once()
    assert sorted(agreed(world, ids)) == sorted(ids)
