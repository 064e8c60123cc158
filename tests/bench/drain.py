"""Drain benchmark (not a test): is the daemon bound by the platform quota, and does it keep to it?

    python tests/bench/drain.py [--json] [--cases 10000] [--latency-ms 50] [--qps 200]

The Taobao and warehouse fakes run as separate processes (``refund-connector mock ...``), so
their CPU neither competes with the daemon for the GIL nor hides in its figures; both are
reported. The Taobao fake (this script with ``--serve-taobao``) gets a generated backlog that
built up over two days (see ``serve_taobao``), a latency fault on every gateway call and an app
quota of ``--qps`` calls/s with no daily cap. The daemon (the real APScheduler service on
the wall clock, default concurrency settings) runs in this process with its QuotaGate set to the
same quota, until the backlog is drained: every listed case is in the store and decided (none
``new``), and no effect is due or in flight.

Printed: the calls the fake received up to that moment, the lower bound calls/quota, the wall
time, their ratio (target <= 1.10) and quota violations (code 7 answers; target 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from connector.clock import SystemClock
from connector.daemon.runtime import build_daemon
from connector.daemon.service import Service
from connector.settings import ConnectorSettings
from connector.store import CaseState, Store, open_read_only_store, open_store
from connector.testing.mock_control import MockControl
from mocks.kit.server import free_port
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app

APP_KEY = "12345678"
APP_SECRET = "testsecret"  # the fake's published test credential
SESSION = "test-session"
WAREHOUSE_KEY = "bench-warehouse-key"
SHOPS = (("taobao-shop", SESSION, False), ("tmall-shop", f"{SESSION}-tmall", True))
BAN_CODE = "error:7"
WAREHOUSE_COMMAND = [
    sys.executable, "-m", "connector", "mock", "warehouse", "--test-mode",
    "--api-key", WAREHOUSE_KEY,
]  # fmt: skip
BATCH = 100  # cases per seeding batch: under one page per shop per `modified` second
HOUR_S = 3600.0


@dataclass
class FakeProcess:
    """One fake platform served by ``python -m connector mock ...`` in its own process."""

    name: str
    process: subprocess.Popen[bytes]
    url: str

    def cpu_s(self) -> float | None:
        """User + system CPU seconds so far (Linux /proc; None elsewhere)."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def peak_rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None


