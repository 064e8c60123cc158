"""The seeded fault profile (F10/F15) served by the JD fake in JD's own shapes, over loopback
HTTP: per-call faults, outages, late visibility, malformed rows, page churn, buyer changes; and
the JD adapter mapping what the profile injects onto connector.errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mock_jd_support import APP_KEY, BU_ID, OPERATOR, REFUND_APPLY, SECRET, TOKEN, JdFake, start_jd

from adapters.jd import JdAdapter, JdSettings
from connector.adapter import SyncWindow
from connector.clock import FakeClock
from connector.effects import EffectKind, EffectRequest
from connector.errors import (
    ConflictError,
    OutcomeUnknownError,
    RateLimitedError,
    RetryableError,
    UnavailableError,
)
from connector.models import RefundCase
from mocks.jd import JdMock
from mocks.kit.profile import FaultProfile, ProfileRates

VIEW = "jingdong.asc.query.view"
SYNC = "jingdong.asc.sync.list"
AUDIT_LIST = "jingdong.asc.audit.list"
PAGE_LIST = REFUND_APPLY + "queryPageList"
REPLY = REFUND_APPLY + "replyRefund"
SERVICE = {"order_status": "delivered", "type": "return_and_refund", "deadline_s": 7200}
REFUND_ONLY = {"order_status": "delivered", "type": "refund_only", "deadline_s": 7200}
APPLICATION = {"order_status": "not_shipped", "type": "refund_only", "deadline_s": 7200}


@pytest.fixture
def jd(clock: FakeClock) -> Iterator[JdFake]:
    yield from start_jd(clock)


def _quiet(**rates: float) -> ProfileRates:
    """Every share 0 except the ones given, no outages."""
    names = (
        "http_5xx", "ban", "hang", "reset", "write_drop", "malformed_item",
        "page_churn", "late_visibility", "buyer_change",
    )  # fmt: skip
    return ProfileRates(**{**dict.fromkeys(names, 0.0), **rates}, outages=0)


def _install(jd: JdFake, hang_s: float = 0.3, **rates: float) -> FaultProfile:
    """A one-kind profile, as ``POST /__mock/faults/profile`` would install it on the JD fake."""
    profile = FaultProfile(
        name="test",
        seed=11,
        rates=_quiet(**rates),
        started=jd.clock.now(),
        outages=[],
        hang_s=hang_s,
        ban_error=JdMock.ban_error,
    )
    jd.mock.profile = profile
    return profile


def _view_call(jd: JdFake, service_id: str) -> httpx.Response:
    params = jd.jos.params(VIEW, {**OPERATOR, "serviceId": int(service_id)})
    return jd.jos.raw(params)


def _kind(response: httpx.Response) -> str:
    """What one answer was, in the fake's vocabulary."""
    if response.text == "upstream timed out":
        return "hang"  # held for hang_s, then given up with 504, nothing served
    if response.status_code != 200:
        suffix = "_retry_after" if "Retry-After" in response.headers else ""
        return f"http_{response.status_code}{suffix}"
    body = response.json()
    if "error_response" in body:
        return f"jos_error_{body['error_response']['code']}"
    return "ok"


# -- per-call faults in JD's shapes -----------------------------------------------------------
def test_per_call_faults_take_jds_shapes_and_delete_reports_them(jd: JdFake) -> None:
    sid = jd.case(**SERVICE)
    body = {"name": "F10", "seed": 4, "scale": 10, "hang_s": 0.05, "outages": []}
    view = jd.control("POST", "/faults/profile", body)
    assert (view["name"], view["seed"], view["outages"]) == ("F10", 4, [])
    seen: Counter[str] = Counter()
    ban_texts: list[dict[str, str]] = []
    for _ in range(80):
        try:
            response = _view_call(jd, sid)
        except httpx.TransportError:
            seen["reset"] += 1
            continue
        seen[_kind(response)] += 1
        if _kind(response) == "jos_error_2":
            ban_texts.append(response.json()["error_response"])
    stopped = jd.control("DELETE", "/faults/profile")
    assert stopped["active"] is False
    injected = stopped["injected"]
    # Every kind appears, in JD's shape, exactly as often as the profile says it injected it.
    with_wait = {k: n for k, n in seen.items() if k.endswith("_retry_after")}
    plain = {k: n for k, n in seen.items() if k.startswith("http_") and k not in with_wait}
    assert set(with_wait) == {"http_503_retry_after"}
    assert plain
    assert set(plain) <= {"http_500", "http_502", "http_504"}
    assert injected["http_status"] == sum(with_wait.values()) + sum(plain.values())
    assert injected["platform_error"] == seen["jos_error_2"] > 0
    assert injected["hang"] == seen["hang"] > 0
    assert injected["reset"] == seen["reset"] > 0
    assert seen["ok"] > 0
    for error in ban_texts:  # JD's call-limit ban, with the time to wait in both texts
        assert error["en_desc"].startswith("App Call Limited, retry after ")
        assert error["zh_desc"].endswith("秒后解除")
    outcomes = Counter(r["outcome"] for r in jd.control("GET", "/requests")["requests"])
    assert outcomes["fault:platform_error"] == injected["platform_error"]
    assert outcomes["fault:reset"] == injected["reset"]
    assert jd.control("GET", "/faults/profile") == {"active": False}


