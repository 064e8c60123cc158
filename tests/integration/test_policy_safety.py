"""Changing the policy safely, through the daemon over real loopback HTTP (issue 20)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from daemon_world import World

from connector.policy import Policy, history, load_default_policy, parse_policy
from connector.policy.loader import default_policy_text

pytestmark = pytest.mark.integration
SHOP = "taobao-shop"


def stricter_text(cap_fen: int = 10000) -> str:
    return (
        default_policy_text()
        .replace("high_value_cap = 100000", f"high_value_cap = {cap_fen}")
        .replace('name = "default"', 'name = "stricter"')
    )


def key(case_id: str) -> tuple[str, str, str]:
    return ("taobao", SHOP, case_id)


def seed_approvable(world: World, paid: int = 29900) -> str:
    return world.seed_approvable(paid)


def test_an_installed_policy_decides_the_next_case_without_a_restart(world: World) -> None:
    first = seed_approvable(world)
    world.daemon.run_once(full=True)
    decided = world.store.latest_decision(key(first))
    assert decided is not None
    assert decided.action == "approve_refund"
    assert decided.policy_version == load_default_policy().version
    assert world.store.get_policy_version(decided.policy_version) is not None

    stricter = parse_policy(stricter_text(), "stricter.toml")
    history.install(world.store, stricter, shop_id=SHOP, actor="human:li")
    world.advance(timedelta(minutes=1))
    second = seed_approvable(world)
    world.daemon.run_once(full=True)
    again = world.store.latest_decision(key(second))
    assert again is not None
    assert again.policy_version == stricter.version
    assert (again.rule_id, again.action) == ("2-high-value", "human")
    assert "agree_refund" not in world.effects_at_platform(second)


def test_backtest_replays_what_the_daemon_decided(world: World) -> None:
    from connector.policy.backtest import backtest

    case_id = seed_approvable(world)
    world.daemon.run_once(full=True)
    # The platform's later versions overwrite the case row; the decision keeps its facts.
    world.advance(timedelta(minutes=5))
    world.daemon.run_once(full=True)

    def recorded(version: str) -> Policy | None:
        return history.stored_policy(world.store, version)

    rows = world.store.decisions_to_replay()
    assert [r.key[2] for r in rows] == [case_id]
    live = backtest(rows, load_default_policy(), recorded)
    assert (live.replayed, live.changed) == (1, 0)
    strict = backtest(rows, parse_policy(stricter_text(), "stricter.toml"), recorded)
    assert strict.changed == 1
    assert strict.money()["delta_fen"] == -29900


def test_shadow_decides_beside_the_live_policy_and_is_never_pushed(world: World) -> None:
    from connector.policy import shadow

    stricter = parse_policy(stricter_text(), "stricter.toml")
    shadow.start(world.store, stricter, shop_id=SHOP, actor="human:li")
    case_id = seed_approvable(world)
    world.daemon.run_once(full=True)
    # Live approved and pushed; the shadow would have sent it to a person and pushed nothing.
    assert "agree_refund" in world.effects_at_platform(case_id)
    [recorded] = world.store.shadow_decisions(SHOP)
    assert (recorded.live_action, recorded.action) == ("approve_refund", "human")
    assert recorded.live_refund_amount == 29900
    assert recorded.refund_amount == 0
    kinds = [str(e.kind) for e in world.store.effects_of_case(key(case_id))]
    assert kinds.count("agree_refund") == 1
    report = shadow.shadow_report(world.store, SHOP).as_json()
    assert report["disagree_with_live"] == 1
