"""Who may do what in the console: sessions, CSRF, roles, expiry, logout, accounts."""

from __future__ import annotations

from datetime import timedelta

from console_helpers import PASSWORD, add_user, csrf_of, login, queue_case
from starlette.testclient import TestClient

from connector.clock import FakeClock
from connector.console.accounts import hash_password, verify_password
from connector.store import Store


def test_a_page_without_a_session_sends_you_to_the_login_page(client: TestClient) -> None:
    response = client.get("/queue?lang=en", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/queue%3Flang%3Den"


def test_a_post_without_a_session_is_refused(client: TestClient, store: Store) -> None:
    queue_case(store, timedelta(hours=5))
    response = client.post(
        "/cases/taobao/s1/R1/decide", data={"action": "reject", "reason": "x", "csrf": "guess"}
    )
    assert response.status_code == 403
    assert store.latest_decision(("taobao", "s1", "R1")).rule_id != "reviewer"  # type: ignore[union-attr]


def test_login_with_a_wrong_password_is_refused_and_sets_no_session(
    client: TestClient, store: Store
) -> None:
    add_user(store, "ann", "reviewer")
    form = client.get("/login")
    response = client.post(
        "/login", data={"account": "ann", "password": "wrong-password", "csrf": csrf_of(form.text)}
    )
    assert response.status_code == 401
    assert "账号或密码错误" in response.text
    assert "rc_session" not in client.cookies


def test_login_form_without_its_csrf_token_is_refused(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    client.get("/login")
    response = client.post("/login", data={"account": "ann", "password": PASSWORD})
    assert response.status_code == 403
    assert "rc_session" not in client.cookies


def test_login_is_audited_and_the_next_page_is_only_local(
    client: TestClient, store: Store
) -> None:
    add_user(store, "ann", "reviewer")
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"account": "ann", "password": PASSWORD, "csrf": csrf_of(form.text),
              "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/queue"
    logins = [e for e in store.audit_entries() if e.event == "console_login"]
    assert [(e.actor, e.details) for e in logins] == [
        ("human:ann", {"via": "console", "client_ip": "testclient"})
    ]


def test_a_forged_post_without_the_csrf_token_is_refused(client: TestClient, store: Store) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    forged = client.post(
        "/cases/taobao/s1/R1/decide",
        data={"action": "reject", "reason": "forged", "seen_version": "v1"},
    )
    wrong = client.post(
        "/cases/taobao/s1/R1/decide",
        data={"action": "reject", "reason": "forged", "seen_version": "v1", "csrf": "x" * 43},
    )
    assert (forged.status_code, wrong.status_code) == (403, 403)
    assert "CSRF" in forged.text
    assert store.latest_decision(("taobao", "s1", "R1")).rule_id == "4-delivered"  # type: ignore[union-attr]


def test_a_reviewer_cannot_reach_the_account_pages(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    assert client.get("/admin/users").status_code == 403
    posted = client.post(
        "/admin/users",
        data={"csrf": csrf, "account": "mallory", "role": "admin", "password": "x" * 12},
    )
    assert posted.status_code == 403
    assert store.get_console_user("mallory") is None
    assert 'href="/admin/users"' not in client.get("/queue").text


def test_an_admin_adds_an_account_and_it_is_audited_with_who_did_it(
    client: TestClient, store: Store
) -> None:
    add_user(store, "root", "admin")
    csrf = login(client, "root")
    response = client.post(
        "/admin/users",
        data={"csrf": csrf, "account": "bob", "role": "ops", "password": "bobs-long-pass"},
    )
    assert response.status_code == 200
    assert "bob" in response.text
    user = store.get_console_user("bob")
    assert user is not None
    assert user.role.value == "ops"
    assert "bobs-long-pass" not in user.password_hash
    added = [e for e in store.audit_entries() if e.event == "console_user_added"][-1]
    assert (added.actor, added.details["via"], added.details["account"]) == (
        "human:root", "console", "bob",
    )


def test_a_short_password_is_refused_with_the_reason(client: TestClient, store: Store) -> None:
    add_user(store, "root", "admin")
    csrf = login(client, "root")
    response = client.post(
        "/admin/users", data={"csrf": csrf, "account": "bob", "role": "ops", "password": "short"}
    )
    assert response.status_code == 400
    assert "密码至少需要 8 个字符" in response.text


def test_a_session_expires(client: TestClient, store: Store, clock: FakeClock) -> None:
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=8, seconds=1))
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_logging_out_ends_the_session_on_the_server(client: TestClient, store: Store) -> None:
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    token = client.cookies["rc_session"]
    client.post("/logout", data={"csrf": csrf})
    client.cookies.set("rc_session", token)  # a copied cookie is no good after logout
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_pages_carry_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    login_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in login_cookie


def test_passwords_are_salted_scrypt_hashes() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second
    assert verify_password("s3cret-pass", first)
    assert not verify_password("s3cret-pasS", first)
    assert not verify_password("s3cret-pass", "md5$abc")
