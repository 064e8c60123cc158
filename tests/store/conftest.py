"""Fixtures for store tests: a fresh state directory, a fake clock, a case factory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from store_helpers import START

from connector.clock import FakeClock
from connector.store.sqlite import SqliteStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path, clock: FakeClock) -> Iterator[SqliteStore]:
    opened = SqliteStore.open(state_dir, clock=clock)
    yield opened
    opened.close()
