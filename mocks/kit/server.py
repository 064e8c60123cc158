"""Run a fake on a free loopback port in a background thread (tests and the demo).

The fakes use the connector's own loopback server; nothing protocol-specific is shared.
"""

from __future__ import annotations

from typing import Any

from connector.serving import LoopbackServer, free_port

__all__ = ["BackgroundServer", "free_port"]


class BackgroundServer(LoopbackServer):
    """``with BackgroundServer(app) as base_url:`` serves ``app`` on loopback during the block."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__(app, host=host, port=port, name="mock")
