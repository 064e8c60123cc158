"""The systemd unit in docs/operating.md is right (issue 14): it verifies, and what it relies on
holds for the real process — SIGTERM stops within TimeoutStopSec with exit 0 and a clean-stop
mark, a crash exits non-zero (restarted) while a refusal exits 2 (RestartPreventExitStatus),
files are owner-only whatever the umask (UMask=0077 is belt and braces)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from state_helpers import EMPTY_CONFIG, call

from connector.daemon.service import Service
from connector.errors import StoreError
from connector.startup import unclean_reason
from connector.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def unit_text() -> str:
    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    section = text.split("## Running as a service", 1)[1]
    block = re.search(r"```ini\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def unit_setting(name: str) -> str:
    values = re.findall(rf"(?m)^{name}=(.*)$", unit_text())
    assert len(values) == 1, name
    return values[0].strip()


def test_the_unit_says_what_the_connector_relies_on() -> None:
    assert unit_setting("Restart") == "on-failure"
    assert unit_setting("RestartPreventExitStatus") == "2"
    assert unit_setting("KillSignal") == "SIGTERM"
    assert unit_setting("UMask") == "0077"
    assert int(unit_setting("TimeoutStopSec")) >= 30
    assert "run --config" in unit_setting("ExecStart")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = re.sub(r"(?m)^ExecStart=\S+", f"ExecStart={sys.executable}", unit_text())
    path = tmp_path / "refund-connector.service"
    path.write_text(unit, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "refund-connector" in line]
    assert done.returncode == 0, done.stdout + done.stderr
    assert ours == []


def test_a_failure_while_serving_exits_1_so_systemd_restarts_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Service) -> None:
        raise StoreError("disk I/O error")

    monkeypatch.setattr(Service, "run_forever", broken)
    config = tmp_path / "c.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    outcome = call(capsys, "run", "-c", str(config), "--state-dir", str(tmp_path / "s"))
    assert outcome.code == 1  # not RestartPreventExitStatus
    assert outcome.err.strip().splitlines()[-1] == "error: disk I/O error"
    assert unclean_reason(tmp_path / "s") is not None  # no clean-stop mark after a failure


def _command(config: Path, state: Path) -> list[str]:
    return [sys.executable, "-m", "connector", "run", "-c", str(config), "--state-dir", str(state)]


def _start(config: Path, state: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as sink:
        return subprocess.Popen(
            _command(config, state),
            stdout=sink,
            stderr=sink,
            env=env,
            preexec_fn=lambda: os.umask(0),  # the umask under test
        )


def _wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], count: int = 1) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.read_text(encoding="utf-8", errors="replace").count(text) >= count:
            return
        assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.1)  # noqa: TID251 - waiting on a real process
    pytest.fail(f"{text!r} not logged: {log.read_text(encoding='utf-8', errors='replace')}")


@pytest.mark.slow
def test_the_real_service_under_the_units_signals(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    state = tmp_path / "state"
    log = tmp_path / "service.log"
    timeout_stop = float(unit_setting("TimeoutStopSec"))

    first = _start(config, state, log)
    try:
        _wait_for(log, "service started", first)
        # files owner-only although the process runs with umask 0
        assert state.stat().st_mode & 0o777 == 0o700
        for name in ("connector.db", "connector.db-wal", "connector.db-shm", "connector.lock"):
            assert (state / name).stat().st_mode & 0o777 == 0o600, name
        # a second service on the same state refuses with 2 (not restarted) naming the first
        second = subprocess.run(
            _command(config, state),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert f"in use by PID {first.pid}" in second.stderr
        # SIGKILL: the restarted service finds the lock free and checks the database
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert unclean_reason(state) is not None

    restarted = _start(config, state, log)
    try:
        _wait_for(log, "service started", restarted, count=2)
        assert "running a bounded quick_check" in log.read_text(encoding="utf-8")
        began = time.monotonic()
        restarted.send_signal(signal.SIGTERM)
        code = restarted.wait(timeout=timeout_stop)
        stopped_in = time.monotonic() - began
    finally:
        if restarted.poll() is None:
            restarted.kill()
            restarted.wait()
    assert code == 0  # Restart=on-failure leaves a requested stop stopped
    assert stopped_in < timeout_stop
    assert unclean_reason(state) is None  # the clean stop was marked
    assert (state / "clean-stop.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.slow
def test_sigterm_in_the_middle_of_work_stops_within_timeout_stop_sec(tmp_path: Path) -> None:
    """Polls, fetches and sends in flight against a fake platform held to 25 calls/s: SIGTERM
    lets them finish and the process exits 0 well within the unit's TimeoutStopSec."""
    from connector.testing.mock_control import MockControl
    from connector.testing.shops_toml import taobao_shops_toml
    from mocks.kit.server import BackgroundServer
    from mocks.taobao import TaobaoConfig, TaobaoMock, create_app

    timeout_stop = float(unit_setting("TimeoutStopSec"))
    taobao = TaobaoConfig()
    with BackgroundServer(create_app(TaobaoMock(taobao), test_mode=True)) as url:
        with MockControl(url) as control:
            control._call(
                "POST",
                "/__mock/scenario",
                {"seed": 5, "count": 60, "deadline_min_s": 600, "deadline_max_s": 900},
            )
        shops = taobao_shops_toml(taobao, url, calls_per_second=25, page_size=10)
        config = tmp_path / "c.toml"
        config.write_text(
            "[daemon]\npoll_interval_s = 1.0\nrelay_interval_s = 0.5\nhttp_timeout_s = 5.0\n"
            + shops,
            encoding="utf-8",
        )
        state = tmp_path / "state"
        log = tmp_path / "service.log"
        service = _start(config, state, log)
        try:
            _wait_for(log, "service started", service)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until cases are coming in
                with SqliteStore.open_read_only_file(state / "connector.db") as store:
                    if store.db.execute("SELECT count(*) FROM cases").fetchone()[0] >= 5:
                        break
                time.sleep(0.2)  # noqa: TID251 - waiting on a real process
            began = time.monotonic()
            service.send_signal(signal.SIGTERM)
            code = service.wait(timeout=timeout_stop + 30)
            stopped_in = time.monotonic() - began
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
    assert code == 0, log.read_text(encoding="utf-8", errors="replace")[-2000:]
    assert stopped_in < timeout_stop, f"stopped in {stopped_in:.1f} s"
    assert unclean_reason(state) is None
    print(f"stopped {stopped_in:.2f} s after SIGTERM (TimeoutStopSec={timeout_stop:.0f})")
