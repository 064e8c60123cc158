"""`refund-connector mock taobao` as a real process answering a signed request."""

from __future__ import annotations

import subprocess
import sys
import threading

import httpx
import pytest
from mock_taobao_support import Top

from connector.clock import SystemClock
from mocks.kit.server import free_port


@pytest.mark.slow
def test_mock_taobao_command_serves_signed_requests() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connector",
            "mock",
            "taobao",
            "--port",
            str(port),
            "--test-mode",
            "--cases",
            "20",
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline() if process.stdout else ""
        assert "cases=20" in banner
        credentials = process.stdout.readline() if process.stdout else ""
        assert "app_key=12345678" in credentials
        waiter = threading.Event()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            for _ in range(100):
                try:
                    http.get("/__mock/clock")
                    break
                except httpx.TransportError:
                    waiter.wait(0.05)
            top = Top(http, SystemClock(), "test-session")  # type: ignore[arg-type]
            body = top.ok("taobao.refunds.receive.get", fields="refund_id,status")
            assert body["total_results"] == 10  # 20 cases over the Taobao and the Tmall shop
    finally:
        process.terminate()
        process.wait(timeout=10)
