"""One owner per state dir (issue 14: two `run` on one dir both started and resent each other's
sends). The lock is an OS lock: refused while held, free when the holder dies however it dies,
shared with the worker processes the holder starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from state_helpers import EMPTY_CONFIG, build_served_state, call

from connector import statelock
from connector.statelock import StateLockedError, acquire, current_holder

HOLD_AND_WAIT = """
import sys, time
from pathlib import Path
from connector.statelock import acquire
lock = acquire(Path(sys.argv[1]), "run")
print("held", flush=True)
sys.stdin.readline()
"""

WORKER_CHECK = """
import sys
from pathlib import Path
from connector.statelock import verify_held_for_child
holder = verify_held_for_child(Path(sys.argv[1]))
print(f"parent {holder.pid}", flush=True)
"""


def _python_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root}


def test_a_second_owner_is_refused_naming_the_holders_pid_and_start(tmp_path: Path) -> None:
    first = acquire(tmp_path, "run")
    try:
        with pytest.raises(StateLockedError) as info:
            acquire(tmp_path, "once")
        message = str(info.value)
        assert f"PID {os.getpid()}" in message
        assert first.holder.started_at in message
        assert "(run, started" in message
        assert (tmp_path / "connector.lock").stat().st_mode & 0o777 == 0o600
    finally:
        first.release()
    acquire(tmp_path, "once").release()


def test_the_lock_is_refused_across_processes_and_freed_when_the_holder_is_killed(
    tmp_path: Path,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_WAIT, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_python_env(),
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StateLockedError, match=f"PID {holder.pid} "):
            acquire(tmp_path, "run")
        seen = current_holder(tmp_path)
        assert seen is not None
        assert seen.pid == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert current_holder(tmp_path) is None  # kill -9 leaves no stale lock
    acquire(tmp_path, "run").release()


def test_a_worker_given_the_descriptor_shares_and_proves_the_supervisors_lock(
    tmp_path: Path,
) -> None:
    lock = acquire(tmp_path, "run")
    try:
        worker = subprocess.run(
            [sys.executable, "-c", WORKER_CHECK, str(tmp_path)],
            env={**_python_env(), **lock.child_env()},
            pass_fds=lock.pass_fds(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert worker.returncode == 0, worker.stderr
        assert worker.stdout.strip() == f"parent {os.getpid()}"
        stranger = subprocess.run(
            [sys.executable, "-c", WORKER_CHECK, str(tmp_path)],
            env={**_python_env(), statelock.TOKEN_ENV: "not-the-token"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert stranger.returncode != 0
        assert "not by this worker's parent" in stranger.stderr
    finally:
        lock.release()


def test_a_forked_worker_keeps_the_state_owned_after_its_supervisor_lets_go(
    tmp_path: Path,
) -> None:
    lock = acquire(tmp_path, "run")
    os.set_inheritable(lock.pass_fds()[0], True)
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()"],
        stdin=subprocess.PIPE,
        pass_fds=lock.pass_fds(),
    )
    try:
        lock.detach()  # the supervisor's descriptor is closed; the worker still holds it
        with pytest.raises(StateLockedError):
            acquire(tmp_path, "run")
    finally:
        assert worker.stdin is not None
        worker.stdin.close()
        worker.wait()
    acquire(tmp_path, "run").release()


def test_once_and_demo_refuse_a_state_dir_in_use_and_read_commands_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    build_served_state(state, cases=3)
    config = tmp_path / "connector.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    lock = acquire(state, "run")
    try:
        once = call(capsys, "once", "-c", str(config), "--state-dir", str(state))
        assert once.code == 2
        assert f"in use by PID {os.getpid()}" in once.err
        assert lock.holder.started_at in once.err
        demo = call(capsys, "demo", "--state-dir", str(state), "--cases", "1")
        assert demo.code == 2
        assert f"PID {os.getpid()}" in demo.err
        backup = call(capsys, "backup", str(tmp_path / "copy.db"), "--state-dir", str(state))
        assert backup.code == 0, backup.err
        restore = call(capsys, "restore", str(tmp_path / "copy.db"), "--state-dir", str(state))
        assert restore.code == 2
        assert "in use by" in restore.err
        verify = call(capsys, "audit", "verify", "--state-dir", str(state))
        assert verify.code == 0, verify.err
        check = call(capsys, "check", "--state-dir", str(state))
        assert check.code == 0, check.err
        assert f"served by: PID {os.getpid()}" in check.out
    finally:
        lock.release()
    once = call(capsys, "once", "-c", str(config), "--state-dir", str(state))
    assert once.code == 0, once.err
