"""`refund-connector mock jd` as a real process answering a signed request."""

from __future__ import annotations

import subprocess
import sys
import threading

import httpx
import pytest
from mock_jd_support import Jos

from connector.clock import SystemClock
from mocks.kit.server import free_port


@pytest.mark.slow
def test_mock_jd_command_serves_signed_requests() -> None:
    port = free_port()
    command = [sys.executable, "-m", "connector", "mock", "jd", "--port", str(port), "--test-mode"]
    command += ["--cases", "30", "--seed", "5", "--token", "cli-token"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "/routerjson" in banner
        assert "test_mode=on" in banner
        assert "app_key=jd-app-key app_secret=jd-app-secret" in process.stdout.readline()
        assert "access_token=cli-token buId=10001" in process.stdout.readline()
        waiter = threading.Event()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(200):
                try:
                    views = http.get("/__mock/cases").json()["cases"]
                    break
                except httpx.TransportError:
                    waiter.wait(0.05)
            jos = Jos(http, SystemClock(), token="cli-token")  # type: ignore[arg-type]
            result = jos.refund("queryPageList", pageIndex=1, pageSize=50)
            applies = [v for v in views if v["family"] == "refund_apply"]
            assert result["success"] is True
            assert result["totalCount"] == len(applies) > 0
    finally:
        process.terminate()
        process.wait(timeout=10)
