"""JD fake: service-order timers, buyer actions, the fault plan, journals, scenarios, reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from mock_jd_support import JD_START, OPERATOR, REFUND_APPLY, JdFake, envelope_key, start_jd

from connector.clock import FakeClock

HOUR, DAY = 3600, 86400
RETURN = {"order_status": "delivered", "reason": "quality", "type": "return_and_refund"}
LIST = REFUND_APPLY + "queryPageList"
PAGE = {"pageIndex": 1, "pageSize": 10}
SYNC = "jingdong.asc.sync.list"


@pytest.fixture
def jd(clock: FakeClock) -> Iterator[JdFake]:
    yield from start_jd(clock)


def test_pending_audit_auto_approves_at_audit_overtime(jd: JdFake) -> None:
    sid = jd.case(**RETURN, created_at=JD_START.isoformat())
    refund_only = jd.case(
        order_status="delivered", reason="damaged", paid_amount=700, deadline_s=60
    )
    (first,) = jd.advance(61)
    assert (first["case_id"], first["effect"], first["amount"]) == (
        refund_only,
        "agree_refund",
        700,
    )
    assert first["at"] == (JD_START + timedelta(seconds=60)).isoformat()
    assert jd.advance(48 * HOUR - 62) == []
    (act,) = jd.advance(2)
    assert (act["effect"], act["actor"], act["case_id"]) == ("agree_return", "platform_auto", sid)
    assert act["at"] == (JD_START + timedelta(hours=48)).isoformat()
    brief = jd.service(sid)
    assert (brief["serviceStatus"], brief["approveName"]) == (31, "系统自动审核")
    assert jd.view(sid)["auto_acted"] is True


def test_chain_of_timers_buyer_never_ships(jd: JdFake) -> None:
    sid = jd.case(**RETURN, created_at=JD_START.isoformat())
    acts = jd.advance(9 * DAY + 1)
    assert [(a["effect"], a["at"]) for a in acts] == [
        ("agree_return", (JD_START + timedelta(days=2)).isoformat()),
        ("close_case", (JD_START + timedelta(days=9)).isoformat()),
    ]
    assert jd.view(sid)["status"] == "closed"


def test_receipt_timeout_refunds_and_timers_are_configurable(jd: JdFake) -> None:
    jd.control("POST", "/timers", {"seller_receipt": 3600})
    jd.control("POST", "/timers", {"nope": 1}, status=400)
    sid = jd.case(**RETURN, status="awaiting_seller_receipt", paid_amount=4900)
    (act,) = jd.advance(3600)
    assert (act["effect"], act["amount"]) == ("confirm_return_and_refund", 4900)
    assert jd.view(sid)["status"] == "refunded"


def test_same_step_change_keeps_the_deadline(jd: JdFake) -> None:
    sid = jd.case(**RETURN, deadline_s=600)
    deadline = jd.view(sid)["deadline_at"]
    jd.advance(100)
    jd.control("POST", f"/buyer/{sid}", {"action": "add_evidence", "kind": "video"})
    assert jd.view(sid)["deadline_at"] == deadline
    assert jd.view(sid)["version"] == "2"
    assert jd.service(sid)["questionPic"].endswith(".mp4")
    (act,) = jd.advance(500)
    assert act["at"] == deadline


def test_escalation_and_dispute_outcomes(jd: JdFake) -> None:
    seller_wins, buyer_wins = jd.cases(
        RETURN, {**RETURN, "type": "refund_only", "paid_amount": 300}
    )
    for sid in (seller_wins, buyer_wins):
        jd.write("audit.refuse", sid, approveNotes="不同意", questionTypeCid1=9)
    jd.control("POST", f"/buyer/{seller_wins}", {"action": "escalate"})
    view = jd.control("POST", f"/buyer/{buyer_wins}", {"action": "escalate", "outcome": "buyer"})
    assert (view["status"], view["platform_status"]) == ("in_dispute", 60)
    acts = jd.advance(3 * DAY)
    assert sorted((a["case_id"], a["effect"]) for a in acts) == sorted(
        [(seller_wins, "close_case"), (buyer_wins, "agree_refund")]
    )
    assert jd.view(buyer_wins)["refunded_amount"] == 300


def test_decide_dispute_now_and_buyer_modify(jd: JdFake) -> None:
    sid = jd.case(**RETURN, status="in_dispute")
    jd.control("POST", f"/buyer/{sid}", {"action": "decide_dispute", "outcome": "buyer"})
    assert jd.service(sid)["serviceStatus"] == 31  # JD sides with the buyer: return goes ahead
    other = jd.case(**RETURN)
    modified = jd.control(
        "POST", f"/buyer/{other}", {"action": "modify", "type": "exchange", "reason": "damaged"}
    )
    assert (modified["type"], modified["reason"], modified["version"]) == (
        "exchange",
        "damaged",
        "2",
    )
    assert jd.service(other)["customerExpect"] == 20
    jd.control("POST", f"/buyer/{other}", {"action": "modify", "type": "teleport"}, status=400)
    jd.control("POST", f"/buyer/{other}", {"action": "ship_return"}, status=400)
    jd.control("POST", f"/buyer/{other}", {"action": "fly"}, status=400)
    jd.control("POST", "/buyer/424242", {"action": "cancel"}, status=404)


def test_buyer_cancel_and_parcels(jd: JdFake) -> None:
    sid = jd.case(**RETURN)
    jd.write("audit.send", sid)
    jd.control(
        "POST", f"/buyer/{sid}", {"action": "ship_return", "waybill": "JD9", "carrier": "JD"}
    )
    jd.control("POST", f"/buyer/{sid}", {"action": "return_delivered"})
    assert jd.jos.asc("freight.view", serviceId=int(sid))["data"]["signState"] == 1
    view = jd.control("POST", f"/buyer/{sid}", {"action": "parcel", "status": "lost"})
    assert view["logistics_status"] == "lost"
    jd.control("POST", f"/buyer/{sid}", {"action": "cancel"}, status=400)  # goods on the way back
    fresh = jd.case(**RETURN)
    assert jd.control("POST", f"/buyer/{fresh}", {"action": "cancel"})["status"] == "closed"
    effects = [e["effect"] for e in jd.ledger() if e["actor"] == "buyer"]
    assert effects == ["buyer_ship_return", "buyer_cancel"]


def test_platform_error_fault_in_jd_shape(jd: JdFake) -> None:
    jd.control(
        "POST",
        "/faults",
        {
            "rules": [
                {
                    "match": {"method": LIST},
                    "fault": {"kind": "platform_error", "code": "2", "ban_s": 3},
                }
            ]
        },
    )
    error = jd.jos.error(LIST, PAGE)
    assert error["code"] == "2"
    assert error["en_desc"] == "App Call Limited, retry after 3 seconds"
    assert jd.jos.ok(LIST, PAGE)
    jd.control(
        "POST",
        "/faults",
        {"rules": [{"fault": {"kind": "platform_error", "code": "67", "msg": "维护中"}}]},
    )
    assert jd.jos.error(LIST, PAGE) == {
        "code": "67",
        "zh_desc": "维护中",
        "en_desc": "Service Unavailable",
    }


def test_transport_faults(jd: JdFake) -> None:
    rules = [
        {"fault": {"kind": "http_status", "status": 502, "retry_after_s": 2}},
        {"fault": {"kind": "reset"}},
        {"fault": {"kind": "malformed_body"}},
        {"fault": {"kind": "latency", "seconds": 0.05}},
    ]
    jd.control("POST", "/faults", {"rules": rules})
    response = jd.jos.raw(jd.jos.params(LIST, PAGE))
    assert (response.status_code, response.headers["Retry-After"]) == (502, "2")
    with pytest.raises(httpx.TransportError):
        jd.jos.raw(jd.jos.params(LIST, PAGE))
    text = jd.jos.raw(jd.jos.params(LIST, PAGE)).text
    assert text.startswith('{"' + envelope_key(LIST))
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert jd.jos.ok(LIST, PAGE)  # latency, then a normal answer
    outcomes = [r["outcome"] for r in jd.control("GET", "/requests")["requests"]]
    assert outcomes == ["fault:http_status", "fault:reset", "fault:malformed_body", "fault:latency"]


def test_hang_is_not_applied(jd: JdFake) -> None:
    rid = jd.case(order_status="not_shipped")
    jd.control("POST", "/faults", {"rules": [{"fault": {"kind": "hang", "seconds": 0.3}}]})
    params = jd.jos.params(
        REFUND_APPLY + "replyRefund",
        {"id": int(rid), "status": 1, "checkUserName": "a", "remark": "b"},
    )
    assert jd.jos.raw(params).status_code == 504
    assert jd.ledger() == []


def test_apply_then_drop_and_resend(jd: JdFake) -> None:
    sid = jd.case(**RETURN)
    current = jd.service(sid)
    jd.control(
        "POST",
        "/faults",
        {
            "rules": [
                {
                    "match": {"method": "jingdong.asc.audit.send"},
                    "fault": {"kind": "apply_then_drop"},
                }
            ]
        },
    )
    business = {**OPERATOR, "serviceId": int(sid), "orderId": current["orderId"], "sysVersion": 1}
    with pytest.raises(httpx.TransportError):
        jd.jos.raw(jd.jos.params("jingdong.asc.audit.send", business))
    resend = jd.jos.ok("jingdong.asc.audit.send", business)["result"]
    assert resend["code"] == "40006"
    assert [e["effect"] for e in jd.ledger()] == ["agree_return"]


def test_malformed_item_breaks_one_row(jd: JdFake) -> None:
    jd.cases(RETURN, RETURN)
    jd.cases({"order_status": "not_shipped"})
    jd.control(
        "POST",
        "/faults",
        {
            "rules": [
                {"match": {"method": SYNC}, "fault": {"kind": "malformed_item"}},
                {"match": {"method": LIST}, "fault": {"kind": "malformed_item"}},
            ]
        },
    )
    window = {
        "updateTimeBegin": 0,
        "updateTimeEnd": int((JD_START + timedelta(hours=1)).timestamp() * 1000),
    }
    rows = jd.jos.asc("sync.list", **window)["data"]
    assert [r["actualPayPrice"] for r in rows] == ["##broken##", 99.0]
    vos = jd.jos.refund("queryPageList", **PAGE)["result"]
    assert vos[0]["applyRefundSum"] == "##broken##"
    jd.control(
        "POST", "/faults", {"rules": [{"fault": {"kind": "malformed_item", "field": "serviceId"}}]}
    )
    assert (
        jd.jos.asc("query.view", serviceId=int(rows[1]["serviceId"]))["data"]["serviceId"]
        == "##broken##"
    )


def test_change_before_moves_the_version_first(jd: JdFake) -> None:
    sid = jd.case(**RETURN)
    rid = jd.case(order_status="not_shipped")
    writes = ["jingdong.asc.audit.send", REFUND_APPLY + "replyRefund"]
    rules = [{"match": {"method": m}, "fault": {"kind": "change_before"}} for m in writes]
    jd.control("POST", "/faults", {"rules": rules})
    stale = jd.write("audit.send", sid)  # read at sysVersion 1; the buyer edits just before
    assert (stale["success"], stale["code"]) == (False, "40005")
    assert jd.service(sid)["sysVersion"] == 2
    reply = jd.jos.refund("replyRefund", id=int(rid), status=1, checkUserName="a", remark="b")
    assert (reply["success"], reply["errorCode"]) == (False, "10002")  # the buyer cancelled first
    assert [e["effect"] for e in jd.ledger()] == ["buyer_modify", "buyer_cancel"]


def test_fault_matching_by_shop_and_count(jd: JdFake) -> None:
    jd.control(
        "POST",
        "/faults",
        {
            "rules": [
                {"match": {"shop": "other"}, "fault": {"kind": "platform_error", "code": "67"}}
            ]
        },
    )
    assert jd.jos.ok(LIST, PAGE)
    jd.control("DELETE", "/faults")
    jd.control(
        "POST",
        "/faults",
        {"rules": [{"count": -1, "fault": {"kind": "platform_error", "code": "67"}}]},
    )
    assert all(jd.jos.error(LIST, PAGE)["code"] == "67" for _ in range(3))
    assert jd.control("DELETE", "/faults") == {"rules": 0}
    jd.control("POST", "/faults", {"rules": [{"fault": {"kind": "boom"}}]}, status=400)


def test_ledger_since_and_reset(jd: JdFake) -> None:
    a, b = jd.cases({"order_status": "not_shipped"}, {"order_status": "not_shipped"})
    jd.control("POST", f"/buyer/{a}", {"action": "cancel"})
    first = jd.control("GET", "/ledger")
    jd.control("POST", f"/buyer/{b}", {"action": "cancel"})
    later = jd.control("GET", f"/ledger?since={first['next']}")
    assert [e["case_id"] for e in later["entries"]] == [b]
    entry = later["entries"][0]
    assert entry["platform"] == "jd"
    assert entry["shop_id"] == "jd-shop"
    assert jd.control("POST", "/reset") == {}
    assert jd.control("GET", "/cases")["cases"] == []
    assert jd.control("GET", "/ledger")["entries"] == []


def test_scenario_is_deterministic_and_mixes_both_families(clock: FakeClock) -> None:
    runs = []
    for _ in range(2):
        for fake in start_jd(clock):
            answer = fake.control(
                "POST", "/scenario", {"seed": 11, "count": 60, "shops": ["jd-shop", "jd-b"]}
            )
            views = fake.control("GET", "/cases")["cases"]
            runs.append(
                (
                    answer["case_ids"],
                    [(v["family"], v["type"], v["status"], v["paid_amount"]) for v in views],
                )
            )
    assert runs[0] == runs[1]
    ids, views = runs[0]
    assert len(ids) >= 60  # two-unit orders make two service orders
    families = {v[0] for v in views}
    assert families == {"refund_apply", "service_order"}
    assert {v[1] for v in views if v[0] == "service_order"} >= {"refund_only", "return_and_refund"}


def test_scenario_shop_gets_a_token(jd: JdFake) -> None:
    jd.control("POST", "/scenario", {"seed": 1, "count": 5, "shops": ["jd-new"]})
    shop = next(s for s in jd.control("GET", "/shops")["shops"] if s["shop_id"] == "jd-new")
    assert shop["access_token"] == "jd-test-token-jd-new"
    assert len(jd.control("GET", "/cases?shop=jd-new")["cases"]) >= 5


def test_a_few_thousand_cases_page_consistently(jd: JdFake) -> None:
    """Speed is a benchmark's business; here a large backlog must page without gaps."""
    jd.control("POST", "/scenario", {"seed": 3, "count": 3000})
    window = {
        "updateTimeBegin": 0,
        "updateTimeEnd": int((JD_START + timedelta(days=1)).timestamp() * 1000),
    }
    first = jd.jos.asc("sync.list", pageNumber=1, pageSize=50, **window)
    assert first["success"] is True
    total = int(first["totalCount"])
    assert total > 1000
    seen: set[int] = set()
    for page in range(1, total // 50 + 2):
        rows = jd.jos.asc("sync.list", pageNumber=page, pageSize=50, **window)["data"]
        seen.update(int(r["serviceId"]) for r in rows)
    assert len(seen) == total
