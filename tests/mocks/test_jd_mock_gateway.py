"""The JD fake's gateway over loopback: signing, validation order, timestamps, quotas, envelopes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
from mock_jd_support import (
    APP_KEY,
    GMT8,
    REFUND_APPLY,
    SECRET,
    JdFake,
    envelope_key,
    jos_sign,
    start_jd,
)

from connector.clock import FakeClock
from mocks.jd import JdConfig, JdMock, create_app
from mocks.kit.server import BackgroundServer

LIST = REFUND_APPLY + "queryPageList"
PAGE = {"pageIndex": 1, "pageSize": 20}


@pytest.fixture
def jd(clock: FakeClock) -> Iterator[JdFake]:
    yield from start_jd(clock)


def test_signature_reference_vector() -> None:
    params = {
        "360buy_param_json": '{"pageIndex":1,"pageSize":20,"status":0}',
        "access_token": "TOKEN",
        "app_key": "APPKEY",
        "method": LIST,
        "timestamp": "2024-01-01 12:00:00",
        "v": "2.0",
    }
    assert jos_sign(params, "testsecret") == "00DA3A32E6BE68F74D9955C1CCF04612"


def test_the_reference_vector_is_accepted_by_the_gateway() -> None:
    clock = FakeClock(datetime(2024, 1, 1, 12, 2, tzinfo=GMT8))
    config = JdConfig(app_key="APPKEY", app_secret="testsecret", access_token="TOKEN")
    mock = JdMock(config, clock=clock)
    params = {
        "360buy_param_json": '{"pageIndex":1,"pageSize":20,"status":0}',
        "access_token": "TOKEN",
        "app_key": "APPKEY",
        "method": LIST,
        "timestamp": "2024-01-01 12:00:00",
        "v": "2.0",
        "sign": "00DA3A32E6BE68F74D9955C1CCF04612",
    }
    with BackgroundServer(create_app(mock, test_mode=False)) as url:
        body = httpx.post(f"{url}/routerjson", params=params).json()
    assert body == {
        envelope_key(LIST): {
            "code": "0",
            "queryResult": {"success": True, "totalCount": 0, "result": []},
        }
    }
    assert "jingdong_pop_afs_soa_refundapply_queryPageList_responce" in body


def test_query_string_and_form_both_work(jd: JdFake) -> None:
    params = jd.jos.params(LIST, PAGE)
    for as_query in (True, False):
        body = jd.jos.raw(params, as_query=as_query).json()
        assert body[envelope_key(LIST)]["queryResult"]["success"] is True
    split = dict(params)
    business = split.pop("360buy_param_json")
    response = jd.http.post("/routerjson", params=split, data={"360buy_param_json": business})
    assert response.json()[envelope_key(LIST)]["code"] == "0"
    assert jd.http.get("/routerjson", params=params).json()[envelope_key(LIST)]["code"] == "0"


def _error(jd: JdFake, params: dict[str, str]) -> dict[str, str]:
    response = jd.jos.raw(params)
    assert response.status_code == 200
    error: dict[str, str] = response.json()["error_response"]
    assert set(error) == {"code", "zh_desc", "en_desc"}
    return error


def _resigned(jd: JdFake, params: dict[str, str], drop: str = "", **changes: str) -> dict[str, str]:
    out = {k: v for k, v in params.items() if k not in {drop, "sign"}}
    out.update(changes)
    out["sign"] = jos_sign(out, SECRET)
    return out


@pytest.mark.parametrize(
    ("drop", "changes", "code"),
    [
        ("method", {}, "14"),
        ("", {"method": "jingdong.nope.get"}, "15"),
        ("app_key", {}, "6"),
        ("", {"app_key": "someone-else"}, "9"),
        ("timestamp", {}, "7"),
        ("", {"timestamp": "yesterday"}, "8"),
        ("v", {}, "4"),
        ("", {"v": "1.0"}, "5"),
        ("", {"format": "xml"}, "21"),
        ("access_token", {}, "18"),
        ("", {"access_token": "who-knows"}, "19"),
        ("", {"360buy_param_json": "{not json"}, "66"),
        ("", {"360buy_param_json": "[1, 2]"}, "66"),
    ],
)
def test_each_gateway_error(jd: JdFake, drop: str, changes: dict[str, str], code: str) -> None:
    error = _error(jd, _resigned(jd, jd.jos.params(LIST, PAGE), drop, **changes))
    assert error["code"] == code


def test_signature_errors(jd: JdFake) -> None:
    params = jd.jos.params(LIST, PAGE)
    assert _error(jd, {k: v for k, v in params.items() if k != "sign"})["code"] == "11"
    assert _error(jd, {**params, "sign": "0" * 32})["code"] == "12"
    tampered = {**params, "360buy_param_json": json.dumps({**PAGE, "status": 1})}
    error = _error(jd, tampered)
    assert (error["code"], error["zh_desc"], error["en_desc"]) == (
        "12",
        "无效签名",
        "Invalid Signature",
    )
    assert jd.jos.raw({**params, "sign": params["sign"].lower()}).json()[envelope_key(LIST)]
    wrong_secret = {**params, "sign": jos_sign(params, "not-the-secret")}
    assert _error(jd, wrong_secret)["code"] == "12"


def test_validation_order(jd: JdFake) -> None:
    """method -> app_key -> timestamp -> sign -> v -> token -> param json."""
    params = jd.jos.params(LIST, PAGE)
    everything_wrong = {
        **params,
        "method": "jingdong.nope",
        "app_key": "x",
        "timestamp": "bad",
        "sign": "bad",
        "v": "9",
        "access_token": "bad",
        "360buy_param_json": "{",
    }
    expected = ["15", "9", "8", "12", "5", "19", "66"]
    fixes = ["method", "app_key", "timestamp", "sign", "v", "access_token", "360buy_param_json"]
    seen = []
    current = dict(everything_wrong)
    signed = False
    for field in fixes:
        seen.append(_error(jd, current)["code"])
        current[field] = params[field]
        signed = signed or field == "sign"
        if signed:
            current["sign"] = jos_sign(current, SECRET)
    assert seen == expected
    assert envelope_key(LIST) in jd.jos.raw(current).json()


@pytest.mark.parametrize(
    "shape",
    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.000%z", "%Y-%m-%d %H:%M:%S.123+0800"],
)
def test_three_timestamp_formats(jd: JdFake, shape: str) -> None:
    stamp = jd.clock.now().astimezone(GMT8).strftime(shape)
    params = _resigned(jd, jd.jos.params(LIST, PAGE), timestamp=stamp)
    assert envelope_key(LIST) in jd.jos.raw(params).json()


def test_timestamp_in_another_zone_and_unencoded_plus(jd: JdFake) -> None:
    utc_text = jd.clock.now().strftime("%Y-%m-%d %H:%M:%S.000+0000")
    params = _resigned(jd, jd.jos.params(LIST, PAGE), timestamp=utc_text)
    assert envelope_key(LIST) in jd.jos.raw(params).json()
    spaced = jd.clock.now().astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S.000 0800")
    params = _resigned(jd, jd.jos.params(LIST, PAGE), timestamp=spaced)
    assert envelope_key(LIST) in jd.jos.raw(params).json()


@pytest.mark.parametrize(("offset_s", "code"), [(359, None), (-359, None), (361, "8"), (-361, "8")])
def test_timestamp_skew_six_minutes(jd: JdFake, offset_s: int, code: str | None) -> None:
    sent = (jd.clock.now() + timedelta(seconds=offset_s)).astimezone(GMT8)
    params = _resigned(jd, jd.jos.params(LIST, PAGE), timestamp=sent.strftime("%Y-%m-%d %H:%M:%S"))
    body = jd.jos.raw(params).json()
    assert (body.get("error_response") or {}).get("code") == code


def test_envelope_and_business_success_inside(jd: JdFake) -> None:
    inner = jd.jos.ok(LIST, {"pageIndex": 0, "pageSize": 20})
    assert inner["code"] == "0"
    assert inner["queryResult"]["success"] is False  # HTTP 200 + code 0 is not enough
    response = jd.jos.raw(jd.jos.params(LIST, PAGE))
    assert response.headers["X-Request-Id"].startswith("jd-")
    assert response.headers["content-type"].startswith("application/json")


def test_daily_quota_code_2_until_midnight(clock: FakeClock) -> None:
    for fake in start_jd(clock, JdConfig(daily_quota=2)):
        assert fake.jos.ok(LIST, PAGE)
        assert fake.jos.ok(LIST, PAGE)
        error = fake.jos.error(LIST, PAGE)
        # 02:00 UTC is 10:00 GMT+8: the ban lasts 14 hours
        assert error["code"] == "2"
        assert error["en_desc"] == "App Call Limited, retry after 50400 seconds"
        assert error["zh_desc"].startswith("限制时间内调用失败次数")
        fake.advance(14 * 3600)
        assert fake.jos.ok(LIST, PAGE)


def test_per_second_buckets_and_runtime_quota_change(jd: JdFake) -> None:
    jd.control("POST", "/quotas", {"method_qps": 1})
    assert jd.jos.ok(LIST, PAGE)
    assert jd.jos.error(LIST, PAGE)["en_desc"].endswith("retry after 1 seconds")
    assert jd.jos.ok(REFUND_APPLY + "getWaitRefundNum")  # another method has its own bucket
    jd.advance(1)
    assert jd.jos.ok(LIST, PAGE)
    jd.control("POST", "/quotas", {"method_qps": None, "app_qps": 2})
    assert jd.jos.ok(LIST, PAGE)
    assert jd.jos.ok(LIST, PAGE)
    assert jd.jos.error(LIST, PAGE)["code"] == "2"
    jd.control("POST", "/quotas", {"bogus": 1}, status=400)


def test_revoked_token_and_new_shop(jd: JdFake) -> None:
    shop = jd.control("POST", "/shops", {"shop_id": "jd-two"})
    assert shop["bu_id"] != "10001"
    listed = jd.control("GET", "/shops")
    assert listed["app_key"] == APP_KEY
    assert {s["shop_id"] for s in listed["shops"]} == {"jd-shop", "jd-two"}
    jd.control("POST", "/shops", {"shop_id": "jd-shop", "token_valid": False})
    assert jd.jos.error(LIST, PAGE)["code"] == "19"


def test_control_routes_absent_without_test_mode(clock: FakeClock) -> None:
    mock = JdMock(JdConfig(), clock=clock)
    with BackgroundServer(create_app(mock, test_mode=False)) as url:
        for path in ("/__mock/clock", "/__mock/cases", "/__mock/ledger", "/__mock/shops"):
            assert httpx.get(f"{url}{path}").status_code == 404
        assert httpx.post(f"{url}/__mock/reset").status_code == 404


def test_request_log_outcomes(jd: JdFake) -> None:
    jd.jos.ok(LIST, PAGE)
    jd.jos.raw({**jd.jos.params(LIST, PAGE), "sign": "x"})
    requests = jd.control("GET", "/requests")["requests"]
    assert [(r["method"], r["shop_id"], r["outcome"]) for r in requests] == [
        (LIST, "jd-shop", "ok"),
        (LIST, "jd-shop", "error:12"),
    ]
    assert all(r["request_id"].startswith("jd-") for r in requests)
