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
import threading
from pathlib import Path
from typing import Any

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


def _run_reporting_progress(command: list[str], progress: Any) -> tuple[int, str, str]:
    """The run's own progress lines (stderr) go on to the terminal every 10 s or so.

    Each pipe has its own reader thread (``communicate`` would read stderr too, racing the
    follower and closing the pipe under it); the main thread only waits for the process."""
    errors: list[str] = []
    output: list[str] = []
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:

        def follow() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                errors.append(line)
                progress(line.strip())

        def collect() -> None:
            assert process.stdout is not None
            output.append(process.stdout.read())

        readers = [threading.Thread(target=follow, daemon=True),
                   threading.Thread(target=collect, daemon=True)]
        for reader in readers:
            reader.start()
        try:
            process.wait(timeout=15 * 60)
        finally:
            process.kill()
            for reader in readers:
                reader.join(timeout=10)
    progress(errors[-1].strip() if errors else "finished", force=True)
    return process.returncode, "".join(output), "".join(errors)


def test_smoke_chaos_run_keeps_every_invariant(tmp_path: Path, progress: Any) -> None:
    seed = os.environ.get("CHAOS_SEED", "20261123")
    command = [
        sys.executable, "-m", "tests.chaos", "--profile", "smoke", "--json",
        "--seed", seed, "--work-dir", str(tmp_path / "run"),
    ]  # fmt: skip
    returncode, stdout, stderr = _run_reporting_progress(command, progress)
    assert stdout.strip(), f"no figures (exit {returncode}):\n{stderr[-3000:]}"
    figures = json.loads(stdout.strip().splitlines()[-1])
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
    assert returncode == 0, stderr[-3000:]
