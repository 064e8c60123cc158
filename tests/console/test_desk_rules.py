"""The desk's rules over the console (in-process): money in yuan with a confirmation, only
decidable cases decided (409 otherwise), platform limits checked before anything is sent, and a
decision's life visible on the case and in the queue."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from console_helpers import START, add_user, login, make_case, queue_case
from starlette.testclient import TestClient

from connector.clock import FakeClock
from connector.console import create_console_app
from connector.effects import EffectKind, EffectStatus
from connector.review import overtake_pending_approvals
from connector.store import CaseState, ConsoleRole, EffectSpec, Store

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
CASE = "/cases/taobao/s1/R1"
KEY = ("taobao", "s1", "R1")


def _big_case(store: Store) -> None:
    queue_case(store, timedelta(hours=5), paid_amount=150000, refund_amount=150000,
               item={"sku": "SKU9", "title": "羽绒服", "price": 150000})


def _big_case_signed_in(
    client: TestClient, store: Store, name: str = "ann", role: str = "reviewer"
) -> str:
    """The big case queued and ``name`` signed in; returns the session's CSRF token."""
    _big_case(store)
    add_user(store, name, role)
    return login(client, name)


def _decide(client: TestClient, csrf: str, **fields: str) -> Any:
    data = {"csrf": csrf, "seen_version": "v1", **fields}
    return client.post(f"{CASE}/decide", data=data, follow_redirects=False)


def test_the_form_is_prefilled_with_the_refundable_yuan_and_no_action_is_preselected(
    client: TestClient, store: Store
) -> None:
    _big_case_signed_in(client, store)
    html = client.get(CASE).text
    assert 'id="amount" inputmode="decimal" value="1,500.00"' in html
    assert re.search(r'<option value="" selected disabled>请选择处理方式</option>', html)
    assert not re.search(r'<option value="[a-z-]+" selected', html)
    assert "fen" not in html
    assert "（分" not in html
    queue = client.get("/queue").text
    assert re.search(r'<option value="" selected disabled>', queue)


def test_typing_1500_on_a_1500_yuan_case_refunds_1500_yuan_after_a_confirmation(
    client: TestClient, store: Store
) -> None:
    csrf = _big_case_signed_in(client, store)
    first = _decide(client, csrf, action="approve-refund", amount="1500", reason="质量问题属实")
    assert first.status_code == 200
    body = first.text
    assert "¥1,500.00" in body
    assert "人民币壹仟伍佰元整" in body
    assert store.effects_of_case(KEY) == []  # nothing recorded before the confirmation
    confirm = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
    assert confirm["confirm"] == "1"
    done = client.post(f"{CASE}/decide", data=confirm, follow_redirects=False)
    assert done.status_code == 303
    agree = [e for e in store.effects_of_case(KEY) if e.kind is EffectKind.agree_refund]
    assert agree[0].params["amount"] == 150000


def test_amounts_are_read_as_yuan_in_each_written_form(client: TestClient, store: Store) -> None:
    csrf = _big_case_signed_in(client, store)
    for typed, words in (("1,500.00", "壹仟伍佰元整"), ("1000.5", "壹仟元伍角"),
                         ("15", "壹拾伍元整")):
        page = _decide(client, csrf, action="approve-refund", amount=typed, reason="同意")
        assert words in page.text, typed
    bad = _decide(client, csrf, action="approve-refund", amount="15.001", reason="同意")
    assert bad.status_code == 400
    assert "无法识别" in bad.text


def test_an_amount_above_the_refundable_is_refused_even_when_confirmed(
    client: TestClient, store: Store
) -> None:
    csrf = _big_case_signed_in(client, store)
    over = _decide(client, csrf, action="approve-refund", amount="1500.01", reason="同意",
                   confirm="1")
    assert over.status_code == 400
    assert "超过可退金额" in over.text
    assert store.effects_of_case(KEY) == []


