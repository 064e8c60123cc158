"""Scale: does an idle daemon's cost grow with the cases it has stored?

    python -m benchmarks.scale [--json] [--sizes 1000,1000000]

For each size, a fresh store gets that many cases through the store API in bulk
(``Store.import_cases``, batches of 20,000) over the 20 shops of the throughput set-up: all
settled (refunded or closed) but 200 open ones queued for a person, the way a store looks after
years of work. Then a separate process (the daemon's own code: ``build_daemon`` and
``run_once``, as ``refund-connector once`` runs it) against the Taobao fake as its own process
(no cases) runs one cycle to set each shop's cursor and measures the next, idle one: the
platform calls it made (the fake's request log), its CPU, the process's RSS after it, and the
open-case queries (the desk's queue, the sweeper's guard query, the metrics' count by state).

Keys: ``stored_cases`` (the larger size), ``rss_mb`` (largest process, after the idle cycle at
the larger size), ``rss_mb_total`` (all the daemon's processes), ``idle_cycle_calls`` and
``idle_cycle_calls_small`` (the larger and the smaller size: they must be equal),
``idle_cycle_cpu_ms``, ``open_case_query_ms`` (the slowest open-case query at the larger size),
and ``sizes`` with every figure per size. Figures, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.throughput import APP_SECRET, SECRET_ENV, shop_ids, taobao_fake, write_config
from connector.clock import SystemClock
from connector.models import CaseStatus, RefundCase
from connector.store import CaseState, open_store

OPEN_CASES = 200
BATCH = 20_000
DEFAULT_SIZES = (1_000, 1_000_000)
_TEMPLATE: dict[str, Any] = {
    "platform": "taobao",
    "shop_id": "shop-00",
    "case_id": "0",
    "order_id": "0",
    "item": {"sku": "SKU-1", "title": "mug", "price": 5000, "no_reason_eligible": True},
    "type": "refund_only",
    "reason": "changed_mind",
    "status": "refunded",
    "order_status": "not_shipped",
    "paid_amount": 5000,
    "refund_amount": 5000,
    "buyer": {"id": "b-0"},
    "version": "1",
}


def _case(template: RefundCase, index: int, shops: list[str], now: datetime) -> RefundCase:
    open_case = index < OPEN_CASES
    settled = CaseStatus.refunded if index % 3 else CaseStatus.closed
    when = now - timedelta(minutes=index % 500_000)
    return template.model_copy(
        update={
            "shop_id": shops[index % len(shops)],
            "case_id": str(10_000_000_000 + index),
            "order_id": str(20_000_000_000 + index),
            "status": CaseStatus.awaiting_seller if open_case else settled,
            "buyer": template.buyer.model_copy(update={"id": f"b-{index % 50_000}"}),
            "created_at": when,
            "updated_at": when,
            "deadline_at": now + timedelta(days=3) if open_case else when + timedelta(days=2),
        }
    )


def fill(state: Path, size: int) -> float:
    """``size`` cases into a new store through ``import_cases``; the seconds it took."""
    clock = SystemClock()
    store = open_store(state, clock=clock)
    started = time.perf_counter()
    try:
        template = RefundCase.model_validate(_TEMPLATE)
        shops, now = shop_ids(), clock.now()
        for first in range(0, size, BATCH):
            batch = [_case(template, i, shops, now) for i in range(first, min(size, first + BATCH))]
            store.import_cases(batch)
        for case in store.cases_in_state(CaseState.new, limit=OPEN_CASES + 1):
            store.set_case_state(case.key, CaseState.queued_for_human, reason="benchmark")
    finally:
        store.close()
    return time.perf_counter() - started


def _ms(call: Any) -> float:
    started = time.perf_counter()
    call()
    return round((time.perf_counter() - started) * 1000, 2)


def _rss_mb() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    found = {"VmRSS": 0.0, "VmHWM": 0.0}
    for line in Path("/proc/self/status").read_text().splitlines():
        name = line.split(":", 1)[0]
        if name in found:
            found[name] = int(line.split()[1]) / 1024
    return round(found["VmRSS"], 1), round(found["VmHWM"], 1)


def cycle(state: Path, config: Path, fake_url: str) -> dict[str, Any]:
    """In the daemon's process: one cycle to set the cursors, then the measured idle one."""
    from connector.daemon.runtime import build_daemon
    from connector.settings import load_settings
    from connector.testing.mock_control import MockControl

    clock = SystemClock()
    store = open_store(state, clock=clock)
    daemon = build_daemon(load_settings(config), store=store, clock=clock)
    try:
        daemon.run_once()
        with MockControl(fake_url) as control:
            _, before = control.requests()
            cpu = time.process_time()
            wall = time.perf_counter()
            counts = daemon.run_once()
            cpu_ms = (time.process_time() - cpu) * 1000
            wall_ms = (time.perf_counter() - wall) * 1000
            made, _ = control.requests(before)
        rss, hwm = _rss_mb()
        now = clock.now()
        queries = {
            "queued_for_human": _ms(lambda: store.cases_in_state(CaseState.queued_for_human)),
            "due_for_guard": _ms(lambda: store.cases_due_for_guard(now)),
            "due_for_review": _ms(lambda: store.cases_due_for_review(now)),
            "count_by_state": _ms(store.count_cases_by_state),
        }
    finally:
        daemon.close()
        store.close()
    return {
        "idle_cycle_calls": len(made),
        "idle_cycle_cpu_ms": round(cpu_ms, 1),
        "idle_cycle_wall_ms": round(wall_ms, 1),
        "idle_cycle_decided": counts.decided,
        "rss_mb": rss,
        "peak_rss_mb": hwm,
        "open_case_queries_ms": queries,
    }


