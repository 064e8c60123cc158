"""Restart mid-run: the real `refund-connector run` process, killed with SIGKILL while it works,
restarted, resumes without losing a case or applying an effect twice.

Wall time by design: the fakes serve on loopback on their own (wall) clocks and the daemon is a
separate process, so the test polls with short waits. Deadlines are minutes away and the policy's
deadline guard is scaled to seconds, so no guard and no platform timer fires during the run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.policy.loader import default_policy_text
from connector.store import CaseState, Store, open_read_only_store
from connector.testing.mock_control import MockControl
from connector.testing.shops_toml import taobao_shops_toml
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app
from mocks.warehouse import create_app as create_warehouse_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WAREHOUSE_KEY = "restart-warehouse-key"
SHOPS = ("taobao-shop", "tmall-shop")
CASES = 40
QUOTA = 25.0  # calls/s: slow enough that a kill lands mid-work, fast enough to finish quickly
OPEN_EFFECT_STATES = ("pending", "in_flight", "unknown")


@dataclass
class Fakes:
    taobao: TaobaoMock
    config: TaobaoConfig
    taobao_url: str
    warehouse_url: str
    control: MockControl
    warehouse: httpx.Client

    def seller_entries(self) -> list[dict[str, Any]]:
        entries, _ = self.control.ledger()
        return [e for e in entries if e.get("actor") == "seller"]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    config = TaobaoConfig()
    taobao = TaobaoMock(config)  # its own wall clock
    with ExitStack() as stack:
        taobao_url = stack.enter_context(BackgroundServer(create_app(taobao, test_mode=True)))
        warehouse_app = create_warehouse_app(api_key=WAREHOUSE_KEY, test_mode=True)
        warehouse_url = stack.enter_context(BackgroundServer(warehouse_app))
        yield Fakes(
            taobao=taobao,
            config=config,
            taobao_url=taobao_url,
            warehouse_url=warehouse_url,
            control=stack.enter_context(MockControl(taobao_url)),
            warehouse=stack.enter_context(httpx.Client(base_url=warehouse_url, timeout=10)),
        )


def seed_backlog(fakes: Fakes) -> list[dict[str, Any]]:
    """A generated mix (pre-shipment voids and approvals, returns, refusals, people) whose
    deadlines are 10-15 minutes away, mirrored into the warehouse."""
    body = {"seed": 11, "count": CASES, "shops": list(SHOPS)}
    fakes.control._call(
        "POST", "/__mock/scenario", {**body, "deadline_min_s": 600, "deadline_max_s": 900}
    )
    views = fakes.control.cases()
    orders, returns = [], []
    for view in views:
        if view.get("warehouse_state"):
            state = view["warehouse_state"]
            orders.append(
                {"order_id": view["order_id"], "shop_id": view["shop_id"], "state": state}
            )
        elif view.get("platform_status") == "WAIT_SELLER_CONFIRM_GOODS":
            orders.append(
                {"order_id": view["order_id"], "shop_id": view["shop_id"], "state": "shipped"}
            )
            returns.append(view)
    fakes.warehouse.post("/__mock/orders", json={"orders": orders}).raise_for_status()
    for index, view in enumerate(returns):
        receipt = {"resellable": index % 3 != 0, "note": "test", "case_id": view["case_id"]}
        fakes.warehouse.post(f"/__mock/returns/{view['order_id']}", json=receipt).raise_for_status()
    return views


def write_config(path: Path, fakes: Fakes) -> Path:
    policy = re.sub(
        r"(?m)^deadline_escalate\s*=.*$", 'deadline_escalate = "90s"', default_policy_text()
    )
    policy = re.sub(r"(?m)^deadline_fallback\s*=.*$", 'deadline_fallback = "45s"', policy)
    (path / "policy.toml").write_text(policy, encoding="utf-8")
    shops = taobao_shops_toml(
        fakes.config,
        fakes.taobao_url,
        app_secret="env:RESTART_TEST_APP_SECRET",
        calls_per_second=QUOTA,
        page_size=10,
    )
    config = path / "connector.toml"
    config.write_text(
        f"""policy = "policy.toml"

[daemon]
poll_interval_s = 1.0
lookback_s = 10.0
reconcile_interval_s = 30.0
sweep_interval_s = 1.0
relay_interval_s = 0.5
http_timeout_s = 5.0
retry_schedule_s = [1, 2, 3]

