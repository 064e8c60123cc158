"""The chaos run: fakes with a fault profile, the daemon killed and restarted, quiescence, check.

Wall time by design (the daemon is a real process against real loopback servers), so this module
waits with short sleeps. Timeline, all seeded: the cases' deadlines, the two outages, and the kill
moments (one in each of ``kills`` equal slots before the last deadline). Faults stay on until the
last deadline has passed, then quiescence is awaited: the fake reachable with faults off, every
fake case stored and not ``new``, no effect open, and 2 poll intervals + the look-back elapsed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from connector.store import CaseState, Store, open_read_only_store
from tests.chaos.checker import INVARIANTS, RunFacts, check
from tests.chaos.profiles import ChaosProfile
from tests.chaos.world import REPO, DaemonProcess, Fakes, seed_cases, start_fakes, write_config

OPEN_EFFECTS = ("pending", "in_flight", "unknown")
TICK_S = 0.2


@dataclass
class Timeline:
    """Seconds after the start of the run."""

    kills: list[float]
    outages: list[dict[str, Any]]
    faults_off: float


def plan_timeline(profile: ChaosProfile, seed: int, last_deadline_s: float) -> Timeline:
    rng = random.Random(f"timeline:{seed}")
    end = max(last_deadline_s - 5.0, 20.0)
    slot = (end - 5.0) / max(profile.kills, 1)
    kills = [5.0 + slot * (i + rng.uniform(0.15, 0.85)) for i in range(profile.kills)]
    # Outages in the deadline-dense part of the run, once the initial backlog (every case is
    # created at the start) has been taken in, apart from each other.
    count = 2 if profile.faults == "F10" else 3
    length = 30.0 if profile.faults == "F10" else 60.0
    first = profile.deadline_min_s
    part = max(last_deadline_s - 30.0 - first, length * count) / count
    outages = [
        {
            "start_s": round(first + part * i + rng.uniform(0.0, max(part - length, 0.0)), 1),
            "duration_s": length,
            "mode": "503" if i % 2 == 0 else "reset",
        }
        for i in range(count)
    ]
    return Timeline(kills=kills, outages=outages, faults_off=last_deadline_s + 1.0)


@dataclass
class Progress:
    out: TextIO | None
    started: float = field(default_factory=time.monotonic)
    last: float = 0.0

    def say(self, text: str) -> None:
        if self.out is not None:
            print(f"[chaos {time.monotonic() - self.started:6.1f}s] {text}", file=self.out)
            self.out.flush()


def _store(state_dir: Path) -> Store | None:
    try:
        return open_read_only_store(state_dir)
    except Exception:  # noqa: BLE001 - not created or migrated yet
        return None


def settled(state_dir: Path, cases: int) -> tuple[bool, str]:
    """Every fake case stored and not ``new``; no effect pending, in flight or unknown."""
    store = _store(state_dir)
    if store is None:
        return False, "no store yet"
    try:
        states = store.count_cases_by_state()
        effects = store.effect_status_counts()
    finally:
        store.close()
    stored = sum(states.values())
    fresh = states.get(CaseState.new, 0)
    open_effects = sum(effects.get(s, 0) for s in OPEN_EFFECTS)
    done = effects.get("done", 0)
    summary = f"stored {stored}/{cases}, new {fresh}, open effects {open_effects}, done {done}"
    return stored >= cases and not fresh and not open_effects, summary


def _reachable(url: str) -> bool:
    try:
        return httpx.get(f"{url}/__mock/clock", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def audit_verify(state_dir: Path) -> tuple[bool, str]:
    result = subprocess.run(
        [sys.executable, "-m", "connector", "audit", "verify", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    return result.returncode == 0, (result.stdout + result.stderr).strip()[-500:]


def run_chaos(
    profile: ChaosProfile, seed: int, *, work_dir: Path | None = None, log: TextIO | None = None
) -> dict[str, Any]:
    """One whole run; returns the figures (``--json`` prints them)."""
    progress = Progress(log)
    directory = work_dir or Path(tempfile.mkdtemp(prefix=f"chaos-{profile.name}-"))
    directory.mkdir(parents=True, exist_ok=True)
    state_dir = directory / "state"
    progress.say(f"profile {profile.name}, seed {seed}, work dir {directory}")
    with ExitStack() as stack:
        fakes = start_fakes(stack, profile)
        # Dropped connections are the point here; uvicorn would log each one as an error.
        logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
        arrivals = profile.arrivals()
        initial = seed_cases(fakes, profile, seed, count=arrivals[0][1])
        started = time.monotonic()
        start_at = fakes.taobao.now()
        deadlines = [datetime.fromisoformat(v["deadline_at"]) for v in initial if v["deadline_at"]]
        last_deadline_s = max((d - start_at).total_seconds() for d in deadlines)
        if len(arrivals) > 1:
            last_deadline_s = max(last_deadline_s, profile.last_deadline_bound_s())
        timeline = plan_timeline(profile, seed, last_deadline_s)
        config = write_config(directory, fakes, profile)
        httpx.post(
            f"{fakes.taobao_url}/__mock/faults/profile",
            json={
                "name": profile.faults,
                "seed": seed,
                "outages": timeline.outages,
                "hang_s": profile.http_timeout_s + 2.0,
            },
            timeout=10,
        ).raise_for_status()
        # The warehouse answers with the same per-call share (its voids applied and the
        # answer dropped, hangs, 5xx, bans) but no outages of its own: the run's two outages
        # are the platform's.
        httpx.post(
            f"{fakes.warehouse_url}/__mock/faults/profile",
            json={
                "name": profile.faults,
                "seed": seed,
                "outages": [],
                "hang_s": profile.http_timeout_s + 2.0,
            },
            timeout=10,
        ).raise_for_status()
        daemon = DaemonProcess(config, state_dir, directory / "daemon.log", fakes.config.app_secret)
        stack.callback(daemon.stop)
        daemon.start()
        progress.say(
            f"{profile.cases} cases over {profile.shops} shops ({len(arrivals)} batch(es) over "
            f"{profile.arrival_s:.0f} s), last deadline in {last_deadline_s:.0f} s; "
            f"kills at {[round(k) for k in timeline.kills]} s; outages {timeline.outages}"
        )

        def arrive(batch: int, count: int) -> None:
            initial.extend(seed_cases(fakes, profile, seed, batch=batch, count=count))

        profile_view, quiescent, kill_times = _drive(
            profile,
            fakes,
            daemon,
            timeline,
            state_dir,
            started,
            progress,
            later=[(at, batch, count) for batch, (at, count) in enumerate(arrivals)][1:],
            arrive=arrive,
        )
        daemon_exit = daemon.stop()
        wall_s = time.monotonic() - started
        with fakes.taobao.lock:
            final = fakes.taobao.case_views(None)
        ledger = _all_entries(fakes.taobao.ledger)
        requests = _all_entries(fakes.taobao.requests)
        warehouse_ledger = _all_entries(fakes.warehouse.ledger)
    facts = RunFacts(
        initial_views=initial,
        final_views=final,
        ledger=ledger,
        warehouse_ledger=warehouse_ledger,
        profile=profile_view,
        downtimes=daemon.downtimes,
        guard_s=profile.guard_s,
        sweep_s=1.0,
    )
    (directory / "facts.json").write_text(
        json.dumps(dataclasses.asdict(facts), default=str), encoding="utf-8"
    )  # for a post-mortem next to the state dir and daemon.log
    store = open_read_only_store(state_dir)
    try:
        findings = check(facts, store)
        effects = store.list_effects(limit=10_000_000)
    finally:
        store.close()
    audit_ok, audit_text = audit_verify(state_dir)
    attempts = sum(e.attempts for e in effects)
    figures: dict[str, Any] = {
        "profile": profile.name,
        "seed": seed,
        "cases": len(final),
        "shops": profile.shops,
        "kills": len(kill_times),
        **findings.counts,
        "attempts": attempts,
        "retries": sum(max(e.attempts - 1, 0) for e in effects),
        "effects": len(effects),
        "calls": len(requests),
        "wall_s": round(wall_s, 1),
        "quiescent": quiescent,
        "audit_verify": audit_ok,
        "daemon_restarts_unexpected": len(daemon.unexpected_exits),
        "daemon_exit": daemon_exit,
        "faults_injected": profile_view.get("injected", {}),
        "warehouse_faults_injected": profile_view.get("warehouse", {}).get("injected", {}),
        "outages": profile_view.get("outages", []),
        "kill_times_s": [round(k, 1) for k in kill_times],
        **findings.info,
        "examples": findings.examples,
        "work_dir": str(directory),
    }
    if not audit_ok:
        figures["audit_verify_output"] = audit_text
    figures["ok"] = passed(figures)
    (directory / "figures.json").write_text(json.dumps(figures, default=str), encoding="utf-8")
    return figures


def passed(figures: dict[str, Any]) -> bool:
    return (
        all(figures[name] == 0 for name in INVARIANTS)
        and figures["quiescent"]
        and figures["audit_verify"]
        and figures["daemon_restarts_unexpected"] == 0
    )


def _drive(
    profile: ChaosProfile,
    fakes: Fakes,
    daemon: DaemonProcess,
    timeline: Timeline,
    state_dir: Path,
    started: float,
    progress: Progress,
    *,
    later: list[tuple[float, int, int]],
    arrive: Callable[[int, int], None],
) -> tuple[dict[str, Any], bool, list[float]]:
    """Kill and restart on schedule, let later batches of cases arrive, switch faults off, wait
    for quiescence."""
    cases = profile.cases
    pending_arrivals = list(later)
    pending_kills = list(timeline.kills)
    kill_times: list[float] = []
    profile_view: dict[str, Any] = {}
    quiet_after = timeline.faults_off + 2 * profile.poll_s + profile.lookback_s
    last_report = 0.0
    while True:
        now = time.monotonic() - started
        daemon.watch()
        code = daemon.exited()
        if code is not None:
            progress.say(f"the daemon exited on its own ({code}); restarting")
            daemon.start()
        while pending_arrivals and now >= pending_arrivals[0][0]:
            _, batch, count = pending_arrivals.pop(0)
            arrive(batch, count)
        if pending_kills and now >= pending_kills[0]:
            pending_kills.pop(0)
            daemon.kill()
            kill_times.append(now)
            daemon.start()
            progress.say(f"kill -9 #{len(kill_times)}; restarted")
        if not profile_view and now >= timeline.faults_off:
            profile_view = _faults_off(fakes)
            progress.say(
                f"faults off; injected {profile_view.get('injected')}, "
                f"warehouse {profile_view['warehouse'].get('injected')}"
            )
        if profile_view and now >= quiet_after and not pending_kills and not pending_arrivals:
            done, summary = settled(state_dir, cases)
            if done and _reachable(fakes.taobao_url):
                progress.say(f"quiescent: {summary}")
                return profile_view, True, kill_times
        if now - last_report >= 15:
            last_report = now
            progress.say(settled(state_dir, cases)[1])
        if now > profile.max_wall_s:
            progress.say(
                f"no quiescence after {profile.max_wall_s} s: {settled(state_dir, cases)[1]}"
            )
            if not profile_view:
                profile_view = _faults_off(fakes)
            return profile_view, False, kill_times
        time.sleep(TICK_S)  # noqa: TID251 - a real process on wall time, by design


def _faults_off(fakes: Fakes) -> dict[str, Any]:
    """Switch both fakes' profiles off; the platform's view, with the warehouse's inside."""
    view: dict[str, Any] = httpx.delete(
        f"{fakes.taobao_url}/__mock/faults/profile", timeout=10
    ).json()
    view["warehouse"] = httpx.delete(
        f"{fakes.warehouse_url}/__mock/faults/profile", timeout=10
    ).json()
    return view


def _all_entries(journal: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    seq = 0
    while True:
        chunk, seq_next = journal.since(seq, limit=50_000)
        if not chunk:
            return entries
        entries += chunk
        seq = seq_next


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