def test_the_same_seed_replays_the_same_faults(jd: JdFake) -> None:
    sid = jd.case(**SERVICE)

    def run() -> list[str]:
        body = {"name": "F15", "seed": 9, "scale": 5, "hang_s": 0.02, "outages": []}
        jd.control("POST", "/faults/profile", body)
        kinds = []
        for _ in range(30):
            try:
                kinds.append(_kind(_view_call(jd, sid)))
            except httpx.TransportError:
                kinds.append("reset")
        jd.control("DELETE", "/faults/profile")
        return kinds

    first = run()
    assert len(set(first)) > 2
    assert run() == first


def test_a_write_can_be_applied_and_its_answer_dropped(jd: JdFake) -> None:
    sid = jd.case(**REFUND_ONLY)
    current = jd.service(sid)
    _install(jd, write_drop=1.0)
    business = {**OPERATOR, "serviceId": int(sid), "orderId": current["orderId"]}
    params = jd.jos.params("jingdong.asc.process.close", {**business, "sysVersion": 1})
    with pytest.raises(httpx.TransportError):
        jd.jos.raw(params)
    (applied,) = [e for e in jd.ledger() if e["actor"] == "seller"]
    assert (applied["case_id"], applied["effect"]) == (sid, "agree_refund")
    assert jd.mock.profile is not None
    assert jd.mock.profile.injected["apply_then_drop"] == 1
    assert jd.service(sid)["serviceStatus"] == 70  # reads are never dropped


def test_outages_answer_503_then_drop_every_connection(jd: JdFake) -> None:
    sid = jd.case(**SERVICE)
    outages = [
        {"start_s": 10, "duration_s": 30, "mode": "503"},
        {"start_s": 60, "duration_s": 30, "mode": "reset"},
    ]
    body = {"name": "F10", "seed": 1, "scale": 1e-9, "outages": outages}
    jd.control("POST", "/faults/profile", body)
    assert _kind(_view_call(jd, sid)) == "ok"
    jd.clock.advance(timedelta(seconds=10))
    first = _view_call(jd, sid)
    assert (first.status_code, "Retry-After" in first.headers) == (503, False)
    jd.clock.advance(timedelta(seconds=30))
    assert _kind(_view_call(jd, sid)) == "ok"
    jd.clock.advance(timedelta(seconds=20))
    with pytest.raises(httpx.TransportError):
        _view_call(jd, sid)
    assert jd.control("GET", "/cases")["cases"]  # control routes are never faulted
    jd.clock.advance(timedelta(seconds=30))
    assert _kind(_view_call(jd, sid)) == "ok"
    injected = jd.control("DELETE", "/faults/profile")["injected"]
    assert (injected["outage_503"], injected["outage_reset"]) == (1, 1)


# -- listings ------------------------------------------------------------------------------------
def _sync_ids(jd: JdFake, size: int = 50, number: int = 1) -> list[str]:
    begin = (jd.clock.now() - timedelta(days=1)).timestamp() * 1000
    end = (jd.clock.now() + timedelta(seconds=1)).timestamp() * 1000
    page = jd.jos.asc(
        "sync.list",
        updateTimeBegin=int(begin),
        updateTimeEnd=int(end),
        pageSize=size,
        pageNumber=number,
    )
    return [str(row["serviceId"]) for row in page["data"]]


