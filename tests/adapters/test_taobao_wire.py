"""Taobao adapter at the wire, with respx: signing, envelopes, error classes, paging, effects."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from taobao_helpers import (
    APP_SECRET,
    GATEWAY,
    PNG,
    SESSION,
    effect,
    error,
    form,
    ok,
    refund,
    settings,
)

from adapters.taobao import TaobaoAdapter
from adapters.taobao.auth import TopAuth, top_sign
from connector.adapter import SyncWindow
from connector.clock import FakeClock
from connector.effects import EffectKind, SubmitOutcome
from connector.errors import (
    ActionForbiddenError,
    AdapterError,
    ConflictError,
    InvalidRequestError,
    MalformedPayloadError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ReauthRequiredError,
    StepUpRequiredError,
    UnavailableError,
    UnsupportedEffectError,
)

VECTOR_PARAMS = {
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


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("md5", "677788DEDB103F9063E845A6C2DAD6DC"),
        ("hmac", "E1D56761E6E93F4B6E64B4D2E4C628FC"),
        ("hmac-sha256", "956384B5E8EAA72F480931C75D33489AACECFD0C2E8B1D08B170C82745BEB648"),
    ],
)
def test_signature_vectors_from_the_reference(method: Any, expected: str) -> None:
    params = {**VECTOR_PARAMS, "sign_method": method, "sign": "IGNORED"}
    assert top_sign(params, "testsecret", method) == expected


def _window(clock: FakeClock) -> SyncWindow:
    return SyncWindow(clock.now() - timedelta(hours=2), clock.now())


@respx.mock
def test_list_request_is_signed_in_the_body_with_system_params(
    adapter: TaobaoAdapter, clock: FakeClock
) -> None:
    route = respx.post(GATEWAY).mock(
        return_value=ok("taobao.refunds.receive.get", {"total_results": 0, "refunds": {}})
    )
    page = adapter.list_cases(_window(clock))
    assert page.cases == []
    assert page.next_page is None
    request = route.calls.last.request
    sent = form(request)
    assert request.url.query == b""  # credentials never travel in the URL
    assert sent["method"] == "taobao.refunds.receive.get"
    assert sent["app_key"] == "12345678"
    assert sent["session"] == SESSION
    assert sent["timestamp"] == "2026-11-12 10:00:00"  # GMT+8 of the fake clock
    assert sent["start_modified"] == "2026-11-12 08:00:00"
    assert (sent["v"], sent["format"], sent["sign_method"]) == ("2.0", "json", "hmac-sha256")
    assert sent["end_modified"] == "2026-11-12 10:00:00"
    assert sent["use_has_next"] == "false"  # the first call of a pass learns total_results
    assert "buyer_nick" not in sent["fields"].split(",")
    assert "" not in sent.values()
    assert "status" not in sent  # None parameters are never sent, not even empty
    assert sent["sign"] == top_sign(sent, APP_SECRET, "hmac-sha256")


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
@respx.mock
def test_each_sign_method_verifies(sign_method: Any, http: httpx.Client, clock: FakeClock) -> None:
    route = respx.post(GATEWAY).mock(return_value=ok("taobao.refunds.receive.get", {}))
    TaobaoAdapter(settings(sign_method=sign_method), http=http, clock=clock).check()
    sent = form(route.calls.last.request)
    assert sent["sign_method"] == sign_method
    assert sent["sign"] == top_sign(sent, APP_SECRET, sign_method)


ERROR_CASES = [
    (
        error(
            7,
            "App Call Limited",
            "accesscontrol.limited-by-app-access-count",
            "This ban will last for 31062 more seconds",
        ),
        RateLimitedError,
        31062.0,
    ),
    (
        error(
            7,
            "App Call Limited",
            "accesscontrol.limited-by-app-api-access-count",
            "This ban will last for 2 more seconds",
        ),
        RateLimitedError,
        2.0,
    ),
    (error(5, "Session Call Limited"), RateLimitedError, None),
    (error(10, "Service Currently Unavailable"), UnavailableError, None),
    (
        error(15, "Remote service error", "isp.top-remote-connection-timeout"),
        UnavailableError,
        None,
    ),
    (error(25, "Invalid signature"), ReauthRequiredError, None),
    (error(26, "Missing Session"), ReauthRequiredError, None),
    (
        error(27, "Invalid session", "invalid-sessionkey", "SessionKey非法"),
        ReauthRequiredError,
        None,
    ),
    (error(29, "Invalid App Key"), ReauthRequiredError, None),
    (
        error(40, "Missing Required Arguments", "isv.missing-parameter:fields"),
        InvalidRequestError,
        None,
    ),
    (error(41, "Invalid Arguments", "isv.invalid-parameter:page_size"), InvalidRequestError, None),
    (
        error(50, "Remote service error", "isv.invalid-parameter", "非法参数"),
        InvalidRequestError,
        None,
    ),
    (error(15, "Remote service error", "isv.refund-not-exist", "退款不存在"), NotFoundError, None),
]


@pytest.mark.parametrize(("response", "expected", "retry_after"), ERROR_CASES)
@respx.mock
def test_error_envelopes_on_reads(
    adapter: TaobaoAdapter,
    clock: FakeClock,
    response: httpx.Response,
    expected: type[AdapterError],
    retry_after: float | None,
) -> None:
    respx.post(GATEWAY).mock(return_value=response)
    with pytest.raises(expected) as caught:
        adapter.list_cases(_window(clock))
    assert type(caught.value) is expected
    assert caught.value.platform == "taobao"
    assert caught.value.operation == "taobao.refunds.receive.get"
    if retry_after is not None:
        assert caught.value.retry_after == retry_after  # type: ignore[attr-defined]


AGREE = effect(EffectKind.agree_refund, params={"amount": 1})


@pytest.mark.parametrize(
    ("response", "expected", "fragment"),
    [
        (
            error(15, "Remote service error", "isv.invalid-parameter:refund_version", "版本已过期"),
            ConflictError,
            "版本已过期",
        ),
        (
            error(15, "Remote service error", "isv.refund-status-error", "当前状态不能同意"),
            ConflictError,
            "当前状态",
        ),
        (
            error(15, "Remote service error", "isv.need-sms-verify-code", "请输入短信验证码"),
            StepUpRequiredError,
            "短信",
        ),
        (
            error(12, "Insufficient User Permissions", "isv.permission-denied:sub-account-only"),
            ReauthRequiredError,
            "Permissions",
        ),
    ],
)
@respx.mock
def test_error_envelopes_on_writes(
    adapter: TaobaoAdapter, response: httpx.Response, expected: type[AdapterError], fragment: str
) -> None:
    respx.post(GATEWAY).mock(return_value=response)
    with pytest.raises(expected) as caught:
        adapter.submit(AGREE)
    assert fragment in str(caught.value)
    assert caught.value.case_id == "900001"


@respx.mock
def test_forbidden_refusal_keeps_the_platform_reason(adapter: TaobaoAdapter) -> None:
    respx.post(GATEWAY).mock(
        return_value=error(
            15,
            "Remote service error",
            "isv.refuse-forbidden:no-reason-7d",
            "七天无理由退货不能拒绝",
        )
    )
    refuse = effect(EffectKind.refuse_refund, params={"message": "item used"})
    with pytest.raises(ActionForbiddenError) as caught:
        adapter.submit(refuse)
    assert "七天无理由退货不能拒绝" in caught.value.message
    assert caught.value.sub_code == "isv.refuse-forbidden:no-reason-7d"


@respx.mock
def test_already_in_target_state_is_reported_done(adapter: TaobaoAdapter) -> None:
    respx.post(GATEWAY).mock(
        return_value=error(
            15, "Remote service error", "isv.refund-already-in-target-state", "退款已成功"
        )
    )
    result = adapter.submit(AGREE)
    assert result.outcome is SubmitOutcome.already_done
    assert result.platform_code == "isv.refund-already-in-target-state"


@respx.mock
def test_per_item_batch_failure_is_mapped(adapter: TaobaoAdapter) -> None:
    respx.post(GATEWAY).mock(
        return_value=ok(
            "taobao.rp.refunds.agree",
            {
                "succ": False,
                "msg_code": "OP_FAILURE_UE",
                "message": "",
                "results": {
                    "refund_mapping_result": [
                        {
                            "refund_id": "900001",
                            "succ": False,
                            "sub_code": "isv.invalid-parameter:refund_version",
                            "message": "版本不一致",
                        },
                    ]
                },
            },
        )
    )
    with pytest.raises(ConflictError, match="版本不一致"):
        adapter.submit(AGREE)


@pytest.mark.parametrize(
    ("response", "expected", "retry_after"),
    [
        (
            httpx.Response(502, headers={"Retry-After": "2"}, text="bad gateway"),
            UnavailableError,
            2.0,
        ),
        (httpx.Response(503), UnavailableError, None),
        (httpx.Response(429, headers={"Retry-After": "7"}), RateLimitedError, 7.0),
        (httpx.Response(404), InvalidRequestError, None),
    ],
)
@respx.mock
def test_http_statuses(
    adapter: TaobaoAdapter,
    clock: FakeClock,
    response: httpx.Response,
    expected: type[AdapterError],
    retry_after: float | None,
) -> None:
    respx.post(GATEWAY).mock(return_value=response)
    with pytest.raises(expected) as caught:
        adapter.list_cases(_window(clock))
    assert getattr(caught.value, "retry_after", None) == retry_after


@pytest.mark.parametrize(
    ("exception", "on_read", "on_write"),
    [
        (httpx.ReadTimeout("timed out"), UnavailableError, OutcomeUnknownError),
        (httpx.WriteTimeout("timed out"), UnavailableError, OutcomeUnknownError),
        (httpx.RemoteProtocolError("peer closed"), UnavailableError, OutcomeUnknownError),
        (httpx.ConnectError("refused"), UnavailableError, UnavailableError),
        (httpx.ConnectTimeout("timed out"), UnavailableError, UnavailableError),
    ],
)
@respx.mock
def test_transport_failures_read_vs_write(
    adapter: TaobaoAdapter,
    clock: FakeClock,
    exception: Exception,
    on_read: type[AdapterError],
    on_write: type[AdapterError],
) -> None:
    respx.post(GATEWAY).mock(side_effect=exception)
    with pytest.raises(on_read) as read:
        adapter.list_cases(_window(clock))
    assert type(read.value) is on_read
    with pytest.raises(on_write) as write:
        adapter.submit(AGREE)
    assert type(write.value) is on_write
    assert isinstance(write.value.__cause__, httpx.TransportError)


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"[1, 2]", b'{"unexpected_response": {}}'])
@respx.mock
def test_malformed_bodies(adapter: TaobaoAdapter, clock: FakeClock, body: bytes) -> None:
    respx.post(GATEWAY).mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(MalformedPayloadError):
        adapter.list_cases(_window(clock))


# ---- mapping ---------------------------------------------------------------------------------


def _list(adapter: TaobaoAdapter, clock: FakeClock, items: list[dict[str, Any]], **extra: Any):  # type: ignore[no-untyped-def]
    respx.post(GATEWAY).mock(
        return_value=ok(
            "taobao.refunds.receive.get",
            {"total_results": len(items), "refunds": {"refund": items}, **extra},
        )
    )
    return adapter.list_cases(_window(clock))


@respx.mock
def test_amounts_times_and_identity(adapter: TaobaoAdapter, clock: FakeClock) -> None:
    page = _list(adapter, clock, [refund()])
    (case,) = page.cases
    assert case.refund_amount == 1
    assert case.paid_amount == 1234560
    assert isinstance(case.refund_amount, int)
    assert case.created_at is not None
    assert case.created_at.utcoffset().total_seconds() == 0
    assert case.created_at.isoformat() == "2026-11-12T01:00:00+00:00"
    assert case.updated_at.isoformat() == "2026-11-12T01:30:00+00:00"  # type: ignore[union-attr]
    assert (case.case_id, case.order_id, case.version) == ("900001", "700001", "1762911000000")
    assert case.buyer.id == "AAH-open-uid-1"
    assert case.item.sku == "SKU-1"
    assert case.platform_fields["refund_phase"] == "onsale"
    assert case.platform_fields["operation_contraint"] == "cannot_refuse"
    assert case.platform_fields["tmall"] == "false"
    assert "张三" not in case.model_dump_json()
    assert "张三" not in json.dumps(page.raw)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("七天无理由退换货", "no_reason_7d"),
        ("7天无理由退换货", "no_reason_7d"),
        ("描述不符", "not_as_described"),
        ("质量问题", "quality"),
        ("收到商品破损", "damaged"),
        ("退运费", "shipping_fee"),
        ("未收到货", "not_received"),
        ("发票问题", "invoice"),
        ("未按约定时间发货", "late_shipment"),
        ("缺货", "out_of_stock"),
        ("拍错/多拍", "wrong_order"),
        ("不想要了", "changed_mind"),
        ("卖家发错货", "wrong_item_sent"),
        ("退差价", "price_difference"),
        ("其他", "other"),
        ("包装上有只猫", "other"),
    ],
)
@respx.mock
def test_reasons_map_and_keep_text(
    adapter: TaobaoAdapter, clock: FakeClock, text: str, code: str
) -> None:
    (case,) = _list(adapter, clock, [refund(reason=text)]).cases
    assert (case.reason, case.reason_text) == (code, text)


@pytest.mark.parametrize(
    ("overrides", "status", "case_type", "order_status"),
    [
        ({}, "awaiting_seller", "refund_only", "delivered"),
        (
            {"status": "WAIT_SELLER_CONFIRM_GOODS", "dispute_type": "REFUND_AND_RETURN"},
            "awaiting_seller_receipt",
            "return_and_refund",
            "delivered",
        ),
        (
            {"dispute_type": None, "has_good_return": True},
            "awaiting_seller",
            "return_and_refund",
            "delivered",
        ),
        (
            {"status": "SELLER_REFUSE_BUYER", "cs_status": 3},
            "in_dispute",
            "refund_only",
            "delivered",
        ),
        ({"status": "SUCCESS", "cs_status": 3}, "refunded", "refund_only", "delivered"),
        ({"dispute_type": "TMALL_EXCHANGE"}, "awaiting_seller", "exchange", "delivered"),
        (
            {"order_status": "WAIT_SELLER_SEND_GOODS", "good_status": "BUYER_NOT_RECEIVED"},
            "awaiting_seller",
            "refund_only",
            "not_shipped",
        ),
        ({"good_status": "BUYER_NOT_RECEIVED"}, "awaiting_seller", "refund_only", "shipped"),
        ({"order_status": "TRADE_FINISHED"}, "awaiting_seller", "refund_only", "completed"),
    ],
)
@respx.mock
def test_status_type_and_order_status(
    adapter: TaobaoAdapter,
    clock: FakeClock,
    overrides: dict[str, Any],
    status: str,
    case_type: str,
    order_status: str,
) -> None:
    (case,) = _list(adapter, clock, [refund(**overrides)]).cases
    assert (case.status, case.type, case.order_status) == (status, case_type, order_status)


@respx.mock
def test_malformed_item_is_quarantined_and_the_page_proceeds(
    adapter: TaobaoAdapter, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    items = [refund(refund_id="1"), refund(refund_id="2", refund_fee="abc"), refund(refund_id="3")]
    with caplog.at_level(logging.DEBUG):
        page = _list(adapter, clock, items)
    assert [c.case_id for c in page.cases] == ["1", "3"]
    (bad,) = page.quarantined
    assert bad.case_id == "2"
    assert [p.field for p in bad.problems] == ["refund_fee"]
    assert "abc" in bad.summary()
    assert "buyer_nick" not in bad.raw
    assert len(page.raw) == 2


def _listed(total: int | None, *items: dict[str, Any]) -> httpx.Response:
    payload: dict[str, Any] = {"refunds": {"refund": list(items)}}
    payload.update({"has_next": False} if total is None else {"total_results": total})
    return ok("taobao.refunds.receive.get", payload)


@respx.mock
def test_paging_reads_the_last_page_first_and_drops_what_it_read(
    http: httpx.Client, clock: FakeClock
) -> None:
    """Page 1 with the total, then pages 3, 2, 1: cases read twice come back only once."""
    a, b, c, d, e = (refund(refund_id=i, modified="2026-11-12 09:40:00") for i in "abcde")
    route = respx.post(GATEWAY).mock(
        side_effect=[
            _listed(5, e, d),  # page 1 of 5 at page_size 2
            _listed(None, a),  # page 3
            _listed(None, c, b),  # page 2
            _listed(None, c, b),  # page 1 after d and e changed: b and c shifted up, read again
        ]
    )
    adapter = TaobaoAdapter(settings(page_size=2), http=http, clock=clock)
    window = SyncWindow(clock.now() - timedelta(hours=2), clock.now() + timedelta(seconds=1.5))
    ids: list[str] = []
    token: str | None = None
    sent: list[dict[str, str]] = []
    for _ in range(4):
        page = adapter.list_cases(window, token)
        sent.append(form(route.calls.last.request))
        ids += [case.case_id for case in page.cases]
        token = page.next_page
    assert token is None
    assert ids == ["e", "d", "a", "c", "b"]
    assert [s["page_no"] for s in sent] == ["1", "3", "2", "1"]
    assert [s["use_has_next"] for s in sent] == ["false", "true", "true", "true"]
    # the end is fixed for the pass, rounded down to a whole second that has begun
    assert {s["end_modified"] for s in sent} == {"2026-11-12 10:00:01"}
    with pytest.raises(InvalidRequestError):
        adapter.list_cases(window, "not-a-token")


@respx.mock
def test_one_page_window_is_one_call(adapter: TaobaoAdapter, clock: FakeClock) -> None:
    route = respx.post(GATEWAY).mock(return_value=_listed(1, refund()))
    page = adapter.list_cases(_window(clock))
    assert [c.case_id for c in page.cases] == ["900001"]
    assert page.next_page is None
    assert route.call_count == 1


@pytest.mark.parametrize("total", [None, "many", -1, True])
@respx.mock
def test_a_first_answer_without_a_count_is_malformed(
    adapter: TaobaoAdapter, clock: FakeClock, total: object
) -> None:
    payload: dict[str, Any] = {"has_next": True, "refunds": {"refund": [refund()]}}
    if total is not None:
        payload["total_results"] = total
    respx.post(GATEWAY).mock(return_value=ok("taobao.refunds.receive.get", payload))
    with pytest.raises(MalformedPayloadError, match="total_results"):
        adapter.list_cases(_window(clock))


@respx.mock
def test_get_case_assembles_deadline_trace_and_evidence(adapter: TaobaoAdapter) -> None:
    detail = refund(
        num_iid=600001,
        sid="YT9",
        company_name="YTO",
        status="WAIT_SELLER_CONFIRM_GOODS",
        cs_status=1,
        price="12345.60",
        refund_remind_timeout={
            "exist_timeout": True,
            "remind_type": 1,
            "timeout": "2026-11-13 09:00:00",
        },
    )
    messages = {
        "total_results": 2,
        "refund_messages": {
            "refund_message": [
                {
                    "id": 1,
                    "owner_role": 1,
                    "content": "see photo",
                    "pic_urls": {"pic_url": [{"url": "https://img.test/a.jpg"}]},
                },
                {
                    "id": 2,
                    "owner_role": 2,
                    "content": "ok",
                    "pic_urls": [{"url": "https://img.test/s.jpg"}],
                },
            ]
        },
    }
    trace = {
        "out_sid": "SF1",
        "company_name": "SF",
        "trace_list": {
            "transit_step_info": [
                {
                    "status_time": "2026-11-10 08:00:00",
                    "action": "TRANSPORT",
                    "status_desc": "运输中",
                },
                {"status_time": "2026-11-11 18:00:00", "action": "SIGNED", "status_desc": "已签收"},
            ]
        },
    }

    back = {
        "out_sid": "YT9",
        "company_name": "YTO",
        "trace_list": {
            "transit_step_info": [
                {
                    "status_time": "2026-11-12 08:00:00",
                    "action": "CONSIGN",
                    "status_desc": "已揽收",
                },
            ]
        },
    }

    def answer(request: httpx.Request) -> httpx.Response:
        sent = form(request)
        method = sent["method"]
        if method == "taobao.logistics.trace.search":
            return ok(method, back if sent.get("refund_id") == "900001" else trace)
        payload = {
            "taobao.refund.get": {"refund": detail},
            "taobao.refund.messages.get": messages,
            "taobao.item.seller.get": {"item": {"num_iid": 600001, "no_reason_7d": True}},
        }[method]
        return ok(method, payload)

    respx.post(GATEWAY).mock(side_effect=answer)
    case = adapter.get_case("900001")
    assert case.deadline_at is not None
    assert case.deadline_at.isoformat() == "2026-11-13T01:00:00+00:00"
    assert [e.url for e in case.evidence] == ["https://img.test/a.jpg"]
    assert case.logistics is not None
    assert case.logistics.status == "delivered"
    assert case.logistics.waybill == "SF1"
    assert case.delivered_at is not None
    assert case.delivered_at.isoformat() == "2026-11-11T10:00:00+00:00"
    assert case.order_status == "delivered"
    assert case.item.price == 1234560
    assert case.item.no_reason_eligible is True
    assert case.status == "awaiting_seller_receipt"
    assert case.return_logistics is not None
    assert (case.return_logistics.waybill, case.return_logistics.status) == ("YT9", "in_transit")


# ---- effects -----------------------------------------------------------------------------------


@respx.mock
def test_agree_refund_infos_taobao_and_tmall(
    adapter: TaobaoAdapter, tmall_adapter: TaobaoAdapter
) -> None:
    route = respx.post(GATEWAY).mock(return_value=ok("taobao.rp.refunds.agree", {"succ": True}))
    assert adapter.submit(AGREE).outcome is SubmitOutcome.applied
    assert form(route.calls[0].request)["refund_infos"] == "900001|1|1762911000000"
    confirm = effect(
        EffectKind.confirm_return_and_refund, params={"amount": 1234560, "verify_code": "8842"}
    )
    tmall_adapter.submit(confirm)
    sent = form(route.calls[1].request)
    assert sent["refund_infos"] == "900001|1234560|1762911000000|onsale"
    assert sent["code"] == "8842"


def test_tmall_writes_need_phase_and_money_needs_fen(tmall_adapter: TaobaoAdapter) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.post(GATEWAY)
        with pytest.raises(InvalidRequestError, match="refund_phase"):
            tmall_adapter.submit(
                effect(EffectKind.agree_refund, platform_fields={}, params={"amount": 1})
            )
        with pytest.raises(InvalidRequestError, match="fen"):
            tmall_adapter.submit(effect(EffectKind.agree_refund, params={"amount": "1.00"}))
        with pytest.raises(InvalidRequestError, match="proof_image"):
            tmall_adapter.submit(effect(EffectKind.refuse_refund, params={"message": "no"}))
        assert not route.called


@respx.mock
def test_agree_return_sends_address_and_shipping_payer(adapter: TaobaoAdapter) -> None:
    route = respx.post(GATEWAY).mock(
        return_value=ok("taobao.rp.returngoods.agree", {"is_success": True})
    )
    adapter.submit(effect(EffectKind.agree_return, params={"return_shipping_paid_by": "buyer"}))
    sent = form(route.calls.last.request)
    assert sent["method"] == "taobao.rp.returngoods.agree"
    assert (sent["refund_id"], sent["refund_version"]) == ("900001", "1762911000000")
    assert (sent["seller_address_id"], sent["post_fee_bear_role"]) == ("addr-1", "1")
    assert sent["name"] == "Shop Returns"
    assert sent["mobile"] == "13800000000"


@respx.mock
def test_refuse_is_multipart_with_the_proof_unsigned(tmall_adapter: TaobaoAdapter) -> None:
    route = respx.post(GATEWAY).mock(
        return_value=ok(
            "taobao.refund.refuse",
            {"is_success": True, "refund": {"refund_version": 1762911999999}},
        )
    )
    refuse = effect(
        EffectKind.refuse_refund,
        params={"message": "已签收，商品完好", "proof_image": PNG, "reason_id": "12"},
    )
    result = tmall_adapter.submit(refuse)
    assert result.new_version == "1762911999999"
    request = route.calls.last.request
    assert request.headers["content-type"].startswith("multipart/form-data")
    fields = _multipart_fields(request)
    assert fields["refuse_proof"] == PNG
    text = {k: v.decode() for k, v in fields.items() if k != "refuse_proof"}
    assert text["refund_phase"] == "onsale"
    assert text["refund_version"] == "1762911000000"
    assert text["refuse_message"] == "已签收，商品完好"
    assert text["sign"] == top_sign(text, APP_SECRET, "hmac-sha256")


def _multipart_fields(request: httpx.Request) -> dict[str, bytes]:
    from email.parser import BytesParser
    from email.policy import HTTP

    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + request.content)
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.iter_parts()
    }


@respx.mock
def test_message_buyer_rereads_so_a_resend_never_repeats(adapter: TaobaoAdapter) -> None:
    said: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["content-type"].startswith("multipart"):
            fields = _multipart_fields(request)
            said.append({"owner_role": 2, "content": fields["content"].decode()})
            return ok("taobao.refund.message.add", {"refund_message": {"id": 1}})
        return ok(
            "taobao.refund.messages.get",
            {"total_results": len(said), "refund_messages": {"refund_message": said}},
        )

    respx.post(GATEWAY).mock(side_effect=answer)
    message = effect(EffectKind.message_buyer, params={"content": "请修改退款类型", "image": PNG})
    assert adapter.submit(message).outcome is SubmitOutcome.applied
    assert adapter.submit(message).outcome is SubmitOutcome.already_done
    assert len(said) == 1


@respx.mock
def test_memo_goes_to_the_order(adapter: TaobaoAdapter) -> None:
    route = respx.post(GATEWAY).mock(return_value=ok("taobao.trade.memo.add", {"trade": {}}))
    adapter.submit(effect(EffectKind.write_order_memo, params={"memo": "after-sales refund 0.01"}))
    sent = form(route.calls.last.request)
    assert (sent["method"], sent["tid"]) == ("taobao.trade.memo.add", "700001")


@respx.mock
def test_memo_on_an_order_that_has_one_is_appended_once(adapter: TaobaoAdapter) -> None:
    memos = {"700001": "packed by Li"}

    def answer(request: httpx.Request) -> httpx.Response:
        sent = form(request)
        method = sent["method"]
        if method == "taobao.trade.memo.add":
            return error(15, "Remote service error", "isv.trade-memo-exist", "该订单已有备注")
        if method == "taobao.trade.get":
            return ok(method, {"trade": {"tid": 700001, "seller_memo": memos["700001"]}})
        assert method == "taobao.trade.memo.update"
        memos[sent["tid"]] = sent["memo"]
        return ok(method, {"trade": {"tid": 700001}})

    respx.post(GATEWAY).mock(side_effect=answer)
    memo = effect(EffectKind.write_order_memo, params={"memo": "after-sales refund 0.01"})
    assert adapter.submit(memo).outcome is SubmitOutcome.applied
    assert memos["700001"] == "packed by Li\nafter-sales refund 0.01"
    assert adapter.submit(memo).outcome is SubmitOutcome.already_done


def test_unsupported_effect_raises_before_any_http(adapter: TaobaoAdapter) -> None:
    with respx.mock(assert_all_called=False) as router:
        route = router.post(GATEWAY)
        with pytest.raises(UnsupportedEffectError):
            adapter.submit(effect(EffectKind.void_warehouse_order))
        assert not route.called


# ---- secrets -----------------------------------------------------------------------------------


@respx.mock
def test_secrets_never_in_repr_errors_or_logs(
    adapter: TaobaoAdapter, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    respx.post(GATEWAY).mock(
        side_effect=[
            error(27, "Invalid session", "invalid-sessionkey", f"session {SESSION} is not valid"),
            httpx.ReadTimeout("timed out"),
            error(41, "Invalid Arguments", "isv.invalid-parameter", f"bad {APP_SECRET}"),
        ]
    )
    texts = [
        repr(adapter.settings),
        str(adapter.settings),
        repr(adapter),
        repr(TaobaoAdapter.auth_for(adapter.settings)),
        repr(TopAuth(app_key="k", app_secret=APP_SECRET, session=SESSION)),
    ]
    with caplog.at_level(logging.DEBUG):
        for _ in range(3):
            with pytest.raises(AdapterError) as caught:
                adapter.list_cases(_window(clock))
            texts.append(str(caught.value))
            texts.append(repr(caught.value))
    texts.append(caplog.text)
    for text in texts:
        assert APP_SECRET not in text, text
        assert SESSION not in text, text
