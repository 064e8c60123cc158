"""Serve the console beside the daemon (``run``, the demo) with the core's loopback server."""

from __future__ import annotations

from typing import Any

from connector.serving import LOOPBACK_HOSTS, LoopbackServer

__all__ = ["LOOPBACK_HOSTS", "ConsoleServer"]


class ConsoleServer(LoopbackServer):
    """``with ConsoleServer(app, port=8780) as url:`` serves the console during the block."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__(app, host=host, port=port, name="console")
        self._server.config.server_header = False  # no "server: uvicorn" on answers
