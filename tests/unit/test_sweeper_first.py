"""The sweeper-first gate: other workers wait at their next unit of work while a sweep runs.

Found by the SMOKE chaos run (seed 7): when the platform came back from an outage, a hundred
threads woke at once and one sweep took 2.7 s, so escalations came after their guard moment.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from connector.daemon.urgency import SweeperFirst

PATIENCE_S = 20.0


def _until(condition: object, what: str) -> None:
    """Yield the processor until ``condition()`` holds (no fixed sleeps; bounded)."""
    assert callable(condition)
    deadline = time.monotonic() + PATIENCE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0)


def test_without_a_sweep_a_worker_passes_at_once() -> None:
    gate = SweeperFirst()
    gate.wait_turn()
    assert gate.waiting == 0
    assert not gate.sweeping


def test_a_worker_waits_while_a_sweep_runs_and_goes_on_when_it_ends() -> None:
    gate = SweeperFirst()
    passed = threading.Event()

    def unit_of_work() -> None:
        gate.wait_turn()
        passed.set()

    with ThreadPoolExecutor(max_workers=2) as workers:
        with gate.first():
            assert gate.sweeping
            futures = [workers.submit(unit_of_work) for _ in range(2)]
            _until(lambda: gate.waiting == 2, "both workers to wait for the sweep")
            assert not passed.is_set()
        for future in futures:
            future.result(timeout=PATIENCE_S)
    assert passed.is_set()
    assert gate.waiting == 0
    assert not gate.sweeping


def test_nested_sweeps_release_workers_only_when_the_last_ends() -> None:
    gate = SweeperFirst()
    with ThreadPoolExecutor(max_workers=1) as workers:
        with gate.first():
            with gate.first():
                waiter = workers.submit(gate.wait_turn)
                _until(lambda: gate.waiting == 1, "the worker to wait")
            assert gate.waiting == 1  # one sweep still runs
        waiter.result(timeout=PATIENCE_S)


def test_a_stuck_sweep_holds_a_worker_back_no_longer_than_the_bound() -> None:
    gate = SweeperFirst(max_pause_s=0.01)
    with gate.first():
        gate.wait_turn()  # returns after the bound although the sweep never ends
    assert gate.waiting == 0
