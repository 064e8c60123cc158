"""One way to serve an ASGI app in a background thread on loopback: the console, the ops
endpoints, and the fake platforms in tests and the demo all use it.

Loopback only: these speak plain HTTP; put a TLS reverse proxy in front to reach them from
elsewhere.
"""

from __future__ import annotations

import socket
import threading
from typing import TYPE_CHECKING, Any

import uvicorn

from connector.errors import ConfigError

if TYPE_CHECKING:
    from types import TracebackType

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def free_port(host: str = "127.0.0.1") -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class LoopbackServer:
    """``with LoopbackServer(app) as url:`` serves ``app`` on loopback during the block."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int | None = None, name: str = "http"
    ) -> None:
        if host not in LOOPBACK_HOSTS and not host.startswith("127."):
            msg = f"{name} host {host!r}: it listens on loopback only (127.0.0.1)"
            raise ConfigError(msg)
        self.host = host
        self.name = name
        self.port = port or free_port(host)
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, name=f"{name}:{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    base_url = url

    def start(self) -> str:
        self._thread.start()
        waiter = threading.Event()
        while not self._server.started and self._thread.is_alive():
            waiter.wait(0.01)
        if not self._server.started:
            msg = f"the {self.name} server could not listen on {self.host}:{self.port} (in use?)"
            raise ConfigError(msg)
        return self.url

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