def _apply_ids(jd: JdFake, size: int = 50, number: int = 1) -> list[str]:
    result = jd.jos.refund("queryPageList", pageIndex=number, pageSize=size)
    return [str(row["id"]) for row in result["result"]]


def test_late_cases_are_left_out_of_listings_until_their_delay_passes(jd: JdFake) -> None:
    services = jd.cases(*[SERVICE] * 20)
    applications = jd.cases(*[APPLICATION] * 20)
    _install(jd, late_visibility=0.5)
    hidden = (set(services) - set(_sync_ids(jd))) | (set(applications) - set(_apply_ids(jd)))
    assert 0 < len(hidden) < 40
    assert jd.jos.refund("queryPageList", pageIndex=1, pageSize=50)["totalCount"] == len(
        set(applications) - hidden
    )
    for case_id in hidden:  # single reads and the deadline boards see them
        if case_id in services:
            assert jd.service(case_id)["serviceId"] == int(case_id)
            board = jd.jos.asc("audit.list", serviceId=int(case_id))
            assert board["data"][0]["serviceIdList"] == [int(case_id)]
        else:
            assert jd.jos.refund("queryById", id=int(case_id))["result"][0]["id"] == int(case_id)
    jd.clock.advance(timedelta(seconds=61))
    assert set(_sync_ids(jd)) == set(services)
    assert set(_apply_ids(jd)) == set(applications)
    assert jd.control("GET", "/faults/profile")["injected"]["late_visibility"] == len(hidden)


def test_malformed_rows_are_broken_and_listed_in_the_view(jd: JdFake) -> None:
    services = jd.cases(*[SERVICE] * 3)
    applications = jd.cases(*[APPLICATION] * 3)
    _install(jd, malformed_item=1.0)
    begin = int((jd.clock.now() - timedelta(days=1)).timestamp() * 1000)
    end = int((jd.clock.now() + timedelta(seconds=1)).timestamp() * 1000)
    rows = jd.jos.asc("sync.list", updateTimeBegin=begin, updateTimeEnd=end)["data"]
    assert [r["actualPayPrice"] for r in rows] == ["##broken##"] * 3
    refunds = jd.jos.refund("queryPageList", pageIndex=1, pageSize=10)["result"]
    assert [r["applyRefundSum"] for r in refunds] == ["##broken##"] * 3
    assert jd.service(services[0])["actualPayPrice"] != "##broken##"  # views are not broken
    view = jd.control("GET", "/faults/profile")
    assert view["malformed"] == [
        {"shop_id": "jd-shop", "case_id": case_id}
        for case_id in [str(r["serviceId"]) for r in rows] + [str(r["id"]) for r in refunds]
    ]
    assert {m["case_id"] for m in view["malformed"]} == set(services) | set(applications)
    assert view["injected"]["malformed_item"] == 6


@pytest.mark.parametrize("family", ["service", "application"])
def test_page_churn_changes_an_open_case_after_the_page(jd: JdFake, family: str) -> None:
    if family == "service":
        ids = jd.cases(*[SERVICE] * 6)
        _install(jd, page_churn=1.0)
        first_page = _sync_ids(jd, size=3)
        effect = "buyer_modify"
    else:
        ids = jd.cases(*[APPLICATION] * 6)
        _install(jd, page_churn=1.0)
        first_page = _apply_ids(jd, size=3)
        effect = "buyer_cancel"
    (changed,) = [e for e in jd.ledger() if e["effect"] == effect]
    assert changed["case_id"] in set(ids) - set(first_page)
    assert jd.control("GET", "/faults/profile")["injected"]["page_churn"] == 1
    last = _sync_ids(jd, size=3, number=2) if family == "service" else _apply_ids(jd, 3, 2)
    assert jd.control("GET", "/faults/profile")["injected"]["page_churn"] == 1  # last page: none
    assert last


def test_page_churn_on_the_audit_board(jd: JdFake) -> None:
    jd.cases(*[SERVICE] * 4)
    _install(jd, page_churn=1.0)
    page = jd.jos.asc("audit.list", pageSize=2)
    shown = {i for row in page["data"] for i in row["serviceIdList"]}
    (changed,) = [e for e in jd.ledger() if e["effect"] == "buyer_modify"]
    assert int(changed["case_id"]) not in shown


