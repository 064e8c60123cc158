"""Fixtures for console tests: a store on a FakeClock, the console app, a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from console_helpers import fake_clock
from starlette.testclient import TestClient

from connector.clock import FakeClock
from connector.console import create_console_app
from connector.store import Store, open_store


@pytest.fixture
def clock() -> FakeClock:
    return fake_clock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(tmp_path / "state", clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def client(store: Store, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as c:
        yield c
