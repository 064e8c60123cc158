"""`refund-connector restore BACKUP` (issue 14: nothing performed or documented a restore) and
the drill in docs/operating.md, performed step by step."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ops_helpers import decide
from state_helpers import EMPTY_CONFIG, build_served_state, call, damage_middle, newer_schema

from connector.effects import EffectKind, EffectStatus
from connector.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def _head(path: Path) -> int:
    with SqliteStore.open_read_only_file(path) as store:
        head = store.audit_head()
        return 0 if head is None else head.seq


def test_restore_puts_the_backup_back_keeps_the_old_database_and_says_what_happens_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    build_served_state(state, cases=5)
    with SqliteStore.open(state) as store:
        effect = decide(store, "SENDING", EffectKind.agree_refund)[0]
        store.claim_effect(effect.id)  # in flight when the backup is taken
    backup = tmp_path / "b.db"
    assert call(capsys, "backup", str(backup), "--state-dir", str(state)).code == 0
    assert backup.stat().st_mode & 0o777 == 0o600
    backed_up = _head(backup)
    with SqliteStore.open(state) as store:
        decide(store, "AFTER", EffectKind.agree_refund)  # made after the backup
    damage_middle(state / "connector.db")

    outcome = call(capsys, "restore", str(backup), "--state-dir", str(state))

    assert outcome.code == 0, outcome.err
    assert "1 effects that were in flight in the backup are marked unknown" in outcome.out
    assert "re-read from the platform before any resend" in outcome.out
    assert "platform refuses a write based on a version that has moved on" in outcome.out
    aside = list(state.glob("connector.db.before-restore-*"))
    assert len(aside) == 1
    assert (state / "connector.db").stat().st_mode & 0o777 == 0o600
    with SqliteStore.open_read_only_file(state / "connector.db") as store:
        assert store.get_effect(effect.id).status is EffectStatus.unknown  # type: ignore[union-attr]
        assert store.get_case(("taobao", "s1", "AFTER")) is None
        head = store.audit_head()
        assert head is not None
        assert head.seq == backed_up + 1  # the recovery of the in-flight effect, audited
    assert call(capsys, "check", "--state-dir", str(state)).code == 0
    config = tmp_path / "c.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    served = call(capsys, "once", "-c", str(config), "--state-dir", str(state))
    assert served.code == 0, served.err  # the aside copy is not "other state" blocking a start


@pytest.mark.parametrize("flaw", ["damaged", "newer", "not sqlite", "missing"])
def test_a_bad_backup_is_refused_and_nothing_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flaw: str
) -> None:
    state = tmp_path / "state"
    build_served_state(state, cases=120)
    backup = tmp_path / "b.db"
    assert call(capsys, "backup", str(backup), "--state-dir", str(state)).code == 0
    if flaw == "damaged":
        damage_middle(backup)
    elif flaw == "newer":
        newer_schema(backup)
    elif flaw == "not sqlite":
        backup.write_bytes(b"PK\x03\x04" + b"\x00" * 5000)
    else:
        backup.unlink()
    before = (state / "connector.db").read_bytes()
    outcome = call(capsys, "restore", str(backup), "--state-dir", str(state))
    assert outcome.code == 2
    assert outcome.err.startswith("error: restore refused, nothing changed:")
    assert len(outcome.err.strip().splitlines()) == 1
    assert (state / "connector.db").read_bytes() == before
    assert not list(state.glob("connector.db.before-restore-*"))


def _drill_script() -> str:
    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    section = text.split("## Restoring a backup", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


@pytest.mark.slow
def test_the_restore_drill_in_the_operating_guide_works(tmp_path: Path) -> None:
    """backup -> check -> stop -> damage -> check fails -> restore -> check -> verify -> start."""
    state = tmp_path / "state"
    build_served_state(state, cases=150)
    config = tmp_path / "connector.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    drill = _drill_script()
    drill = re.sub(r"(?m)^STATE=.*$", f"STATE={state}", drill)
    drill = re.sub(r"(?m)^BACKUP=.*$", f"BACKUP={tmp_path / 'drill.db'}", drill)
    log = tmp_path / "service.log"
    prelude = f"""
set -euo pipefail
refund-connector() {{ "{sys.executable}" -m connector "$@"; }}
systemctl() {{
  case "$1" in
    start) "{sys.executable}" -m connector run -c "{config}" --state-dir "$STATE" \\
             >>"{log}" 2>&1 & echo $! > "{tmp_path}/pid";
           for _ in $(seq 1 300); do grep -q "service started" "{log}" && return 0; sleep 0.1; done;
           return 1 ;;
    stop) kill -TERM "$(cat {tmp_path}/pid)";
          while kill -0 "$(cat {tmp_path}/pid)" 2>/dev/null; do sleep 0.1; done ;;
  esac
}}
STATE={state}
systemctl start
"""
    script = prelude + drill
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=300, check=False
    )
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "NOT fit to serve" in done.stderr  # the damage was seen before the restore
        assert "restored" in done.stdout
        assert done.stdout.count("fit to serve") >= 2
        assert "chain intact" in done.stdout
    finally:
        pid_file = tmp_path / "pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(300):
                    os.kill(pid, 0)
                    time.sleep(0.1)  # noqa: TID251 - waiting for a real process to exit
            except ProcessLookupError:
                pass
