"""The Taobao adapter brings the desk the refund's chat record and each parcel's trace steps
(issue 19, point 6), from the wire shapes the fake sends (mocks/taobao/render.py, api.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import respx
from taobao_helpers import GATEWAY, form, ok, refund

from adapters.taobao import TaobaoAdapter
from adapters.taobao.mapping import MESSAGE_FIELDS, messages_to_chat
from adapters.taobao.trace import MAX_TRACE_STEPS, trace_to_logistics
from connector.facts import ALL_FACTS, Fact
from connector.models import ChatRole
from connector.payload_caps import RAW_CAP_BYTES, TEXT_CAP_BYTES
from connector.privacy import REDACTED
from mocks.taobao.records import Message
from mocks.taobao.render import MESSAGE_FIELDS as FAKE_MESSAGE_FIELDS
from mocks.taobao.render import pick

AT = datetime(2026, 11, 12, 1, 0, tzinfo=UTC)  # 09:00 in Beijing


def _wire(role: int, content: str, minute: int, pics: tuple[str, ...] = ()) -> dict[str, Any]:
    """A message exactly as the fake renders it for the fields the adapter asks for."""
    message = Message(
        id=minute, refund_id="900001", owner_role=role, owner_nick="tb_buyer_nick",
        owner_open_uid="AAH-open-uid", content=content,
        created=AT.replace(minute=minute), refund_phase="onsale", pic_urls=list(pics),
    )
    return pick(message, list(MESSAGE_FIELDS), FAKE_MESSAGE_FIELDS)


def test_messages_become_a_masked_chat_record_oldest_first() -> None:
    wire = [
        _wire(2, "亲，已经帮您查过了", 30),
        _wire(1, "还没收到，收件人：王小明 电话 13912345678 微信 wx_abc123", 5,
              ("https://img.mock.taobao/evidence/900001-1.jpg",)),
        _wire(3, "平台已介入，请双方提供凭证", 45),
    ]
    chat = messages_to_chat(wire)
    assert [m.role for m in chat] == [ChatRole.buyer, ChatRole.seller, ChatRole.platform]
    buyer = chat[0]
    assert buyer.at == AT.replace(minute=5)  # "2026-11-12 09:05:00" read as Beijing time
    assert buyer.pictures == 1
    assert buyer.text.startswith("还没收到")
    for private in ("王小明", "13912345678", "wx_abc123"):
        assert private not in buyer.text
    assert REDACTED in buyer.text
    assert chat[1].text == "亲，已经帮您查过了"
    dumped = str([m.model_dump() for m in chat])
    assert "tb_buyer_nick" not in dumped  # never the sender's nick or open uid
    assert "AAH-open-uid" not in dumped


def test_a_huge_message_is_capped_and_odd_messages_are_kept_with_what_can_be_read() -> None:
    huge = _wire(1, "长" * 20_000, 1)
    odd = {"owner_role": 9, "content": "??", "created": "not a time"}
    chat = messages_to_chat([huge, odd, "not an object"])
    assert len(chat) == 2
    by_role = {m.role: m for m in chat}
    assert len(by_role[ChatRole.buyer].text.encode()) < TEXT_CAP_BYTES + 200
    assert "truncated by refund-connector" in by_role[ChatRole.buyer].text
    assert by_role[ChatRole.platform].at is None


def test_each_trace_step_is_kept_with_its_beijing_time_and_words() -> None:
    body = {  # mocks/taobao/api.py logistics_trace_search
        "tid": 1001, "company_name": "圆通速递", "out_sid": "YT100", "status": "已签收",
        "trace_list": {"transit_step_info": [
            {"status_time": "2026-11-10 18:00:00", "status_desc": "【圆通速递】已揽收",
             "action": "CONSIGN"},
            {"status_time": "2026-11-11 14:20:00",
             "status_desc": "【圆通速递】已签收，签收人电话13812345678", "action": "SIGNED"},
        ]},
    }
    trace = trace_to_logistics(body)
    assert [(s.at, s.description) for s in trace.steps] == [
        (datetime(2026, 11, 10, 10, 0, tzinfo=UTC), "【圆通速递】已揽收"),
        (datetime(2026, 11, 11, 6, 20, tzinfo=UTC), f"【圆通速递】已签收，签收人电话{REDACTED}"),
    ]
    assert trace.logistics is not None
    assert trace.logistics.status == "delivered"


_TRACE = {
    "out_sid": "SF1", "company_name": "顺丰速运",
    "trace_list": {"transit_step_info": [
        {"status_time": "2026-11-10 08:00:00", "action": "CONSIGN", "status_desc": "已揽收"},
        {"status_time": "2026-11-11 18:00:00", "action": "SIGNED", "status_desc": "已签收"},
    ]},
}
_BACK = {
    "out_sid": "YT9", "company_name": "圆通速递",
    "trace_list": {"transit_step_info": [
        {"status_time": "2026-11-12 08:00:00", "action": "CONSIGN", "status_desc": "退货已揽收"},
    ]},
}


def _platform(request: httpx.Request) -> httpx.Response:
    sent = form(request)
    method = sent["method"]
    if method == "taobao.logistics.trace.search":
        return ok(method, _BACK if sent.get("refund_id") == "900001" else _TRACE)
    payload: dict[str, dict[str, Any]] = {
        "taobao.refund.get": {"refund": refund(sid="YT9", status="WAIT_SELLER_CONFIRM_GOODS")},
        "taobao.refund.messages.get": {
            "total_results": 2,
            "refund_messages": {"refund_message": [
                _wire(1, "东西坏了，看图", 5, ("https://img.mock.taobao/evidence/900001-1.jpg",)),
                _wire(2, "好的，请寄回", 10),
            ]},
        },
        "taobao.item.seller.get": {"item": {"num_iid": 600001, "no_reason_7d": True}},
    }
    return ok(method, payload[method])


@respx.mock
def test_get_case_fills_the_chat_and_both_parcels_steps(adapter: TaobaoAdapter) -> None:
    respx.post(GATEWAY).mock(side_effect=_platform)
    case = adapter.get_case("900001", ALL_FACTS)
    assert [(m.role, m.text) for m in case.chat] == [
        (ChatRole.buyer, "东西坏了，看图"),
        (ChatRole.seller, "好的，请寄回"),
    ]
    assert [s.description for s in case.logistics_steps] == ["已揽收", "已签收"]
    assert [s.description for s in case.return_logistics_steps] == ["退货已揽收"]
    assert [e.url for e in case.evidence] == ["https://img.mock.taobao/evidence/900001-1.jpg"]


@respx.mock
def test_facts_not_asked_for_leave_the_chat_and_steps_empty(adapter: TaobaoAdapter) -> None:
    route = respx.post(GATEWAY).mock(side_effect=_platform)
    case = adapter.get_case("900001", frozenset({Fact.item_promise}))
    assert case.chat == ()
    assert case.logistics_steps == ()
    assert case.return_logistics_steps == ()
    methods = {form(call.request)["method"] for call in route.calls}
    assert "taobao.refund.messages.get" not in methods


def test_a_flood_of_long_messages_keeps_the_latest_within_the_raw_cap() -> None:
    flood = [_wire(1, f"第{i}条" + "长" * 3000, i % 60) for i in range(60)]
    for i, message in enumerate(flood):
        message["created"] = f"2026-11-12 {9 + i // 60:02d}:{i % 60:02d}:00"
    chat = messages_to_chat(flood)
    assert 0 < len(chat) < 60
    assert sum(len(m.text.encode()) for m in chat) <= RAW_CAP_BYTES
    assert chat[-1].text.startswith("第59条")  # the newest is kept
    steps = trace_to_logistics({
        "out_sid": "SF1",
        "trace_list": {"transit_step_info": [
            {"status_time": "2026-11-10 08:00:00", "status_desc": "运" * 4000}
            for _ in range(300)
        ]},
    }).steps
    assert 0 < len(steps) <= MAX_TRACE_STEPS
    assert sum(len(s.description.encode()) for s in steps) <= RAW_CAP_BYTES
