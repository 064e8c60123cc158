"""Fixtures for the adapter tests: a fake clock, a plain httpx client, Taobao adapters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from taobao_helpers import settings

from adapters.taobao import TaobaoAdapter
from connector.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 12, 2, 0, tzinfo=UTC))


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def adapter(http: httpx.Client, clock: FakeClock) -> TaobaoAdapter:
    return TaobaoAdapter(settings(), http=http, clock=clock)


@pytest.fixture
def tmall_adapter(http: httpx.Client, clock: FakeClock) -> TaobaoAdapter:
    return TaobaoAdapter(settings(tmall=True), http=http, clock=clock)
