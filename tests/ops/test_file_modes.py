"""Buyer data is owner-only whatever the umask (issue 14: the database, its WAL and shared
memory and `audit export -o` files were 0644 under the usual umask; an existing 0755 state dir
stayed 0755 without a word). The database files are covered in tests/store/test_store_checks.py
and, for the real service under umask 0, tests/ops/test_systemd_unit.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_helpers import decide, make_case
from state_helpers import EMPTY_CONFIG, build_served_state, call

from connector.effects import EffectKind
from connector.store.sqlite import SqliteStore


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_exports_and_backups_are_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    build_served_state(state, cases=2)
    with SqliteStore.open(state) as store:
        (effect,) = decide(store, "CLAIM", EffectKind.open_carrier_claim)
        store.record_carrier_claim(
            ("taobao", "s1", "CLAIM"), case=make_case("CLAIM"), effect_id=effect.id
        )
    out = tmp_path / "out"
    out.mkdir()
    for argv in (
        ("audit", "export", "-o", str(out / "audit.jsonl")),
        ("audit", "export", "--format", "csv", "-o", str(out / "audit.csv")),
        ("claims", "export", "--all", "--as", "ops", "-o", str(out / "claims.csv")),
        ("backup", str(out / "backup.db")),
    ):
        outcome = call(capsys, *argv, "--state-dir", str(state))
        assert outcome.code == 0, (argv, outcome.err)
        written = Path(argv[-1])
        assert written.stat().st_size > 0, argv
        assert mode(written) == 0o600, (argv, oct(mode(written)))


def test_a_new_state_dir_is_0700_and_an_open_one_is_warned_about(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    fresh = tmp_path / "fresh"
    outcome = call(capsys, "once", "-c", str(config), "--state-dir", str(fresh))
    assert outcome.code == 0, outcome.err
    assert mode(fresh) == 0o700
    assert "accessible to group or others" not in outcome.err
    fresh.chmod(0o755)
    again = call(capsys, "once", "-c", str(config), "--state-dir", str(fresh))
    assert again.code == 0, again.err
    assert f"warning: state dir {fresh} is accessible to group or others (mode 0755)" in again.err
    assert f"chmod 700 {fresh}" in again.err
    assert mode(fresh) == 0o755  # warned, not changed behind the operator's back
    check = call(capsys, "check", "--state-dir", str(fresh))
    assert "accessible to group or others" in check.err
