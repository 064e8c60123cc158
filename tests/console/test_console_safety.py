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
