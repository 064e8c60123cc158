"""The Taobao fake's gateway: signing vectors, validation order, each error code, quotas."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from mock_taobao_support import GMT8, Fake, Top, start_fake, top_sign

from connector.clock import FakeClock
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app
from mocks.taobao.signing import expected_signature

VECTOR = {
    "app_key": "12345678",
    "fields": "refund_id,tid,oid,status,modified",
    "format": "json",
    "method": "taobao.refunds.receive.get",
    "page_no": "1",
    "page_size": "40",
    "session": "test-session",
    "timestamp": "2024-01-01 12:00:00",
    "use_has_next": "true",
    "v": "2.0",
}
EXPECTED = {
    "md5": "677788DEDB103F9063E845A6C2DAD6DC",
    "hmac": "E1D56761E6E93F4B6E64B4D2E4C628FC",
    "hmac-sha256": "956384B5E8EAA72F480931C75D33489AACECFD0C2E8B1D08B170C82745BEB648",
}
LIST = "taobao.refunds.receive.get"


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_reference_signature_vectors(method: str) -> None:
    params = {**VECTOR, "sign_method": method}
    assert expected_signature(params, "testsecret", method) == EXPECTED[method]
    assert top_sign(params, "testsecret", method) == EXPECTED[method]


@pytest.mark.parametrize("method", sorted(EXPECTED))
def test_each_sign_method_accepted_over_http(fake: Fake, method: str) -> None:
    body = fake.taobao.call(LIST, sign_method=method, fields="refund_id")
    assert "refunds_receive_get_response" in body


def _error(fake: Fake, params: dict[str, str]) -> dict[str, object]:
    response = fake.taobao.raw(params)
    assert response.status_code == 200  # TOP errors travel in a 200 envelope
    err: dict[str, object] = response.json()["error_response"]
    assert err["request_id"]
    return err


def _signed(top: Top, **overrides: str | None) -> dict[str, str]:
    params = top.params(LIST, fields="refund_id")
    params.pop("sign")
    for key, value in overrides.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    params["sign"] = top_sign(params, "testsecret")
    return params


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"method": None}, 21),
        ({"method": "taobao.no.such"}, 22),
        ({"app_key": None}, 28),
        ({"app_key": "999"}, 29),
        ({"timestamp": None}, 30),
        ({"timestamp": "yesterday"}, 31),
        ({"v": None}, 32),
        ({"v": "1.0"}, 34),
        ({"format": "xml"}, 23),
        ({"session": None}, 26),
        ({"session": "nope"}, 27),
    ],
)
def test_gateway_error_codes(fake: Fake, overrides: dict[str, str | None], code: int) -> None:
    err = _error(fake, _signed(fake.taobao, **overrides))
    assert err["code"] == code
    if code == 27:
        assert err["sub_code"] == "invalid-sessionkey"


def test_signature_missing_and_wrong(fake: Fake) -> None:
    params = fake.taobao.params(LIST, fields="refund_id")
    assert _error(fake, {k: v for k, v in params.items() if k != "sign"})["code"] == 24
    assert _error(fake, {**params, "sign": params["sign"].lower()})["code"] == 25
    assert _error(fake, {**params, "page_size": "5"})["code"] == 25  # unsigned param changed
    wrong_secret = Top(fake.http, fake.clock, "test-session", secret="other")
    assert wrong_secret.error(LIST, fields="refund_id")["code"] == 25


def test_validation_order_method_then_key_then_time_then_sign(fake: Fake) -> None:
    bad_everything = {"method": "taobao.no.such", "app_key": "x", "timestamp": "bad", "sign": "X"}
    assert _error(fake, bad_everything)["code"] == 22
    assert _error(fake, {**bad_everything, "method": LIST})["code"] == 29
    assert _error(fake, {**bad_everything, "method": LIST, "app_key": "12345678"})["code"] == 31
    good_time = fake.taobao.params(LIST)["timestamp"]
    params = {**bad_everything, "method": LIST, "app_key": "12345678", "timestamp": good_time}
    assert _error(fake, params)["code"] == 25
    # a good signature over a bad session reaches the session check; then params come last
    assert _error(fake, _signed(fake.taobao, session="nope"))["code"] == 27
    assert _error(fake, _signed(fake.taobao, fields=None))["code"] == 40


def test_timestamp_skew_and_epoch_ms(fake: Fake) -> None:
    now = fake.clock.now()
    for skew, ok in (
        (timedelta(minutes=9), True),
        (timedelta(minutes=11), False),
        (-timedelta(minutes=11), False),
    ):
        stamp = (now + skew).astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
        body = fake.taobao.raw(_signed(fake.taobao, timestamp=stamp)).json()
        assert ("error_response" not in body) is ok, (skew, body)
        if not ok:
            assert body["error_response"]["code"] == 31
    epoch_ms = str(int(now.timestamp() * 1000))
    assert "error_response" not in fake.taobao.raw(_signed(fake.taobao, timestamp=epoch_ms)).json()


def test_missing_and_invalid_arguments(fake: Fake) -> None:
    err = fake.taobao.error(LIST)
    assert (err["code"], err["sub_code"]) == (40, "isv.missing-parameter:fields")
    err = fake.taobao.error(LIST, fields="refund_id", page_size=101)
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:page_size")
    err = fake.taobao.error(LIST, fields="refund_id,favourite_colour")
    assert (err["code"], err["sub_code"]) == (41, "isv.invalid-parameter:fields")


def test_permission_codes(clock: FakeClock) -> None:
    config = TaobaoConfig(denied_methods=frozenset({"taobao.trade.get"}))
    for fake in start_fake(clock, config):
        err = fake.taobao.error("taobao.trade.get", fields="tid", tid=1)
        assert err["code"] == 11
        fake.control("POST", "/shops", {"shop_id": "taobao-shop", "sub_account": False})
        err = fake.taobao.error("taobao.rp.refunds.agree", refund_infos="1|100")
        assert (err["code"], err["sub_code"]) == (12, "isv.permission-denied:sub-account-only")


def test_per_method_quota_bans_with_seconds_then_recovers(fake: Fake) -> None:
    fake.control("POST", "/quotas", {"method_qps": 2})
    assert "error_response" not in fake.taobao.call(LIST, fields="refund_id")
    assert "error_response" not in fake.taobao.call(LIST, fields="refund_id")
    err = fake.taobao.error(LIST, fields="refund_id")
    assert (err["code"], err["sub_code"]) == (7, "accesscontrol.limited-by-app-api-access-count")
    assert err["sub_msg"] == "This ban will last for 1 more seconds"
    # another method has its own bucket
    err = fake.taobao.error("taobao.refund.get", fields="refund_id", refund_id="x")
    assert (err["code"], err["sub_code"]) == (15, "isv.refund-not-exist")
    fake.clock.advance(1)
    assert "error_response" not in fake.taobao.call(LIST, fields="refund_id")


def test_app_quota_and_daily_quota(fake: Fake) -> None:
    fake.control("POST", "/quotas", {"app_qps": 1})
    fake.taobao.ok(LIST, fields="refund_id")
    err = fake.taobao.error("taobao.refund.get", fields="refund_id", refund_id="1")
    assert err["code"] == 7
    fake.control("POST", "/quotas", {"app_qps": None, "daily_quota": 2})
    fake.taobao.ok(LIST, fields="refund_id")
    fake.taobao.ok(LIST, fields="refund_id")
    err = fake.taobao.error(LIST, fields="refund_id")
    assert err["sub_code"] == "accesscontrol.limited-by-app-access-count"
    # 02:00 UTC = 10:00 GMT+8: the ban lasts until midnight GMT+8, 14 hours away
    assert err["sub_msg"] == f"This ban will last for {14 * 3600} more seconds"
    fake.clock.advance(14 * 3600)
    fake.taobao.ok(LIST, fields="refund_id")


def test_params_merged_from_query_and_form(fake: Fake) -> None:
    params = fake.taobao.params(LIST, fields="refund_id")
    system = {
        k: params[k]
        for k in ("method", "app_key", "timestamp", "v", "sign_method", "sign", "session", "format")
    }
    response = fake.http.post("/router/rest", params=system, data={"fields": "refund_id"})
    assert "refunds_receive_get_response" in response.json()
    response = fake.http.get("/router/rest", params=params)
    assert "refunds_receive_get_response" in response.json()


def test_control_routes_absent_without_test_mode(clock: FakeClock) -> None:
    mock = TaobaoMock(clock=clock)
    with BackgroundServer(create_app(mock, test_mode=False)) as url:
        assert httpx.get(f"{url}/__mock/clock").status_code == 404
        assert httpx.post(f"{url}/__mock/reset").status_code == 404
        top = Top(httpx.Client(base_url=url), clock, "test-session")
        assert "refunds_receive_get_response" in top.call(LIST, fields="refund_id")
