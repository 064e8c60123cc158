"""What one decision costs: wall and CPU milliseconds per decided case, one thread, no faults.

    python -m benchmarks.decide_cost [--cases 2000] [--decide 500] [--profile]

Starts the Taobao and warehouse fakes on loopback (the chaos world), generates the SMOKE mix,
takes every case in with a full poll of each shop, then times ``Daemon.decide_pending`` alone.
The decider's cost bounds how fast a backlog of new cases clears; the SMOKE and soak chaos runs
share it with intake and the relay on one core. ``--profile`` prints the top of a cProfile.
Figures, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import pstats
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from connector.clock import SystemClock
from connector.daemon.runtime import build_daemon
from connector.settings import load_settings
from connector.store import open_store
from tests.chaos.profiles import PROFILES
from tests.chaos.world import SECRET_ENV, seed_cases, start_fakes, write_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--decide", type=int, default=500, help="how many to decide and time")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    args = parser.parse_args()
    profile = dataclasses.replace(PROFILES["smoke"], cases=args.cases)
    directory = Path(tempfile.mkdtemp(prefix="decide-cost-"))
    with ExitStack() as stack:
        fakes = start_fakes(stack, profile)
        seed_cases(fakes, profile, args.seed)
        os.environ[SECRET_ENV] = fakes.config.app_secret
        settings = load_settings(write_config(directory, fakes, profile))
        clock = SystemClock()
        store = open_store(directory / "state", clock=clock)
        daemon = build_daemon(settings, store=store, clock=clock)
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda shop: daemon.poll_shop(shop, full=True), daemon.shops.values()))
        intake_s = time.perf_counter() - started
        profiler = cProfile.Profile()
        wall, cpu = time.perf_counter(), time.process_time()
        if args.profile:
            profiler.enable()
        decided = daemon.decide_pending(limit=args.decide).decided
        if args.profile:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        daemon.close()
        store.close()
    per = max(decided, 1)
    print(f"cases {args.cases}, intake {intake_s:.1f} s (full poll of {profile.shops} shops)")
    print(f"decided {decided}: {wall / per * 1000:.2f} ms wall, {cpu / per * 1000:.2f} ms CPU each")
    if args.profile:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
