"""Check before serving (issue 14): a damaged database was served, a 0-byte one silently became
a new history, a newer one was opened. `once` with no shops serves the state exactly like `run`
(lock, checks, open, clean stop) without any platform, so these run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from state_helpers import (
    EMPTY_CONFIG,
    build_served_state,
    call,
    copy_state,
    damage_middle,
    newer_schema,
)

from connector.startup import clean_stop_path, open_for_service, unclean_reason
from connector.store.checks import DamagedDatabaseError


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(EMPTY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template") / "state"
    build_served_state(folder, cases=150)
    return folder


@pytest.fixture
def state(tmp_path: Path, template: Path) -> Path:
    return copy_state(template, tmp_path / "state")


def _once(capsys: pytest.CaptureFixture[str], config: Path, state: Path, *extra: str):  # type: ignore[no-untyped-def]
    return call(capsys, "once", "-c", str(config), "--state-dir", str(state), *extra)


def test_a_clean_state_is_served_and_its_stop_marked_clean(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    state = tmp_path / "small"
    build_served_state(state, cases=3)
    first = _once(capsys, config, state)
    assert first.code == 0, first.err
    assert "no shops are configured" in first.err  # zero shops warns
    assert unclean_reason(state) is None
    assert clean_stop_path(state).stat().st_mode & 0o777 == 0o600


def test_a_database_damaged_while_stopped_is_refused_with_the_restore_command(
    capsys: pytest.CaptureFixture[str], config: Path, state: Path
) -> None:
    db = state / "connector.db"
    damage_middle(db)
    before = db.read_bytes()
    outcome = _once(capsys, config, state)
    assert outcome.code == 2
    assert "quick_check" in outcome.err
    assert "refund-connector restore BACKUP" in outcome.err
    assert db.read_bytes() == before  # refused before anything wrote to it
    check = call(capsys, "check", "--state-dir", str(state))
    assert check.code == 1
    assert "NOT fit to serve" in check.err
    # The chain may or may not run through the damaged pages (that depends on the layout):
    # either way `audit verify` answers in words, never with a traceback.
    verify = call(capsys, "audit", "verify", "--state-dir", str(state))
    assert "Traceback" not in verify.text
    assert verify.code == 0 or verify.err.strip()


def test_a_zero_byte_database_is_refused_and_init_starts_a_new_one(
    capsys: pytest.CaptureFixture[str], config: Path, state: Path
) -> None:
    (state / "connector.db").write_bytes(b"")
    refused = _once(capsys, config, state)
    assert refused.code == 2
    assert "empty (0 bytes)" in refused.err
    assert (state / "connector.db").stat().st_size == 0
    fresh = _once(capsys, config, state, "--init")
    assert fresh.code == 0, fresh.err
    assert (state / "connector.db").stat().st_size > 0


def test_a_missing_database_beside_other_connector_state_is_refused(
    capsys: pytest.CaptureFixture[str], config: Path, state: Path
) -> None:
    (state / "connector.db").unlink()
    refused = _once(capsys, config, state)
    assert refused.code == 2
    assert "is missing" in refused.err
    assert "connector.lock" in refused.err
    assert not (state / "connector.db").exists()
    assert _once(capsys, config, state, "--init").code == 0


def test_a_new_state_dir_needs_no_init(
    capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path
) -> None:
    outcome = _once(capsys, config, tmp_path / "brand-new")
    assert outcome.code == 0, outcome.err
    assert (tmp_path / "brand-new").stat().st_mode & 0o777 == 0o700


def test_a_newer_database_is_refused_by_once_and_by_read_commands(
    capsys: pytest.CaptureFixture[str], config: Path, state: Path
) -> None:
    newer_schema(state / "connector.db")
    for argv in (
        ("once", "-c", str(config)),
        ("audit", "verify"),
        ("effects", "list"),
        ("check",),
    ):
        outcome = call(capsys, *argv, "--state-dir", str(state))
        assert outcome.code != 0, argv
        assert "0099_from_the_future" in outcome.err, argv
        assert "newer than this program's version" in outcome.err, argv


def test_after_an_unclean_stop_the_start_runs_a_quick_check(state: Path) -> None:
    open_for_service(state, purpose="run").close(clean=True)
    serving = open_for_service(state, purpose="run")
    assert serving.quick_check is None  # the last stop was clean
    serving.close(clean=False)  # as if killed: no marker
    assert unclean_reason(state) is not None
    again = open_for_service(state, purpose="run")
    try:
        assert again.quick_check is not None
        assert again.quick_check.finished
        assert again.quick_check.problems == []
    finally:
        again.close(clean=True)


def test_a_rewritten_audit_tail_is_refused_at_start(state: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(state / "connector.db")
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute(
        "UPDATE audit_log SET actor = 'human:mallory' WHERE seq = (SELECT max(seq) FROM audit_log)"
    )
    conn.commit()
    conn.close()
    with pytest.raises(DamagedDatabaseError, match="does not fit the chain"):
        open_for_service(state, purpose="run")
