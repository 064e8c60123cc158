"""JD adapter at the wire, with respx: signing, envelopes, each error class, both families'
mapping, the derived deadline, and the parameters of every audit action."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from jd_support import (
    ACCESS_TOKEN,
    APP_SECRET,
    GATEWAY,
    answer,
    business,
    effect,
    gateway_error,
    jd_settings,
    refund_vo,
    sent,
    service_brief,
)

from adapters.jd import JdAdapter
from adapters.jd.auth import jos_sign, param_json
from adapters.jd.mapping import AuditRule, refund_application_to_case, service_order_to_case
from connector import errors as err
from connector.adapter import SyncWindow
from connector.clock import FakeClock
from connector.effects import EffectKind, SubmitOutcome
from connector.models import CaseStatus, CaseType, OrderStatus, QuarantinedCase, RefundCase

LIST = "jingdong.pop.afs.soa.refundapply.queryPageList"
BY_ID = "jingdong.pop.afs.soa.refundapply.queryById"
REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"
SYNC = "jingdong.asc.sync.list"
VIEW = "jingdong.asc.query.view"
AUDIT_LIST = "jingdong.asc.audit.list"
RECEIVE_LIST = "jingdong.asc.receive.list"


@pytest.fixture
def jd(http: httpx.Client, clock: FakeClock) -> JdAdapter:
    return JdAdapter(jd_settings(), http=http, clock=clock)


def _window(clock: FakeClock) -> SyncWindow:
    return SyncWindow(clock.now() - timedelta(hours=2), clock.now())


def _route(*responses: httpx.Response) -> respx.Route:
    return respx.post(GATEWAY).mock(side_effect=list(responses))


def _empty_lists() -> list[httpx.Response]:
    return [
        answer(LIST, "queryResult", {"success": True, "totalCount": 0, "result": []}),
        answer(SYNC, "pageResult", {"success": True, "code": "00000", "data": [], "totalCount": 0}),
    ]


# ---- signing ------------------------------------------------------------------------------------


def test_signature_vector_from_the_reference() -> None:
    params = {
        "360buy_param_json": param_json({"status": 0, "pageSize": 20, "pageIndex": 1}),
        "access_token": "TOKEN",
        "app_key": "APPKEY",
        "method": LIST,
        "timestamp": "2024-01-01 12:00:00",
        "v": "2.0",
        "sign": "IGNORED",
    }
    assert params["360buy_param_json"] == '{"pageIndex":1,"pageSize":20,"status":0}'
    assert jos_sign(params, "testsecret") == "00DA3A32E6BE68F74D9955C1CCF04612"


@respx.mock
def test_every_call_is_signed_with_the_system_params(jd: JdAdapter) -> None:
    route = _route(*_empty_lists())
    jd.list_cases(_window(jd.clock))  # type: ignore[arg-type]
    request = route.calls[0].request
    params = sent(request)
    assert params["method"] == LIST
    assert params["app_key"] == "APPKEY"
    assert params["access_token"] == ACCESS_TOKEN
    assert params["v"] == "2.0"
    assert params["timestamp"] == "2026-11-12 10:00:00"  # the clock's 02:00 UTC in GMT+8
    assert "sign_method" not in params
    assert params["sign"] == jos_sign(params, APP_SECRET)
    assert ACCESS_TOKEN not in str(request.url), "credentials travel in the body only"
    applied = business(request)
    assert applied["applyTimeEnd"] == "2026-11-12 10:00:00"
    assert (applied["pageIndex"], applied["pageSize"]) == (1, 50)
    services = business(route.calls[1].request)
    assert (services["buId"], services["operatePin"]) == ("10001", "shop_ops")
    assert services["updateTimeBegin"] == "2026-11-12 08:00:00"


# ---- envelopes and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_cls"),
    [
        ("19", err.ReauthRequiredError),
        ("12", err.ReauthRequiredError),
        ("9", err.ReauthRequiredError),
        ("2", err.RateLimitedError),
        ("8", err.UnavailableError),
        ("67", err.UnavailableError),
        ("11", err.InvalidRequestError),
        ("15", err.InvalidRequestError),
    ],
)
@respx.mock
def test_gateway_codes_map_onto_the_error_tree(
    jd: JdAdapter, code: str, error_cls: type[err.AdapterError]
) -> None:
    _route(gateway_error(code, "出错了", "Something"))
    with pytest.raises(error_cls) as caught:
        jd.check()
    assert caught.value.platform_code == code
    assert type(caught.value) is error_cls


@respx.mock
def test_rate_limit_reads_the_wait_and_clock_skew_names_the_clock(jd: JdAdapter) -> None:
    _route(
        gateway_error(
            "2", "限制时间内调用失败次数，3秒后解除", "App Call Limited, retry after 3 seconds"
        ),
        gateway_error("8", "非法的时间戳参数", "Invalid Timestamp"),
    )
    with pytest.raises(err.RateLimitedError) as limited:
        jd.check()
    assert limited.value.retry_after == 3.0
    with pytest.raises(err.UnavailableError) as skewed:
        jd.check()
    assert "clock" in str(skewed.value)


@respx.mock
def test_business_success_is_checked_inside_the_business_object(jd: JdAdapter) -> None:
    failed = {"success": False, "errorCode": "10003", "errorMsg": "参数错误", "result": []}
    _route(answer(LIST, "queryResult", failed))
    with pytest.raises(err.InvalidRequestError) as caught:
        jd.check()
    assert caught.value.sub_code == "10003"


@respx.mock
def test_a_missing_wrapper_or_business_object_is_malformed(jd: JdAdapter) -> None:
    key = LIST.replace(".", "_") + "_responce"
    _route(
        httpx.Response(200, json={"something_else": {}}),
        httpx.Response(200, json={key: {"code": "0"}}),
        httpx.Response(200, content=b'{"truncated'),
    )
    for _ in range(3):
        with pytest.raises(err.MalformedPayloadError):
            jd.check()


@respx.mock
def test_http_failures_and_write_timeouts(jd: JdAdapter) -> None:
    _route(httpx.Response(502, headers={"Retry-After": "2"}))
    with pytest.raises(err.UnavailableError) as caught:
        jd.check()
    assert caught.value.retry_after == 2.0
    respx.post(GATEWAY).mock(
        side_effect=[
            answer(BY_ID, "queryResult", {"success": True, "result": [refund_vo()]}),
            httpx.ReadTimeout("slow"),
        ]
    )
    with pytest.raises(err.OutcomeUnknownError):
        jd.submit(effect(EffectKind.agree_refund, params={"amount": 4900}))


@respx.mock
def test_unknown_ids_are_not_found_in_either_family(jd: JdAdapter) -> None:
    route = _route(
        answer(
            BY_ID, "queryResult", {"success": False, "errorCode": "10001", "errorMsg": "不存在"}
        ),
        answer(VIEW, "result", {"success": False, "code": "40004", "msg": "服务单 1 不存在"}),
    )
    with pytest.raises(err.NotFoundError):
        jd.get_case("424242")
    assert [sent(c.request)["method"] for c in route.calls] == [BY_ID, VIEW]


# ---- mapping: refund applications ---------------------------------------------------------------

RULE = AuditRule(hours=48)


def test_refund_application_is_refund_only_before_shipment_with_a_derived_deadline() -> None:
    case = refund_application_to_case(refund_vo(), shop_id="jd1", rule=RULE)
    assert isinstance(case, RefundCase)
    assert (case.type, case.order_status) == (CaseType.refund_only, OrderStatus.not_shipped)
    assert case.status is CaseStatus.awaiting_seller
    assert (case.paid_amount, case.refund_amount) == (4900, 4900)
    assert case.created_at == datetime(2026, 11, 12, 1, 0, tzinfo=UTC)
    assert case.deadline_at == datetime(2026, 11, 14, 1, 0, tzinfo=UTC)
    assert case.platform_fields["deadline_source"] == "derived:48h after applyTime"
    assert case.version == "0"
    assert case.buyer.id == "oBUYER1"
    assert case.reason == "changed_mind"


def test_the_audit_rule_is_configurable_and_closed_cases_carry_no_deadline() -> None:
    case = refund_application_to_case(refund_vo(), shop_id="jd1", rule=AuditRule(hours=24))
    assert isinstance(case, RefundCase)
    assert case.deadline_at == datetime(2026, 11, 13, 1, 0, tzinfo=UTC)
    assert case.platform_fields["deadline_source"] == "derived:24h after applyTime"
    done = refund_application_to_case(
        refund_vo(status=3, checkTime="2026-11-12 11:00:00"), shop_id="jd1", rule=RULE
    )
    assert isinstance(done, RefundCase)
    assert (done.status, done.deadline_at) == (CaseStatus.refunded, None)
    assert done.updated_at == datetime(2026, 11, 12, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "canonical"),
    [
        (0, "awaiting_seller"),
        (2, "refused"),
        (6, "refunded"),
        (10, "awaiting_seller"),
        (11, "closed"),
    ],
)
def test_refund_application_statuses(status: int, canonical: str) -> None:
    case = refund_application_to_case(refund_vo(status=status), shop_id="jd1", rule=RULE)
    assert isinstance(case, RefundCase)
    assert case.status == canonical


def test_a_bad_refund_application_is_quarantined_naming_fields_and_without_names() -> None:
    bad = refund_application_to_case(
        refund_vo(applyRefundSum="##broken##", status=42), shop_id="jd1", rule=RULE
    )
    assert isinstance(bad, QuarantinedCase)
    assert {p.field for p in bad.problems} == {"applyRefundSum", "status"}
    assert "buyerName" not in bad.raw
    assert "张三" not in json.dumps(bad.raw, ensure_ascii=False)


# ---- mapping: service orders --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expect", "case_type"),
    [(10, "return_and_refund"), (20, "exchange"), (30, "repair"), (11, "refund_only")],
)
def test_service_order_types(expect: int, case_type: str) -> None:
    case = service_order_to_case(service_brief(customerExpect=expect), shop_id="jd1")
    assert isinstance(case, RefundCase)
    assert case.type == case_type


def test_service_order_money_times_version_and_buyer() -> None:
    case = service_order_to_case(service_brief(auditOvertime=1794618000000), shop_id="jd1")
    assert isinstance(case, RefundCase)
    assert (case.paid_amount, case.refund_amount, case.item.price) == (1234560, 1, 1234560)
    assert case.created_at == datetime(2026, 11, 12, 1, 0, tzinfo=UTC)
    assert case.updated_at == datetime(2026, 11, 12, 1, 30, tzinfo=UTC)
    assert case.deadline_at == datetime(2026, 11, 14, 1, 0, tzinfo=UTC)
    assert case.platform_fields["deadline_source"] == "auditOvertime"
    assert case.version == "3"
    assert case.buyer.id == "oBUYER2"
    assert (case.reason, case.reason_text) == ("quality", "商品质量问题")
    dumped = case.model_dump_json()
    for private in ("张三", "13800000000", "北京市", "jd_buyer_pin"):
        assert private not in dumped


@pytest.mark.parametrize(
    ("name", "expect", "canonical"),
    [
        ("待审核", 10, "awaiting_seller"),
        ("审核不通过", 10, "refused"),
        ("待客户发货", 10, "awaiting_buyer_return"),
        ("待上门取件", 10, "awaiting_buyer_return"),
        ("待收货", 10, "awaiting_seller_receipt"),
        ("待处理", 10, "awaiting_seller_receipt"),
        ("京东介入中", 10, "in_dispute"),
        ("已完成", 10, "refunded"),
        ("已完成", 20, "closed"),
        ("已取消", 10, "closed"),
    ],
)
def test_service_statuses_by_name(name: str, expect: int, canonical: str) -> None:
    brief = service_brief(serviceStatusName=name, customerExpect=expect)
    case = service_order_to_case(brief, shop_id="jd1")
    assert isinstance(case, RefundCase)
    assert case.status == canonical


def test_unknown_reasons_keep_the_customers_words() -> None:
    brief = service_brief(questionTypeCid2Name="其他原因", questionDesc="包装上有只猫")
    case = service_order_to_case(brief, shop_id="jd1")
    assert isinstance(case, RefundCase)
    assert (case.reason, case.reason_text) == ("other", "包装上有只猫")


def test_an_unknown_service_type_or_status_is_quarantined_by_field() -> None:
    bad = service_order_to_case(
        service_brief(customerExpect=90, serviceStatusName="神秘状态"), shop_id="jd1"
    )
    assert isinstance(bad, QuarantinedCase)
    assert {p.field for p in bad.problems} == {"customerExpect", "serviceStatusName"}
    assert "customerName" not in bad.raw
    assert "pickwareAddress" not in bad.raw


@respx.mock
def test_money_sent_as_json_numbers_stays_exact(jd: JdAdapter) -> None:
    body = answer(VIEW, "result", {"success": True, "data": service_brief()}).text
    body = body.replace("12345.6", "0.29")
    _route(
        answer(
            BY_ID, "queryResult", {"success": False, "errorCode": "10001", "errorMsg": "不存在"}
        ),
        httpx.Response(200, content=body.encode()),
        answer(AUDIT_LIST, "pageResult", {"success": True, "data": [], "totalCount": 0}),
    )
    case = jd.get_case("80001")
    assert case.paid_amount == 29  # float(0.29) * 100 would be 28.999...


@respx.mock
def test_get_case_reads_the_audit_deadline_of_a_pending_service(jd: JdAdapter) -> None:
    row = {"applyId": 70001, "serviceIdList": [80001], "auditOvertime": 1794618000000}
    route = _route(
        answer(VIEW, "result", {"success": True, "data": service_brief()}),
        answer(AUDIT_LIST, "pageResult", {"success": True, "data": [row], "totalCount": 1}),
    )
    jd._families["80001"] = "service_order"
    case = jd.get_case("80001")
    assert case.deadline_at == datetime(2026, 11, 14, 1, 0, tzinfo=UTC)
    assert business(route.calls[1].request)["serviceId"] == "80001"


@respx.mock
def test_get_case_reads_pictures_delivery_and_the_receipt_deadline(jd: JdAdapter) -> None:
    """``query.view`` gives the customer's pictures and the order's delivery time; a service
    awaiting the goods takes its deadline from ``receive.list``'s ``receiveOvertime``."""
    detail = service_brief(
        serviceStatus=40,
        serviceStatusName="待收货",
        questionPic="https://img.jd.test/afs/1.jpg, https://img.jd.test/afs/2.mp4?x=1",
        orderDeliveredTime=1794358800000,  # 2026-11-11 09:00:00 +08:00
    )
    row = {**service_brief(serviceStatus=40), "receiveOvertime": 1795222800000, "timeoutFlag": 0}
    other = {**row, "serviceId": 80002, "receiveOvertime": 1790000000000}
    route = _route(
        answer(VIEW, "result", {"success": True, "data": detail}),
        answer(RECEIVE_LIST, "pageResult", {"success": True, "data": [other, row]}),
    )
    jd._families["80001"] = "service_order"
    case = jd.get_case("80001")
    assert [(e.kind, e.url) for e in case.evidence] == [
        ("photo", "https://img.jd.test/afs/1.jpg"),
        ("video", "https://img.jd.test/afs/2.mp4?x=1"),
    ]
    assert case.delivered_at == datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
    assert case.deadline_at == datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    assert case.platform_fields["deadline_source"] == "receiveOvertime"
    asked = business(route.calls[1].request)
    assert sent(route.calls[1].request)["method"] == RECEIVE_LIST
    assert (asked["serviceId"], asked["buId"], asked["operatePin"]) == (
        "80001",
        "10001",
        "shop_ops",
    )


