"""Crash the real daemon process once at every named crash point, in three scripted lives,
then let it finish and check the promises: nothing lost, nothing applied twice, audit intact.

Each run is `refund-connector once` as a subprocess with REFUND_CONNECTOR_CRASH_AT set, so the
process dies with os._exit(137) exactly there (as kill -9 would). Life 3 moves the daemon's wall
clock forward (REFUND_CONNECTOR_CLOCK_OFFSET_S) to pass a deadline-guard moment, so the sweeper
decides; the fakes keep their own clocks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.crashpoints import CRASH_POINTS
from connector.store import open_read_only_store
from connector.testing.mock_control import MockControl
from connector.testing.shops_toml import taobao_shops_toml
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app
from mocks.warehouse import API_KEY_HEADER
from mocks.warehouse import create_app as create_warehouse_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = "crash-warehouse-key"
ONCE_EFFECTS = ("agree_refund", "confirm_return_and_refund", "refuse_refund", "agree_return",
                "message_buyer", "write_order_memo")
PREREQUISITE = {"relay.reread": "relay.sent"}
"""A point only reached after another crash (a re-read follows an unknown outcome)."""


@dataclass
class Fakes:
    control: MockControl
    warehouse: httpx.Client
    taobao_url: str
    warehouse_url: str
    config: TaobaoConfig


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    config = TaobaoConfig()
    taobao = TaobaoMock(config)
    with ExitStack() as stack:
        taobao_url = stack.enter_context(BackgroundServer(create_app(taobao, test_mode=True)))
        warehouse_url = stack.enter_context(
            BackgroundServer(create_warehouse_app(api_key=KEY, test_mode=True))
        )
        yield Fakes(
            control=stack.enter_context(MockControl(taobao_url)),
            warehouse=stack.enter_context(
                httpx.Client(base_url=warehouse_url, headers={API_KEY_HEADER: KEY}, timeout=10)
            ),
            taobao_url=taobao_url,
            warehouse_url=warehouse_url,
            config=config,
        )


def _ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


def life_pre_shipment(fakes: Fakes) -> tuple[str, dict[str, int]]:
    case_id = fakes.control.seed([{
        "shop_id": "taobao-shop", "type": "refund_only", "reason": "changed_mind",
        "order_status": "not_shipped", "paid_amount": 29900, "deadline_s": 20 * 3600,
    }])[0]
    order = fakes.control.case(case_id)["order_id"]
    fakes.warehouse.post("/__mock/orders", json={"orders": [
        {"order_id": order, "shop_id": "taobao-shop", "state": "not_printed"}]}
    ).raise_for_status()
    return case_id, {"agree_refund": 1, "write_order_memo": 1, "void_order": 1}


def life_return_received(fakes: Fakes) -> tuple[str, dict[str, int]]:
    case_id = fakes.control.seed([{
        "shop_id": "taobao-shop", "type": "return_and_refund", "reason": "quality",
        "status": "awaiting_seller_receipt", "order_status": "delivered", "paid_amount": 15900,
        "evidence": ["photo"], "shipped_at": _ago(9), "delivered_at": _ago(7),
        "logistics_status": "delivered", "return_logistics_status": "delivered",
        "deadline_s": 5 * 24 * 3600,
    }])[0]
    order = fakes.control.case(case_id)["order_id"]
    fakes.warehouse.post("/__mock/orders", json={"orders": [
        {"order_id": order, "shop_id": "taobao-shop", "state": "shipped"}]}
    ).raise_for_status()
    fakes.warehouse.post(
        f"/__mock/returns/{order}", json={"resellable": True, "note": "unworn"}
    ).raise_for_status()
    return case_id, {"confirm_return_and_refund": 1, "write_order_memo": 1}


def life_refusal(fakes: Fakes) -> tuple[str, dict[str, int]]:
    case_id = fakes.control.seed([{
        "shop_id": "tmall-shop", "type": "refund_only", "reason": "damaged",
        "order_status": "delivered", "paid_amount": 59900, "shipped_at": _ago(4),
        "delivered_at": _ago(2), "logistics_status": "delivered", "deadline_s": 63 * 60,
    }])[0]
    return case_id, {"refuse_refund": 1}


LIVES: dict[str, tuple[Callable[[Fakes], tuple[str, dict[str, int]]], list[tuple[float, bool]]]] = {
    # name: (set-up, runs as (clock offset seconds, full reconciliation))
    "pre_shipment_void_and_approve": (life_pre_shipment, [(0, False), (0, True), (0, False)]),
    "return_received_and_refunded": (life_return_received, [(0, False), (0, True), (0, False)]),
    "refusal_with_evidence": (life_refusal, [(0, False), (240, True), (240, False)]),
}


def write_config(path: Path, fakes: Fakes) -> Path:
    shops = taobao_shops_toml(fakes.config, fakes.taobao_url)
    path.write_text(
        f"""
