"""The case page shows the chat record (the refund's messages) and each parcel's trace steps,
in the page's language and Beijing time (issue 19, point 6: "a chat evidence item never
appeared; logistics is one line without track steps")."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from console_helpers import add_user, login, queue_case
from starlette.testclient import TestClient

from adapters.taobao.mapping import messages_to_chat
from adapters.taobao.trace import trace_to_logistics
from connector.store import Store

PAGE = "/cases/taobao/s1/R1"

# As the Taobao fake sends them (mocks/taobao/render.py MESSAGE_FIELDS, api.py trace search).
MESSAGES: list[dict[str, Any]] = [
    {"id": 1, "content": "一直没收到货，收件人：张三，电话13812345678",
     "created": "2026-11-12 09:00:05", "message_type": "NORMAL", "owner_role": 1,
     "pic_urls": {"pic_url": []}},
    {"id": 2, "content": "亲，快递显示已签收，麻烦再看看", "created": "2026-11-12 09:30:00",
     "message_type": "NORMAL", "owner_role": 2,
     "pic_urls": {"pic_url": [{"url": "https://img.mock.taobao/message/R1-2.jpg"}]}},
]
OUTBOUND: dict[str, Any] = {
    "company_name": "圆通速递", "out_sid": "YT100", "status": "已签收",
    "trace_list": {"transit_step_info": [
        {"status_time": "2026-11-10 18:00:00", "status_desc": "【杭州转运中心】已揽收",
         "action": "CONSIGN"},
        {"status_time": "2026-11-11 14:20:00", "status_desc": "【上海浦东】已签收",
         "action": "SIGNED"},
    ]},
}
RETURN: dict[str, Any] = {
    "company_name": "中通快递", "out_sid": "ZT200",
    "trace_list": {"transit_step_info": [
        {"status_time": "2026-11-12 08:00:00", "status_desc": "【上海浦东】已揽收",
         "action": "CONSIGN"},
    ]},
}


def _queue_with_chat_and_steps(store: Store) -> None:
    queue_case(
        store,
        timedelta(hours=30),
        type="return_and_refund",
        chat=messages_to_chat(MESSAGES),
        logistics_steps=trace_to_logistics(OUTBOUND).steps,
        return_logistics={"carrier": "中通快递", "waybill": "ZT200", "status": "in_transit"},
        return_logistics_steps=trace_to_logistics(RETURN).steps,
    )


def _section(html: str, element_id: str) -> str:
    found = re.search(rf'<ol class="\w+" id="{element_id}"[^>]*>(.*?)</ol>', html, re.S)
    assert found, f"no #{element_id} on the page"
    return found.group(1)


def test_the_case_page_shows_the_chat_and_both_parcels_steps_in_chinese(
    client: TestClient, store: Store
) -> None:
    _queue_with_chat_and_steps(store)
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    html = client.get(PAGE + "?lang=zh").text
    assert "协商记录" in html
    assert "物流轨迹" in html
    chat = _section(html, "chat")
    roles = re.findall(r"<li class=\"chat-(\w+)\">", chat)
    assert roles == ["buyer", "seller"]  # oldest first, with who said it
    assert "<b>买家</b>" in chat
    assert "<b>卖家</b>" in chat
    assert "2026-11-12 09:00:05 北京" in chat  # the platform's Beijing time, labelled
    assert "一直没收到货" in chat
    assert "1张图片" in chat
    assert "13812345678" not in html
    assert "张三" not in chat
    stored = store.get_case(("taobao", "s1", "R1"))
    assert stored is not None
    assert "张三" not in stored.case.chat[0].text
    outbound = _section(html, "outbound-steps")
    assert "2026-11-11 14:20:00 北京" in outbound
    assert "【上海浦东】已签收" in outbound
    assert outbound.index("已签收") < outbound.index("已揽收")  # the latest step on top
    back = _section(html, "return-steps")
    assert "2026-11-12 08:00:00 北京" in back
    assert "【上海浦东】已揽收" in back


def test_the_english_page_labels_the_same_steps_in_english(
    client: TestClient, store: Store
) -> None:
    _queue_with_chat_and_steps(store)
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    html = client.get(PAGE + "?lang=en").text
    chat = _section(html, "chat")
    assert "<b>buyer</b>" in chat
    assert "2026-11-12 09:00:05 Beijing" in chat
    assert "1 picture(s)" in chat
    assert "2026-11-10 18:00:00 Beijing" in _section(html, "outbound-steps")


def test_a_case_without_messages_or_steps_says_so(client: TestClient, store: Store) -> None:
    queue_case(store, timedelta(hours=30))
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    html = client.get(PAGE + "?lang=zh").text
    assert "没有协商记录" in html
    assert 'id="outbound-steps"' not in html
    assert 'id="chat"' not in html
