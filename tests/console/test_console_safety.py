"""The console's policy safety page: shadow vs live vs people (issue 20)."""

from __future__ import annotations

from console_helpers import START, add_user, login, make_case
from starlette.testclient import TestClient

from connector.policy import decide, load_default_policy, parse_policy, shadow
from connector.policy.loader import default_policy_text
from connector.store import Store


def test_ops_see_shadow_against_live_and_people(client: TestClient, store: Store) -> None:
    candidate = parse_policy(
        default_policy_text().replace("high_value_cap = 100000", "high_value_cap = 1000"),
        "strict.toml",
    )
    shadow.start(store, candidate, shop_id="s1", actor="human:li")
    case = make_case(
        reason="changed_mind",
        order_status="not_shipped",
        case_id="R9",
        warehouse={"order_state": "not_printed"},
    )
    store.upsert_case(case)
    live = decide(case, load_default_policy(), START)
    assert live.action.value == "approve_refund"
    shadow.decide_beside(store, ("taobao", "s1", "R9"), case, START, live)
    add_user(store, "olga", "ops")
    add_user(store, "rita", "reviewer")

    login(client, "rita")
    assert client.get("/safety").status_code == 403
    client.cookies.clear()
    login(client, "olga")
    page = client.get("/safety")
    assert page.status_code == 200
    assert 'id="shadow"' in page.text
    assert candidate.version in page.text
    assert f"live {live.action.value} → shadow human" in page.text
    assert "R9" in page.text


def test_admins_pause_and_resume_from_the_console_and_see_cap_state(
    client: TestClient, store: Store
) -> None:
    from console_helpers import csrf_of

    from connector import caps
    from connector.policy import Action, Decision, DecisionParameters, history
    from connector.store import CapEntryKind

    capped = parse_policy(default_policy_text() + "\n[caps]\nhour_count = 1\n", "capped.toml")
    history.install(store, capped, shop_id="s1", actor="human:li")
    for n in (1, 2):
        case = make_case(case_id=f"C{n}")
        store.upsert_case(case)
        approve = Decision(
            action=Action.approve_refund,
            parameters=DecisionParameters(refund_amount=5000),
            rule_id="r",
            policy_version="p",
            decided_at=START,
        )
        caps.admit(store, capped, ("taobao", "s1", f"C{n}"), case, approve, START)
    assert store.cap_usage("s1", kind=CapEntryKind.held, since=START - caps.HOUR)[0] == 1
    add_user(store, "ada", "admin")
    add_user(store, "olga", "ops")

    login(client, "olga")
    page = client.get("/safety")
    assert 'id="caps"' in page.text
    assert "hour ≤ 1" in page.text
    assert "cap reached" in page.text
    assert 'id="pause-form"' not in page.text  # ops see, admins switch
    refused = client.post("/safety/pause", data={"csrf": csrf_of(page.text), "why": "x"})
    assert refused.status_code == 403
    client.cookies.clear()

    login(client, "ada")
    page = client.get("/safety")
    paused = client.post(
        "/safety/pause",
        data={"csrf": csrf_of(page.text), "why": "fraud wave", "shop": "s1"},
        follow_redirects=True,
    )
    assert paused.status_code == 200
    assert 'id="pauses"' in paused.text
    assert "fraud wave" in paused.text
    [opened] = store.open_pauses()
    assert (opened.shop_id, opened.paused_by) == ("s1", "human:ada")
    resumed = client.post(
        "/safety/resume",
        data={"csrf": csrf_of(paused.text), "shop": "s1", "reason_code": ""},
        follow_redirects=True,
    )
    assert resumed.status_code == 200
    assert store.open_pauses() == []
    events = [(e.event, e.actor) for e in store.audit_entries() if e.event in ("paused", "resumed")]
    assert events == [("paused", "human:ada"), ("resumed", "human:ada")]
