"""The service's jobs: every shop is polled at once, pushes never wait behind polls, the deadline
guard never waits behind new cases.

Found by the chaos run (50 shops): with a 16-thread pool, polls queued past APScheduler's
misfire grace were skipped, so some shops were never polled, and the relay queued behind them.
The stub daemon's steps block on events, so the test waits on them and never sleeps.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
    deciding: threading.Event = field(default_factory=threading.Event)
    swept: threading.Event = field(default_factory=threading.Event)
    sweeps: int = 0
    polled_before_first_sweep: bool = False

    def __post_init__(self) -> None:
        self.clock = SimpleNamespace(now=lambda: datetime.now(UTC))
        self.store = SimpleNamespace(recover_in_flight=list, get_shop=lambda *_key: None)

    def poll_shop(self, shop: Any, *, full: bool) -> None:
        if self.sweeps == 0:
            self.polled_before_first_sweep = True
        if self.started.wait(timeout=20) == 0:
            self.all_polling.set()
        self.release.wait(timeout=20)

    def decide_pending(self) -> None:
        self.deciding.set()
        self.release.wait(timeout=20)

    def sweep_deadlines(self) -> None:
        self.sweeps += 1
        if self.sweeps == 1:
            return  # the sweep at start, before the ticker runs anything
        # Sharing one thread with the decider, this would wait in vain (the decider runs only
        # after it); on a thread of its own it sees the decider busy and sweeps meanwhile.
        if self.deciding.wait(timeout=5):
            self.swept.set()

    def relay_stream(self) -> None:
        self.relayed.set()

    def close(self) -> None:
        return None


def test_every_shop_polls_at_once_and_the_relay_runs_meanwhile() -> None:
    shops = {
        ("taobao", f"shop-{i}"): SimpleNamespace(
            enabled=True, platform="taobao", shop_id=f"shop-{i}"
        )
        for i in range(SHOPS)
    }
    daemon = StubDaemon(shops=shops)
    service = Service(cast(Daemon, daemon))
    service.start()
    assert daemon.sweeps == 1, "the guard is swept once at start, before the ticker runs"
    try:
        assert daemon.relayed.wait(timeout=20), "the relay waited behind blocked polls"
        assert daemon.all_polling.wait(timeout=20), "some shops' polls never started"
        assert not daemon.polled_before_first_sweep
    finally:
        daemon.release.set()
        service.stop()


def test_the_guard_is_swept_while_new_cases_are_being_decided() -> None:
    """A long burst of new cases after an outage or a restart must not delay an escalation.

    Found by the SMOKE chaos run: the sweep and the decider shared one job, so the guard of
    17 cases waited ~4 s behind the decider.
    """
    daemon = StubDaemon(shops={}, started=threading.Barrier(1))
    service = Service(cast(Daemon, daemon))
    service.start()
    try:
        assert daemon.deciding.wait(timeout=20)
        assert daemon.swept.wait(timeout=20), "the sweeper waited for the decider"
    finally:
        daemon.release.set()
        service.stop()


def test_the_next_reconciliation_counts_from_the_stored_last_one() -> None:
    """Found by the SMOKE chaos run: restarted every 30 s, a daemon that always waited a whole
    interval after start never reconciled, and an item broken in its only listing waited."""
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    last: dict[str, datetime | None] = {"a": None, "b": None, "c": None}
    first_polled: dict[str, datetime | None] = {"a": None, "b": None, "c": None}
    daemon = StubDaemon(shops={}, settings=DaemonSettings(reconcile_interval_s=120))
    daemon.store = SimpleNamespace(
        get_shop=lambda _p, shop_id: SimpleNamespace(
            last_full_reconciliation_at=last[shop_id], first_polled_at=first_polled[shop_id]
        )
    )
    service = Service(cast(Daemon, daemon))

    def shop(shop_id: str) -> Any:
        return SimpleNamespace(platform="taobao", shop_id=shop_id)

    assert service._next_reconciliation(shop("a"), now) == now + timedelta(seconds=120)
    last["a"] = now - timedelta(seconds=100)
    assert service._next_reconciliation(shop("a"), now) == now + timedelta(seconds=20)
    last["b"] = now - timedelta(hours=3)
    assert service._next_reconciliation(shop("b"), now) == now
    # Never reconciled (each life killed before its reconciliation ended, as in the soak):
    # counted from the first poll, not from this start.
    first_polled["c"] = now - timedelta(seconds=90)
    assert service._next_reconciliation(shop("c"), now) == now + timedelta(seconds=30)
    first_polled["c"] = now - timedelta(seconds=600)
    assert service._next_reconciliation(shop("c"), now) == now
