"""CI runs the SMOKE chaos profile (docs/chaos.md): 2,000 cases over 50 shops with fault profile
F10 and 10 kill -9 restarts of the real daemon process; every invariant must be 0.

A separate process (``python -m tests.chaos``) exactly as a person runs it. The seed is fixed so
CI replays one schedule; ``CHAOS_SEED=N`` runs another. It takes about 6-7 minutes of the CI run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
INVARIANTS = (
    "cases_lost",
    "effects_applied_twice",
    "conflicting_effects",
    "refunds_above_paid",
    "auto_acts",
    "late_escalations",
    "malformed_dropped",
)


def test_smoke_chaos_run_keeps_every_invariant(tmp_path: Path) -> None:
    seed = os.environ.get("CHAOS_SEED", "20261123")
    command = [
        sys.executable, "-m", "tests.chaos", "--profile", "smoke", "--json", "--quiet",
        "--seed", seed, "--work-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=15 * 60, check=False
    )
    assert result.stdout.strip(), f"no figures (exit {result.returncode}):\n{result.stderr[-3000:]}"
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    broken = {name: figures[name] for name in INVARIANTS if figures[name]}
    context = f"seed {seed}; examples {figures.get('examples')}; work dir {tmp_path / 'run'}"
    assert broken == {}, context
    assert figures["cases"] == 2000
    assert figures["kills"] == 10
    assert figures["quiescent"], context
    assert figures["audit_verify"], figures.get("audit_verify_output")
    assert figures["daemon_restarts_unexpected"] == 0, context
    assert sum(figures["faults_injected"].values()) > 0
    assert sum(figures["warehouse_faults_injected"].values()) > 0
    assert result.returncode == 0, result.stderr[-3000:]
