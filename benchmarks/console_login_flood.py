"""How a password-guessing flood affects reviewers: /queue latency while 32 threads post wrong
passwords to /login, against the same latency with no flood.

    python -m benchmarks.console_login_flood [--seconds 8] [--threads 32]

Serves the console on loopback over a fresh store with 50 queued cases, signs one reviewer in,
then times GET /queue (median and 95th percentile) first alone, then during the flood. Every
request loop is bounded in time and stops by itself. Figures, not a test: prints and exits 0.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx

from connector.clock import SystemClock
from connector.console import ConsoleServer, create_console_app
from connector.console.accounts import add_account
from connector.store import open_store

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "console"))
from console_helpers import queue_case  # type: ignore[import-not-found]

PASSWORD = secrets.token_urlsafe(12)


def _login(client: httpx.Client, name: str, password: str) -> int:
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    answer = client.post("/login", data={"account": name, "password": password,
                                         "csrf": token.group(1) if token else ""})
    return answer.status_code


def _times(url: str, client: httpx.Client, seconds: float) -> list[float]:
    took: list[float] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        started = time.perf_counter()
        client.get(f"{url}/queue").raise_for_status()
        took.append((time.perf_counter() - started) * 1000)
    return took


def _flood(url: str, until: float, counts: dict[int, int], lock: threading.Lock) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        n = 0
        while time.monotonic() < until:
            n += 1
            status = _login(client, f"guess{n % 7}", "wrong-password")
            with lock:
                counts[status] = counts.get(status, 0) + 1


def _report(label: str, took: list[float]) -> None:
    took.sort()
    p95 = took[int(len(took) * 0.95) - 1] if len(took) >= 20 else max(took)
    print(f"{label:<22} /queue median {statistics.median(took):7.1f} ms   "
          f"p95 {p95:7.1f} ms   ({len(took)} requests)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "state", clock=clock)
        for n in range(50):
            queue_case(store, timedelta(hours=2 + n), case_id=f"B{n}", order_id=f"OB{n}")
        add_account(store, "ann", "reviewer", PASSWORD, actor="system", via="bench")
        with ConsoleServer(create_console_app(store, clock=clock)) as url, httpx.Client(
            base_url=url, timeout=30
        ) as reviewer:
            assert _login(reviewer, "ann", PASSWORD) in (200, 303)
            _report("no flood", _times(url, reviewer, args.seconds))
            counts: dict[int, int] = {}
            lock = threading.Lock()
            until = time.monotonic() + args.seconds + 1
            threads = [threading.Thread(target=_flood, args=(url, until, counts, lock))
                       for _ in range(args.threads)]
            for thread in threads:
                thread.start()
            time.sleep(0.5)  # noqa: TID251 - a benchmark on wall time, not a test
            _report(f"{args.threads}-thread flood", _times(url, reviewer, args.seconds))
            for thread in threads:
                thread.join()
            print("flood answers:", dict(sorted(counts.items())))
        store.close()


if __name__ == "__main__":
    main()