def test_an_action_must_be_chosen(client: TestClient, store: Store) -> None:
    csrf = _big_case_signed_in(client, store)
    response = _decide(client, csrf, action="", amount="1500", reason="同意")
    assert response.status_code == 400
    assert "请先选择处理方式" in response.text


def test_a_done_case_cannot_be_decided_by_url(client: TestClient, store: Store) -> None:
    queue_case(store, timedelta(hours=5))
    store.set_case_state(KEY, CaseState.done, reason="refunded")
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    response = _decide(client, csrf, action="reject", reason="物流显示已签收")
    assert response.status_code == 409
    assert "此单已完成" in response.text
    assert store.effects_of_case(KEY) == []
    assert 'id="decide"' not in client.get(CASE).text


def test_a_case_the_platform_no_longer_waits_on_cannot_be_decided(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5), status="refunded")
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    response = _decide(client, csrf, action="reject", reason="物流显示已签收")
    assert response.status_code == 409
    assert "已退款" in response.text


def _automatic(store: Store, *, sent: bool) -> None:
    case = make_case()
    store.upsert_case(case)
    _, effects = store.record_decision(
        KEY, decided_version="v1", policy_version="p1", rule_id="1-refund",
        action="approve_refund", trace=[],
        effects=[EffectSpec(kind=EffectKind.agree_refund, params={"amount": 5000})],
        first_attempt_at=START,
    )
    store.set_case_state(KEY, CaseState.decided, reason="policy")
    if sent:
        store.claim_effect(effects[0].id)


def test_a_person_overrides_an_automatic_decision_whose_effects_are_unsent(
    client: TestClient, store: Store
) -> None:
    _automatic(store, sent=False)
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    response = _decide(client, csrf, action="reject", reason="物流显示已签收")
    assert response.status_code == 303
    statuses = {e.kind: e.status for e in store.effects_of_case(KEY)}
    assert statuses[EffectKind.agree_refund] is EffectStatus.superseded
    assert statuses[EffectKind.refuse_refund] is EffectStatus.pending
    events = [e.event for e in store.audit_entries(case_id="R1")]
    assert "automatic_decision_overridden" in events


def test_an_automatic_decision_already_sending_cannot_be_overridden(
    client: TestClient, store: Store
) -> None:
    _automatic(store, sent=True)
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    response = _decide(client, csrf, action="reject", reason="物流显示已签收")
    assert response.status_code == 409
    assert [e.kind for e in store.effects_of_case(KEY)] == [EffectKind.agree_refund]


def test_platform_limits_are_checked_before_anything_is_sent(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    short = _decide(client, csrf, action="reject", reason="不")
    assert short.status_code == 400
    assert "2–200" in short.text
    ask = _decide(client, csrf, action="ask-buyer", reason="请补充照片")
    assert "须附一张图片" in ask.text
    assert store.effects_of_case(KEY) == []
    ok = client.post(f"{CASE}/decide", data={"csrf": csrf, "seen_version": "v1",
                                              "action": "ask-buyer", "reason": "请补充照片"},
                     files={"evidence": ("a.png", PNG, "image/png")}, follow_redirects=False)
    assert ok.status_code == 303
    message = store.effects_of_case(KEY)[0]
    assert message.kind is EffectKind.message_buyer
    assert message.params["image"]


def test_tmall_refusals_need_a_proof_image_per_case_in_a_batch(
    client: TestClient, store: Store
) -> None:
    for case_id in ("A", "B"):
        queue_case(store, timedelta(hours=5), case_id=case_id, order_id="O" + case_id,
                   platform_fields={"tmall": "true"})
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    queue = client.get("/queue").text
    assert 'name="proof:taobao|s1|A|v1"' in queue
    response = client.post(
        "/queue/decide",
        data={"csrf": csrf, "action": "reject", "reason": "物流显示已签收",
              "case": ["taobao|s1|A|v1", "taobao|s1|B|v1"]},
        files={"proof:taobao|s1|A|v1": ("a.png", PNG, "image/png")},
    )
    results = dict(re.findall(r'<tr class="result (\w+)" data-case="(\w+)"', response.text))
    assert results == {"ok": "A", "refused": "B"}
    assert "天猫拒绝退款须上传凭证图片" in response.text
    refusal = store.effects_of_case(("taobao", "s1", "A"))[0]
    assert refusal.params["proof_image"]


def test_actions_the_platform_cannot_take_now_are_not_offered(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5), status="awaiting_seller_receipt",
               type="return_and_refund")
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    html = client.get(CASE).text
    assert 'value="confirm-return-and-refund"' in html
    assert 'value="approve-refund"' not in html
    refused = _decide(client, csrf, action="approve-refund", reason="同意", confirm="1")
    assert refused.status_code == 400


