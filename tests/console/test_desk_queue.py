"""Finding work at the desk: filters, search by order or refund id, paging, select-all,
assignment, notes (audited, masked), the next case and the keyboard shortcuts listed."""

from __future__ import annotations

import re
from datetime import timedelta

from console_helpers import add_user, csrf_of, login, queue_case
from starlette.testclient import TestClient

from connector.store import CaseState, Store


def _ids(html: str) -> list[str]:
    return re.findall(r'<tr class="case-row[^"]*" data-case="([^"]+)"', html)


def _seed(store: Store) -> None:
    queue_case(store, timedelta(minutes=30), case_id="URGENT", order_id="O-100",
               refund_amount=2000, reason="quality")
    queue_case(store, timedelta(hours=30), case_id="CALM", order_id="O-200",
               refund_amount=150000, paid_amount=150000, reason="not_received")
    queue_case(store, timedelta(hours=3), case_id="OTHERSHOP", order_id="O-300", shop_id="s2",
               refund_amount=9900, reason="quality")


def test_filters_narrow_the_queue(client: TestClient, store: Store) -> None:
    _seed(store)
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    assert _ids(client.get("/queue").text) == ["URGENT", "OTHERSHOP", "CALM"]
    assert _ids(client.get("/queue?shop=s2").text) == ["OTHERSHOP"]
    assert _ids(client.get("/queue?platform=jd").text) == []
    assert _ids(client.get("/queue?reason=quality").text) == ["URGENT", "OTHERSHOP"]
    assert _ids(client.get("/queue?min_yuan=50&max_yuan=1,500.00").text) == [
        "OTHERSHOP", "CALM"]
    assert _ids(client.get("/queue?band=red").text) == ["URGENT"]
    assert _ids(client.get("/queue?band=later").text) == ["OTHERSHOP", "CALM"]
    bad = client.get("/queue?min_yuan=abc")
    assert "无法识别" in bad.text


def test_search_by_order_or_refund_id_and_cases_outside_the_queue(
    client: TestClient, store: Store
) -> None:
    _seed(store)
    queue_case(store, timedelta(hours=3), case_id="GONE", order_id="O-900")
    store.set_case_state(("taobao", "s1", "GONE"), CaseState.done, reason="refunded")
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    assert _ids(client.get("/queue?q=O-200").text) == ["CALM"]
    assert _ids(client.get("/queue?q=urgent").text) == ["URGENT"]
    elsewhere = client.get("/queue?q=GONE").text
    assert 'id="elsewhere"' in elsewhere
    assert "/cases/taobao/s1/GONE" in elsewhere


def test_the_queue_is_paged_with_select_all_and_shortcuts(
    client: TestClient, store: Store
) -> None:
    for n in range(60):
        queue_case(store, timedelta(hours=2, minutes=n), case_id=f"C{n:02d}", order_id=f"O{n}")
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    first = client.get("/queue").text
    assert len(_ids(first)) == 50
    assert "第 1 / 2 页" in first
    assert 'id="select-all"' in first
    assert "j / k 上下移动" in first
    second = client.get("/queue?page=2").text
    assert _ids(second) == [f"C{n}" for n in range(50, 60)]
    assert 'id="prev-page"' in second


def test_cases_are_assigned_to_a_colleague_and_show_as_theirs(
    client: TestClient, store: Store
) -> None:
    _seed(store)
    add_user(store, "ann", "reviewer")
    add_user(store, "bob", "reviewer")
    csrf = login(client, "ann")
    assigned = client.post("/queue/assign", data={
        "csrf": csrf, "assignee": "bob", "case": ["taobao|s1|URGENT|v1", "taobao|s1|CALM|v1"],
    }, follow_redirects=False)
    assert assigned.status_code == 303
    assert _ids(client.get("/queue?who=unclaimed").text) == ["OTHERSHOP"]
    assert _ids(client.get("/queue?who=mine").text) == []
    events = [e for e in store.audit_entries() if e.event == "case_assigned"]
    assert [(e.case_id, e.actor, e.details["assignee"]) for e in events] == [
        ("URGENT", "human:ann", "bob"), ("CALM", "human:ann", "bob")]
    refused = client.post("/queue/assign", data={"csrf": csrf, "assignee": "nobody-here",
                                                 "case": ["taobao|s1|CALM|v1"]})
    assert refused.status_code == 400
    mine = client.post("/cases/taobao/s2/OTHERSHOP/assign", data={"csrf": csrf, "assignee": "me"},
                       follow_redirects=False)
    assert mine.status_code == 303
    assert _ids(client.get("/queue?who=mine").text) == ["OTHERSHOP"]


def test_next_case_takes_mine_first_then_the_most_urgent_unclaimed(
    client: TestClient, store: Store
) -> None:
    _seed(store)
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    first = client.get("/queue/next", follow_redirects=False)
    assert first.headers["location"] == "/cases/taobao/s1/URGENT"
    after = client.get("/queue/next?after=URGENT", follow_redirects=False)
    assert after.headers["location"] == "/cases/taobao/s2/OTHERSHOP"
    client.post("/cases/taobao/s1/CALM/assign", data={"csrf": csrf, "assignee": "me"})
    assert client.get("/queue/next", follow_redirects=False).headers["location"] == (
        "/cases/taobao/s1/CALM")


def test_notes_are_kept_masked_and_audited_without_their_text(
    client: TestClient, store: Store
) -> None:
    _seed(store)
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    page = client.get("/cases/taobao/s1/URGENT").text
    added = client.post("/cases/taobao/s1/URGENT/notes", data={
        "csrf": csrf_of(page), "note": "买家来电 13900001111，收件人：李四，说明天寄回"},
        follow_redirects=False)
    assert added.status_code == 303
    shown = client.get("/cases/taobao/s1/URGENT").text
    assert "说明天寄回" in shown
    assert "13900001111" not in shown
    assert "李四" not in shown
    note = [e for e in store.audit_entries() if e.event == "case_note_added"]
    assert note[0].actor == "human:ann"
    assert "说明天寄回" not in str(note[0].details)


def test_the_audit_table_is_paged(client: TestClient, store: Store) -> None:
    for n in range(120):
        queue_case(store, timedelta(hours=3), case_id=f"A{n:03d}", order_id=f"OA{n}")
    add_user(store, "olga", "ops")
    login(client, "olga")
    first = client.get("/audit?event=case_state").text
    assert first.count('<tr><td>') == 100
    assert 'id="audit-pager"' in first
    second = client.get("/audit?event=case_state&page=2").text
    assert second.count('<tr><td>') == 20
    assert "上一页" in second
