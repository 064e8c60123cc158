"""Fixtures for policy tests that keep state: a fresh state directory and a store on a fake clock
(a test module sets the clock's start with its own ``clock`` fixture where it needs another)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.clock import FakeClock
from connector.store.sqlite import SqliteStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path, clock: FakeClock) -> Iterator[SqliteStore]:
    opened = SqliteStore.open(state_dir, clock=clock)
    yield opened
    opened.close()