# -- buyer changes before the seller's first write ---------------------------------------------
def test_the_buyer_changes_a_chosen_case_just_before_the_first_write(jd: JdFake) -> None:
    sid = jd.case(**SERVICE)
    rid = jd.case(**APPLICATION)
    profile = _install(jd, buyer_change=1.0)
    stale = jd.write("audit.refuse", sid, approveNotes="不符合", questionTypeCid1=9)
    assert (stale["success"], stale["code"]) == (False, "40005")
    refused = jd.jos.ok("jingdong.asc.audit.refuse", {
        **OPERATOR, "serviceId": int(sid), "orderId": jd.service(sid)["orderId"],
        "sysVersion": jd.service(sid)["sysVersion"], "approveNotes": "不符合",
        "questionTypeCid1": 9,
    })  # fmt: skip
    assert refused["result"]["success"] is True  # only the first write is preceded by a change
    reply = jd.jos.refund("replyRefund", id=int(rid), status=1, checkUserName="a", remark="b")
    assert (reply["success"], reply["errorCode"]) == (False, "10002")
    effects = [(e["case_id"], e["effect"], e["actor"]) for e in jd.ledger()]
    assert effects[0] == (sid, "buyer_modify", "buyer")
    assert (rid, "buyer_cancel", "buyer") in effects
    assert sorted(profile.view()["buyer_changed"]) == sorted([sid, rid])


def test_a_stale_write_after_the_buyer_change_is_refused(jd: JdFake) -> None:
    sid = jd.case(**SERVICE)
    before = jd.service(sid)
    _install(jd, buyer_change=1.0)
    params = jd.jos.params(
        "jingdong.asc.audit.refuse",
        {
            **OPERATOR,
            "serviceId": int(sid),
            "orderId": before["orderId"],
            "sysVersion": before["sysVersion"],
            "approveNotes": "不符合",
            "questionTypeCid1": 9,
        },
    )
    result = jd.jos.raw(params).json()["jingdong_asc_audit_refuse_responce"]["result"]
    assert (result["success"], result["code"], result["msg"]) == (
        False,
        "40005",
        "服务单版本号不一致",
    )
    assert jd.service(sid)["sysVersion"] == before["sysVersion"] + 1


# -- the JD adapter against the profile ----------------------------------------------------------
def _adapter(jd: JdFake, http: httpx.Client) -> JdAdapter:
    settings = JdSettings(
        base_url=jd.url,
        shop_id="jd-shop",
        app_key=APP_KEY,
        app_secret=SECRET,
        access_token=TOKEN,
        bu_id=BU_ID,
        operate_pin="shop_ops",
        operate_nick="售后机器人",
        refuse_question_type_cid1=9,
        page_size=10,
    )
    return JdAdapter(settings, http=http, clock=jd.clock)


@pytest.fixture
def adapter(jd: JdFake) -> Iterator[JdAdapter]:
    with httpx.Client(timeout=5) as http:
        yield _adapter(jd, http)


def _agree(case: RefundCase) -> EffectRequest:
    return EffectRequest(
        key=f"key-{case.case_id}",
        kind=EffectKind.agree_refund,
        platform="jd",
        shop_id=case.shop_id,
        case_id=case.case_id,
        order_id=case.order_id,
        version=case.version,
        platform_fields=case.platform_fields,
        params={"amount": case.refund_amount},
    )


def test_adapter_maps_the_ban_to_rate_limited_with_its_wait(jd: JdFake, adapter: JdAdapter) -> None:
    sid = jd.case(**SERVICE)
    _install(jd, ban=1.0)
    with pytest.raises(RateLimitedError) as caught:
        adapter.get_case(sid)
    ban = jd.control("GET", "/requests")["requests"][-1]
    assert ban["outcome"] == "fault:platform_error"
    assert caught.value.retry_after in {1.0, 2.0, 3.0}
    assert caught.value.platform_code == "2"


def test_adapter_maps_profile_5xx_with_and_without_retry_after(
    jd: JdFake, adapter: JdAdapter
) -> None:
    sid = jd.case(**SERVICE)
    _install(jd, http_5xx=1.0)
    waits: set[float | None] = set()
    for _ in range(12):
        with pytest.raises(UnavailableError) as caught:
            adapter.get_case(sid)
        waits.add(caught.value.retry_after)
    assert None in waits  # the plain 500/502/504 half
    assert waits - {None}  # the 503 half, with Retry-After
    assert waits - {None} <= {1.0, 2.0}