def test_a_service_without_pictures_or_delivery_has_none_and_bad_ones_quarantine() -> None:
    bare = service_order_to_case(service_brief(questionPic=""), shop_id="jd1")
    assert isinstance(bare, RefundCase)
    assert (bare.evidence, bare.delivered_at) == ((), None)
    bad = service_order_to_case(
        service_brief(questionPic=7, orderDeliveredTime="yesterday"), shop_id="jd1"
    )
    assert isinstance(bad, QuarantinedCase)
    assert {p.field for p in bad.problems} == {"questionPic", "orderDeliveredTime"}


def _sync_page(rows: list[dict[str, Any]], total: int) -> httpx.Response:
    result = {"success": True, "code": "00000", "data": rows, "totalCount": total}
    return answer(SYNC, "pageResult", result)


def _brief_at(service_id: int, minute: int) -> dict[str, Any]:
    """A service brief updated ``minute`` minutes after 2026-11-12 09:30 +08:00."""
    return service_brief(serviceId=service_id, updateTime=1794447000000 + minute * 60_000)


@respx.mock
def test_service_orders_are_read_page_one_then_last_to_first(jd: JdAdapter) -> None:
    """Oldest change first, 5 orders in pages of 2: page 1 (learning the total), then 3, 2, 1.
    After page 3, order 80003 changes and leaves the window, so page 2 holds 80004 and 80005
    (read already: dropped) and page 1 again 80001-80002 (dropped): each is listed once."""
    small = JdAdapter(jd_settings(page_size=2), http=jd.http, clock=jd.clock)
    b = {i: _brief_at(i, i) for i in range(80001, 80006)}
    route = _route(
        answer(LIST, "queryResult", {"success": True, "totalCount": 0, "result": []}),
        _sync_page([b[80001], b[80002]], 5),
        _sync_page([b[80005]], 5),
        _sync_page([b[80004], b[80005]], 4),  # 80003 left the window: 80005 comes back
        _sync_page([b[80001], b[80002]], 4),
    )
    window = SyncWindow(
        datetime(2026, 11, 12, 0, 0, tzinfo=UTC), jd.clock.now() + timedelta(milliseconds=500)
    )
    listed: list[str] = []
    token: str | None = None
    for _ in range(10):
        page = small.list_cases(window, token)
        listed += [c.case_id for c in page.cases]
        token = page.next_page
        if token is None:
            break
    assert listed == ["80001", "80002", "80005", "80004"]
    asked = [business(call.request) for call in route.calls[1:]]
    assert [a["pageNumber"] for a in asked] == [1, 3, 2, 1]
    assert {a["updateTimeEnd"] for a in asked} == {"2026-11-12 10:00:00"}, "fixed, whole second"


