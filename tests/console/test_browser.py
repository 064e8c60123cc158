"""The console in a real headless Chromium (Debian's, driven by Playwright) over the daemon's
world: Taobao and warehouse fakes on loopback, the daemon and the console on one FakeClock.

Screenshots of the queue, a case page and the statistics page go to tests/artifacts/.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from browser_support import ARTIFACTS, launched_browser
from console_helpers import PASSWORD, add_user

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from daemon_world import World, make_world

from connector.console import ConsoleServer, create_console_app

pytestmark = pytest.mark.slow

HOUR = timedelta(hours=1)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


@pytest.fixture
def console(world: World) -> Iterator[str]:
    add_user(world.store, "ann", "reviewer")
    add_user(world.store, "root", "admin")
    app = create_console_app(world.store, clock=world.clock)
    with ConsoleServer(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launched_browser()


def _queued(world: World, hours: int) -> str:
    now = world.clock.now()
    return world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 72 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=hours * 3600,
    )


def _login(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/queue")
    assert "/login" in page.url  # no session: sent to the login page
    page.fill("input[name=account]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{url}/queue")
    assert page.inner_text("#whoami") == name


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def test_reviewer_rejects_with_evidence_and_the_platform_gets_it(
    world: World, console: str, browser: Any, tmp_path: Path
) -> None:
    later = _queued(world, 20)
    sooner = _queued(world, 5)
    world.daemon.run_once(full=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, console, "ann")

    rows = page.locator("tr.case-row").evaluate_all("rs => rs.map(r => r.dataset.case)")
    assert rows == [sooner, later]
    assert "待审队列" in page.inner_text("header")
    _shot(page, "queue")

    page.click(f"a:text-is('{sooner}')")
    page.wait_for_selector("#decide")
    assert "命中第" in page.inner_text("#trace")
    _shot(page, "case")
    proof = tmp_path / "proof.png"
    proof.write_bytes(PNG)
    page.select_option("#action", "reject")
    page.fill("#reason", "物流显示买家本人已签收")
    page.set_input_files("#evidence-file", str(proof))
    page.click("#decide-submit")
    page.wait_for_selector("#decided")

    world.daemon.run_once()
    assert world.effects_at_platform(sooner) == ["refuse_refund"]
    page.reload()
    assert "human:ann" in page.inner_text("#audit")
    human = [e for e in world.store.audit_entries(case_id=sooner) if e.event == "human_action"]
    assert (human[0].actor, human[0].details["via"]) == ("human:ann", "console")

    page.goto(f"{console}/stats")
    page.wait_for_selector("#chart-reasons")
    assert "未收到货" in page.inner_text("#stats")
    _shot(page, "stats")


def test_reviewer_cannot_reach_admin_pages_and_admin_can(
    world: World, console: str, browser: Any
) -> None:
    page = browser.new_page()
    _login(page, console, "ann")
    response = page.goto(f"{console}/admin/users")
    assert response.status == 403
    assert "无权访问" in page.inner_text("#error")
    other = browser.new_page()
    _login(other, console, "root")
    assert other.goto(f"{console}/admin/users").status == 200
    assert "ann" in other.inner_text("#users")


def test_requests_without_a_session_or_csrf_token_are_refused(
    world: World, console: str, browser: Any
) -> None:
    case_id = _queued(world, 5)
    world.daemon.run_once(full=True)
    context = browser.new_context()
    anonymous = context.request.post(
        f"{console}/cases/taobao/taobao-shop/{case_id}/decide",
        form={"action": "reject", "reason": "x"},
    )
    assert anonymous.status == 403
    page = context.new_page()
    _login(page, console, "ann")
    page.goto(f"{console}/cases/taobao/taobao-shop/{case_id}")
    page.eval_on_selector("#decide input[name=csrf]", "el => el.remove()")
    page.select_option("#action", "reject")
    page.fill("#reason", "forged")
    with page.expect_navigation():
        page.click("#decide-submit")
    assert "CSRF" in page.inner_text("#error")
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == []


def test_a_decision_on_a_case_changed_on_the_platform_is_refused_with_the_new_state(
    world: World, console: str, browser: Any
) -> None:
    case_id = _queued(world, 5)
    world.daemon.run_once(full=True)
    page = browser.new_page()
    _login(page, console, "ann")
    page.goto(f"{console}/cases/taobao/taobao-shop/{case_id}")
    seen = page.inner_text("#version")
    world.advance(timedelta(minutes=5))
    world.control.buyer(case_id, {"action": "add_evidence", "kind": "photo"})
    world.daemon.run_once()
    page.select_option("#action", "reject")
    page.fill("#reason", "签收记录显示已签收")
    page.click("#decide-submit")
    page.wait_for_selector("#changed")
    assert page.inner_text("#version") != seen
    assert seen in page.inner_text("#changed")
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == []
