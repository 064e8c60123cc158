"""How fast a backtest replays kept decisions: cases per second, store read included.

    python -m benchmarks.backtest [--cases 5000] [--json]

Fills a temporary store with policy decisions made by the default policy on the bundled
casebook's cases (each copied under new case ids, facts and decision time kept as the daemon
keeps them), then times ``policy backtest``'s work for a stricter candidate: reading each
case's latest decision with its facts, replaying it, and building the report.
Figures, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from connector.clock import FakeClock
from connector.models import RefundCase
from connector.policy import load_default_policy, parse_policy
from connector.policy.backtest import backtest
from connector.policy.casebook import (
    BUNDLED_CASEBOOK,
    CasebookLine,
    load_casebook,
    read_casebook,
)
from connector.policy.history import stored_policy
from connector.policy.loader import default_policy_text
from connector.store.sqlite import SqliteStore

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "policy"))
from policy_helpers import record_policy_decision  # type: ignore[import-not-found]


def fill(store: SqliteStore, count: int) -> None:
    policy = load_default_policy()
    _label, text = load_casebook(None)
    lines = [
        x
        for x in read_casebook(text)
        if isinstance(x, CasebookLine) and isinstance(x.case, RefundCase)
    ]
    with store.unit_of_work():
        for n in range(count):
            line = lines[n % len(lines)]
            assert isinstance(line.case, RefundCase)
            case = line.case.model_copy(update={"case_id": f"{line.case.case_id}-{n}"})
            record_policy_decision(store, case, policy, line.now)
    store.record_policy_version(policy.version, name=policy.name, text=policy.text, actor="system")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    candidate = parse_policy(
        default_policy_text().replace("high_value_cap = 100000", "high_value_cap = 10000"),
        "stricter.toml",
    )
    with tempfile.TemporaryDirectory(prefix="backtest-bench-") as folder:
        store = SqliteStore.open(Path(folder) / "state", clock=FakeClock(datetime.now(UTC)))
        try:
            fill(store, args.cases)
            started = time.perf_counter()
            rows = store.decisions_to_replay()
            report = backtest(rows, candidate, lambda v: stored_policy(store, v))
            report.as_json()
            elapsed = time.perf_counter() - started
        finally:
            store.close()
    figures = {
        "casebook": BUNDLED_CASEBOOK,
        "cases": report.replayed,
        "changed": report.changed,
        "seconds": round(elapsed, 3),
        "backtest_cases_per_s": round(report.replayed / elapsed, 1),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