@respx.mock
def test_refund_applications_page_by_apply_time_below_the_last_seen(jd: JdAdapter) -> None:
    """Newest application first; the next query ends just above the oldest applyTime read and
    skips the ids read at that second."""
    small = JdAdapter(jd_settings(page_size=2), http=jd.http, clock=jd.clock)
    first = [
        refund_vo(id=30003, applyTime="2026-11-12 09:40:00"),
        refund_vo(id=30002, applyTime="2026-11-12 09:20:00"),
    ]
    second = [refund_vo(id=30002, applyTime="2026-11-12 09:20:00"), refund_vo(id=30001)]
    route = _route(
        answer(LIST, "queryResult", {"success": True, "totalCount": 3, "result": first}),
        answer(LIST, "queryResult", {"success": True, "totalCount": 2, "result": second}),
        _sync_page([], 0),
    )
    page = small.list_cases(_window(jd.clock))
    assert [c.case_id for c in page.cases] == ["30003", "30002"]
    assert page.next_page is not None
    page = small.list_cases(_window(jd.clock), page.next_page)
    assert [c.case_id for c in page.cases] == ["30001"]
    assert page.next_page is None
    narrowed = business(route.calls[1].request)
    assert (narrowed["applyTimeEnd"], narrowed["pageIndex"]) == ("2026-11-12 09:20:01", 1)


