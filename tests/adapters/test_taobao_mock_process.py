"""Issue 3's "done when": the adapter, in this process, lists the cases that
``refund-connector mock taobao`` generated in another process, with signed requests."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from adapters.taobao import TaobaoAdapter, TaobaoSettings
from connector.adapter import SyncWindow
from connector.clock import SystemClock
from connector.testing import MockControl
from mocks.kit.server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP_SECRET = "process-secret-4c2d"
SESSION = "process-session-a81e"


def _wait_until_listening(proc: subprocess.Popen[bytes], port: int, limit_s: float = 30.0) -> None:
    """Poll the port; between tries wait on the child itself, so an early exit is seen at once."""
    tries = int(limit_s / 0.05)
    for _ in range(tries):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            pass
        try:
            proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            continue
        output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        pytest.fail(f"the mock exited with {proc.returncode}: {output[-2000:]}")
    pytest.fail(f"the mock did not listen on port {port} within {limit_s}s")


@pytest.fixture
def mock_process() -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "connector",
        "mock",
        "taobao",
        "--port",
        str(port),
        "--cases",
        "60",
        "--seed",
        "11",
        "--app-secret",
        APP_SECRET,
        "--session",
        SESSION,
        "--test-mode",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_until_listening(proc, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("sign_method", ["hmac-sha256", "md5"])
def test_adapter_lists_generated_cases_from_the_mock_cli(
    mock_process: str, sign_method: str
) -> None:
    with MockControl(mock_process) as control:
        expected = {v["case_id"] for v in control.cases(shop="taobao-shop")}
    assert expected, "the generator should give the Taobao shop some cases"
    settings = TaobaoSettings(
        base_url=mock_process,
        shop_id="taobao-shop",
        app_key="12345678",
        app_secret=APP_SECRET,
        session=SESSION,
        sign_method=sign_method,  # type: ignore[arg-type]
        page_size=7,
    )
    clock = SystemClock()
    with httpx.Client(timeout=10) as http:
        adapter = TaobaoAdapter(settings, http=http, clock=clock)
        adapter.check()
        now = clock.now()
        window = SyncWindow(now - timedelta(days=120), now + timedelta(minutes=1))
        listed: list[str] = []
        quarantined = 0
        token: str | None = None
        for _ in range(100):
            page = adapter.list_cases(window, token)
            listed += [c.case_id for c in page.cases]
            quarantined += len(page.quarantined)
            token = page.next_page
            if token is None:
                break
        assert token is None
        some = adapter.get_case(listed[0])
    assert quarantined == 0
    assert len(listed) == len(set(listed))
    assert set(listed) == expected
    assert some.platform == "taobao"
    assert some.version is not None
