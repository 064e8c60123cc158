"""`claims list | export` (the claim form, exported_at marking, audit) and `tasks list`."""

from __future__ import annotations

import csv
import getpass
import json
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from ops_helpers import START, decide, invoke, make_case

from connector.audit import verify_chain
from connector.clock import FakeClock
from connector.effects import EffectKind
from connector.store import CarrierClaimRecord, Store, TaskStatus


def _claim(store: Store, case_id: str) -> CarrierClaimRecord:
    (effect,) = decide(store, case_id, EffectKind.open_carrier_claim)
    return store.record_carrier_claim(
        ("taobao", "s1", case_id), case=make_case(case_id), effect_id=effect.id
    )


@pytest.fixture
def claims(store: Store, clock: FakeClock) -> list[CarrierClaimRecord]:
    first = _claim(store, "L1")
    clock.advance(timedelta(days=1))
    second = _claim(store, "L2")
    return [first, second]


def _exported(store: Store) -> dict[str, object]:
    return {c.case_id: c.exported_at for c in store.list_carrier_claims()}


def test_export_csv_writes_the_claim_form_and_marks_exported(
    cli: typer.Typer,
    state_dir: Path,
    store: Store,
    clock: FakeClock,
    tmp_path: Path,
    claims: list[CarrierClaimRecord],
) -> None:
    out = tmp_path / "claims.csv"
    result = invoke(
        cli, "claims", "export", "--output", str(out), "--as", "ops1",
        "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 claims exported" in result.stderr
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["case_id"] for r in rows] == ["L1", "L2"]
    first = rows[0]
    assert first["order_id"] == "O-L1"
    assert first["sku"] == "SKU-L1"
    assert first["item_title"] == "陶瓷杯 350ml"
    assert first["quantity"] == "1"
    assert first["item_price_yuan"] == "50.00"
    assert first["claim_amount_yuan"] == "48.00"
    assert (first["carrier"], first["waybill"]) == ("YTO", "YTL10001")
    assert first["logistics_status"] == "lost"
    assert first["created_at"] == "2026-11-12T10:00:00+08:00"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")

    assert _exported(store) == {"L1": clock.now(), "L2": clock.now()}
    head = store.audit_head()
    assert head is not None
    (entry,) = store.audit_entries(after_seq=head.seq - 1)
    assert entry.event == "carrier_claims_exported"
    assert entry.actor == "human:ops1"
    assert entry.details["claim_ids"] == [c.id for c in claims]
    assert entry.details["os_user"] == getpass.getuser()
    assert entry.details["format"] == "csv"
    assert verify_chain(store.audit_entries(), store.audit_head()).intact

    clock.advance(60)
    again = invoke(cli, "claims", "export", "--as", "ops1", "--state-dir", str(state_dir))
    assert again.exit_code == 0, again.output
    assert list(csv.DictReader(again.stdout.splitlines())) == []
    assert store.audit_head() == head  # nothing new: no audit entry
    everything = invoke(
        cli, "claims", "export", "--all", "--as", "ops1", "--state-dir", str(state_dir)
    )
    assert len(list(csv.DictReader(everything.stdout.splitlines()))) == 2
    first_time = START + timedelta(days=1)
    assert _exported(store) == {"L1": first_time, "L2": first_time}  # first export kept


def test_export_jsonl_dry_run_marks_nothing(
    cli: typer.Typer, state_dir: Path, store: Store, claims: list[CarrierClaimRecord]
) -> None:
    head = store.audit_head()
    result = invoke(
        cli, "claims", "export", "--format", "jsonl", "--dry-run", "--state-dir", str(state_dir)
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["claim_id"] for line in lines] == [c.id for c in claims]
    assert lines[1] == {
        "claim_id": claims[1].id,
        "platform": "taobao",
        "shop_id": "s1",
        "case_id": "L2",
        "order_id": "O-L2",
        "sku": "SKU-L2",
        "item_title": "陶瓷杯 350ml",
        "quantity": 1,
        "item_price_yuan": "50.00",
        "claim_amount_yuan": "48.00",
        "carrier": "YTO",
        "waybill": "YTL20001",
        "logistics_status": "lost",
        "created_at": "2026-11-13T10:00:00+08:00",
    }
    assert "dry run" in result.stderr
    assert _exported(store) == {"L1": None, "L2": None}
    assert store.audit_head() == head