[daemon]
retry_attempts = 1
retry_schedule_s = [0.01]  # at the next relay tick (a wait must be > 0)
http_timeout_s = 5

[warehouse]
base_url = "{fakes.warehouse_url}"
api_key = "{KEY}"
{shops}""",
        encoding="utf-8",
    )
    return path


def run_once(config: Path, state: Path, *, crash_at: str | None, offset: float,
             full: bool) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUND_CONNECTOR_")}
    env["REFUND_CONNECTOR_CLOCK_OFFSET_S"] = str(offset)
    if crash_at:
        env["REFUND_CONNECTOR_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "connector", "once", "--config", str(config),
               "--state-dir", str(state), "--full" if full else "--no-full"]
    done = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    if done.returncode not in (0, 137):
        msg = f"once exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
        raise AssertionError(msg)
    return done.returncode


def seller_effects(fakes: Fakes, case_id: str) -> Counter[str]:
    entries, _ = fakes.control.ledger()
    return Counter(
        str(e["effect"]) for e in entries if e.get("case_id") == case_id and e["actor"] == "seller"
    )


def voids(fakes: Fakes) -> int:
    entries = fakes.warehouse.get("/__mock/ledger").json()["entries"]
    return sum(1 for e in entries if e.get("effect") == "void_order")


def live_once(fakes: Fakes, tmp: Path, life: str, point: str) -> bool:
    """One life with a crash at ``point``; returns whether the crash happened."""
    setup, runs = LIVES[life]
    fakes.control.reset()
    fakes.warehouse.post("/__mock/reset").raise_for_status()
    case_id, expected = setup(fakes)
    state = tmp / f"{life}-{point}"
    config = write_config(tmp / f"{life}-{point}.toml", fakes)
    # A listing window ends at the last whole second: let the seeding second pass, or the
    # first run may not see the case yet (and life 3's guard moment would pass unseen).
    threading.Event().wait(1.2)
    plan = [PREREQUISITE[point], point] if point in PREREQUISITE else [point]
    crashed = False
    schedule = [*runs, runs[-1], runs[-1]]  # room to finish after the crashes
    for offset, full in schedule:
        target = plan[0] if plan else None
        code = run_once(config, state, crash_at=target, offset=offset, full=full)
        if code == 137 and plan:
            crashed = crashed or plan[0] == point
            plan.pop(0)
    counts = seller_effects(fakes, case_id)
    for effect in ONCE_EFFECTS:
        assert counts[effect] <= 1, f"{life} crash at {point}: {effect} applied {counts[effect]}x"
    for effect, times in expected.items():
        got = voids(fakes) if effect == "void_order" else counts[effect]
        assert got == times, f"{life} crash at {point}: {effect} {got}x, expected {times}"
    store = open_read_only_store(state)
    try:
        assert store.get_case(("taobao", "taobao-shop", case_id)) or store.get_case(
            ("taobao", "tmall-shop", case_id)
        ), f"{life} crash at {point}: case lost"
    finally:
        store.close()
    verify = subprocess.run(
        [sys.executable, "-m", "connector", "audit", "verify", "--state-dir", str(state)],
        capture_output=True, timeout=60, check=False,
    )
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    return crashed


def test_every_crash_point_in_three_lives_keeps_the_promises(
    fakes: Fakes, tmp_path: Path, progress: Any
) -> None:
    crashed_at: dict[str, list[str]] = {point: [] for point in CRASH_POINTS}
    runs = len(LIVES) * len(CRASH_POINTS)
    for index, (life, point) in enumerate(
        (life, point) for life in LIVES for point in CRASH_POINTS
    ):
        progress(f"{index}/{runs} lives run; now {life} crashing at {point}")
        if live_once(fakes, tmp_path, life, point):
            crashed_at[point].append(life)
    progress(f"{runs}/{runs} lives run", force=True)
    never = [point for point, lives in crashed_at.items() if not lives]
    assert never == [], f"crash points never reached in any life: {never}"
