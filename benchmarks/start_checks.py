"""What the checks before serving cost at start, beside the plain open they precede.

    python -m benchmarks.start_checks [--cases 200000] [--audit 20000]

Builds a state dir with CASES cases (one real case row cloned in SQL, each with a decision and an
effect) and AUDIT chained audit entries, then times, best of three:

- the plain open (what a start did before issue 14: open, pragmas, migrations);
- a start after a clean stop: lock, header, schema version, audit tail, open;
- a start after an unclean stop: the same plus ``PRAGMA quick_check`` (budget 20 s);
- ``refund-connector check``: integrity_check, foreign keys, the whole chain.

Figures, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from connector.effects import EffectKind
from connector.startup import clean_stop_path, mark_clean_stop, open_for_service
from connector.store.checks import full_check
from connector.store.sqlite import SqliteStore
from tests.ops.ops_helpers import decide


def build(state: Path, cases: int, audit: int) -> None:
    with SqliteStore.open(state) as store:
        decide(store, "SEED", EffectKind.agree_refund)
        conn = store.db.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO cases SELECT platform, shop_id, 'C' || i, order_id, version, status, "
            "state, deadline_at, guard_at, facts_hash, case_json, raw_json, buyer_id, "
            "platform_updated_at, next_review_at, claimed_by, claim_expires_at, first_seen_at, "
            "last_seen_at, changed_at, claimed_version FROM cases, n WHERE case_id = 'SEED'",
            (cases,),
        )
        conn.execute("COMMIT")
        with store.unit_of_work():
            for i in range(audit):
                store.append_audit("note", actor="system", details={"i": i})


def best_of(runs: int, step: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        step()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--audit", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        began = time.perf_counter()
        build(state, args.cases, args.audit)
        size = (state / "connector.db").stat().st_size
        print(
            f"built {args.cases} cases, {args.audit} audit entries: {size / 1e6:.0f} MB "
            f"in {time.perf_counter() - began:.1f} s"
        )

        def plain() -> None:
            SqliteStore.open(state).close()

        def clean() -> None:
            open_for_service(state, purpose="bench").close(clean=True)

        def unclean() -> None:
            with contextlib.suppress(FileNotFoundError):
                clean_stop_path(state).unlink()
            open_for_service(state, purpose="bench").close(clean=False)

        def check() -> None:
            assert full_check(state / "connector.db").ok

        mark_clean_stop(state)
        rows = [
            ("plain open and close (before issue 14)", best_of(3, plain)),
            ("checked start and clean stop", best_of(3, clean)),
            ("checked start after an unclean stop", best_of(3, unclean)),
            ("refund-connector check (full)", best_of(1, check)),
        ]
        for name, seconds in rows:
            print(f"{name:45s} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