# ---- effects ------------------------------------------------------------------------------------


def _replied(route: respx.Route) -> dict[str, Any]:
    return business(route.calls[-1].request)


@respx.mock
def test_agree_refund_on_an_application_approves_with_replyrefund_1(jd: JdAdapter) -> None:
    route = _route(
        answer(BY_ID, "queryResult", {"success": True, "result": [refund_vo()]}),
        answer(REPLY, "replyResult", {"success": True}),
    )
    result = jd.submit(effect(EffectKind.agree_refund, params={"amount": 4900}))
    assert result.outcome is SubmitOutcome.applied
    assert _replied(route) == {
        "id": "30001",
        "status": 1,
        "outWareStatus": 2,
        "checkUserName": "售后机器人",
        "remark": "同意退款",
    }


@respx.mock
def test_agree_refund_with_intercept_uses_status_6(jd: JdAdapter) -> None:
    route = _route(
        answer(BY_ID, "queryResult", {"success": True, "result": [refund_vo()]}),
        answer(REPLY, "replyResult", {"success": True}),
    )
    jd.submit(effect(EffectKind.agree_refund, params={"amount": 4900, "intercept": True}))
    assert (_replied(route)["status"], _replied(route)["outWareStatus"]) == (6, 1)


@respx.mock
def test_refuse_an_application_with_reject_type_and_remark(jd: JdAdapter) -> None:
    route = _route(
        answer(BY_ID, "queryResult", {"success": True, "result": [refund_vo()]}),
        answer(REPLY, "replyResult", {"success": True}),
    )
    jd.submit(effect(EffectKind.refuse_refund, params={"message": "已发货", "reject_type": 1}))
    replied = _replied(route)
    assert (replied["status"], replied["rejectType"], replied["remark"]) == (2, 1, "已发货")


