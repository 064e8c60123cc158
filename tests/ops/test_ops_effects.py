"""`effects list | retry | cancel`: filters, JSON, audited human actions, refused transitions."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from ops_helpers import START, decide, invoke

from connector.audit import verify_chain
from connector.clock import FakeClock
from connector.effects import EffectKind, EffectStatus
from connector.store import Store


@pytest.fixture
def outbox(store: Store, clock: FakeClock) -> dict[str, int]:
    """One effect in each interesting status, on four cases."""
    (failed,) = decide(store, "R1", EffectKind.agree_refund)
    store.claim_effect(failed.id)
    store.mark_effect_failed(failed.id, error="refund amount above limit", platform_code="isv.x")
    (unknown,) = decide(store, "R2", EffectKind.message_buyer)
    store.claim_effect(unknown.id)
    store.mark_effect_unknown(
        unknown.id, error="read timeout", next_attempt_at=START + timedelta(minutes=5)
    )
    (pending,) = decide(store, "R3", EffectKind.write_order_memo)
    store.reschedule_effect(
        store.claim_effect(pending.id).id,
        error="rate limited",
        next_attempt_at=START + timedelta(minutes=10),
    )
    (done,) = decide(store, "R4", EffectKind.agree_refund)
    store.claim_effect(done.id)
    store.mark_effect_done(done.id, platform_code="ok")
    return {"failed": failed.id, "unknown": unknown.id, "pending": pending.id, "done": done.id}


def _list_json(cli: typer.Typer, state_dir: Path, *args: str) -> list[dict[str, object]]:
    result = invoke(cli, "effects", "list", "--json", "--state-dir", str(state_dir), *args)
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_list_filters_by_status_case_and_limit(
    cli: typer.Typer, state_dir: Path, outbox: dict[str, int]
) -> None:
    every = _list_json(cli, state_dir)
    assert [r["id"] for r in every] == sorted(outbox.values(), reverse=True)
    failed = _list_json(cli, state_dir, "--status", "failed")
    assert [(r["id"], r["status"], r["last_platform_code"]) for r in failed] == [
        (outbox["failed"], "failed", "isv.x")
    ]
    assert [r["case_id"] for r in _list_json(cli, state_dir, "--case", "R2")] == ["R2"]
    assert _list_json(cli, state_dir, "--status", "done", "--case", "R2") == []
    assert len(_list_json(cli, state_dir, "--limit", "2")) == 2


def test_list_table_shows_next_attempt_in_beijing_time_with_time_left(
    cli: typer.Typer, state_dir: Path, clock: FakeClock, outbox: dict[str, int]
) -> None:
    clock.advance(timedelta(minutes=1))
    result = invoke(cli, "effects", "list", "--state-dir", str(state_dir))
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.stdout.splitlines() if " taobao/s1/R3 " in ln)
    # START is 02:00 UTC; +10 min is 10:10 Beijing; one minute has passed.
    assert "2026-11-12 10:10:00 北京 (9m 00s)" in line
    assert "write_order_memo" in line
    assert "rate limited" in line
    unknown_line = next(ln for ln in result.stdout.splitlines() if " taobao/s1/R2 " in ln)
    assert "(4m 00s)" in unknown_line
    clock.advance(timedelta(minutes=20))
    later = invoke(cli, "effects", "list", "--status", "pending", "--state-dir", str(state_dir))
    assert "overdue 11m 00s" in later.stdout


def test_a_narrow_terminal_never_hides_the_identifying_columns(
    cli: typer.Typer, state_dir: Path, outbox: dict[str, int]
) -> None:
    result = invoke(cli, "effects", "list", "--state-dir", str(state_dir), columns=40)
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.stdout.splitlines() if " taobao/s1/R1 " in ln)
    for cell in (str(outbox["failed"]), "agree_refund", "failed", "isv.x"):
        assert f" {cell} " in line


def test_list_refuses_an_unknown_status(cli: typer.Typer, state_dir: Path, store: Store) -> None:
    result = invoke(cli, "effects", "list", "--status", "stuck", "--state-dir", str(state_dir))
    assert result.exit_code == 2
    assert "stuck" in result.output


def _last_audit(store: Store) -> dict[str, object]:
    head = store.audit_head()
    assert head is not None
    (entry,) = store.audit_entries(after_seq=head.seq - 1)
    return {"event": entry.event, "actor": entry.actor, **entry.details}


def test_retry_a_failed_effect_is_audited_with_name_and_os_user(
    cli: typer.Typer, state_dir: Path, store: Store, clock: FakeClock, outbox: dict[str, int]
) -> None:
    clock.advance(timedelta(minutes=3))
    result = invoke(
        cli, "effects", "retry", str(outbox["failed"]), "--as", "alice",
        "--reason", "limit raised", "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "failed -> pending" in result.stdout
    effect = store.get_effect(outbox["failed"])
    assert effect is not None
    assert effect.status is EffectStatus.pending
    assert effect.next_attempt_at == clock.now()
    audit = _last_audit(store)
    assert audit["event"] == "effect_requeued"
    assert audit["actor"] == "human:alice"
    assert audit["os_user"] == getpass.getuser()
    assert audit["reason"] == "limit raised"
    assert audit["previous_status"] == "failed"
    assert verify_chain(store.audit_entries(), store.audit_head()).intact


def test_retry_an_unknown_effect_keeps_it_unknown_so_the_daemon_rereads(
    cli: typer.Typer, state_dir: Path, store: Store, outbox: dict[str, int]
) -> None:
    result = invoke(
        cli, "effects", "retry", str(outbox["unknown"]), "--as", "bob",
        "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "re-reads" in result.stdout
    effect = store.get_effect(outbox["unknown"])
    assert effect is not None
    assert effect.status is EffectStatus.unknown


@pytest.mark.parametrize("which", ["done", "pending"])
def test_retry_refuses_effects_that_are_not_failed_or_unknown(
    cli: typer.Typer, state_dir: Path, store: Store, outbox: dict[str, int], which: str
) -> None:
    before = store.audit_head()
    result = invoke(
        cli, "effects", "retry", str(outbox[which]), "--as", "alice", "--state-dir", str(state_dir)
    )
    assert result.exit_code == 1
    assert "only failed or unknown effects are retried" in result.stderr
    assert "Traceback" not in result.output
    assert store.audit_head() == before


def test_cancel_is_audited_and_refuses_illegal_transitions(
    cli: typer.Typer, state_dir: Path, store: Store, outbox: dict[str, int]
) -> None:
    result = invoke(
        cli, "effects", "cancel", str(outbox["pending"]), "--as", "carol",
        "--reason", "memo written by hand", "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pending -> cancelled" in result.stdout
    effect = store.get_effect(outbox["pending"])
    assert effect is not None
    assert effect.status is EffectStatus.cancelled
    audit = _last_audit(store)
    assert audit["event"] == "effect_cancelled"
    assert audit["actor"] == "human:carol"
    assert audit["os_user"] == getpass.getuser()
    assert audit["reason"] == "memo written by hand"

    again = invoke(
        cli, "effects", "cancel", str(outbox["done"]), "--as", "carol",
        "--reason", "oops", "--state-dir", str(state_dir),
    )  # fmt: skip
    assert again.exit_code == 1
    assert "cannot go from done to cancelled" in again.stderr
    assert "Traceback" not in again.output


def test_cancel_an_unknown_effect_warns_it_may_have_applied(
    cli: typer.Typer, state_dir: Path, outbox: dict[str, int]
) -> None:
    result = invoke(
        cli, "effects", "cancel", str(outbox["unknown"]), "--as", "carol",
        "--reason", "answered by phone", "--state-dir", str(state_dir),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "check on the platform" in result.stderr


def test_unknown_ids_names_and_missing_reason_are_clear_errors(
    cli: typer.Typer, state_dir: Path, outbox: dict[str, int]
) -> None:
    missing = invoke(cli, "effects", "retry", "999", "--as", "alice", "--state-dir", str(state_dir))
    assert missing.exit_code == 1
    assert "no effect 999" in missing.stderr
    bad_name = invoke(
        cli, "effects", "retry", str(outbox["failed"]), "--as", "al ice!",
        "--state-dir", str(state_dir),
    )  # fmt: skip
    assert bad_name.exit_code == 2
    assert "--as" in bad_name.stderr
    no_reason = invoke(
        cli, "effects", "cancel", str(outbox["failed"]), "--as", "alice",
        "--state-dir", str(state_dir),
    )  # fmt: skip
    assert no_reason.exit_code == 2
    assert "--reason" in no_reason.output
    no_name = invoke(cli, "effects", "retry", str(outbox["failed"]), "--state-dir", str(state_dir))
    assert no_name.exit_code == 2
    assert "--as" in no_name.output


def test_writes_refuse_a_missing_database_instead_of_creating_one(
    cli: typer.Typer, tmp_path: Path
) -> None:
    state = tmp_path / "nowhere"
    result = invoke(cli, "effects", "retry", "1", "--as", "alice", "--state-dir", str(state))
    assert result.exit_code == 2
    assert "no connector database" in result.stderr
    assert not state.exists()
