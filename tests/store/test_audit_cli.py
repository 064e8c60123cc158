"""`audit verify|show|tail|export` over a real state directory (the CLI opens it read-only)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from store_helpers import START, make_case
from typer.testing import CliRunner

from connector.cli import audit_cmd
from connector.clock import FakeClock
from connector.effects import EffectKind
from connector.store import EffectSpec
from connector.store.sqlite import SqliteStore

KEY = ("taobao", "s1", "R1")


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    audit_cmd.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "audit" a subcommand
    return app


def run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def story(state_dir: Path, clock: FakeClock) -> Path:
    """A case seen, changed, decided, its void timing out then done, then an escalation."""
    store = SqliteStore.open(state_dir, clock=clock)
    store.upsert_case(make_case())
    clock.advance(60)
    store.upsert_case(
        make_case(version="v2", updated_at="2026-11-12T10:01:00+08:00", refund_amount=4000)
    )
    _, (void,) = store.record_decision(
        KEY,
        decided_version="v2",
        policy_version="p7",
        rule_id="R03",
        action="approve_refund",
        trace=[
            {
                "kind": "condition",
                "rule_id": "R03",
                "field": "order_status",
                "op": "eq",
                "expected": "not_shipped",
                "actual": "not_shipped",
                "passed": True,
            },
            {"kind": "rule", "rule_id": "R03", "position": 3, "description": "R03 matched"},
        ],
        effects=[EffectSpec(kind=EffectKind.void_warehouse_order)],
    )
    store.claim_effect(void.id)
    store.mark_effect_unknown(
        void.id, error="read timeout", next_attempt_at=clock.now(), latency_ms=3000
    )
    store.claim_effect(void.id)
    store.mark_effect_done(void.id, platform_code="voided", latency_ms=41.5)
    clock.advance(timedelta(hours=1))
    with store.unit_of_work():
        store.append_audit(
            "escalated", actor="system", key=KEY, details={"reason": "deadline within 1h"}
        )
    store.upsert_case(make_case(case_id="R2"))
    store.close()
    return state_dir


def test_verify_intact(cli: typer.Typer, story: Path) -> None:
    code, out, _ = run(cli, "audit", "verify", "--state-dir", str(story))
    assert code == 0
    assert out.strip() == "7 entries, chain intact"


def test_verify_names_the_first_broken_entry(cli: typer.Typer, story: Path) -> None:
    conn = sqlite3.connect(story / "connector.db")
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("UPDATE audit_log SET actor = 'human:x' WHERE seq = 5")
    conn.execute("UPDATE audit_log SET actor = 'human:y' WHERE seq = 6")
    conn.commit()
    conn.close()
    code, _, err = run(cli, "audit", "verify", "--state-dir", str(story))
    assert code == 1
    assert "entry seq 5" in err
    assert "edited" in err


def test_verify_on_missing_state_dir_is_a_clear_error(cli: typer.Typer, tmp_path: Path) -> None:
    code, _, err = run(cli, "audit", "verify", "--state-dir", str(tmp_path / "none"))
    assert code == 2
    assert "no connector database" in err


def test_show_tells_the_whole_story(cli: typer.Typer, story: Path) -> None:
    code, out, _ = run(cli, "audit", "show", "R1", "--state-dir", str(story))
    assert code == 0, out
    assert "case taobao/s1/R1 (order O1)" in out
    assert "first seen: refund_only / no_reason_7d, status awaiting_seller, version v1" in out
    assert "changed at version v2 (was v1): refund_amount" in out
    assert "decided approve_refund by rule R03 (policy p7, on version v2)" in out
    # the policy's own words, shared with the console (connector/audit_render.py)
    assert "trace:   [yes] order_status is not_shipped (actual: not_shipped)" in out
    assert "trace: matched rule R03 (#3): R03 matched" in out
    assert "void_warehouse_order #1, attempt 1: unknown, 3000.0 ms, error: read timeout" in out
    assert "void_warehouse_order #1, attempt 2: done, code voided, 41.5 ms" in out
    assert "escalated" in out
    assert "deadline within 1h" in out
    assert "R2" not in out.replace("taobao/s1/R1", "")
    lines = [line for line in out.splitlines() if line.startswith("2026-")]
    assert len(lines) == 6


def test_show_unknown_case(cli: typer.Typer, story: Path) -> None:
    code, _, err = run(cli, "audit", "show", "nope", "--state-dir", str(story))
    assert code == 1
    assert "no case 'nope'" in err


def test_tail_shows_the_last_n(cli: typer.Typer, story: Path) -> None:
    code, out, _ = run(cli, "audit", "tail", "-n", "2", "--state-dir", str(story))
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert "#6" in lines[0]
    assert "escalated" in lines[0]
    assert "#7" in lines[1]
    assert "case_seen" in lines[1]


def test_follow_picks_up_entries_written_by_another_connection(
    story: Path, clock: FakeClock
) -> None:
    reader = SqliteStore.open_read_only(story)
    writer = SqliteStore.open(story, clock=clock)
    polls: list[float] = []

    def wait(interval: float) -> bool:
        polls.append(interval)
        if len(polls) == 1:
            writer.upsert_case(make_case(case_id="R3"))
            return False
        return True

    got = list(audit_cmd.follow_entries(reader, 7, wait=wait, interval=0.5))
    assert [e.seq for e in got] == [8]
    assert polls == [0.5, 0.5]
    reader.close()
    writer.close()


def test_export_jsonl_since(cli: typer.Typer, story: Path) -> None:
    since = (START + timedelta(minutes=30)).isoformat()
    code, out, err = run(cli, "audit", "export", "--since", since, "--state-dir", str(story))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["seq"] for r in rows] == [6, 7]
    assert rows[0]["event"] == "escalated"
    assert rows[0]["details"] == {"reason": "deadline within 1h"}
    assert {"prev_hash", "hash"} <= rows[0].keys()
    assert "2 entries exported" in err


def test_export_csv_to_file(cli: typer.Typer, story: Path, tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    code, _, _ = run(
        cli, "audit", "export", "--format", "csv", "-o", str(target), "--state-dir", str(story)
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 7
    assert list(rows[0]) == list(audit_cmd.EXPORT_COLUMNS)
    assert json.loads(rows[2]["details"])["rule_id"] == "R03"


def test_export_refuses_a_time_without_offset(cli: typer.Typer, story: Path) -> None:
    code, _, err = run(
        cli, "audit", "export", "--since", "2026-11-12T10:00:00", "--state-dir", str(story)
    )
    assert code == 2
    assert "needs a UTC offset" in err


def test_state_dir_comes_from_the_environment(
    cli: typer.Typer, story: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REFUND_CONNECTOR_STATE_DIR", str(story))
    code, out, _ = run(cli, "audit", "verify")
    assert code == 0
    assert "7 entries" in out
