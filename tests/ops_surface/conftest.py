"""Fixtures for the ops surface: the daemon world (shared with the integration tests) and a
webhook receiver on real loopback HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The daemon world lives with the integration tests; reuse it rather than copy it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

from daemon_world import World, make_world
from ops_surface_helpers import Receiver, receiver_app

from mocks.kit.server import BackgroundServer


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with BackgroundServer(receiver_app(rec)) as base_url:
        rec.url = f"{base_url}/hooks/refunds"
        yield rec
