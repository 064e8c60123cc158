"""The console's pages over a store: queue order and colours, case page, decisions (one and
several), a changed case refused with its new state, reveal, audit search, the reason report."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import pytest
from console_helpers import START, add_user, csrf_of, login, make_case, queue_case
from starlette.testclient import TestClient

from connector.adapter import Capability, PlatformAdapter
from connector.clock import FakeClock
from connector.console import create_console_app
from connector.console.serving import reveal_hook
from connector.effects import EffectKind
from connector.reveal import REVEAL_EVENT
from connector.store import CaseKey, Store

KEY = ("taobao", "s1", "R1")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def _rows(html: str) -> list[tuple[str, str]]:
    """(case id, urgency class) of each queue row, in page order."""
    return [
        (case_id, cls.strip())
        for cls, case_id in re.findall(r'<tr class="case-row ([a-z ]*)" data-case="([^"]+)"', html)
    ]


def test_queue_is_ordered_by_time_left_with_deadline_colours(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=30), case_id="LATER")
    queue_case(store, timedelta(minutes=40), case_id="RED")
    queue_case(store, timedelta(minutes=100), case_id="AMBER")
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    page = client.get("/queue").text
    assert _rows(page) == [("RED", "red"), ("AMBER", "amber"), ("LATER", "")]
    assert "40分00秒" in page  # time left, Chinese by default
    assert "2026-11-12 10:40" in page  # deadline in Beijing time (02:40 UTC)
    assert "第4条规则：已签收但买家称未收到 → 转人工" in page  # one numbering, the policy's title
    assert "4-delivered" not in page
    assert "v1" not in re.sub(r'value="[^"]*"', "", page)  # no internal version on the rows
    english = client.get("/queue?lang=en").text
    assert "40m00s" in english
    assert "rule #4: signed but buyer says not received → for a person" in english
    assert client.cookies["rc_lang"] == "en"
    assert "Review queue" in client.get("/queue").text  # the cookie keeps the language


def test_case_page_shows_facts_evidence_logistics_trace_and_history(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    zh = client.get("/cases/taobao/s1/R1").text
    assert '<img src="/cases/taobao/s1/R1/evidence/0"' in zh  # served by the console
    assert 'src="https://' not in zh
    assert "YTO YT100" in zh
    assert "命中第4条规则：已签收但买家称未收到" in zh
    trace = zh.split('id="trace"')[1].split("</ol>")[0]
    assert "4-delivered" not in trace
    assert "状态变化" in zh  # audit events named in Chinese
    assert "T02:00:00" not in zh  # no UTC ISO times beside Beijing ones
    assert "状态：等待人工" in zh  # the audit history, in Chinese
    assert 'name="seen_version" value="v1"' in zh
    en = client.get("/cases/taobao/s1/R1?lang=en").text
    assert "matched rule #4: signed but buyer says not received" in en


def test_buyer_phone_numbers_and_contact_never_reach_a_reviewers_page(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    page = client.get("/cases/taobao/s1/R1").text
    assert "13812345678" not in page
    assert 'id="reveal"' not in page


def test_a_reviewer_rejects_with_evidence_through_the_outbox(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    response = client.post(
        "/cases/taobao/s1/R1/decide",
        data={"csrf": csrf, "action": "reject", "reason": "物流显示本人已签收",
              "seen_version": "v1"},
        files={"evidence": ("proof.png", PNG, "image/png")},
    )
    assert response.status_code == 200
    assert "已记录决定" in response.text
    effects = store.effects_of_case(KEY)
    assert [e.kind for e in effects] == [EffectKind.refuse_refund]
    assert effects[0].params["proof_image_bytes"] == len(PNG)
    action = [e for e in store.audit_entries(case_id="R1") if e.event == "human_action"][-1]
    assert action.actor == "human:ann"
    assert action.details["via"] == "console"


def test_a_decision_on_a_case_changed_meanwhile_is_refused_with_the_new_state(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    clock.advance(timedelta(minutes=3))
    store.upsert_case(
        make_case(version="v2", refund_amount=3000, deadline_at=(START + timedelta(hours=5)),
                  updated_at="2026-11-12T10:03:00+08:00")
    )
    response = client.post(
        "/cases/taobao/s1/R1/decide",
        data={"csrf": csrf, "action": "approve-refund", "reason": "ok", "seen_version": "v1"},
    )
    assert response.status_code == 409
    assert "你查看后该售后单在平台上已变化" in response.text
    assert "v1 → v2" in response.text
    assert 'id="version">v2<' in response.text
    assert "¥50.00 / ¥30.00" in response.text
    assert store.effects_of_case(KEY) == []


def test_several_cases_decided_together_report_each_result(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5), case_id="A", order_id="OA")
    queue_case(store, timedelta(hours=6), case_id="B", order_id="OB")
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    clock.advance(timedelta(minutes=1))
    store.upsert_case(make_case(case_id="B", order_id="OB", version="v2", refund_amount=100,
                                deadline_at=START + timedelta(hours=6)))
    response = client.post(
        "/queue/decide",
        data={"csrf": csrf, "action": "reject", "reason": "物流显示已签收",
              "case": ["taobao|s1|A|v1", "taobao|s1|B|v1"]},
    )
    results = dict(re.findall(r'<tr class="result (\w+)" data-case="(\w+)"', response.text))
    assert results == {"ok": "A", "changed": "B"}
    assert [e.kind for e in store.effects_of_case(("taobao", "s1", "A"))] == [
        EffectKind.refuse_refund
    ]
    assert store.effects_of_case(("taobao", "s1", "B")) == []


def test_claiming_a_case_is_audited_and_blocks_another_reviewer(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    add_user(store, "bob", "reviewer")
    csrf = login(client, "ann")
    client.post("/cases/taobao/s1/R1/claim", data={"csrf": csrf})
    claimed = [e for e in store.audit_entries(case_id="R1") if e.event == "case_claimed"]
    assert claimed[0].actor == "human:ann"
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as bob:
        bob_csrf = login(bob, "bob")
        refused = bob.post(
            "/cases/taobao/s1/R1/decide",
            data={"csrf": bob_csrf, "action": "reject", "reason": "x", "seen_version": "v1"},
        )
    assert refused.status_code == 400
    assert "此单已被 ann 认领" in refused.text


class _Platform:
    """The adapter surface ``reveal_contact`` uses: a shop whose platform gives contact."""

    platform = "taobao"
    settings = SimpleNamespace(shop_id="s1")
    capabilities = frozenset({Capability.buyer_contact})
    missing_capabilities: ClassVar[dict[Capability, str]] = {}

    def __init__(self) -> None:
        self.asked: list[CaseKey] = []

    def reveal_buyer_contact(self, case_id: str) -> dict[str, str]:
        self.asked.append(("taobao", "s1", case_id))
        return {"name": "张三", "phone": "13900001111", "address": "北京市朝阳区某路1号"}


@pytest.fixture
def reveal_client(store: Store, clock: FakeClock) -> Any:
    platform = _Platform()
    adapters = cast("dict[tuple[str, str], PlatformAdapter]", {("taobao", "s1"): platform})
    app = create_console_app(store, clock=clock, reveal=reveal_hook(adapters))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c, platform


def test_ops_reveal_the_contact_once_and_the_audit_keeps_no_details(
    reveal_client: Any, store: Store
) -> None:
    client, platform = reveal_client
    queue_case(store, timedelta(hours=5))
    add_user(store, "olga", "ops")
    csrf = login(client, "olga")
    assert 'id="reveal"' in client.get("/cases/taobao/s1/R1").text
    shown = client.post("/cases/taobao/s1/R1/reveal", data={"csrf": csrf})
    assert "13900001111" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert platform.asked == [KEY]
    assert "13900001111" not in client.get("/cases/taobao/s1/R1").text  # once only
    reveal = [e for e in store.audit_entries(case_id="R1") if e.event == REVEAL_EVENT]
    assert [(e.actor, e.details["via"], e.details["shown"]) for e in reveal] == [
        ("human:olga", "console", ["address", "name", "phone"])
    ]
    everything = str([e.model_dump() for e in store.audit_entries()])
    assert "13900001111" not in everything
    assert "张三" not in everything


def test_a_reviewer_cannot_reveal(reveal_client: Any, store: Store) -> None:
    client, platform = reveal_client
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    response = client.post("/cases/taobao/s1/R1/reveal", data={"csrf": csrf})
    assert response.status_code == 403
    assert platform.asked == []
    assert "13900001111" not in response.text


def test_without_a_reveal_hook_the_feature_says_not_available(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "olga", "ops")
    csrf = login(client, "olga")
    response = client.post("/cases/taobao/s1/R1/reveal?lang=en", data={"csrf": csrf})
    assert "Not available for this platform" in response.text
    assert not [e for e in store.audit_entries() if e.event == "contact_revealed"]


def test_audit_search_by_order_rule_event_and_time(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5), case_id="A", order_id="OA")
    clock.advance(timedelta(hours=2))
    queue_case(store, timedelta(hours=5), case_id="B", order_id="OB", shop_id="s2")
    add_user(store, "ann", "reviewer")
    login(client, "ann")

    def cases(query: str) -> set[str]:
        page = client.get(f"/audit?{query}").text
        return set(re.findall(r'<a href="/cases/[^"]+">(\w+)</a>', page))

    assert cases("order=OA") == {"A"}
    assert cases("shop=s2") == {"B"}
    assert cases("rule=4-delivered") == {"A", "B"}
    assert cases("event=decided&to=2026-11-12T11:00") == {"A"}  # 03:00 UTC
    assert cases("event=human&from=2026-11-12T11:00") == {"B"}  # 'human' is the action
    bad = client.get("/audit?from=yesterday")
    assert "YYYY-MM-DD" in bad.text


def test_reason_report_per_sku_and_shop_with_chart_and_csv(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    for n, (sku, reason) in enumerate(
        [("MUG", "quality"), ("MUG", "quality"), ("MUG", "damaged"), ("CUP", "changed_mind")]
    ):
        store.upsert_case(make_case(case_id=f"C{n}", order_id=f"O{n}", item={
            "sku": sku, "title": "杯子", "price": 5000}, reason=reason))
    clock.advance(timedelta(days=9))
    store.upsert_case(make_case(case_id="OLD", order_id="O9", reason="quality"))
    add_user(store, "sup", "ops")
    login(client, "sup")
    page = client.get("/stats?from=2026-11-12&to=2026-11-18").text
    assert "共 4 单售后" in page
    assert '<svg class="chart" id="chart-reasons"' in page
    assert page.count("<rect") >= 5
    assert "质量问题" in page
    viewed = client.get("/stats.csv?from=2026-11-12&to=2026-11-18&lang=en")
    assert viewed.status_code == 405  # no side effect (an audited export) on a GET
    assert "report_exported" not in [e.event for e in store.audit_entries()]
    exported = client.post("/stats.csv?from=2026-11-12&to=2026-11-18&lang=en",
                           data={"csrf": csrf_of(page)})
    assert exported.headers["content-disposition"].endswith(
        'refund-reasons-2026-11-12-2026-11-18.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(r["sku"], r["reason"], r["cases"]) for r in rows] == [
        ("MUG", "quality", "2"), ("CUP", "changed_mind", "1"), ("MUG", "damaged", "1"),
    ]
    assert rows[0]["reason_label"] == "quality problem"
    assert [e.actor for e in store.audit_entries() if e.event == "report_exported"] == [
        "human:sup"
    ]
