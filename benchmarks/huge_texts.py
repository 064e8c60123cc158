"""What huge platform texts cost: database, WAL and peak memory of one `once` over 8 cases.

    python -m benchmarks.huge_texts [--code PATH] [--poison]

Starts the Taobao fake on loopback in this process and seeds 8 cases, one with a 10 MB refund
reason and one with a 5 MB item title (issue 14 measured 73 MB of database, 63 MB of WAL and
855 MB RSS for these). Then runs ``refund-connector once`` in a child process, with ``--code``
first on its path (default: this checkout; point it at an older checkout for the baseline), and
prints the child's peak RSS and the sizes of connector.db and its WAL. ``--poison`` also poisons
one more listed case with bytes that are not UTF-8, to show the poll still takes the others.
Figures, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from connector.testing.mock_control import MockControl
from mocks.kit.server import BackgroundServer
from mocks.taobao import ShopConfig, TaobaoConfig, TaobaoMock, create_app

SHOP = "huge-shop"
MB = 1024 * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--poison", action="store_true", help="poison one more listed case")
    parser.add_argument("--plain", action="store_true", help="no huge texts: the floor")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="huge-texts-"))
    config = TaobaoConfig(shops=[ShopConfig(SHOP, "huge-session")], sms_threshold_fen=None)
    with ExitStack() as stack:
        url = stack.enter_context(BackgroundServer(create_app(TaobaoMock(config), test_mode=True)))
        control = stack.enter_context(MockControl(url))
        plain = {"shop_id": SHOP, "reason": "changed_mind", "deadline_s": 40 * 3600}
        specs = [dict(plain) for _ in range(6)]
        if args.plain:
            specs += [dict(plain), dict(plain)]
        else:
            specs.append({**plain, "reason_text": "退" * (10 * MB // 3)})
            specs.append({**plain, "item": {"title": "t" * (5 * MB)}})
        ids = control.seed(specs)
        if args.poison:
            (bad,) = control.seed([dict(plain)])
            fault = {"kind": "poison_item", "case": bad, "poison": "invalid_utf8"}
            control.faults(
                {"match": {"method": "taobao.refunds.receive.get"}, "count": -1, "fault": fault}
            )
        toml = directory / "connector.toml"
        toml.write_text(
            "\n".join(
                [
                    "[daemon]",
                    "retry_attempts = 1",
                    "[[shops]]",
                    f'shop_id = "{SHOP}"',
                    'platform = "taobao"',
                    "[shops.settings]",
                    f'base_url = "{url}"',
                    f'app_key = "{config.app_key}"',
                    f'app_secret = "{config.app_secret}"',
                    'session = "huge-session"',
                    'return_address_id = "addr-1"',
                    "",
                ]
            ),
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONPATH": str(args.code)}
        state = directory / "state"
        command = [sys.executable, "-m", "connector", "once", "-c", str(toml)]
        started = time.perf_counter()
        wal_peak = [0]
        running = threading.Event()
        running.set()
        watcher = threading.Thread(target=_watch_wal, args=(state, wal_peak, running))
        watcher.start()
        try:
            done = subprocess.run(
                [*command, "--state-dir", str(state)],
                env=env,
                cwd=args.code,  # ``-m`` puts the working directory first on the path
                capture_output=True,
                text=True,
            )
        finally:
            running.clear()
            watcher.join()
        took = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    sizes = {
        name: (state / name).stat().st_size / MB if (state / name).exists() else 0.0
        for name in ("connector.db", "connector.db-wal")
    }
    print(f"code: {args.code}; state: {state}")
    print(f"cases seeded: {len(ids)} (+1 poisoned)" if args.poison else f"cases: {len(ids)}")
    print(f"once: exit {done.returncode} in {took:.1f} s; last line: {_last(done)}")
    print(f"peak RSS of `once`: {rss_mb:.0f} MB")
    print(
        f"connector.db: {sizes['connector.db']:.2f} MB, WAL: {sizes['connector.db-wal']:.2f} MB "
        f"after exit, {wal_peak[0] / MB:.2f} MB at its largest while running"
    )


def _watch_wal(state: Path, peak: list[int], running: threading.Event) -> None:
    """The WAL's largest size while ``once`` runs (it is checkpointed away at a clean exit)."""
    wal = state / "connector.db-wal"
    while running.is_set():
        with contextlib.suppress(OSError):
            peak[0] = max(peak[0], wal.stat().st_size)
        time.sleep(0.02)  # noqa: TID251 - a benchmark sampling a file on wall time


def _last(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no output)"


if __name__ == "__main__":
    main()