@respx.mock
def test_a_changed_application_conflicts_and_a_done_one_is_already_done(jd: JdAdapter) -> None:
    route = _route(
        answer(BY_ID, "queryResult", {"success": True, "result": [refund_vo(status=11)]}),
        answer(BY_ID, "queryResult", {"success": True, "result": [refund_vo(status=1)]}),
    )
    with pytest.raises(err.ConflictError):
        jd.submit(effect(EffectKind.agree_refund, params={"amount": 4900}))
    done = jd.submit(effect(EffectKind.agree_refund, params={"amount": 4900}))
    assert done.outcome is SubmitOutcome.already_done
    assert [sent(c.request)["method"] for c in route.calls] == [BY_ID, BY_ID], "no write was sent"


def _service_effect(kind: EffectKind, **params: Any) -> Any:
    return effect(
        kind,
        case_id="80001",
        order_id="290000000002",
        version="3",
        family="service_order",
        params=params,
    )


def _service_routes(write: str, brief: dict[str, Any]) -> respx.Route:
    return _route(
        answer(VIEW, "result", {"success": True, "data": brief}),
        answer(AUDIT_LIST, "pageResult", {"success": True, "data": [], "totalCount": 0}),
        answer(write, "result", {"success": True, "data": {"sysVersion": 4}}),
    )