[warehouse]
base_url = "{fakes.warehouse_url}"
api_key = "{WAREHOUSE_KEY}"
{shops}""",
        encoding="utf-8",
    )
    return config


def start_daemon(config: Path, state_dir: Path, log: Path, secret: str) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "connector", "run",
        "--config", str(config), "--state-dir", str(state_dir),
    ]  # fmt: skip
    env = {**os.environ, "RESTART_TEST_APP_SECRET": secret}
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def wait_for(
    what: str,
    check: Callable[[], bool],
    *,
    timeout_s: float,
    daemon: subprocess.Popen[bytes] | None,
    log: Path,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if daemon is not None and daemon.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            pytest.fail(f"the daemon exited ({daemon.returncode}) waiting for {what}:\n{tail}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)  # noqa: TID251 - real processes on wall time, by design


def read_store(state_dir: Path) -> Store | None:
    try:
        return open_read_only_store(state_dir)
    except Exception:  # noqa: BLE001 - not created or migrated yet
        return None


def settled(state_dir: Path, views: list[dict[str, Any]]) -> bool:
    """Every fake case is in the store and decided; no effect is pending, in flight or unknown."""
    store = read_store(state_dir)
    if store is None:
        return False
    try:
        states = store.count_cases_by_state()
        if sum(states.values()) < len(views) or states.get(CaseState.new, 0):
            return False
        effects = store.effect_status_counts()
        return not any(effects.get(status, 0) for status in OPEN_EFFECT_STATES)
    finally:
        store.close()


def list_calls_since(fakes: Fakes, seq: int) -> int:
    requests, _ = fakes.control.requests(since=seq)
    return sum(1 for r in requests if r.get("method") == "taobao.refunds.receive.get")


def test_killed_daemon_resumes_without_losing_or_repeating(fakes: Fakes, tmp_path: Path) -> None:
    views = seed_backlog(fakes)
    # Every gateway call takes a little while, so the kill finds work in flight.
    fakes.control.faults({"count": -1, "fault": {"kind": "latency", "seconds": 0.03}})
    config = write_config(tmp_path, fakes)
    state_dir = tmp_path / "state"
    log = tmp_path / "daemon.log"
    secret = fakes.config.app_secret
    daemon: subprocess.Popen[bytes] | None = None
    try:
        daemon = start_daemon(config, state_dir, log, secret)
        wait_for(
            "the first effects at the platform",
            lambda: len(fakes.seller_entries()) >= 4,
            timeout_s=30,
            daemon=daemon,
            log=log,
        )
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)
        assert daemon.returncode == -signal.SIGKILL
        at_kill = len(fakes.seller_entries())

        daemon = start_daemon(config, state_dir, log, secret)
        wait_for(
            "every case decided and no effect open",
            lambda: settled(state_dir, views),
            timeout_s=40,
            daemon=daemon,
            log=log,
        )
        # Two more polls per shop: our own writes come back listed and must decide nothing new.
        _, mark = fakes.control.requests()
        wait_for(
            "more polls",
            lambda: list_calls_since(fakes, mark) >= 2 * len(SHOPS),
            timeout_s=10,
            daemon=daemon,
            log=log,
        )
        wait_for(
            "settled again",
            lambda: settled(state_dir, views),
            timeout_s=10,
            daemon=daemon,
            log=log,
        )
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=20) == 0, log.read_text(errors="replace")[-2000:]
    finally:
        if daemon is not None and daemon.poll() is None:
            daemon.kill()
            daemon.wait(timeout=10)

    seller = fakes.seller_entries()
    assert at_kill < len(seller), "the kill came after all the work: nothing was resumed"

    # No effect applied twice: one seller write per (case, effect, platform version it met).
    points = Counter((e["case_id"], e["effect"], e["version_before"]) for e in seller)
    assert [p for p, n in points.items() if n > 1] == []
    keyed = Counter((e["case_id"], e["effect"], e["key"]) for e in seller if e.get("key"))
    assert [p for p, n in keyed.items() if n > 1] == []
    voids = Counter(e["order_id"] for e in fakes.warehouse.get("/__mock/ledger").json()["entries"])
    assert [order for order, n in voids.items() if n > 1] == []
    # Money moved at most once per case.
    money = Counter(e["case_id"] for e in seller if e.get("amount"))
    assert [case for case, n in money.items() if n > 1] == []

    entries, _ = fakes.control.ledger()
    assert [e for e in entries if e.get("actor") == "platform_auto"] == []

    store = open_read_only_store(state_dir)
    try:
        quarantined = {q.case_id for q in store.list_quarantine()}
        lost = [
            v["case_id"]
            for v in views
            if store.get_case(("taobao", v["shop_id"], v["case_id"])) is None
            and v["case_id"] not in quarantined
        ]
        assert lost == []
        effects = store.effect_status_counts()
        assert effects.get("done", 0) >= len(seller) > 0
    finally:
        store.close()

    verify = subprocess.run(
        [sys.executable, "-m", "connector", "audit", "verify", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