@contextmanager
def fake_process(name: str, command: list[str], ready_path: str) -> Iterator[FakeProcess]:
    port = free_port()
    command = [*command, "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                msg = f"the {name} fake exited at start-up: {err[-500:]}"
                raise RuntimeError(msg)
            try:
                httpx.get(url + ready_path, timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # noqa: TID251 - a benchmark on wall time
        yield FakeProcess(name, process, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def mirror_warehouse(control: MockControl, warehouse_url: str) -> int:
    """Mirror the backlog's orders (and return receipts) into the warehouse; count the cases."""
    views = control.cases()
    orders: list[dict[str, Any]] = []
    returns: list[dict[str, Any]] = []
    for view in views:
        if view.get("warehouse_state"):
            orders.append(
                {
                    "order_id": view["order_id"],
                    "shop_id": view["shop_id"],
                    "state": view["warehouse_state"],
                }
            )
        elif view.get("platform_status") == "WAIT_SELLER_CONFIRM_GOODS":
            orders.append(
                {"order_id": view["order_id"], "shop_id": view["shop_id"], "state": "shipped"}
            )
            returns.append(view)
    with httpx.Client(base_url=warehouse_url, timeout=60) as warehouse:
        if orders:
            warehouse.post("/__mock/orders", json={"orders": orders}).raise_for_status()
        for index, view in enumerate(returns):
            receipt = {"resellable": index % 4 != 0, "note": "bench", "case_id": view["case_id"]}
            warehouse.post(f"/__mock/returns/{view['order_id']}", json=receipt).raise_for_status()
    return len(views)


def settings_for(taobao_url: str, warehouse_url: str, qps: float) -> ConnectorSettings:
    shops = [
        {
            "shop_id": shop_id,
            "platform": "taobao",
            "quota": {"calls_per_second": qps},
            "settings": {
                "base_url": taobao_url,
                "app_key": APP_KEY,
                "app_secret": APP_SECRET,
                "session": session,
                "tmall": tmall,
                "return_address_id": f"{shop_id}-return-1",
            },
        }
        for shop_id, session, tmall in SHOPS
    ]
    # Concurrency, page size and retry settings are the defaults: the benchmark checks them.
    return ConnectorSettings(
        daemon={"poll_interval_s": 1.0, "lookback_s": 10.0},
        warehouse={"base_url": warehouse_url, "api_key": WAREHOUSE_KEY},
        shops=shops,
    )


@dataclass
class DrainState:
    drained: bool
    cases: int
    new: int
    open_effects: int
    waiting_effects: int


def drain_state(store: Store, expected: int) -> DrainState:
    """Drained: every case listed and decided, nothing due or in flight in the outbox."""
    polled = all(
        (record := store.get_shop("taobao", shop)) is not None and record.high_water_at is not None
        for shop, _, _ in SHOPS
    )
    by_state = store.count_cases_by_state()
    cases = sum(by_state.values()) + len(store.list_quarantine())
    new = by_state.get(CaseState.new, 0)
    effects = store.effect_status_counts()
    in_flight = effects.get("in_flight", 0)
    due = len(store.due_effects(datetime.now(UTC), limit=1))
    waiting = effects.get("pending", 0) + effects.get("unknown", 0)
    drained = polled and cases >= expected and new == 0 and in_flight == 0 and due == 0
    return DrainState(drained, cases, new, in_flight + due, waiting)


@dataclass
class RequestTally:
    """The fake's request log, read incrementally."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    next_seq: int = 0

    def pull(self, control: MockControl) -> None:
        """Read everything new; the log answers in pages, so read until a page comes back empty."""
        while True:
            batch, self.next_seq = control.requests(since=self.next_seq)
            if not batch:
                return
            self.entries.extend(batch)


def run(options: argparse.Namespace) -> dict[str, Any]:
    with ExitStack() as stack:
        state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="drain-")))
        taobao = stack.enter_context(
            fake_process(
                "taobao",
                [
                    sys.executable, __file__, "--serve-taobao",
                    "--cases", str(options.cases), "--seed", str(options.seed),
                    "--qps", str(options.qps),
                ],
                "/__mock/clock",
            )
        )  # fmt: skip
        warehouse = stack.enter_context(
            fake_process(
                "warehouse",
                WAREHOUSE_COMMAND,
                "/__mock/clock",
            )
        )
        control = stack.enter_context(MockControl(taobao.url, timeout_s=300))
        expected = mirror_warehouse(control, warehouse.url)
        latency = {"kind": "latency", "seconds": options.latency_ms / 1000}
        control.faults({"match": {}, "count": -1, "fault": latency})
        tally = RequestTally()
        tally.pull(control)  # nothing but control calls so far; start counting from here
        tally.entries.clear()

        clock = SystemClock()
        store = open_store(state_dir, clock=clock)
        stack.callback(store.close)
        daemon = build_daemon(
            settings_for(taobao.url, warehouse.url, options.qps), store=store, clock=clock
        )
        service = Service(daemon)
        reader: Store | None = None
        fake_cpu_before = {p.name: p.cpu_s() for p in (taobao, warehouse)}
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        started_wall = datetime.now(UTC)
        service.start()
        try:
            reader = open_read_only_store(state_dir)
            last_report = started
            while True:
                time.sleep(0.2)  # noqa: TID251 - a benchmark on wall time
                state = drain_state(reader, expected)
                now = time.monotonic()
                if state.drained:
                    break
                if now - started > options.timeout_s:
                    msg = f"not drained after {options.timeout_s} s: {state}"
                    raise TimeoutError(msg)
                if not options.json and now - last_report >= 10:
                    tally.pull(control)
                    print(
                        f"  {now - started:6.1f} s  cases {state.cases}/{expected}  "
                        f"new {state.new}  open effects {state.open_effects}  "
                        f"calls {len(tally.entries)}",
                        file=sys.stderr,
                    )
                    last_report = now
            wall_s = time.monotonic() - started
            drained_wall = datetime.now(UTC)
            usage_after = resource.getrusage(resource.RUSAGE_SELF)
            fake_cpu_after = {p.name: p.cpu_s() for p in (taobao, warehouse)}
            fake_rss = {p.name: p.peak_rss_mb() for p in (taobao, warehouse)}
        finally:
            service.stop()
            if reader is not None:
                reader.close()
        tally.pull(control)
        counted = [
            e
            for e in tally.entries
            if started_wall <= datetime.fromisoformat(str(e["at"])) <= drained_wall
        ]
        outcomes = Counter(str(e["outcome"]) for e in counted)
        methods = Counter(str(e["method"]) for e in counted)
        calls = len(counted)
        lower_bound_s = calls / options.qps
        final = drain_state(store, expected)
        summary = store.effect_status_counts()

        def cpu(before: float | None, after: float | None) -> float | None:
            return None if before is None or after is None else round(after - before, 1)

        return {
            "cases": expected,
            "cases_in_store": final.cases,
            "calls": calls,
            "lower_bound_s": round(lower_bound_s, 2),
            "wall_s": round(wall_s, 2),
            "ratio": round(wall_s / lower_bound_s, 3) if calls else None,
            "quota_violations": outcomes.get(BAN_CODE, 0),
            "qps": options.qps,
            "latency_ms": options.latency_ms,
            "calls_per_s": round(calls / wall_s, 1),
            "outcomes": dict(outcomes.most_common()),
            "calls_by_method": dict(methods.most_common()),
            "decisions": dict(sorted(store.latest_action_counts().items())),
            "effects": dict(sorted(summary.items())),
            "effects_waiting_for_later": final.waiting_effects,
            "daemon_cpu_s": round(
                (usage_after.ru_utime - usage_before.ru_utime)
                + (usage_after.ru_stime - usage_before.ru_stime),
                1,
            ),
            "daemon_peak_rss_mb": round(usage_after.ru_maxrss / 1024, 1),
            "taobao_fake_cpu_s": cpu(fake_cpu_before["taobao"], fake_cpu_after["taobao"]),
            "taobao_fake_peak_rss_mb": fake_rss["taobao"],
            "warehouse_fake_cpu_s": cpu(fake_cpu_before["warehouse"], fake_cpu_after["warehouse"]),
        }
    msg = "unreachable"
    raise AssertionError(msg)


class BackdatedClock:
    """Wall time minus an offset that only shrinks: the fake's clock while the backlog builds."""

    def __init__(self, behind: timedelta) -> None:
        self._offset = -behind
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset = min(self._offset + delta, timedelta(0))


def serve_taobao(options: argparse.Namespace) -> None:
    """The Taobao fake with a backlog that built up over two days, served until terminated.

    A backlog seeded in one instant would give every case the same ``modified`` second, which
    no real backlog has and which forces offset paging; so the cases arrive in batches while
    this fake's clock runs from two days ago up to wall time. Deadlines lie 8-80 h ahead of
    wall time, so no platform timer fires during the drain.
    """
    batches = max(1, -(-options.cases // BATCH))
    span = timedelta(hours=50)
    step = span / batches
    clock = BackdatedClock(span + timedelta(hours=2))
    config = TaobaoConfig(app_key=APP_KEY, app_secret=APP_SECRET, session=SESSION)
    config.app_qps = options.qps
    mock = TaobaoMock(config, clock=clock)
    for index in range(batches):
        count = min(BATCH, options.cases - index * BATCH)
        body = {
            "seed": options.seed * 100_003 + index,
            "count": count,
            "shops": [shop for shop, _, _ in SHOPS],
            "deadline_min_s": 60 * HOUR_S,
            "deadline_max_s": 80 * HOUR_S,
        }
        with mock.lock:
            mock.add_scenario(body)
        clock.advance(step)
    clock.advance(timedelta(days=1))  # up to wall time (the offset never goes above zero)
    mock.start_background_timers(0.5)
    uvicorn.run(
        create_app(mock, test_mode=True),
        host="127.0.0.1",
        port=options.port,
        log_level="warning",
        access_log=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--cases", type=int, default=10_000, help="backlog size")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added to every call")
    parser.add_argument("--qps", type=float, default=200.0, help="app quota, calls/s")
    parser.add_argument("--seed", type=int, default=7, help="scenario seed")
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="give up after")
    parser.add_argument("--serve-taobao", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.serve_taobao:
        serve_taobao(options)
        return 0
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped overlapping ticks
    result = run(options)
    if options.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"cases            {result['cases']} ({result['cases_in_store']} in the store)")
    print(f"calls made       {result['calls']}  ({result['calls_per_s']} calls/s)")
    print(f"lower bound      {result['lower_bound_s']} s  (calls / {result['qps']:g} calls/s)")
    print(f"wall time        {result['wall_s']} s")
    print(f"ratio            {result['ratio']}  (target <= 1.10)")
    print(f"quota violations {result['quota_violations']}  (target 0)")
    print(
        f"daemon           {result['daemon_cpu_s']} s CPU, "
        f"peak RSS {result['daemon_peak_rss_mb']} MB"
    )
    print(
        f"taobao fake      {result['taobao_fake_cpu_s']} s CPU, "
        f"peak RSS {result['taobao_fake_peak_rss_mb']} MB"
    )
    print(f"warehouse fake   {result['warehouse_fake_cpu_s']} s CPU")
    print(f"outcomes         {result['outcomes']}")
    print(f"calls by method  {result['calls_by_method']}")
    print(f"decisions        {result['decisions']}")
    print(f"effects          {result['effects']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
