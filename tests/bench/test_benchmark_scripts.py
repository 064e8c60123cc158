"""The issue-15 benchmark scripts run end to end at a tiny size and print every key.

They start real processes (the fake, the daemon), so they are ``slow``; the figures themselves
are not asserted (benchmarks report, tests do not time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(*args: str, timeout_s: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", *args, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_scale_small_sizes_prints_every_key() -> None:
    result = _run("benchmarks.scale", "--sizes", "250,600", timeout_s=300)
    for key in (
        "stored_cases",
        "rss_mb",
        "rss_mb_total",
        "idle_cycle_calls",
        "idle_cycle_calls_small",
        "idle_cycle_cpu_ms",
        "open_case_query_ms",
    ):
        assert key in result, key
    assert result["stored_cases"] == 600
    assert result["idle_cycle_calls"] == result["idle_cycle_calls_small"]


def test_throughput_quick_prints_every_key() -> None:
    result = _run("benchmarks.throughput", "--quick", timeout_s=600)
    for key in ("rates", "max_sustained_rate", "raw_transport_rate", "ratio_to_raw"):
        assert key in result, key
    rates = result["rates"]
    assert isinstance(rates, list)
    assert [r["rate"] for r in rates] == [10, 25]
    for row in rates:
        assert row["arrived"] > 0
        assert set(row["cpu_ms_per_case"]) >= {"list", "fetch", "decide", "store", "send"}
        assert row["platform_calls_per_case"] > 0