def test_adapter_maps_a_hang_past_its_timeout_and_a_reset_to_unavailable(jd: JdFake) -> None:
    sid = jd.case(**SERVICE)
    with httpx.Client(timeout=0.1) as http:
        adapter = _adapter(jd, http)
        _install(jd, hang=1.0, hang_s=0.4)
        with pytest.raises(UnavailableError, match="no answer in time"):
            adapter.get_case(sid)
        _install(jd, reset=1.0)
        with pytest.raises(UnavailableError, match="connection lost"):
            adapter.get_case(sid)


def test_adapter_maps_a_dropped_write_to_outcome_unknown(jd: JdFake, adapter: JdAdapter) -> None:
    sid = jd.case(**REFUND_ONLY)
    rid = jd.case(**APPLICATION)
    cases = {case_id: adapter.get_case(case_id) for case_id in (sid, rid)}
    _install(jd, write_drop=1.0)
    for case_id, case in cases.items():
        with pytest.raises(OutcomeUnknownError) as caught:
            adapter.submit(_agree(case))
        assert isinstance(caught.value, RetryableError)
        assert jd.view(case_id)["refunded_amount"] > 0  # it was applied all the same


def test_adapter_maps_a_buyer_change_before_the_write_to_conflict(
    jd: JdFake, adapter: JdAdapter
) -> None:
    sid = jd.case(**REFUND_ONLY)
    rid = jd.case(**APPLICATION)
    cases = {case_id: adapter.get_case(case_id) for case_id in (sid, rid)}
    _install(jd, buyer_change=1.0)
    for case in cases.values():
        with pytest.raises(ConflictError):
            adapter.submit(_agree(case))
    fresh = adapter.get_case(sid)  # re-read: the version moved; the next write goes through
    assert fresh.version != cases[sid].version
    assert adapter.submit(_agree(fresh)).outcome == "applied"


def test_adapter_maps_an_outage_to_unavailable(jd: JdFake, adapter: JdAdapter) -> None:
    sid = jd.case(**SERVICE)
    outages = [{"start_s": 0, "duration_s": 30, "mode": "503"}]
    jd.control("POST", "/faults/profile", {"name": "F10", "scale": 1e-9, "outages": outages})
    with pytest.raises(UnavailableError) as caught:
        adapter.get_case(sid)
    assert (caught.value.retry_after, caught.value.platform_code) == (None, "503")


def _window(jd: JdFake) -> SyncWindow:
    now = jd.clock.now()
    return SyncWindow(now - timedelta(hours=1), now + timedelta(seconds=2))


def _all_pages(adapter: JdAdapter, window: SyncWindow) -> tuple[list[str], list[Any]]:
    listed: list[str] = []
    quarantined: list[Any] = []
    page = adapter.list_cases(window)
    while True:
        listed += [c.case_id for c in page.cases]
        quarantined += page.quarantined
        if page.next_page is None:
            return listed, quarantined
        page = adapter.list_cases(window, page.next_page)


def test_adapter_quarantines_malformed_rows_naming_the_field(
    jd: JdFake, adapter: JdAdapter
) -> None:
    ids = jd.cases(*[SERVICE] * 3, *[APPLICATION] * 3)
    jd.clock.advance(timedelta(seconds=2))
    _install(jd, malformed_item=1.0)
    listed, quarantined = _all_pages(adapter, _window(jd))
    assert listed == []
    assert sorted(q.case_id for q in quarantined) == sorted(ids)
    for q in quarantined:
        assert any(word in q.summary() for word in ("actualPayPrice", "applyRefundSum")), (
            q.summary()
        )
    remembered = jd.control("GET", "/faults/profile")["malformed"]
    assert sorted(m["case_id"] for m in remembered) == sorted(ids)


def test_adapter_lists_a_late_case_once_it_becomes_visible(jd: JdFake, adapter: JdAdapter) -> None:
    ids = jd.cases(*[SERVICE] * 10, *[APPLICATION] * 10)
    jd.clock.advance(timedelta(seconds=2))
    _install(jd, late_visibility=0.5)
    listed, _ = _all_pages(adapter, _window(jd))
    assert 0 < len(listed) < len(ids)
    jd.clock.advance(timedelta(seconds=61))
    later, _ = _all_pages(adapter, _window(jd))
    assert sorted(later) == sorted(ids)