def measure(size: int, directory: Path, fake_url: str) -> dict[str, Any]:
    state = directory / f"state-{size}"
    reused = (state / "connector.db").exists()
    fill_s = None if reused else round(fill(state, size), 1)
    config = write_config(directory, fake_url, ops_port=None)
    command = [
        sys.executable, "-m", "benchmarks.scale", "--cycle", str(state),
        "--config", str(config), "--fake", fake_url,
    ]  # fmt: skip
    env = {**os.environ, SECRET_ENV: APP_SECRET}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        msg = f"the idle cycle at {size} cases failed: {done.stderr[-1500:]}"
        raise RuntimeError(msg)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    db_mb = sum(f.stat().st_size for f in state.iterdir() if f.is_file()) / 2**20
    return {"stored_cases": size, "fill_s": fill_s, "db_mb": round(db_mb, 1), **figures}


def run(sizes: list[int], keep: Path | None = None) -> dict[str, Any]:
    sizes = sorted(sizes)
    with tempfile.TemporaryDirectory(prefix="scale-") as tmp:
        directory = keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        with taobao_fake(directory) as (fake_url, _pid):
            rows = [measure(size, directory, fake_url) for size in sizes]
    small, large = rows[0], rows[-1]
    return {
        "stored_cases": large["stored_cases"],
        "rss_mb": large["rss_mb"],
        "rss_mb_total": large["rss_mb"],  # one daemon process today
        "idle_cycle_calls": large["idle_cycle_calls"],
        "idle_cycle_calls_small": small["idle_cycle_calls"],
        "idle_cycle_cpu_ms": large["idle_cycle_cpu_ms"],
        "open_case_query_ms": max(large["open_case_queries_ms"].values()),
        "sizes": rows,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated store sizes (the smallest and the largest are compared)",
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the stores in this directory (and reuse them next time)"
    )
    parser.add_argument("--cycle", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--fake", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cycle is not None:
        print(json.dumps(cycle(args.cycle, args.config, args.fake)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if len(sizes) < 2 or min(sizes) < OPEN_CASES:
        parser.error(f"--sizes needs two sizes or more, each at least {OPEN_CASES}")
    result = run(sizes, args.keep)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for row in result["sizes"]:
        print(
            f"{row['stored_cases']:>9} cases: idle cycle {row['idle_cycle_calls']} calls, "
            f"{row['idle_cycle_cpu_ms']} ms CPU, RSS {row['rss_mb']} MB, "
            f"queries {row['open_case_queries_ms']} ms, db {row['db_mb']} MB"
        )


if __name__ == "__main__":
    main()
