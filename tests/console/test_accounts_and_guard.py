"""Accounts (disable/enable, role, password reset, sessions: console and CLI, audited), the
sign-in guard (failures audited, throttled from the 6th in 15 minutes per account and address,
scrypt off the event loop) and the deployment knobs (hosts, origin, headers, login CSRF)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import PASSWORD, add_user, csrf_of, login
from starlette.testclient import TestClient
from typer.testing import CliRunner

from connector.cli import app as cli
from connector.clock import FakeClock
from connector.console import accounts, create_console_app, login_guard
from connector.console.server import ConsoleServer
from connector.store import ConsoleRole, Store, open_store


def _try(client: TestClient, name: str, password: str) -> Any:
    form = client.get("/login")
    return client.post("/login", data={"account": name, "password": password,
                                       "csrf": csrf_of(form.text)}, follow_redirects=False)


def _events(store: Store, event: str) -> list[dict[str, object]]:
    return [dict(e.details) for e in store.audit_entries() if e.event == event]


def test_failed_sign_ins_are_audited_with_account_and_address_never_the_password(
    client: TestClient, store: Store
) -> None:
    add_user(store, "ann", "reviewer")
    assert _try(client, "ann", "not-her-password").status_code == 401
    failed = _events(store, login_guard.LOGIN_FAILED_EVENT)
    assert failed == [{"account": "ann", "client_ip": "testclient",
                       "why": "wrong_account_or_password", "via": "console"}]
    assert "not-her-password" not in str([e.model_dump() for e in store.audit_entries()])


def test_the_sixth_failure_in_15_minutes_is_refused_with_a_growing_wait(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    add_user(store, "ann", "reviewer")
    for _ in range(5):
        assert _try(client, "ann", "wrong-password").status_code == 401
    sixth = _try(client, "ann", PASSWORD)  # even the right password waits
    assert sixth.status_code == 429
    assert int(sixth.headers["retry-after"]) >= 1
    assert "秒后再试" in sixth.text
    throttled = [e for e in _events(store, login_guard.LOGIN_FAILED_EVENT)
                 if e["why"] == "throttled"]
    assert len(throttled) == 1
    first_wait = float(str(throttled[0]["retry_after_s"]))
    seventh = _try(client, "ann", PASSWORD)
    assert seventh.status_code == 429
    assert int(seventh.headers["retry-after"]) > first_wait  # the wait grows
    clock.advance(timedelta(minutes=16))  # the window has passed
    assert _try(client, "ann", PASSWORD).status_code == 303


def test_one_address_guessing_many_accounts_is_throttled_too(
    client: TestClient, store: Store
) -> None:
    add_user(store, "zoe", "reviewer")
    for n in range(5):
        assert _try(client, f"guess{n}", "wrong-password").status_code == 401
    assert _try(client, "zoe", PASSWORD).status_code == 429


def test_password_checks_run_in_the_bounded_hashing_pool(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(store, "ann", "reviewer")
    threads: list[str] = []
    real = accounts.verify_password

    def spy(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(password, stored)

    monkeypatch.setattr(accounts, "verify_password", spy)
    login(client, "ann")
    assert threads
    assert all(name.startswith("console-scrypt") for name in threads)


def test_a_client_chosen_login_csrf_pair_is_refused(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    client.cookies.set("rc_login_csrf", "attacker-chosen", path="/login")
    response = client.post("/login", data={"account": "ann", "password": PASSWORD,
                                           "csrf": "attacker-chosen"})
    assert response.status_code == 403
    assert "rc_session" not in client.cookies


def test_a_post_from_another_origin_is_refused(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    foreign = client.post("/logout", data={"csrf": csrf},
                          headers={"origin": "http://evil.example"}, follow_redirects=False)
    assert foreign.status_code == 403
    assert "来源" in foreign.text
    own = client.post("/logout", data={"csrf": csrf},
                      headers={"origin": "http://127.0.0.1"}, follow_redirects=False)
    assert own.status_code == 303


def test_an_unknown_host_is_refused(client: TestClient) -> None:
    assert client.get("/login", headers={"host": "rebind.example"}).status_code == 400


def test_headers_and_cookies_behind_the_tls_proxy(store: Store, clock: FakeClock) -> None:
    add_user(store, "ann", "reviewer")
    app = create_console_app(store, clock=clock, secure_cookies=True,
                             allowed_hosts=["desk.shop.example"], trusted_proxies=["127.0.0.1"])
    with TestClient(app, base_url="https://desk.shop.example") as c:
        page = c.get("/login")
        assert page.status_code == 200
        assert "img-src 'self' data:;" in page.headers["content-security-policy"]
        assert "camera=()" in page.headers["permissions-policy"]
        assert page.headers["cross-origin-opener-policy"] == "same-origin"
        assert "secure" in page.headers["set-cookie"].lower()


def test_the_served_console_sends_no_server_header(store: Store, clock: FakeClock) -> None:
    with ConsoleServer(create_console_app(store, clock=clock)) as url:
        answer = httpx.get(f"{url}/login")
    assert answer.status_code == 200
    assert "server" not in answer.headers


def test_error_pages_keep_the_console_layout(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert 'id="whoami"' in missing.text
    assert "没有这个页面" in missing.text
    wrong = client.get("/queue/decide")
    assert wrong.status_code == 405
    assert "<nav>" in wrong.text


@pytest.fixture
def admin(client: TestClient, store: Store) -> tuple[TestClient, str]:
    add_user(store, "root", "admin")
    add_user(store, "ann", "reviewer")
    return client, login(client, "root")


def _change(client: TestClient, csrf: str, name: str, **fields: str) -> Any:
    return client.post(f"/admin/users/{name}", data={"csrf": csrf, **fields},
                       follow_redirects=False)


def test_admin_disables_and_enables_an_account_and_its_sessions_end(
    admin: tuple[TestClient, str], store: Store, clock: FakeClock
) -> None:
    client, csrf = admin
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as ann:
        login(ann, "ann")
        assert _change(client, csrf, "ann", change="disable").status_code == 303
        assert ann.get("/queue", follow_redirects=False).status_code == 303  # signed out
        assert _try(ann, "ann", PASSWORD).status_code == 401
        assert _change(client, csrf, "ann", change="enable").status_code == 303
        assert _try(ann, "ann", PASSWORD).status_code == 303
    assert [e["account"] for e in _events(store, "console_user_disabled")] == ["ann"]
    assert [e["account"] for e in _events(store, "console_user_enabled")] == ["ann"]


def test_admin_changes_a_role_and_resets_a_password(
    admin: tuple[TestClient, str], store: Store
) -> None:
    client, csrf = admin
    assert _change(client, csrf, "ann", change="role", role="ops").status_code == 303
    assert store.get_console_user("ann").role is ConsoleRole.ops  # type: ignore[union-attr]
    assert _events(store, "console_role_changed")[0]["role_after"] == "ops"
    assert _change(client, csrf, "ann", change="password",
                   password="a-new-long-password").status_code == 303
    user = store.get_console_user("ann")
    assert user is not None
    assert accounts.verify_password("a-new-long-password", user.password_hash)
    assert "a-new-long-password" not in str([e.model_dump() for e in store.audit_entries()])


def test_admin_lists_and_ends_sessions(admin: tuple[TestClient, str], store: Store,
                                       clock: FakeClock) -> None:
    client, csrf = admin
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as ann:
        login(ann, "ann")
        page = client.get("/admin/users").text
        ids = re.findall(r'<tr data-account="ann"><td>ann</td><td>(\w{12})</td>', page)
        assert len(ids) == 1
        ended = client.post(f"/admin/sessions/{ids[0]}/end", data={"csrf": csrf},
                            follow_redirects=False)
        assert ended.status_code == 303
        assert ann.get("/queue", follow_redirects=False).status_code == 303
    assert _events(store, "console_session_ended")[0]["account"] == "ann"


def test_the_last_admin_cannot_be_disabled(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    refused = _change(client, csrf, "root", change="disable")
    assert refused.status_code == 400
    assert "root 是最后一个启用的管理员" in refused.text


def test_a_reviewer_cannot_change_accounts(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    add_user(store, "bob", "reviewer")
    csrf = login(client, "ann")
    assert _change(client, csrf, "bob", change="disable").status_code == 403


def test_the_cli_manages_accounts_and_sessions(tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    runner = CliRunner()
    for args, stdin in (
        (["users", "add", "root", "--role", "admin", "--password-stdin"], "a-long-admin-pass\n"),
        (["users", "add", "ann", "--role", "reviewer", "--password-stdin"], "a-long-pass-1\n"),
        (["users", "disable", "ann"], ""),
        (["users", "enable", "ann"], ""),
        (["users", "role", "ann", "--role", "ops"], ""),
        (["users", "reset-password", "ann", "--password-stdin"], "a-long-pass-2\n"),
        (["users", "end-sessions", "ann"], ""),
        (["users", "sessions"], ""),
    ):
        result = runner.invoke(cli, [*args, *state], input=stdin)
        assert result.exit_code == 0, (args, result.output)
    refused = runner.invoke(cli, ["users", "disable", "root", *state])
    assert refused.exit_code == 1
    assert "last enabled admin" in refused.output
    store = open_store(tmp_path / "state")
    try:
        user = store.get_console_user("ann")
        assert user is not None
        assert user.role is ConsoleRole.ops
        assert accounts.verify_password("a-long-pass-2", user.password_hash)
        events = [e.event for e in store.audit_entries()]
        for event in ("console_user_disabled", "console_user_enabled", "console_role_changed",
                      "console_password_reset", "console_sessions_ended"):
            assert event in events
    finally:
        store.close()


def test_a_restarted_console_remembers_recent_failures(store: Store, clock: FakeClock) -> None:
    add_user(store, "ann", "reviewer")
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as c:
        for _ in range(5):
            assert _try(c, "ann", "wrong-password").status_code == 401
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as c:
        assert _try(c, "ann", PASSWORD).status_code == 429


def test_tries_while_waiting_are_audited_once_per_wait(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    for _ in range(5):
        _try(client, "ann", "wrong-password")
    for _ in range(20):
        assert _try(client, "ann", "wrong-password").status_code == 429
    throttled = [e for e in _events(store, login_guard.LOGIN_FAILED_EVENT)
                 if e["why"] == "throttled"]
    assert len(throttled) == 1


def test_a_forbidden_page_keeps_the_console_layout(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    page = client.get("/admin/users")
    assert page.status_code == 403
    assert "<nav>" in page.text
    assert 'id="whoami"' in page.text


def test_the_address_behind_a_trusted_proxy_is_the_forwarded_one(
    store: Store, clock: FakeClock
) -> None:
    add_user(store, "ann", "reviewer")
    app = create_console_app(store, clock=clock, trusted_proxies=["*"])
    with TestClient(app, base_url="http://127.0.0.1") as c:
        form = c.get("/login")
        c.post("/login", data={"account": "ann", "password": "wrong-password",
                               "csrf": csrf_of(form.text)},
               headers={"x-forwarded-for": "203.0.113.9"})
    failed = _events(store, login_guard.LOGIN_FAILED_EVENT)
    assert failed[0]["client_ip"] == "203.0.113.9"


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
    client: TestClient, store: Store
) -> None:
    add_user(store, "ann", "reviewer")
    form = client.get("/login")
    client.post("/login", data={"account": "ann", "password": "wrong-password",
                                "csrf": csrf_of(form.text)},
                headers={"x-forwarded-for": "203.0.113.9"})
    assert _events(store, login_guard.LOGIN_FAILED_EVENT)[0]["client_ip"] == "testclient"
