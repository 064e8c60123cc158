"""Fixtures: a Taobao fake on real loopback HTTP sharing a FakeClock with the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mock_taobao_support import START, Fake, start_fake

from connector.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[Fake]:
    yield from start_fake(clock)