@respx.mock
def test_refuse_a_service_with_operator_fields_and_sys_version(jd: JdAdapter) -> None:
    jd._families["80001"] = "service_order"
    route = _service_routes("jingdong.asc.audit.refuse", service_brief())
    result = jd.submit(_service_effect(EffectKind.refuse_refund, message="签收无破损"))
    assert result.new_version == "4"
    assert _replied(route) == {
        "buId": "10001",
        "operatePin": "shop_ops",
        "operateNick": "售后机器人",
        "serviceId": "80001",
        "orderId": "290000000002",
        "sysVersion": "3",
        "approveNotes": "签收无破损",
        "questionTypeCid1": 9,
    }


@respx.mock
def test_agree_return_sends_the_shops_return_address(jd: JdAdapter) -> None:
    jd._families["80001"] = "service_order"
    route = _service_routes("jingdong.asc.audit.send", service_brief())
    jd.submit(_service_effect(EffectKind.agree_return, return_shipping_paid_by="seller"))
    sent_params = _replied(route)
    assert sent_params["returnContactName"] == "Shop Returns"
    assert sent_params["returnDetail"] == "1 Warehouse Rd"
    assert sent_params["sysVersion"] == "3"
    assert sent_params["operatePin"] == "shop_ops"


@respx.mock
def test_confirm_and_refund_only_close_the_service(jd: JdAdapter) -> None:
    jd._families["80001"] = "service_order"
    received = service_brief(serviceStatusName="待收货", serviceStatus=40)
    close = "jingdong.asc.process.close"
    route = _route(
        answer(VIEW, "result", {"success": True, "data": received}),
        answer(RECEIVE_LIST, "pageResult", {"success": True, "data": [], "totalCount": 0}),
        answer(close, "result", {"success": True, "data": {"sysVersion": 4}}),
    )
    jd.submit(_service_effect(EffectKind.confirm_return_and_refund, amount=1))
    assert [sent(c.request)["method"] for c in route.calls] == [VIEW, RECEIVE_LIST, close]
    assert _replied(route)["sysVersion"] == "3"
    refund_only = _service_routes(close, service_brief(customerExpect=11))
    jd.submit(_service_effect(EffectKind.agree_refund, amount=1))
    assert sent(refund_only.calls[-1].request)["method"] == close


