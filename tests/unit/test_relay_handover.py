"""The relay hands due effects only to free senders, most urgent first, within each shop's limit.

Found by the SMOKE chaos run: after an outage the relay queued hundreds of effects inside the
sender pool in the order of an earlier tick; a deadline fallback decided meanwhile waited 4-11 s
for a sender and the platform acted for the seller. The senders here block on events, so the
test waits on them and never sleeps.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from connector.clock import FakeClock
from connector.daemon.core import Daemon
from connector.ratelimit import QuotaGate
from connector.settings import DaemonSettings


def effect(effect_id: int, shop: str) -> Any:
    return SimpleNamespace(id=effect_id, platform="taobao", shop_id=shop)


class DueList:
    """The store's due effects, most urgent first, as the test sets them."""

    def __init__(self, effects: list[Any]) -> None:
        self.effects = effects

    def due_effects(self, _now: datetime, limit: int = 100) -> list[Any]:
        return self.effects[:limit]


@pytest.fixture
def relay() -> Iterator[tuple[Daemon, DueList, dict[int, threading.Event], list[int]]]:
    due = DueList([])
    daemon = Daemon(
        store=due,  # type: ignore[arg-type]
        clock=FakeClock(datetime(2026, 12, 3, 8, 0, tzinfo=UTC)),
        settings=DaemonSettings(relay_concurrency=3, per_shop_concurrency=2),
        shops=[],
        quota=QuotaGate(),
    )
    release: dict[int, threading.Event] = {}
    started: list[int] = []
    started_changed = threading.Condition()

    def blocking_send(sent: Any) -> str:
        with started_changed:
            started.append(sent.id)
            started_changed.notify_all()
        release.setdefault(sent.id, threading.Event()).wait(timeout=20)
        if sent in due.effects:
            due.effects.remove(sent)  # done: no longer due
        return "done"

    daemon._send_guarded = blocking_send  # type: ignore[method-assign]
    daemon.started_changed = started_changed  # type: ignore[attr-defined]
    try:
        yield daemon, due, release, started
    finally:
        for event in release.values():
            event.set()
        for key in list(due.effects):
            release.setdefault(key.id, threading.Event()).set()
        due.effects.clear()
        daemon._pool.shutdown(wait=True, cancel_futures=True)


def wait_started(daemon: Daemon, started: list[int], count: int) -> list[int]:
    changed: threading.Condition = daemon.started_changed  # type: ignore[attr-defined]
    with changed:
        assert changed.wait_for(lambda: len(started) >= count, timeout=20), started
        return list(started)


def test_only_free_senders_get_effects_and_a_shop_never_more_than_its_limit(
    relay: tuple[Daemon, DueList, dict[int, threading.Event], list[int]],
) -> None:
    daemon, due, _release, started = relay
    due.effects = [effect(1, "a"), effect(2, "a"), effect(3, "a"), effect(4, "b"), effect(5, "c")]
    assert daemon.relay_stream() == 3
    assert sorted(wait_started(daemon, started, 3)) == [1, 2, 4]  # shop a at its limit of 2
    assert daemon.relay_stream() == 0  # every sender busy: nothing queues behind them


def test_a_freed_sender_takes_the_most_urgent_effect_at_once(
    relay: tuple[Daemon, DueList, dict[int, threading.Event], list[int]],
) -> None:
    daemon, due, release, started = relay
    due.effects = [effect(1, "a"), effect(2, "b"), effect(3, "c"), effect(4, "d")]
    assert daemon.relay_stream() == 3
    wait_started(daemon, started, 3)
    urgent = effect(9, "e")  # a deadline fallback decided while every sender was busy
    due.effects.insert(0, urgent)
    release.setdefault(1, threading.Event()).set()  # one send finishes; no relay tick comes
    assert wait_started(daemon, started, 4)[3] == 9
