"""A webhook receiver that records every delivery and answers with scripted statuses."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SECRET = "test-webhook-secret-0123456789"


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    statuses: list[int] = field(default_factory=list)
    """Answers for the next requests, in order; 200 once they run out."""
    received: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        import json

        with self.lock:
            return [json.loads(d.body) for d in self.received]


def receiver_app(receiver: Receiver) -> Starlette:
    async def hook(request: Request) -> Response:
        body = await request.body()
        with receiver.lock:
            receiver.received.append(Delivery(headers=dict(request.headers), body=body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        return Response(status_code=status)

    return Starlette(routes=[Route("/hooks/refunds", hook, methods=["POST"])])