@respx.mock
def test_confirm_before_the_goods_are_back_conflicts(jd: JdAdapter) -> None:
    jd._families["80001"] = "service_order"
    route = _service_routes("jingdong.asc.process.close", service_brief())
    with pytest.raises(err.ConflictError):
        jd.submit(_service_effect(EffectKind.confirm_return_and_refund, amount=1))
    assert len(route.calls) == 2, "no write was sent"


@respx.mock
def test_stale_sys_version_conflicts_before_any_write(jd: JdAdapter) -> None:
    jd._families["80001"] = "service_order"
    route = _route(
        answer(VIEW, "result", {"success": True, "data": service_brief(sysVersion=5)}),
        answer(AUDIT_LIST, "pageResult", {"success": True, "data": [], "totalCount": 0}),
    )
    with pytest.raises(err.ConflictError):
        jd.submit(_service_effect(EffectKind.refuse_refund, message="no"))
    assert len(route.calls) == 2


@respx.mock
def test_platform_stale_and_already_answers_on_writes(jd: JdAdapter) -> None:
    jd._families["80001"] = "service_order"
    view = answer(VIEW, "result", {"success": True, "data": service_brief()})
    rows = answer(AUDIT_LIST, "pageResult", {"success": True, "data": [], "totalCount": 0})
    refuse = "jingdong.asc.audit.refuse"
    stale = {"success": False, "code": "40005", "msg": "服务单版本号不一致"}
    done = {"success": False, "code": "40006", "msg": "服务单已是审核不通过状态，无需重复操作"}
    _route(view, rows, answer(refuse, "result", stale), view, rows, answer(refuse, "result", done))
    with pytest.raises(err.ConflictError):
        jd.submit(_service_effect(EffectKind.refuse_refund, message="no"))
    again = jd.submit(_service_effect(EffectKind.refuse_refund, message="no"))
    assert again.outcome is SubmitOutcome.already_done
    assert again.platform_code == "40006"


@respx.mock
def test_capabilities_jd_lacks_never_reach_the_network(jd: JdAdapter) -> None:
    route = _route()
    for kind in (EffectKind.message_buyer, EffectKind.write_order_memo):
        with pytest.raises(err.UnsupportedEffectError):
            jd.submit(effect(kind, params={"content": "hi", "memo": "m"}))
    assert not route.called


def test_secrets_never_in_reprs() -> None:
    settings = jd_settings()
    texts = [repr(settings), str(settings), repr(JdAdapter.auth_for(settings))]
    for text in texts:
        assert APP_SECRET not in text
        assert ACCESS_TOKEN not in text
