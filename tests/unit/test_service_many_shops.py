"""The service's jobs: every shop is polled at once, pushes never wait behind polls, the deadline
guard goes before new cases.

Found by the chaos run (50 shops): with a 16-thread pool, polls queued past APScheduler's
misfire grace were skipped, so some shops were never polled, and the relay queued behind them.
The stub daemon's steps block on events, so the test waits on them and never sleeps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from connector.daemon.core import Daemon
from connector.daemon.service import Service
from connector.settings import DaemonSettings

SHOPS = 40


@dataclass
class StubDaemon:
    """Just what Service touches; every poll blocks until all shops' polls have started."""

    shops: dict[tuple[str, str], Any]
    settings: DaemonSettings = field(
        default_factory=lambda: DaemonSettings(poll_interval_s=60, reconcile_interval_s=600)
    )
    started: threading.Barrier = field(default_factory=lambda: threading.Barrier(SHOPS))
    release: threading.Event = field(default_factory=threading.Event)
    relayed: threading.Event = field(default_factory=threading.Event)
    all_polling: threading.Event = field(default_factory=threading.Event)
    steps: list[str] = field(default_factory=list)
    decided: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.clock = SimpleNamespace(now=lambda: datetime.now(UTC))
        self.store = SimpleNamespace(recover_in_flight=list)

    def poll_shop(self, shop: Any, *, full: bool) -> None:
        if self.started.wait(timeout=20) == 0:
            self.all_polling.set()
        self.release.wait(timeout=20)

    def decide_pending(self) -> None:
        self.steps.append("decide_pending")
        self.decided.set()

    def sweep_deadlines(self) -> None:
        self.steps.append("sweep_deadlines")

    def relay_stream(self) -> None:
        self.relayed.set()

    def close(self) -> None:
        return None


def test_every_shop_polls_at_once_and_the_relay_runs_meanwhile() -> None:
    shops = {("taobao", f"shop-{i}"): SimpleNamespace(enabled=True) for i in range(SHOPS)}
    daemon = StubDaemon(shops=shops)
    service = Service(cast(Daemon, daemon))
    service.start()
    try:
        assert daemon.relayed.wait(timeout=20), "the relay waited behind blocked polls"
        assert daemon.all_polling.wait(timeout=20), "some shops' polls never started"
    finally:
        daemon.release.set()
        service.stop()


def test_the_guard_is_swept_before_new_cases_are_decided() -> None:
    """A burst of new cases after an outage or a restart must not delay an escalation."""
    daemon = StubDaemon(shops={}, started=threading.Barrier(1))
    service = Service(cast(Daemon, daemon))
    service.start()
    try:
        assert daemon.decided.wait(timeout=20)
    finally:
        service.stop()
    assert daemon.steps[:2] == ["sweep_deadlines", "decide_pending"]
