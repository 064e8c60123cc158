"""Shadow mode: a candidate decides beside the live policy, recorded and never pushed (issue 20)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from policy_helpers import stricter_text
from typer.testing import CliRunner

from connector.cli import app
from connector.errors import PolicyError
from connector.models import RefundCase
from connector.policy import decide, load_default_policy, parse_policy, shadow
from connector.policy.casebook import CasebookLine, read_casebook
from connector.store import PolicyRole
from connector.store.sqlite import SqliteStore

DATA = Path(__file__).resolve().parent.parent / "data" / "public.jsonl"
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
runner = CliRunner()


def cases() -> list[tuple[RefundCase, datetime]]:
    lines = read_casebook(DATA.read_text(encoding="utf-8"))
    return [
        (line.case, line.now)
        for line in lines
        if isinstance(line, CasebookLine) and isinstance(line.case, RefundCase)
    ]


def decide_all(store: SqliteStore) -> int:
    """Decide every casebook case live (as the daemon's hook does) and beside it in shadow."""
    live_policy = load_default_policy()
    count = 0
    for case, now in cases():
        store.upsert_case(case)
        live = decide(case, live_policy, now)
        shadow.decide_beside(store, (case.platform, case.shop_id, case.case_id), case, now, live)
        count += 1
    return count


def test_without_a_shadow_nothing_is_recorded(store: SqliteStore) -> None:
    decide_all(store)
    assert store.shadow_decisions("shoe-flagship") == []


def test_every_decision_is_made_twice_and_the_shadow_one_recorded_and_audited(
    store: SqliteStore,
) -> None:
    candidate = parse_policy(stricter_text(), "stricter.toml")
    shop = cases()[0][0].shop_id
    shadow.start(store, candidate, shop_id=shop, actor="human:li")
    decide_all(store)
    shop_cases = [c for c, _ in cases() if c.shop_id == shop]
    recorded = store.shadow_decisions(shop)
    assert len(recorded) == len(shop_cases) > 0
    assert {r.shadow_version for r in recorded} == {candidate.version}
    audited = [e for e in store.audit_entries() if e.event == "shadow_decided"]
    assert len(audited) == len(recorded)
    assert all(e.actor == "policy" for e in audited)
    # Never pushed: no effects anywhere.
    assert store.effect_status_counts() == {}
    report = shadow.shadow_report(store, shop).as_json()
    assert report["decisions"] == len(recorded)
    differ = [p for p in report["live_vs_shadow"] if p["live"] != p["shadow"]]
    assert differ
    assert all(p["shadow"] == "human" for p in differ)
    assert report["money_delta_fen"] < 0


def test_stop_ends_the_shadow_and_promote_makes_it_live(store: SqliteStore) -> None:
    candidate = parse_policy(stricter_text(), "stricter.toml")
    with pytest.raises(PolicyError):
        shadow.promote(store, shop_id="s1", actor="human:li")
    shadow.start(store, candidate, shop_id="s1", actor="human:li")
    shadow.stop(store, shop_id="s1", actor="human:li")
    assert shadow.current_version(store, "s1") is None
    with pytest.raises(PolicyError):
        shadow.stop(store, shop_id="s1", actor="human:li")
    shadow.start(store, candidate, shop_id="s1", actor="human:li")
    shadow.promote(store, shop_id="s1", actor="human:zhang")
    live = store.current_policy_install("s1", PolicyRole.live)
    assert live is not None
    assert live.version == candidate.version
    assert shadow.current_version(store, "s1") is None
    events = [(e.event, e.actor) for e in store.audit_entries()]
    assert ("policy_promoted", "human:zhang") in events
    assert events.count(("shadow_stopped", "human:zhang")) == 1


def test_cli_shadow_start_report_stop_promote(
    store: SqliteStore, state_dir: Path, tmp_path: Path
) -> None:
    candidate = tmp_path / "stricter.toml"
    candidate.write_text(stricter_text(), encoding="utf-8")
    shop = cases()[0][0].shop_id
    base = ["--shop", shop, "--state-dir", str(state_dir)]
    started = runner.invoke(app, ["policy", "shadow", str(candidate), "--as", "li", *base])
    assert started.exit_code == 0, started.output
    assert "runs beside the live policy" in started.output
    decide_all(store)
    report = runner.invoke(app, ["policy", "shadow", "report", "--json", *base])
    assert report.exit_code == 0, report.output
    doc = json.loads(report.output)
    assert doc["decisions"] > 0
    assert doc["disagree_with_live"] > 0
    text = runner.invoke(app, ["policy", "shadow", "report", *base])
    assert "shadow agrees with live on" in text.output
    no_name = runner.invoke(app, ["policy", "shadow", "stop", *base])
    assert no_name.exit_code == 1
    assert "--as NAME is required" in no_name.output
    promoted = runner.invoke(app, ["policy", "promote", "--as", "li", *base])
    assert promoted.exit_code == 0, promoted.output
    again = runner.invoke(app, ["policy", "shadow", "stop", "--as", "li", *base])
    assert again.exit_code == 1
    assert "no shadow policy runs" in again.output
