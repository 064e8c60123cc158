"""Transport-level faults every fake serves the same way, whatever its wire protocol.

``http_status``, ``latency``, ``hang`` and ``reset`` never reach a platform's envelope, so they
live here once; protocol-shaped faults (``platform_error``, ``malformed_*``) stay in each fake.
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from mocks.kit.faults import Fault


class AbortConnection(Response):
    """Answer nothing: abort the TCP connection (``reset``, and the drop of ``apply_then_drop``)."""

    def __init__(self) -> None:
        super().__init__(content=b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        owner = getattr(receive, "__self__", None)
        transport = getattr(owner, "transport", None)
        if transport is not None:
            transport.abort()
            return
        # No transport to abort (another server): announce more bytes than are ever sent.
        start: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"4096")],
        }
        await send(start)
        await send({"type": "http.response.body", "body": b"{", "more_body": False})


async def transport_fault(fault: Fault) -> Response | None:
    """The answer a transport fault gives instead of the call, or None to go on with the call.

    ``latency`` waits and goes on; ``hang`` waits, then gives up with 504 without applying the
    call; ``http_status`` answers an HTML error page (with ``Retry-After`` when asked).
    """
    if fault.kind == "latency":
        await asyncio.sleep(fault.number("seconds", 0.2))
        return None
    if fault.kind == "hang":
        await asyncio.sleep(fault.number("seconds", 30))
        return Response("upstream timed out", status_code=504, media_type="text/plain")
    if fault.kind == "reset":
        return AbortConnection()
    if fault.kind == "http_status":
        status = int(fault.params.get("status", 502))
        headers: dict[str, str] = {}
        if fault.params.get("retry_after_s") is not None:
            headers["Retry-After"] = str(int(fault.number("retry_after_s", 1)))
        page = f"<html><head><title>{status}</title></head><body>error {status}</body></html>"
        return Response(page, status_code=status, headers=headers, media_type="text/html")
    return None