def test_a_platform_refusal_is_the_case_top_line_in_chinese_and_the_queue_says_so(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    csrf = login(client, "ann")
    assert _decide(client, csrf, action="reject", reason="物流显示已签收").status_code == 303
    html = client.get(CASE).text
    assert 'data-stage="pending"' in html
    assert "待发送" in html
    effect = store.effects_of_case(KEY)[0]
    store.claim_effect(effect.id)
    assert "发送中" in client.get(CASE).text
    store.mark_effect_failed(effect.id, error="params.message must be 2 to 200 characters")
    store.set_case_state(KEY, CaseState.queued_for_human, reason="platform refused")
    top = re.search(r'id="top-line">([^<]+)<', client.get(CASE).text)
    assert top
    assert "平台拒绝了上次的处理（拒绝）" in top.group(1)
    assert "拒绝理由须为 2–200 个字" in top.group(1)
    queue = client.get("/queue").text
    assert "平台拒绝了上次的处理" in queue
    assert "规则 reviewer" not in queue


@pytest.fixture
def limited(store: Store, clock: FakeClock) -> Iterator[TestClient]:
    app = create_console_app(store, clock=clock,
                             approval_limits={ConsoleRole.reviewer: 100000})
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _confirmed_refund(client: TestClient, csrf: str, amount: str) -> Any:
    first = _decide(client, csrf, action="approve-refund", amount=amount, reason="质量问题属实")
    confirm = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', first.text))
    return client.post(f"{CASE}/decide", data=confirm, follow_redirects=False)


def test_a_reviewer_above_their_limit_needs_a_second_approver(
    limited: TestClient, store: Store, clock: FakeClock
) -> None:
    _big_case(store)
    add_user(store, "ann", "reviewer")
    add_user(store, "olga", "ops")
    csrf = login(limited, "ann")
    parked = _confirmed_refund(limited, csrf, "1500")
    assert parked.headers["location"].endswith("?approval=requested")
    assert store.effects_of_case(KEY) == []
    page = limited.get(CASE).text
    assert "待第二人复核" in page
    assert 'id="approve-second"' not in page  # not by the requester
    approval = store.pending_approval(KEY)
    assert approval is not None
    own = limited.post(f"{CASE}/approvals/{approval.id}/approve", data={"csrf": csrf})
    assert own.status_code == 403
    assert store.effects_of_case(KEY) == []
    with TestClient(create_console_app(store, clock=clock), base_url="http://127.0.0.1") as ops:
        ops_csrf = login(ops, "olga")
        assert 'id="approve-second"' in ops.get(CASE).text
        done = ops.post(f"{CASE}/approvals/{approval.id}/approve", data={"csrf": ops_csrf},
                        follow_redirects=False)
        assert done.status_code == 303
    agree = [e for e in store.effects_of_case(KEY) if e.kind is EffectKind.agree_refund]
    assert agree[0].params["amount"] == 150000
    events = {e.event: e for e in store.audit_entries(case_id="R1")}
    assert events["approval_requested"].actor == "human:ann"
    assert events["approval_approved"].actor == "human:olga"
    assert events["approval_approved"].details["requested_by"] == "human:ann"


def test_within_the_limit_a_reviewer_decides_alone(limited: TestClient, store: Store) -> None:
    csrf = _big_case_signed_in(limited, store)
    assert _confirmed_refund(limited, csrf, "1000").status_code == 303
    assert store.pending_approval(KEY) is None
    assert next(e.kind for e in store.effects_of_case(KEY)) is EffectKind.agree_refund


def test_the_deadline_guard_overtakes_a_pending_second_approval(
    limited: TestClient, store: Store
) -> None:
    csrf = _big_case_signed_in(limited, store)
    _confirmed_refund(limited, csrf, "1500")
    approval = store.pending_approval(KEY)
    assert approval is not None
    store.record_decision(KEY, decided_version="v1", policy_version="p1", rule_id="11-guard",
                          action="reject", trace=[])
    store.set_case_state(KEY, CaseState.decided, reason="deadline guard")
    assert overtake_pending_approvals(store, KEY) == 1
    assert store.pending_approval(KEY) is None
    overtaken = [e for e in store.audit_entries(case_id="R1") if e.event == "approval_overtaken"]
    assert overtaken[0].actor == "policy"
    assert overtaken[0].details["rule_id"] == "11-guard"


def test_a_guard_escalation_leaves_the_pending_approval_open(
    limited: TestClient, store: Store
) -> None:
    csrf = _big_case_signed_in(limited, store)
    _confirmed_refund(limited, csrf, "1500")
    store.record_decision(KEY, decided_version="v1", policy_version="p1", rule_id="11-guard",
                          action="human", trace=[])
    assert overtake_pending_approvals(store, KEY) == 0
    assert store.pending_approval(KEY) is not None


def test_an_action_the_platform_lacks_is_neither_offered_nor_taken(
    store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    lacks_messages = {"taobao": {"agree_refund", "agree_return", "refuse_refund"}}
    app = create_console_app(store, clock=clock, capabilities=lacks_messages)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        csrf = login(client, "ann")
        html = client.get(CASE).text
        assert 'value="reject"' in html
        assert 'value="ask-buyer"' not in html
        refused = client.post(f"{CASE}/decide", data={
            "csrf": csrf, "seen_version": "v1", "action": "ask-buyer", "reason": "请补充照片"},
            files={"evidence": ("a.png", PNG, "image/png")})
    assert refused.status_code == 400
    assert store.effects_of_case(KEY) == []


def test_back_end_refusals_read_in_chinese_on_chinese_pages(
    client: TestClient, store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    add_user(store, "bob", "reviewer")
    store.claim_case(KEY, "bob", until=START + timedelta(hours=1), seen_version="v1")
    csrf = login(client, "ann")
    taken = _decide(client, csrf, action="reject", reason="物流显示已签收")
    assert "此单已被 bob 认领" in taken.text
    assert "claimed by" not in taken.text
    english = client.post(f"{CASE}/decide?lang=en", data={
        "csrf": csrf, "seen_version": "v1", "action": "reject", "reason": "signed for"})
    assert "claimed by bob" in english.text


def test_a_refund_waiting_for_the_sms_code_says_so_instead_of_refused(
    client: TestClient, store: Store
) -> None:
    csrf = _big_case_signed_in(client, store, "olga", "ops")
    assert _decide(client, csrf, action="approve-refund", amount="1500", reason="同意",
                   confirm="1").status_code == 303
    effect = next(e for e in store.effects_of_case(KEY) if e.kind is EffectKind.agree_refund)
    store.claim_effect(effect.id)
    store.mark_effect_failed(effect.id, error="Remote service error (sub_code "
                             "isv.need-sms-verify-code)", platform_code="isv.need-sms-verify-code")
    store.open_task(KEY, "sms_code", deadline_at=None, details={"effect_id": effect.id})
    store.set_case_state(KEY, CaseState.queued_for_human, reason="sms")
    queue = client.get("/queue").text
    assert "等待输入短信验证码" in queue
    assert "平台拒绝了上次的处理" not in queue
    page = client.get(CASE).text
    assert 'id="sms-code"' in page
    assert 'id="top-line"' not in page