def test_export_since_keeps_only_later_claims(
    cli: typer.Typer, state_dir: Path, store: Store, claims: list[CarrierClaimRecord]
) -> None:
    result = invoke(
        cli, "claims", "export", "--format", "jsonl", "--since", "2026-11-13T00:00:00+08:00",
        "--as", "ops1", "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["case_id"] for line in result.stdout.splitlines()] == ["L2"]
    assert _exported(store)["L1"] is None
    assert _exported(store)["L2"] is not None
    naive = invoke(cli, "claims", "export", "--since", "2026-11-13T00:00:00",
                   "--dry-run", "--state-dir", str(state_dir))  # fmt: skip
    assert naive.exit_code == 2
    assert "offset" in naive.output


def test_export_into_a_missing_folder_fails_and_marks_nothing(
    cli: typer.Typer, state_dir: Path, store: Store, tmp_path: Path,
    claims: list[CarrierClaimRecord],
) -> None:  # fmt: skip
    head = store.audit_head()
    result = invoke(
        cli, "claims", "export", "--output", str(tmp_path / "no" / "such" / "dir.csv"),
        "--as", "ops1", "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "nothing marked" in result.stderr
    assert _exported(store) == {"L1": None, "L2": None}
    assert store.audit_head() == head


def test_claims_list(
    cli: typer.Typer, state_dir: Path, store: Store, claims: list[CarrierClaimRecord]
) -> None:
    store.mark_claims_exported([claims[0].id], actor="human:ops1")
    table = invoke(cli, "claims", "list", "--state-dir", str(state_dir))
    assert table.exit_code == 0, table.output
    assert "YTL10001" in table.stdout
    assert "YTL20001" in table.stdout
    assert "48.00" in table.stdout
    fresh = invoke(cli, "claims", "list", "--not-exported", "--json", "--state-dir", str(state_dir))
    assert [c["case_id"] for c in json.loads(fresh.stdout)] == ["L2"]


def test_tasks_list_shows_open_tasks_with_deadline_and_time_left(
    cli: typer.Typer, state_dir: Path, store: Store, clock: FakeClock
) -> None:
    (effect,) = decide(store, "R9", EffectKind.agree_refund)
    sms = store.open_task(
        ("taobao", "s1", "R9"),
        "sms_code",
        deadline_at=START + timedelta(hours=2),
        details={"effect_id": effect.id, "kind": "agree_refund"},
    )
    other = store.open_task(("taobao", "s1", "R9"), "look_at_photos", deadline_at=None)
    closed = store.open_task(("taobao", "s1", "R9"), "sms_code", deadline_at=START)
    store.close_task(closed.id, actor="human:ops1", status=TaskStatus.cancelled)
    clock.advance(timedelta(minutes=30))

    result = invoke(cli, "tasks", "list", "--json", "--state-dir", str(state_dir))
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {sms.id, other.id}
    assert rows[sms.id]["seconds_left"] == 90 * 60
    assert rows[sms.id]["details"] == {"effect_id": effect.id, "kind": "agree_refund"}
    assert rows[other.id]["seconds_left"] is None

    only_sms = invoke(cli, "tasks", "list", "--kind", "sms_code", "--state-dir", str(state_dir))
    assert only_sms.exit_code == 0, only_sms.output
    line = next(ln for ln in only_sms.stdout.splitlines() if "sms_code" in ln)
    assert "2026-11-12 12:00:00" in line
    assert "1h 30m" in line
    assert f"effect_id={effect.id}" in line
    assert "look_at_photos" not in only_sms.stdout


def test_tasks_list_when_nothing_is_open(cli: typer.Typer, state_dir: Path, store: Store) -> None:
    result = invoke(cli, "tasks", "list", "--state-dir", str(state_dir))
    assert result.exit_code == 0
    assert "no open tasks" in result.stderr
