"""After-sale service orders (jingdong.asc.*) of the JD fake over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from mock_jd_support import JD_START, OPERATOR, JdFake, start_jd

from connector.clock import FakeClock

AFTER = {"order_status": "delivered", "reason": "quality"}
RETURN = {**AFTER, "type": "return_and_refund"}
MS = 1000


@pytest.fixture
def jd(clock: FakeClock) -> Iterator[JdFake]:
    yield from start_jd(clock)


def _ms(delta: timedelta = timedelta(0)) -> int:
    return int((JD_START + delta).timestamp() * MS)


def test_one_service_order_per_unit_and_brief_fields(jd: JdFake) -> None:
    ids = jd.cases(
        {
            **RETURN,
            "paid_amount": 10001,
            "item": {"quantity": 2, "price": 5000},
            "buyer_name": "李四",
        }
    )
    assert len(ids) == 2
    first, second = (jd.service(i) for i in ids)
    assert first["applyId"] == second["applyId"]
    assert (first["actualPayPrice"], second["actualPayPrice"]) == (50.01, 50.0)  # yuan numbers
    assert (first["customerExpect"], first["customerExpectName"]) == (10, "退货")
    assert (first["serviceStatus"], first["serviceStatusName"], first["sysVersion"]) == (
        10,
        "待审核",
        1,
    )
    assert first["applyTime"] == _ms()
    assert first["customerName"] == "李四"
    assert first["pickwareAddress"]
    assert first["oaid"].startswith("o")
    assert first["oaid"] == jd.view(ids[0])["buyer_open_uid"]
    assert first["questionTypeCid2Name"] == "商品质量问题"


@pytest.mark.parametrize(
    ("kind", "expect"),
    [("refund_only", 11), ("return_and_refund", 10), ("exchange", 20), ("repair", 30)],
)
def test_case_types_map_to_customer_expect(jd: JdFake, kind: str, expect: int) -> None:
    sid = jd.case(**AFTER, type=kind)
    assert jd.service(sid)["customerExpect"] == expect
    assert jd.view(sid)["type"] == kind


@pytest.mark.parametrize("name", ["audit.list", "query.list", "receive.list", "log.list"])
def test_list_paging_limits(jd: JdFake, name: str) -> None:
    sid = int(jd.case(**RETURN))
    for page, ok in [
        ({"pageNumber": 1, "pageSize": 50}, True),
        ({}, True),
        ({"pageNumber": 0, "pageSize": 10}, False),
        ({"pageNumber": 1, "pageSize": 51}, False),
        ({"pageNumber": 1, "pageSize": 0}, False),
    ]:
        result = jd.jos.asc(name, serviceId=sid, **page)
        assert result["success"] is ok, (page, result)
        if not ok:
            assert (result["code"], result["data"]) == ("40008", [])
        else:
            assert result["code"] == "00000"


def test_operator_fields_required_on_every_call(jd: JdFake) -> None:
    sid = int(jd.case(**RETURN))
    for field in ("buId", "operatePin", "operateNick"):
        business = {k: v for k, v in OPERATOR.items() if k != field}
        inner = jd.jos.ok("jingdong.asc.query.view", {**business, "serviceId": sid})
        assert inner["result"]["success"] is False
        assert inner["result"]["code"] == "40002"
        assert field in inner["result"]["msg"]
        write = jd.jos.ok(
            "jingdong.asc.audit.send", {**business, "serviceId": sid, "orderId": 1, "sysVersion": 1}
        )
        assert write["result"]["code"] == "40002"
    wrong_bu = jd.jos.ok("jingdong.asc.audit.list", {**OPERATOR, "buId": "99999"})
    assert (wrong_bu["pageResult"]["success"], wrong_bu["pageResult"]["code"]) == (False, "40003")
    assert jd.ledger() == []


def test_sync_list_is_incremental_by_update_time(jd: JdFake) -> None:
    a, b, c = jd.cases(RETURN, RETURN, RETURN)
    jd.advance(10)
    jd.control("POST", f"/buyer/{b}", {"action": "add_evidence", "kind": "photo"})
    window = {
        "updateTimeBegin": _ms(timedelta(seconds=5)),
        "updateTimeEnd": _ms(timedelta(seconds=20)),
    }
    rows = jd.jos.asc("sync.list", **window)["data"]
    assert [r["serviceId"] for r in rows] == [int(b)]
    assert rows[0]["sysVersion"] == 2
    everything = jd.jos.asc(
        "sync.list", updateTimeBegin=_ms(), updateTimeEnd=_ms(timedelta(seconds=20))
    )
    assert [r["serviceId"] for r in everything["data"]] == [
        int(a),
        int(c),
        int(b),
    ]  # oldest change first
    text = jd.jos.asc(
        "sync.list", updateTimeBegin="2026-11-12 10:00:00", updateTimeEnd="2026-11-12 10:00:05"
    )
    assert {r["serviceId"] for r in text["data"]} == {int(a), int(c)}
    half = jd.jos.asc("sync.list", updateTimeBegin=_ms())
    assert (half["success"], half["code"]) == (False, "40001")
    assert "updateTimeEnd" in half["msg"]
    assert jd.jos.asc("sync.list")["success"] is False


def test_audit_list_carries_the_deadline_and_timeout_flag(jd: JdFake) -> None:
    urgent = jd.case(**RETURN, deadline_s=3 * 3600)
    calm = jd.case(**RETURN, created_at=JD_START.isoformat())
    rows = jd.jos.asc("audit.list")["data"]
    assert [r["serviceIdList"] for r in rows] == [[int(urgent)], [int(calm)]]  # most urgent first
    assert rows[0]["auditOvertime"] == _ms(timedelta(hours=3))
    assert rows[0]["timeoutFlag"] == 1
    assert rows[1]["auditOvertime"] == _ms(timedelta(hours=48))
    assert rows[1]["timeoutFlag"] == 0
    flagged = jd.jos.asc("audit.list", timeoutFlag=1)["data"]
    assert [r["serviceIdList"] for r in flagged] == [[int(urgent)]]
    assert jd.view(calm)["audit_overtime"] == (JD_START + timedelta(hours=48)).isoformat()


def test_stale_sys_version_and_already_in_target_state(jd: JdFake) -> None:
    sid = jd.case(**RETURN)
    order_id = jd.service(sid)["orderId"]
    jd.control("POST", f"/buyer/{sid}", {"action": "add_evidence", "kind": "photo"})
    stale = jd.jos.asc("audit.send", serviceId=int(sid), orderId=order_id, sysVersion=1)
    assert stale == {"success": False, "code": "40005", "msg": "服务单版本号不一致", "data": None}
    done = jd.write("audit.send", sid)
    assert done["success"] is True
    assert done["data"]["sysVersion"] == 3
    again = jd.jos.asc("audit.send", serviceId=int(sid), orderId=order_id, sysVersion=2)
    assert (again["success"], again["code"]) == (False, "40006")  # checked before the version
    other_way = jd.write("audit.homepick", sid)
    assert other_way["code"] == "40006"
    refuse = jd.write("audit.refuse", sid, approveNotes="no", questionTypeCid1=1)
    assert refuse["code"] == "40007"
    seller = [e for e in jd.ledger() if e["actor"] == "seller"]
    assert [(e["effect"], e["key"], e["version_after"]) for e in seller] == [
        ("agree_return", "sysVersion:2", "3")
    ]


def test_write_parameter_checks(jd: JdFake) -> None:
    sid = jd.case(**RETURN)
    no_version = jd.jos.asc("audit.send", serviceId=int(sid), orderId=jd.service(sid)["orderId"])
    assert no_version["code"] == "40001"
    assert "sysVersion" in no_version["msg"]
    no_notes = jd.write("audit.refuse", sid, questionTypeCid1=1)
    assert no_notes["code"] == "40001"
    assert "approveNotes" in no_notes["msg"]
    no_cid = jd.write("audit.refuse", sid, approveNotes="x")
    assert "questionTypeCid1" in no_cid["msg"]
    wrong_order = jd.jos.asc("query.view", serviceId=int(sid), orderId=1)
    assert wrong_order["code"] == "40004"
    assert jd.jos.asc("query.view", serviceId=424242)["code"] == "40004"


def test_return_flow_to_refund(jd: JdFake) -> None:
    sid = jd.case(**RETURN, paid_amount=15900)
    assert jd.write("audit.send", sid, approveNotes="请寄回")["data"]["serviceStatus"] == 31
    assert jd.view(sid)["status"] == "awaiting_buyer_return"
    jd.control(
        "POST", f"/buyer/{sid}", {"action": "ship_return", "waybill": "SF123", "carrier": "SF"}
    )
    freight = jd.jos.asc("freight.view", serviceId=int(sid))["data"]
    assert (freight["expressCode"], freight["signState"]) == ("SF123", 0)
    receiving = jd.jos.asc("receive.list")["data"]
    assert [r["serviceId"] for r in receiving] == [int(sid)]
    assert receiving[0]["receiveOvertime"] == _ms(timedelta(days=10))
    assert jd.write("receive.register", sid, qualityState=1)["data"]["serviceStatus"] == 50
    assert jd.view(sid)["status"] == "awaiting_seller_receipt"
    closed = jd.write("process.close", sid)
    assert closed["data"]["serviceStatus"] == 70
    assert jd.write("process.close", sid)["code"] == "40006"
    refunds = jd.jos.asc("serviceAndRefund.view", orderId=jd.service(sid)["orderId"])["data"]
    assert [(r["status"], r["refoundAmount"]) for r in refunds] == [(13, 159.0)]
    assert refunds[0]["sameOrderServiceBill"]["serviceId"] == int(sid)
    effects = [e["effect"] for e in jd.ledger() if e["actor"] == "seller"]
    assert effects == ["agree_return", "register_receipt", "confirm_return_and_refund"]
    view = jd.view(sid)
    assert (view["status"], view["refunded_amount"]) == ("refunded", 15900)
    logs = jd.jos.asc("log.list", serviceId=int(sid))["data"]
    assert len(logs) == 5
    assert logs[0]["operateRemark"] == "客户提交服务单申请"


def test_process_close_straight_from_awaiting_receipt(jd: JdFake) -> None:
    sid = jd.case(**RETURN, status="awaiting_seller_receipt", return_logistics_status="delivered")
    assert jd.jos.asc("freight.view", serviceId=int(sid))["data"]["signState"] == 1
    jd.write("process.close", sid)
    assert [e["effect"] for e in jd.ledger()] == ["confirm_return_and_refund"]


def test_refund_only_is_processed_without_a_return(jd: JdFake) -> None:
    sid = jd.case(
        order_status="delivered",
        paid_amount=1_234_560,
        refund_amount=1,
        reason="other",
        reason_text="包装上有只猫",
    )
    brief = jd.service(sid)
    assert (brief["refundAmount"], brief["actualPayPrice"]) == (0.01, 12345.6)
    assert (brief["questionTypeCid2Name"], brief["questionDesc"]) == ("其他原因", "包装上有只猫")
    assert jd.write("audit.send", sid)["code"] == "40007"
    jd.write("process.close", sid)
    (entry,) = jd.ledger()
    assert (entry["effect"], entry["amount"]) == ("agree_refund", 1)
    assert jd.view(sid)["status"] == "refunded"


def test_exchange_completes_without_money(jd: JdFake) -> None:
    sid = jd.case(**AFTER, type="exchange")
    jd.write("audit.delivery", sid)
    jd.write("receive.register", sid, qualityState=3)
    assert jd.service(sid)["serviceStatus"] == 50
    jd.write("process.close", sid)
    assert jd.service(sid)["processResultName"] == "换良"
    view = jd.view(sid)
    assert (view["status"], view["refunded_amount"]) == ("closed", 0)
    assert jd.ledger()[-1]["effect"] == "complete_service"


def test_refuse_and_seller_cancel(jd: JdFake) -> None:
    refused, cancelled = jd.cases(RETURN, RETURN)
    jd.write("audit.refuse", refused, approveNotes="商品已使用", questionTypeCid1=2)
    brief = jd.service(refused)
    assert (brief["serviceStatus"], brief["approveResult"]) == (20, 0)
    assert jd.view(refused)["status"] == "refused"
    assert (
        jd.write("common.cancel", cancelled, approveNotes="客户要求")["data"]["serviceStatus"] == 80
    )
    assert jd.write("common.cancel", cancelled, approveNotes="again")["code"] == "40006"
    assert [e["effect"] for e in jd.ledger()] == ["refuse_refund", "cancel_service"]


def test_query_list_filters(jd: JdFake) -> None:
    a, b = jd.cases(RETURN, {**AFTER, "type": "exchange"})
    assert jd.jos.asc("query.list", customerExpect=20)["data"][0]["serviceId"] == int(b)
    assert jd.jos.asc("query.list", serviceStatus=10)["totalCount"] == 2
    jd.write("audit.send", a)
    assert [r["serviceId"] for r in jd.jos.asc("query.list", serviceStatus=31)["data"]] == [int(a)]
    window = jd.jos.asc(
        "serviceAndRefund.view", applyTimeBegin=_ms(-timedelta(days=8)), applyTimeEnd=_ms()
    )
    assert (window["success"], window["code"]) == (False, "40001")
    assert jd.jos.asc("serviceAndRefund.view")["success"] is False
