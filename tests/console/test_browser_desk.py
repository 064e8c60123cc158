"""The reviewer's desk in a real headless Chromium (Debian's, driven by Playwright) over the
daemon's world (Taobao fake on loopback, daemon and console on one FakeClock): money in yuan
with a confirmation, a platform refusal in Chinese, a done case, maker-checker, filters/search/
assign, the sign-in guard, the phone-width queue. Screenshots of each page go to
tests/artifacts/ (ignored by git)."""

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
from daemon_world import World, make_world  # type: ignore[import-not-found]

from connector.console import ConsoleServer, create_console_app
from connector.console.login_guard import LOGIN_FAILED_EVENT
from connector.store import ConsoleRole

pytestmark = pytest.mark.slow

HOUR = timedelta(hours=1)
SHOP = "taobao-shop"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


@pytest.fixture
def console(world: World) -> Iterator[str]:
    for name, role in (("ann", "reviewer"), ("bob", "reviewer"), ("olga", "ops"),
                       ("root", "admin")):
        add_user(world.store, name, role)
    app = create_console_app(world.store, clock=world.clock,
                             approval_limits={ConsoleRole.reviewer: 100000})
    with ConsoleServer(app) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launched_browser()


def _queued(world: World, hours: float, *, paid: int = 8800, **extra: Any) -> str:
    now = world.clock.now()
    return str(world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=paid,
        item={"sku": "SKU-1", "title": "羽绒服", "price": paid},
        shipped_at=(now - 72 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=hours * 3600, **extra,
    ))


