"""One listing pass against the Taobao fake over loopback while cases change between pages.

The drain benchmark found cases generated in bulk (hundreds sharing one ``modified`` second)
skipped by a pass when others left the window between pages: offsets shifted under the reader.
Here every layout of ``modified`` values (one second, a few seconds, spread out) must give a
pass that returns every case that was in the window and did not change, each id once.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from adapters.taobao import TaobaoAdapter, TaobaoSettings
from connector.adapter import CasePage, SyncWindow
from connector.clock import FakeClock
from connector.testing.mock_control import MockControl
from mocks.kit.server import BackgroundServer
from mocks.taobao import ShopConfig, TaobaoConfig, TaobaoMock, create_app

SHOP = "bulk-shop"
SESSION = "bulk-session"
START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
PAGE_SIZE = 10


@dataclass
class Fake:
    clock: FakeClock
    control: MockControl
    adapter: TaobaoAdapter


@pytest.fixture
def fake() -> Iterator[Fake]:
    clock = FakeClock(START)
    config = TaobaoConfig(shops=[ShopConfig(SHOP, SESSION, tmall=False)])
    mock = TaobaoMock(config, clock=clock)
    with (
        BackgroundServer(create_app(mock, test_mode=True)) as base_url,
        MockControl(base_url) as control,
        httpx.Client(timeout=10) as http,
    ):
        settings = TaobaoSettings(
            base_url=base_url,
            shop_id=SHOP,
            app_key=config.app_key,
            app_secret=config.app_secret,
            session=SESSION,
            page_size=PAGE_SIZE,
        )
        yield Fake(clock, control, TaobaoAdapter(settings, http=http, clock=clock))


def _seed(fake: Fake, count: int, *, spread_s: list[float]) -> list[str]:
    """``count`` open cases; before each one the clock moves by the next ``spread_s`` step."""
    ids: list[str] = []
    for step in spread_s[:count]:
        fake.clock.advance(step)
        spec = {"shop_id": SHOP, "type": "refund_only", "order_status": "not_shipped"}
        ids.extend(fake.control.seed([spec]))
    return ids


def _pass(
    fake: Fake, window: SyncWindow, touch_between_pages: int, rng: random.Random
) -> tuple[list[str], set[str]]:
    """One pass; between pages the buyer changes some listed and some not-yet-listed cases."""
    listed: list[str] = []
    changed: set[str] = set()
    all_ids = {c["case_id"] for c in fake.control.cases(SHOP)}
    token: str | None = None
    for _ in range(1000):
        page: CasePage = fake.adapter.list_cases(window, token)
        listed.extend(c.case_id for c in page.cases)
        assert not page.quarantined
        if page.next_page is None:
            return listed, changed
        assert page.next_page != token
        token = page.next_page
        fake.clock.advance(1)  # later changes land after the window's end
        seen = [i for i in listed if i not in changed]
        unseen = sorted(all_ids - set(listed) - changed)
        victims = rng.sample(seen, min(len(seen), touch_between_pages))
        victims += rng.sample(unseen, min(len(unseen), touch_between_pages))
        for case_id in victims:
            fake.control.buyer(case_id, {"action": "add_evidence", "kind": "photo"})
            changed.add(case_id)
    raise AssertionError("the pass did not end")


LAYOUTS = {
    "one second": [0.0] * 120,
    "two seconds": [0.0] * 60 + [1.0] + [0.0] * 59,
    "ms apart in one second": [0.005] * 120,
    "spread": [0.0, 1.0, 0.0, 0.0, 3.0, 0.2] * 20,
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("touches", [1, 3])
def test_a_pass_returns_every_unchanged_case_once(fake: Fake, layout: str, touches: int) -> None:
    ids = _seed(fake, 120, spread_s=LAYOUTS[layout])
    window = SyncWindow(START - timedelta(hours=1), fake.clock.now() + timedelta(seconds=1))
    listed, changed = _pass(fake, window, touches, random.Random(f"{layout}/{touches}"))
    assert changed, "the test must change cases during the pass"
    assert len(listed) == len(set(listed)), "a case was listed twice in one pass"
    lost = set(ids) - changed - set(listed)
    assert not lost, f"the pass skipped {len(lost)} unchanged cases"


def test_bulk_in_the_daemons_window_ending_now(fake: Fake) -> None:
    """The daemon's window ends at ``now``; the bulk was seeded in that very second."""
    ids = _seed(fake, 100, spread_s=[0.0] * 100)
    window = SyncWindow(fake.clock.now() - timedelta(minutes=2), fake.clock.now())
    listed, changed = _pass(fake, window, 2, random.Random(7))
    assert set(ids) - changed <= set(listed)
    assert len(listed) == len(set(listed))


def test_changed_cases_come_back_in_the_look_back_pass(fake: Fake) -> None:
    ids = _seed(fake, 45, spread_s=[0.0] * 45)
    window = SyncWindow(START - timedelta(hours=1), fake.clock.now() + timedelta(seconds=1))
    listed, changed = _pass(fake, window, 2, random.Random(3))
    second = SyncWindow(window.end - timedelta(seconds=1), fake.clock.now() + timedelta(seconds=1))
    again, _ = _pass(fake, second, 0, random.Random(0))
    assert changed <= set(again)
    assert set(ids) <= set(listed) | set(again)
