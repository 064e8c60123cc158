"""Backtest: replaying kept decisions through a candidate policy (issue 20)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from policy_helpers import record_policy_decision, stricter, stricter_text
from typer.testing import CliRunner

from connector.cli import app
from connector.clock import FakeClock
from connector.models import RefundCase
from connector.policy import Policy, decide, load_default_policy, parse_policy
from connector.policy.backtest import backtest
from connector.policy.casebook import CasebookLine, read_casebook, run_casebook
from connector.store.sqlite import SqliteStore

DATA = Path(__file__).resolve().parent.parent / "data" / "public.jsonl"
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
runner = CliRunner()


def casebook_lines() -> list[CasebookLine]:
    lines = read_casebook(DATA.read_text(encoding="utf-8"))
    return [x for x in lines if isinstance(x, CasebookLine) and isinstance(x.case, RefundCase)]


def seed_casebook(store: SqliteStore) -> list[CasebookLine]:
    lines = casebook_lines()
    for line in lines:
        assert isinstance(line.case, RefundCase)
        record_policy_decision(store, line.case, load_default_policy(), line.now)
    return lines


def recorded_from(store: SqliteStore) -> Any:
    from connector.policy import history

    def find(version: str) -> Policy | None:
        return history.stored_policy(store, version) if store.get_policy_version(version) else None

    return find


def test_replaying_the_live_policy_changes_nothing(store: SqliteStore) -> None:
    lines = seed_casebook(store)
    report = backtest(store.decisions_to_replay(), load_default_policy(), recorded_from(store))
    assert report.replayed == len(lines) > 20
    assert report.changed == 0
    assert report.money()["delta_fen"] == 0


@pytest.mark.parametrize("cap", [10000, 100000, 3000])
def test_on_the_public_casebook_it_reproduces_policy_test_exactly(
    store: SqliteStore, cap: int
) -> None:
    """Each replayed decision is what `policy test` gets for that line with the candidate."""
    lines = seed_casebook(store)
    candidate = parse_policy(stricter_text(cap), "candidate.toml")
    report = backtest(store.decisions_to_replay(), candidate, recorded_from(store))
    tested = {r.id: r for r in run_casebook(lines, candidate).results}
    live = {r.id: r for r in run_casebook(lines, load_default_policy()).results}
    by_case = {r.case_id: r for r in report.replays}
    assert set(by_case) == set(tested)
    for case_id, result in tested.items():
        assert result.got is not None
        assert by_case[case_id].action == result.got["action"], case_id
        assert by_case[case_id].rule == (result.rule or "(none)"), case_id
        assert by_case[case_id].changed == (result.got != live[case_id].got), case_id
    assert report.changed == sum(1 for i in tested if tested[i].got != live[i].got)


def test_stricter_candidate_moves_high_value_approvals_to_people(store: SqliteStore) -> None:
    seed_casebook(store)
    report = backtest(store.decisions_to_replay(), stricter(), recorded_from(store))
    assert report.changed > 0
    money = report.money()
    assert money["added_fen"] == 0
    assert money["removed_fen"] > 0
    assert money["delta_fen"] == -money["removed_fen"]
    groups = report.by_rule()
    assert all(g["to_rule"] == "2-high-value" and g["to_action"] == "human" for g in groups)
    assert sum(g["count"] for g in groups) == report.changed


def test_the_facts_kept_are_those_decided_on_not_the_overwritten_case(
    store: SqliteStore, clock: FakeClock
) -> None:
    line = casebook_lines()[0]
    assert isinstance(line.case, RefundCase)
    record_policy_decision(store, line.case, load_default_policy(), line.now)
    # A later poll overwrites the case's facts (a different amount); no new decision yet.
    store.upsert_case(line.case.model_copy(update={"refund_amount": 1, "version": "v-later"}))
    [row] = store.decisions_to_replay()
    assert RefundCase.model_validate_json(row.facts_json) == line.case
    assert row.facts_at == line.now


def test_agreement_with_people_is_a_confusion_matrix_of_case_ids(
    store: SqliteStore, clock: FakeClock
) -> None:
    lines = seed_casebook(store)
    human_lines = [
        x
        for x in lines
        if decide(x.case, load_default_policy(), x.now).action.value == "human"  # type: ignore[arg-type]
    ]
    assert len(human_lines) >= 2
    first, second = human_lines[0].case, human_lines[1].case
    assert isinstance(first, RefundCase)
    assert isinstance(second, RefundCase)
    for case, action in ((first, "reject"), (second, "approve_refund")):
        store.record_decision(
            (case.platform, case.shop_id, case.case_id),
            decided_version=case.version,
            policy_version="human",
            rule_id="reviewer",
            action=action,
            actor="human:wang",
        )
    report = backtest(store.decisions_to_replay(), load_default_policy(), recorded_from(store))
    agreement = report.agreement()
    assert agreement["cases"] == 2
    assert agreement["agreed"] == 0
    assert agreement["matrix"] == {
        "human": {"reject": [first.case_id], "approve_refund": [second.case_id]}
    }


def test_since_and_shop_limit_what_is_replayed(store: SqliteStore, clock: FakeClock) -> None:
    lines = casebook_lines()
    old, new = lines[0].case, lines[1].case
    assert isinstance(old, RefundCase)
    assert isinstance(new, RefundCase)
    record_policy_decision(store, old, load_default_policy(), lines[0].now)
    clock.advance(timedelta(days=40))
    record_policy_decision(
        store, new.model_copy(update={"shop_id": "other"}), load_default_policy(), lines[1].now
    )
    assert [
        r.key[2] for r in store.decisions_to_replay(since=clock.now() - timedelta(days=30))
    ] == [new.case_id]
    assert [r.key[2] for r in store.decisions_to_replay(shop_id=old.shop_id)] == [old.case_id]


def test_cli_backtest_json_and_html(store: SqliteStore, state_dir: Path, tmp_path: Path) -> None:
    seed_casebook(store)
    candidate = tmp_path / "stricter.toml"
    candidate.write_text(stricter_text(), encoding="utf-8")
    page = tmp_path / "report.html"
    args = [
        "policy",
        "backtest",
        str(candidate),
        "--since",
        "2026-01-01",
        "--state-dir",
        str(state_dir),
    ]
    result = runner.invoke(app, [*args, "--json", "--html", str(page)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {"replayed", "changed", "by_rule", "money_delta_fen", "agreement"} <= set(doc)
    assert doc["replayed"] == len(casebook_lines())
    assert doc["changed"] > 0
    assert doc["money_delta_fen"] < 0
    html = page.read_text(encoding="utf-8")
    assert "<svg" in html
    assert "2-high-value" in html
    assert "src=" not in html
    assert "<script" not in html

    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.output
    assert f"{doc['changed']} decided differently" in text.output
    assert "money moved differently -" in text.output


def test_cli_backtest_refuses_a_broken_candidate(
    state_dir: Path, tmp_path: Path, store: Any
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[[rules]]\nid = 1\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "backtest", str(broken), "--state-dir", str(state_dir)])
    assert result.exit_code == 1
    assert "broken.toml" in result.output
