"""Cancel-before-shipment refund applications (refundapply.*) of the JD fake over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from mock_jd_support import JD_START, JdFake, start_jd

from connector.clock import FakeClock

HOUR = 3600
PRE = {"order_status": "not_shipped", "reason": "out_of_stock"}


@pytest.fixture
def jd(clock: FakeClock) -> Iterator[JdFake]:
    yield from start_jd(clock)


def _vo(jd: JdFake, case_id: str) -> dict[str, object]:
    result = jd.jos.refund("queryById", id=int(case_id))
    assert result["success"] is True
    (vo,) = result["result"]
    return dict(vo)


def test_refund_apply_vo_shape_and_units(jd: JdFake) -> None:
    rid = jd.case(**PRE, paid_amount=4900, refund_amount=4500, buyer_name="张三", buyer_id="b-7")
    vo = _vo(jd, rid)
    assert vo["id"] == int(rid)
    assert (vo["status"], vo["applyRefundSum"], vo["partRefundType"]) == (0, 4500, 1)  # fen
    assert vo["applyTime"] == "2026-11-12 10:00:00"  # GMT+8 text
    assert vo["buyerName"] == "张三"  # personal data exists in the fake
    assert str(vo["open_id_buyer"]).startswith("o")
    assert "b-7" not in str(vo["open_id_buyer"])
    assert vo["reason"] == "商家缺货"
    assert not any("deadline" in k.lower() or "overtime" in k.lower() for k in vo)
    view = jd.view(rid)
    assert (view["family"], view["status"], view["version"]) == (
        "refund_apply",
        "awaiting_seller",
        "0",
    )
    assert view["deadline_at"] == (JD_START + timedelta(hours=48)).isoformat()
    assert view["buyer_open_uid"] == vo["open_id_buyer"]


@pytest.mark.parametrize(
    ("page", "ok"),
    [
        ({"pageIndex": 1, "pageSize": 50}, True),
        ({"pageIndex": 100, "pageSize": 1}, True),
        ({"pageIndex": 0, "pageSize": 10}, False),
        ({"pageIndex": 101, "pageSize": 10}, False),
        ({"pageIndex": 1, "pageSize": 51}, False),
        ({"pageIndex": 1, "pageSize": 0}, False),
        ({"pageSize": 10}, False),
        ({"pageIndex": 1}, False),
        ({"pageIndex": "x", "pageSize": 10}, False),
    ],
)
def test_query_page_list_paging_limits(jd: JdFake, page: dict[str, object], ok: bool) -> None:
    result = jd.jos.refund("queryPageList", **page)
    assert result["success"] is ok
    if not ok:
        assert result["errorCode"] == "10003"
        assert result["result"] == []
        assert result["totalCount"] == 0


def test_query_page_list_filters_and_order(jd: JdFake) -> None:
    t0 = JD_START - timedelta(hours=5)
    ids = jd.cases(
        *({**PRE, "created_at": (t0 + timedelta(hours=i)).isoformat()} for i in range(5)),
        {**PRE, "status": "refunded"},
    )
    pages = [jd.jos.refund("queryPageList", pageIndex=n, pageSize=2, status=0) for n in (1, 2, 3)]
    assert [p["totalCount"] for p in pages] == [5, 5, 5]
    listed = [vo["id"] for p in pages for vo in p["result"]]
    assert listed == [int(i) for i in reversed(ids[:5])]  # newest application first
    window = jd.jos.refund(
        "queryPageList",
        pageIndex=1,
        pageSize=50,
        applyTimeStart="2026-11-12 06:00:00",  # t0 + 1 h in GMT+8
        applyTimeEnd="2026-11-12 07:00:00",
    )
    assert [vo["id"] for vo in window["result"]] == [int(ids[2]), int(ids[1])]
    only = jd.jos.refund("queryPageList", pageIndex=1, pageSize=5, ids=f"{ids[0]},{ids[5]}")
    assert {vo["id"] for vo in only["result"]} == {int(ids[0]), int(ids[5])}
    too_many = jd.jos.refund("queryPageList", pageIndex=1, pageSize=1, ids=f"{ids[0]},{ids[5]}")
    assert too_many["success"] is False
    half = jd.jos.refund(
        "queryPageList", pageIndex=1, pageSize=5, applyTimeStart="2026-11-12 06:00:00"
    )
    assert half["success"] is False
    assert "applyTimeEnd" in half["errorMsg"]
    assert jd.jos.refund("getWaitRefundNum")["result"] == 5


def test_approve_then_finance_settles(jd: JdFake) -> None:
    rid = jd.case(**PRE, paid_amount=3000)
    reply = jd.jos.refund(
        "replyRefund", id=int(rid), status=1, checkUserName="客服A", remark="同意"
    )
    assert reply == {"success": True, "errorCode": None, "errorMsg": None}
    vo = _vo(jd, rid)
    assert (vo["status"], vo["checkUserName"], vo["checkRemark"]) == (1, "客服A", "同意")
    (entry,) = jd.ledger()
    assert (entry["effect"], entry["actor"], entry["amount"]) == ("agree_refund", "seller", 3000)
    assert (entry["version_before"], entry["version_after"]) == ("0", "1")
    assert jd.advance(300) == []  # settlement is not an auto-act for a missed deadline
    assert _vo(jd, rid)["status"] == 3
    settled = jd.ledger()[-1]
    assert (settled["effect"], settled["actor"], settled["amount"]) == (
        "refund_settled",
        "platform",
        None,
    )
    view = jd.view(rid)
    assert (view["status"], view["refunded_amount"], view["auto_acted"]) == (
        "refunded",
        3000,
        False,
    )


def test_reject_needs_type_and_remark(jd: JdFake) -> None:
    rid = jd.case(**PRE)
    base = {"id": int(rid), "status": 2, "checkUserName": "客服A"}
    no_type = jd.jos.refund("replyRefund", **base, remark="已发货")
    assert (no_type["success"], no_type["errorCode"]) == (False, "10003")
    no_remark = jd.jos.refund("replyRefund", **base, rejectType=1)
    assert no_remark["success"] is False
    assert "remark" in no_remark["errorMsg"]
    no_checker = jd.jos.refund("replyRefund", id=int(rid), status=2, rejectType=1, remark="x")
    assert "checkUserName" in no_checker["errorMsg"]
    bad_status = jd.jos.refund("replyRefund", **{**base, "status": 3}, remark="x")
    assert bad_status["success"] is False
    assert jd.ledger() == []
    ok = jd.jos.refund("replyRefund", **base, rejectType=1, remark="已发货在途")
    assert ok["success"] is True
    assert _vo(jd, rid)["status"] == 2
    assert jd.view(rid)["status"] == "refused"
    assert [e["effect"] for e in jd.ledger()] == ["refuse_refund"]


@pytest.mark.parametrize(("status", "remark"), [(6, "拦截"), (9, None)])
def test_intercept_and_force_close_refund(jd: JdFake, status: int, remark: str | None) -> None:
    rid = jd.case(**PRE, paid_amount=1200)
    business: dict[str, object] = {"id": int(rid), "status": status, "checkUserName": "客服A"}
    if remark:
        business["remark"] = remark
    assert jd.jos.refund("replyRefund", **business)["success"] is True
    assert _vo(jd, rid)["status"] == status
    assert jd.view(rid)["refunded_amount"] == 1200


def test_already_audited_answers_distinct_code(jd: JdFake) -> None:
    rid = jd.case(**PRE)
    reply = {"id": int(rid), "status": 1, "checkUserName": "客服A", "remark": "同意"}
    assert jd.jos.refund("replyRefund", **reply)["success"] is True
    again = jd.jos.refund("replyRefund", **reply)
    assert (again["success"], again["errorCode"]) == (False, "10002")
    assert "审核通过" in again["errorMsg"]
    refuse = jd.jos.refund("replyRefund", **{**reply, "status": 2, "rejectType": 5})
    assert refuse["errorCode"] == "10002"
    assert len(jd.ledger()) == 1
    missing = jd.jos.refund("replyRefund", **{**reply, "id": 424242})
    assert (missing["success"], missing["errorCode"]) == (False, "10001")
    assert jd.jos.refund("queryById", id=424242)["errorCode"] == "10001"


def test_logistics_follow_up_stays_open_with_the_same_deadline(jd: JdFake) -> None:
    rid = jd.case(**PRE, created_at=JD_START.isoformat())
    follow = {"id": int(rid), "status": 10, "checkUserName": "客服A", "remark": "物流拦截中"}
    assert jd.jos.refund("replyRefund", **follow)["success"] is True
    view = jd.view(rid)
    assert (view["status"], view["platform_status"]) == ("awaiting_seller", 10)
    assert view["deadline_at"] == (JD_START + timedelta(hours=48)).isoformat()
    assert jd.jos.refund("replyRefund", **follow)["errorCode"] == "10002"
    approve = {**follow, "status": 1}
    assert jd.jos.refund("replyRefund", **approve)["success"] is True


def test_audit_sla_auto_approves_at_the_deadline(jd: JdFake) -> None:
    rid = jd.case(**PRE, paid_amount=800, created_at=(JD_START - timedelta(hours=1)).isoformat())
    assert jd.advance(47 * HOUR - 1) == []
    (act,) = jd.advance(2)
    assert (act["effect"], act["actor"], act["amount"]) == ("agree_refund", "platform_auto", 800)
    assert act["at"] == (JD_START + timedelta(hours=47)).isoformat()
    vo = _vo(jd, rid)
    assert (vo["status"], vo["checkUserName"]) == (1, "系统自动审核")
    assert jd.view(rid)["auto_acted"] is True
    jd.advance(300)
    assert _vo(jd, rid)["status"] == 3


def test_deadline_s_and_lazy_timers(jd: JdFake) -> None:
    rid = jd.case(**PRE, deadline_s=120)
    jd.clock.advance(timedelta(seconds=121))  # behind the mock's back: the next call runs timers
    assert _vo(jd, rid)["status"] == 1


def test_buyer_cancel_and_meaningless_actions(jd: JdFake) -> None:
    rid = jd.case(**PRE)
    jd.control("POST", f"/buyer/{rid}", {"action": "add_evidence", "kind": "photo"}, status=400)
    jd.control(
        "POST",
        f"/buyer/{rid}",
        {"action": "ship_return", "waybill": "1", "carrier": "SF"},
        status=400,
    )
    view = jd.control("POST", f"/buyer/{rid}", {"action": "cancel"})
    assert (view["status"], view["version"]) == ("closed", "11")
    assert _vo(jd, rid)["status"] == 11
    assert jd.ledger()[-1]["effect"] == "buyer_cancel"
    jd.control("POST", f"/buyer/{rid}", {"action": "cancel"}, status=400)
    reply = jd.jos.refund("replyRefund", id=int(rid), status=1, checkUserName="a", remark="b")
    assert reply["errorCode"] == "10002"


def test_spec_checks_for_refund_applications(jd: JdFake) -> None:
    bad = [
        {**PRE, "status": "in_dispute"},
        {**PRE, "type": "return_and_refund"},
        {**PRE, "case_id": "abc"},
    ]
    for spec in bad:
        answer = jd.control(
            "POST", "/cases", {"cases": [{"shop_id": "jd-shop", **spec}]}, status=400
        )
        assert "cases[0]" in answer["error"]
    given = jd.case(**PRE, case_id="555")
    assert given == "555"
    jd.control(
        "POST", "/cases", {"cases": [{"shop_id": "jd-shop", **PRE, "case_id": "555"}]}, status=400
    )
