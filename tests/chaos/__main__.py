"""``python -m tests.chaos --profile smoke [--json] [--seed N] [--work-dir DIR]``.

Exit 0 only if every invariant is 0, quiescence was reached, the daemon never died on its own
and ``audit verify`` passes. The seed is printed; ``--seed`` replays a run's schedule.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tests.chaos.checker import INVARIANTS
from tests.chaos.profiles import PROFILES
from tests.chaos.run import run_chaos

LABELS = {
    "cases_lost": "cases lost (missing or stale)",
    "effects_applied_twice": "effects applied twice",
    "conflicting_effects": "conflicting effects (agree and refuse)",
    "refunds_above_paid": "refunds above the paid amount",
    "auto_acts": "platform auto-acts on cases we should answer",
    "late_escalations": "escalations later than the guard",
    "malformed_dropped": "malformed items dropped",
}


def table(figures: dict[str, Any]) -> Table:
    result = "PASS" if figures["ok"] else "FAIL"
    out = Table(title=f"chaos {figures['profile']} (seed {figures['seed']}): {result}")
    out.add_column("figure")
    out.add_column("value", justify="right")
    out.add_row("cases / shops", f"{figures['cases']} / {figures['shops']}")
    out.add_row("kill -9 restarts", str(figures["kills"]))
    for name in INVARIANTS:
        value = figures[name]
        out.add_row(LABELS[name], f"[red]{value}[/red]" if value else "0")
    out.add_row(
        "effects / attempts / retries",
        f"{figures['effects']} / {figures['attempts']} / {figures['retries']}",
    )
    out.add_row("gateway calls", str(figures["calls"]))
    injected = figures["faults_injected"]
    out.add_row("faults injected", ", ".join(f"{k} {v}" for k, v in injected.items()) or "-")
    at_warehouse = figures.get("warehouse_faults_injected", {})
    out.add_row(
        "warehouse faults injected", ", ".join(f"{k} {v}" for k, v in at_warehouse.items()) or "-"
    )
    out.add_row(
        "malformed items injected / quarantined",
        f"{figures.get('malformed_injected', 0)} / {figures.get('malformed_quarantined', 0)}",
    )
    out.add_row(
        "auto-acts left to the platform by rule", str(figures.get("auto_acts_left_to_platform", 0))
    )
    out.add_row("escalations needed", str(figures.get("escalations_needed", 0)))
    out.add_row("quiescent / audit verify", f"{figures['quiescent']} / {figures['audit_verify']}")
    out.add_row("daemon died on its own", str(figures["daemon_restarts_unexpected"]))
    out.add_row("wall time", f"{figures['wall_s']} s")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="smoke")
    parser.add_argument("--seed", type=int, default=None, help="replay this seed")
    parser.add_argument("--json", action="store_true", help="print the figures as one object")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep state and logs here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    print(f"chaos seed {seed} (replay with --seed {seed})", file=sys.stderr)
    figures = run_chaos(
        PROFILES[args.profile],
        seed,
        work_dir=args.work_dir,
        log=None if args.quiet else sys.stderr,
    )
    if args.json:
        print(json.dumps(figures, sort_keys=True, default=str))
    else:
        Console().print(table(figures))
        for name, examples in figures["examples"].items():
            print(f"{name}: {examples}")
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
