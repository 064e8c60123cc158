"""Platform timers, buyer actions, the fault plan, journals and scenarios of the Taobao fake."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import httpx
import pytest
from mock_taobao_support import START, Fake, Top

from connector.clock import FakeClock
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoMock, create_app

LIST = "taobao.refunds.receive.get"
AGREE = "taobao.rp.refunds.agree"
HOUR, DAY = 3600, 86400


def _version(fake: Fake, rid: str) -> int:
    refund = fake.taobao.ok("taobao.refund.get", fields="refund_version", refund_id=rid)["refund"]
    return int(refund["refund_version"])


def test_unshipped_refund_auto_agreed_at_the_deadline(fake: Fake) -> None:
    rid = fake.case(order_status="not_shipped", paid_amount=2000, created_at=START.isoformat())
    view = fake.view(rid)
    assert view["deadline_at"] == (START + timedelta(hours=24)).isoformat()
    answer = fake.control("POST", "/clock", {"advance_s": 24 * HOUR - 1})
    assert answer["auto_acts"] == []
    answer = fake.control("POST", "/clock", {"advance_s": 2})
    (act,) = answer["auto_acts"]
    assert act["actor"] == "platform_auto"
    assert (act["effect"], act["amount"], act["case_id"]) == ("agree_refund", 2000, rid)
    assert act["at"] == view["deadline_at"]
    view = fake.view(rid)
    assert (view["status"], view["auto_acted"], view["refunded_amount"]) == ("refunded", True, 2000)


def test_deadline_s_and_lazy_timers_on_gateway_calls(fake: Fake) -> None:
    rid = fake.case(order_status="shipped", reason="not_received", deadline_s=120)
    fake.clock.advance(121)  # moved behind the mock's back: the next gateway call runs timers
    refund = fake.taobao.ok(
        "taobao.refund.get", fields="status,refund_remind_timeout", refund_id=rid
    )["refund"]
    assert refund == {"status": "SUCCESS", "refund_remind_timeout": {"exist_timeout": False}}


def test_return_request_chain_of_timers(fake: Fake) -> None:
    rid = fake.case(
        type="return_and_refund", order_status="delivered", created_at=START.isoformat()
    )
    acts = fake.control("POST", "/clock", {"advance_s": 12 * DAY + 1})["auto_acts"]
    assert [(a["effect"], a["at"]) for a in acts] == [
        ("agree_return", (START + timedelta(days=5)).isoformat()),
        ("close_case", (START + timedelta(days=12)).isoformat()),
    ]
    assert fake.view(rid)["status"] == "closed"


def test_receipt_timeout_refunds_the_buyer(fake: Fake) -> None:
    rid = fake.case(
        type="return_and_refund",
        status="awaiting_seller_receipt",
        order_status="delivered",
        created_at=START.isoformat(),
        paid_amount=700,
    )
    acts = fake.control("POST", "/clock", {"advance_s": 10 * DAY})["auto_acts"]
    assert [(a["effect"], a["amount"]) for a in acts] == [("confirm_return_and_refund", 700)]
    assert fake.view(rid)["status"] == "refunded"


def test_refusal_then_escalation_and_dispute(fake: Fake) -> None:
    quiet = fake.case(order_status="delivered", reason="quality")
    loud = fake.case(order_status="delivered", reason="quality", dispute_outcome="buyer")
    for rid in (quiet, loud):
        fake.taobao.ok("taobao.refund.refuse", refund_id=rid, refuse_message="商品完好")
    view = fake.control("POST", f"/buyer/{loud}", {"action": "escalate"})
    assert view["status"] == "in_dispute"
    assert view["cs_status"] == 3
    acts = fake.control("POST", "/clock", {"advance_s": 5 * DAY})["auto_acts"]
    by_case = {a["case_id"]: a["effect"] for a in acts}
    assert by_case == {loud: "agree_refund", quiet: "close_case"}  # evidence 3 d, buyer 5 d


def test_buyer_actions(fake: Fake) -> None:
    rid = fake.case(order_status="delivered", reason="quality")
    v0 = _version(fake, rid)
    view = fake.control(
        "POST",
        f"/buyer/{rid}",
        {"action": "modify", "type": "return_and_refund", "reason": "damaged"},
    )
    assert (view["type"], view["reason"]) == ("return_and_refund", "damaged")
    assert int(view["version"]) > v0
    fake.control("POST", f"/buyer/{rid}", {"action": "add_evidence", "kind": "video"})
    messages = fake.taobao.ok("taobao.refund.messages.get", refund_id=rid, fields="pic_urls")
    urls = [
        p["url"]
        for m in messages["refund_messages"]["refund_message"]
        for p in m["pic_urls"]["pic_url"]
    ]
    assert urls[-1].endswith(".mp4")
    bad = fake.http.post(f"/__mock/buyer/{rid}", json={"action": "ship_return", "waybill": "X"})
    assert bad.status_code == 400
    assert "ship" in bad.json()["error"]
    assert fake.control("POST", f"/buyer/{rid}", {"action": "cancel"})["status"] == "closed"
    assert fake.http.post("/__mock/buyer/nope", json={"action": "cancel"}).status_code == 404
    effects = [(e["effect"], e["actor"]) for e in fake.ledger()]
    assert effects == [
        ("buyer_modify", "buyer"),
        ("buyer_add_evidence", "buyer"),
        ("buyer_cancel", "buyer"),
    ]


def _fault(fake: Fake, fault: dict[str, object], **match: str) -> None:
    fake.control("POST", "/faults", {"rules": [{"match": match, "fault": fault}]})


def test_fault_platform_error_and_http_status(fake: Fake) -> None:
    _fault(
        fake,
        {
            "kind": "platform_error",
            "code": 7,
            "sub_code": "accesscontrol.limited-by-app-api-access-count",
            "ban_s": 3,
        },
        method=LIST,
    )
    err = fake.taobao.error(LIST, fields="refund_id")
    assert (err["code"], err["sub_msg"]) == (7, "This ban will last for 3 more seconds")
    fake.taobao.ok(LIST, fields="refund_id")  # count 1: used up
    _fault(fake, {"kind": "http_status", "status": 502, "retry_after_s": 2})
    response = fake.taobao.raw(fake.taobao.params(LIST, fields="refund_id"))
    assert response.status_code == 502
    assert response.headers["retry-after"] == "2"


def test_fault_matching_by_shop_and_count(fake: Fake) -> None:
    fake.control(
        "POST",
        "/faults",
        {
            "rules": [
                {"match": {"shop": "tmall-shop"}, "count": 2, "fault": {"kind": "http_status"}}
            ]
        },
    )
    assert fake.taobao.raw(fake.taobao.params(LIST, fields="refund_id")).status_code == 200
    statuses = [
        fake.tmall.raw(fake.tmall.params(LIST, fields="refund_id")).status_code for _ in range(3)
    ]
    assert statuses == [502, 502, 200]
    bad = fake.http.post("/__mock/faults", json={"rules": [{"fault": {"kind": "meteor"}}]})
    assert bad.status_code == 400
    assert "kind" in bad.json()["error"]
    assert fake.control("DELETE", "/faults") == {"rules": 0}


def test_fault_latency_hang_reset_and_malformed(fake: Fake) -> None:
    _fault(fake, {"kind": "latency", "seconds": 0.2})
    fake.taobao.ok(LIST, fields="refund_id")
    last = fake.control("GET", "/requests")["requests"][-1]
    assert last["outcome"] == "fault:latency"
    assert last["ms"] >= 200
    _fault(fake, {"kind": "hang", "seconds": 2})
    with pytest.raises(httpx.ReadTimeout):
        fake.http.post(
            "/router/rest", data=fake.taobao.params(LIST, fields="refund_id"), timeout=0.3
        )
    _fault(fake, {"kind": "reset"})
    with pytest.raises(httpx.TransportError):
        fake.taobao.raw(fake.taobao.params(LIST, fields="refund_id"))
    _fault(fake, {"kind": "malformed_body"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(fake.taobao.raw(fake.taobao.params(LIST, fields="refund_id")).text)
    rid = fake.case()
    _fault(fake, {"kind": "malformed_item", "field": "refund_fee"})
    rows = fake.taobao.ok(LIST, fields="refund_id,refund_fee")["refunds"]["refund"]
    assert rows[0] == {"refund_id": rid, "refund_fee": "##broken##"}


def test_fault_apply_then_drop_and_change_before(fake: Fake) -> None:
    first = fake.case(order_status="shipped", paid_amount=100)
    second = fake.case(order_status="shipped", paid_amount=100)
    _fault(fake, {"kind": "apply_then_drop"}, method=AGREE)
    with pytest.raises(httpx.TransportError):
        fake.taobao.raw(fake.taobao.params(AGREE, refund_infos=f"{first}|100"))
    assert fake.view(first)["status"] == "refunded"  # applied although the answer was lost
    version = _version(fake, second)
    _fault(fake, {"kind": "change_before"}, method=AGREE)
    result = fake.taobao.ok(AGREE, refund_infos=f"{second}|100|{version}")
    assert result["results"]["refund_mapping_result"][0]["error_code"] == (
        "isv.invalid-parameter:refund_version"
    )
    effects = [(e["case_id"], e["effect"], e["actor"]) for e in fake.ledger()]
    assert effects == [(first, "agree_refund", "seller"), (second, "buyer_modify", "buyer")]


def test_journals_read_incrementally(fake: Fake) -> None:
    fake.taobao.ok(LIST, fields="refund_id")
    fake.taobao.error(LIST)
    answer = fake.control("GET", "/requests?since=0")
    outcomes = [r["outcome"] for r in answer["requests"]]
    assert outcomes == ["ok", "error:40"]
    assert answer["requests"][0]["method"] == LIST
    assert answer["requests"][0]["shop_id"] == "taobao-shop"
    assert fake.control("GET", f"/requests?since={answer['next']}")["requests"] == []
    rid = fake.case(order_status="shipped", paid_amount=300)
    fake.taobao.ok(AGREE, refund_infos=f"{rid}|300")
    (entry,) = fake.ledger()
    assert entry["request_id"] == fake.control("GET", "/requests")["requests"][-1]["request_id"]
    assert entry["platform"] == "taobao"
    assert int(entry["version_after"]) > int(entry["version_before"])
    assert fake.ledger(since=entry["seq"]) == []
    assert fake.control("POST", "/reset") == {}
    assert fake.control("GET", "/cases")["cases"] == []


def test_clock_endpoint(fake: Fake) -> None:
    assert fake.control("GET", "/clock") == {"now": START.isoformat(), "frozen": True}
    later = START + timedelta(hours=2)
    assert fake.control("POST", "/clock", {"set": later.isoformat()})["now"] == later.isoformat()
    assert fake.clock.now() == later  # the injected clock moved: one timeline
    assert fake.http.post("/__mock/clock", json={"frozen": False}).status_code == 400
    assert fake.http.post("/__mock/clock", json={"advance_s": -1}).status_code == 400


def test_scenario_is_deterministic_by_seed() -> None:
    def views(seed: int) -> list[dict[str, object]]:
        mock = TaobaoMock(clock=FakeClock(START))
        mock.add_scenario(
            {
                "seed": seed,
                "count": 300,
                "shops": ["s1", "s2"],
                "deadline_min_s": 120,
                "deadline_max_s": 300,
            }
        )
        return mock.case_views(None)

    first = views(7)
    assert first == views(7)
    assert first != views(8)
    assert {v["tmall"] for v in first if v["shop_id"] == "s2"} == {True}
    labels = {str(v["label"]).split(":")[0] for v in first}
    assert {"pre_shipment", "not_received", "no_reason", "awaiting_receipt"} <= labels
    deadlines = [v["deadline_at"] for v in first if v["status"] == "awaiting_seller"]
    assert deadlines
    assert all(d <= (START + timedelta(seconds=300)).isoformat() for d in deadlines)


@pytest.mark.slow
def test_background_timers_fire_on_wall_time() -> None:
    mock = TaobaoMock()  # own platform clock: wall time
    mock.add_cases([{"shop_id": "taobao-shop", "order_status": "not_shipped", "deadline_s": 0.2}])
    mock.start_background_timers(0.05)
    try:
        fired = threading.Event()
        for _ in range(100):
            if mock.ledger.since(0)[0]:
                fired.set()
                break
            fired.wait(0.05)
        assert fired.is_set()
        (entry,) = mock.ledger.since(0)[0]
        assert (entry["actor"], entry["effect"]) == ("platform_auto", "agree_refund")
    finally:
        mock.stop_background_timers()


def test_wall_clock_fake_serves_a_wall_clock_client() -> None:
    mock = TaobaoMock()
    with BackgroundServer(create_app(mock)) as url, httpx.Client(base_url=url) as http:
        from connector.clock import SystemClock

        top = Top(http, SystemClock(), "test-session")  # type: ignore[arg-type]
        assert "refunds_receive_get_response" in top.call(LIST, fields="refund_id")
        http.post("/__mock/clock", json={"advance_s": 3 * DAY})
        assert "refunds_receive_get_response" in top.call(LIST, fields="refund_id")


def test_fault_poison_item_poisons_the_named_case_on_every_listing(fake: Fake) -> None:
    bad, good = fake.case(), fake.case()
    fault = {"kind": "poison_item", "case": bad, "poison": "invalid_utf8"}
    fake.control(
        "POST", "/faults", {"rules": [{"match": {"method": LIST}, "count": -1, "fault": fault}]}
    )
    for _ in range(2):  # every listing holding it, not just the next call
        body = fake.taobao.raw(fake.taobao.params(LIST, fields="refund_id,reason")).content
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        assert f'"refund_id":"{bad}"'.encode() in body.replace(b" ", b"")
    fake.control("DELETE", "/faults")
    deep = {"kind": "poison_item", "case": bad, "poison": "deep_nesting", "depth": 5000}
    fake.control("POST", "/faults", {"rules": [{"match": {"method": LIST}, "fault": deep}]})
    body = fake.taobao.raw(fake.taobao.params(LIST, fields="refund_id,reason")).content
    assert b"[" * 5000 + b"]" * 5000 in body
    rows = fake.taobao.ok(LIST, fields="refund_id")["refunds"]["refund"]
    assert {r["refund_id"] for r in rows} == {bad, good}  # the rule was used up


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        ({"kind": "poison_item"}, "case must name"),
        ({"kind": "poison_item", "case": "1", "poison": "lava"}, "poison must be one of"),
    ],
)
def test_fault_poison_item_needs_a_case_and_a_known_poison(
    fake: Fake, fault: dict[str, object], problem: str
) -> None:
    response = fake.http.post("/__mock/faults", json={"rules": [{"fault": fault}]})
    assert response.status_code == 400
    assert problem in response.text
