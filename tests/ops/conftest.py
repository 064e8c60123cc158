"""Fixtures for ops command tests: a state directory, a fake clock the commands also use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from ops_helpers import START

from connector.cli import ops_cmd
from connector.clock import FakeClock
from connector.store import Store, open_store


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(START)
    monkeypatch.setattr(ops_cmd, "CLOCK", fake)
    return fake


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def store(state_dir: Path, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(state_dir, clock=clock)
    yield opened
    opened.close()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    ops_cmd.register(app)
    return app
