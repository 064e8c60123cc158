"""One JD listing pass against the JD fake over loopback while orders change between pages.

``asc.sync.list`` pages by offset, oldest change first: a service order that changes leaves the
pass's fixed window and shifts every later offset. Whatever the layout of update times (one
second, two, spread out), a pass must return every case of both families that was in the window
and did not change, each id once; refund applications (paged by ``applyTime``) come along.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from jd_support import jd_settings

from adapters.jd import JdAdapter
from connector.adapter import SyncWindow
from connector.clock import FakeClock
from connector.errors import InvalidRequestError
from connector.testing.mock_control import MockControl
from mocks.jd import JdConfig, JdMock, JdShop, create_app
from mocks.kit.server import BackgroundServer

SHOP = "jd-bulk"
TOKEN = "jd-bulk-token-77c1"
BU_ID = "30003"
T0 = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
SERVICE = {"shop_id": SHOP, "type": "return_and_refund", "order_status": "delivered"}
APPLICATION = {"shop_id": SHOP, "type": "refund_only", "order_status": "not_shipped"}


@dataclass
class World:
    clock: FakeClock
    control: MockControl
    adapter: JdAdapter


@pytest.fixture
def world() -> Iterator[World]:
    clock = FakeClock(T0)
    config = JdConfig(shops=[JdShop(SHOP, TOKEN, BU_ID)])
    with (
        BackgroundServer(create_app(JdMock(config, clock=clock), test_mode=True)) as base_url,
        MockControl(base_url) as control,
        httpx.Client(timeout=10) as http,
    ):
        settings = jd_settings(
            base_url=base_url,
            shop_id=SHOP,
            app_key=config.app_key,
            app_secret=config.app_secret,
            access_token=TOKEN,
            bu_id=BU_ID,
            page_size=7,
        )
        yield World(clock, control, JdAdapter(settings, http=http, clock=clock))


def seed_orders(world: World, gaps_s: list[float], applications: int = 0) -> list[str]:
    """One service order after each clock step in ``gaps_s``, then ``applications``."""
    ids: list[str] = []
    for gap in gaps_s:
        world.clock.advance(gap)
        ids += world.control.seed([SERVICE])
    return ids + world.control.seed([APPLICATION] * applications)


def listing_pass(
    world: World, window: SyncWindow, per_page: int, rng: random.Random
) -> tuple[list[str], set[str]]:
    """The ids one pass lists, and the orders the buyer changed after each page (some
    already listed, some not), each change after the window's end."""
    listed: list[str] = []
    changed: set[str] = set()
    services = {c["case_id"] for c in world.control.cases(SHOP) if c["family"] != "refund_apply"}
    page = world.adapter.list_cases(window)
    for _ in range(500):
        listed += [c.case_id for c in page.cases]
        if page.next_page is None:
            return listed, changed
        world.clock.advance(1)
        done = sorted(services.intersection(listed) - changed)
        waiting = sorted(services - set(listed) - changed)
        for case_id in rng.sample(done, min(per_page, len(done))) + rng.sample(
            waiting, min(per_page, len(waiting))
        ):
            world.control.buyer(case_id, {"action": "add_evidence", "kind": "photo"})
            changed.add(case_id)
        page = world.adapter.list_cases(window, page.next_page)
    raise AssertionError("the pass did not end")


UPDATE_LAYOUTS = {
    "one second": [0.0] * 60,
    "two seconds": [0.0] * 30 + [1.0] + [0.0] * 29,
    "ms apart": [0.004] * 60,
    "spread": [0.0, 2.0, 0.0, 0.5, 1.0] * 12,
}


@pytest.mark.parametrize("layout", sorted(UPDATE_LAYOUTS))
@pytest.mark.parametrize("per_page", [1, 3])
def test_a_pass_lists_every_unchanged_case_once(world: World, layout: str, per_page: int) -> None:
    ids = seed_orders(world, UPDATE_LAYOUTS[layout], applications=9)
    window = SyncWindow(T0 - timedelta(hours=1), world.clock.now() + timedelta(seconds=1))
    listed, changed = listing_pass(world, window, per_page, random.Random(f"{layout}{per_page}"))
    assert changed, "orders must change during the pass"
    assert len(listed) == len(set(listed)), "a case was listed twice in one pass"
    skipped = set(ids) - changed - set(listed)
    assert not skipped, f"the pass skipped {len(skipped)} unchanged cases"


def test_the_look_back_pass_lists_what_changed(world: World) -> None:
    ids = seed_orders(world, [0.0] * 40)
    window = SyncWindow(T0 - timedelta(hours=1), world.clock.now() + timedelta(seconds=1))
    listed, changed = listing_pass(world, window, 2, random.Random(5))
    later = SyncWindow(window.end - timedelta(seconds=1), world.clock.now() + timedelta(seconds=1))
    again, _ = listing_pass(world, later, 0, random.Random(0))
    assert changed <= set(again)
    assert set(ids) <= set(listed) | set(again)


def test_a_page_token_from_elsewhere_is_refused(world: World) -> None:
    window = SyncWindow(T0 - timedelta(hours=1), T0)
    with pytest.raises(InvalidRequestError):
        world.adapter.list_cases(window, "eyJwaGFzZSI6InNlcnZpY2VzIiwicGFnZSI6MX0")
