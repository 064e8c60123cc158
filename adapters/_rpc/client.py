"""A signed RPC gateway bound to one shop: where to POST, how to sign, what to scrub.

Adapters build one per shop and describe each call as an ``Operation``; the client posts it
through ``post_gateway`` (every transport failure already mapped) with the shop's clock for
``Retry-After`` dates and the shop's secrets scrubbed from any platform text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters._rpc.signing import FileParts
from adapters._rpc.transport import MAX_BODY_BYTES, Operation, post_gateway
from connector.clock import Clock


@dataclass(frozen=True)
class GatewayClient:
    url: str
    http: httpx.Client = field(repr=False)
    auth: httpx.Auth = field(repr=False)
    clock: Clock = field(repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    exact_decimals: bool = False
    """read JSON fractions as ``Decimal`` (platforms that send money as JSON numbers)"""
    max_body_bytes: int = MAX_BODY_BYTES
    """answers larger than this are refused unread (``UnreadableBodyError``)"""

    def post(
        self, op: Operation, params: Mapping[str, object | None], files: FileParts | None = None
    ) -> Mapping[str, Any]:
        """One signed call; the JSON object answered (envelopes are the adapter's to read)."""
        return post_gateway(
            self.http,
            self.url,
            op,
            params,
            auth=self.auth,
            files=files,
            now=self.clock.now(),
            secrets=self.secrets,
            exact_decimals=self.exact_decimals,
            max_body_bytes=self.max_body_bytes,
        )