def _login(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/queue")
    page.fill("input[name=account]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{url}/queue")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"), full_page=True)


def _case(url: str, case_id: str) -> str:
    return f"{url}/cases/taobao/{SHOP}/{case_id}"


def _case_page_as(
    world: World, console: str, browser: Any, name: str, **queued: Any
) -> tuple[str, Any]:
    """A case due in 20 hours, queued by the daemon, open in a new page signed in as ``name``;
    the case id and the page."""
    case_id = _queued(world, 20, **queued)
    world.daemon.run_once(full=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, console, name)
    page.goto(_case(console, case_id))
    return case_id, page


def test_typing_1500_on_a_1500_yuan_case_refunds_1500_yuan_after_a_confirmation(
    world: World, console: str, browser: Any
) -> None:
    case_id, page = _case_page_as(world, console, browser, "olga", paid=150000)
    assert page.input_value("#amount") == "1,500.00"  # prefilled with the refundable amount
    assert page.input_value("#action") == ""  # nothing preselected
    _shot(page, "case")
    page.fill("#amount", "1500")
    page.select_option("#action", "approve-refund")
    page.fill("#reason", "买家未收到，同意退款")
    page.click("#decide-submit")
    page.wait_for_selector("#confirm")
    assert "¥1,500.00" in page.inner_text("#confirm-amount")
    assert "人民币壹仟伍佰元整" in page.inner_text("#confirm-amount")
    _shot(page, "confirm")
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == []  # nothing before the confirmation
    page.click("#confirm-submit")
    page.wait_for_selector("#decided")
    world.daemon.run_once()
    page.reload()  # above ¥1,000 the platform asks for the SMS code sent to the seller's phone
    page.fill("#sms-code", world.taobao.pending_sms[SHOP])
    page.click("#sms-submit")
    page.wait_for_url("**code_sent=1")
    world.daemon.run_once()
    assert "agree_refund" in world.effects_at_platform(case_id)
    assert world.control.case(case_id)["refunded_amount"] == 150000
    page.reload()
    assert "平台已生效" in page.inner_text("#life")
    assert "此单现在不能处理" in page.inner_text("#not-decidable")  # done: no form any more
    refused = page.request.post(f"{_case(console, case_id)}/decide", form={
        "csrf": page.input_value("#note-form input[name=csrf]"), "action": "reject",
        "reason": "再次拒绝", "seen_version": "",
    })
    assert refused.status == 409


def test_a_platform_refusal_is_the_cases_top_line_in_chinese(
    world: World, console: str, browser: Any
) -> None:
    case_id, page = _case_page_as(world, console, browser, "ann", cannot_refuse=True)
    page.select_option("#action", "reject")
    page.fill("#reason", "物流显示买家本人已签收")
    page.click("#decide-submit")
    page.wait_for_selector("#decided")
    assert "待发送" in page.inner_text("#life")
    world.daemon.run_once()
    world.daemon.run_once()
    page.reload()
    top = page.inner_text("#top-line")
    assert "平台拒绝了上次的处理（拒绝）" in top
    assert "平台不允许拒绝此退款申请" in top
    _shot(page, "case-refused")
    page.goto(f"{console}/queue")
    row = page.locator(f"tr.case-row[data-case='{case_id}'] td.why").inner_text()
    assert "平台拒绝" in row


def test_a_reviewer_above_their_limit_needs_a_second_approver(
    world: World, console: str, browser: Any
) -> None:
    case_id, ann = _case_page_as(world, console, browser, "ann", paid=150000)
    ann.select_option("#action", "approve-refund")
    ann.fill("#reason", "质量问题属实")
    ann.click("#decide-submit")
    ann.wait_for_selector("#confirm")
    ann.click("#confirm-submit")
    ann.wait_for_selector("#approval-requested")
    assert ann.locator("#approve-second").count() == 0
    _shot(ann, "approval-pending")
    world.daemon.run_once()
    assert world.effects_at_platform(case_id) == []
    olga = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(olga, console, "olga")
    olga.goto(_case(console, case_id))
    assert "人民币壹仟伍佰元整" in olga.inner_text("#approval")
    olga.click("#approve-second")
    olga.wait_for_selector("#decided")
    world.daemon.run_once()
    olga.reload()
    olga.fill("#sms-code", world.taobao.pending_sms[SHOP])
    olga.click("#sms-submit")
    olga.wait_for_url("**code_sent=1")
    world.daemon.run_once()
    assert world.control.case(case_id)["refunded_amount"] == 150000
    events = [e.event for e in world.store.audit_entries(case_id=case_id)]
    assert "approval_requested" in events
    assert "approval_approved" in events


def test_filters_search_and_assignment_in_the_queue(
    world: World, console: str, browser: Any
) -> None:
    soon = _queued(world, 0.5)
    big = _queued(world, 20, paid=150000)
    later = _queued(world, 30)
    world.daemon.run_once(full=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(page, console, "ann")
    ids = "rs => rs.map(r => r.dataset.case)"
    assert page.locator("tr.case-row").evaluate_all(ids) == [soon, big, later]
    _shot(page, "queue")
    page.fill("#f-min", "1000")
    page.click("#apply")
    page.wait_for_url("**min_yuan=1000**")
    assert page.locator("tr.case-row").evaluate_all(ids) == [big]
    page.goto(f"{console}/queue")
    page.fill("#search", world.order_of(later))
    page.press("#search", "Enter")
    page.wait_for_url("**q=**")
    assert page.locator("tr.case-row").evaluate_all(ids) == [later]
    page.goto(f"{console}/queue")
    page.check("#select-all")
    page.locator(f"tr.case-row[data-case='{later}'] input[name=case]").uncheck()
    page.select_option("#assignee", "bob")
    page.click("#assign-submit")
    page.wait_for_url(f"{console}/queue?page=1")
    page.select_option("#f-who", "unclaimed")
    page.click("#apply")
    page.wait_for_url("**who=unclaimed**")
    assert page.locator("tr.case-row").evaluate_all(ids) == [later]
    bob = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(bob, console, "bob")
    bob.goto(f"{console}/queue?who=mine")
    assert bob.locator("tr.case-row").evaluate_all(ids) == [soon, big]
    bob.keyboard.press("n")  # the next case: Bob's most urgent
    bob.wait_for_url(f"**/{soon}")


def test_the_sixth_wrong_password_is_delayed_and_audited(
    world: World, console: str, browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{console}/login")
    _shot(page, "login")
    for _ in range(5):
        page.fill("input[name=account]", "ann")
        page.fill("input[name=password]", "wrong-password")
        page.click("#login")
        page.wait_for_selector("#login-failed")
    page.fill("input[name=account]", "ann")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(f"{console}/login") as answer:
        page.click("#login")
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) >= 1
    page.wait_for_selector("#login-throttled")
    _shot(page, "login-throttled")
    failed = [e for e in world.store.audit_entries() if e.event == LOGIN_FAILED_EVENT]
    assert len(failed) == 6
    assert failed[-1].details["why"] == "throttled"
    assert all(e.details["account"] == "ann" for e in failed)
    assert PASSWORD not in str([e.details for e in failed])


def test_the_queue_at_phone_width_and_every_page_pictured(
    world: World, console: str, browser: Any
) -> None:
    for hours in (0.5, 3, 20):
        _queued(world, hours)
    world.daemon.run_once(full=True)
    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _login(phone, console, "ann")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert phone.locator("tr.case-row a").first.is_visible()
    assert phone.locator("#batch-submit").is_visible()
    _shot(phone, "queue-phone")
    desk = browser.new_page(viewport={"width": 1400, "height": 900})
    _login(desk, console, "root")
    for path, name in (("/audit?event=case_state", "audit"), ("/stats", "stats"),
                       ("/admin/users", "admin"), ("/no/such/page", "error-404")):
        desk.goto(f"{console}{path}")
        assert desk.locator("header nav").count() == 1  # inside the console layout
        _shot(desk, name)
