"""The HTTP clients the core owns and hands to adapters (adapters never build their own)."""

from __future__ import annotations

import ssl
from functools import cache

import httpx

from connector import __version__

USER_AGENT = f"refund-connector/{__version__}"


@cache
def shared_tls_context() -> ssl.SSLContext:
    """One TLS context (httpx's defaults: certifi's CA bundle) for every client.

    Building one loads the CA bundle, ~20-80 ms of CPU; with one client per shop a restart
    spent seconds on it before the first sweep (found by profiling the SMOKE chaos run: 50
    shops took ~2 s of a 4-5 s restart). A context is safe to share between clients.
    """
    return httpx.create_ssl_context()


def make_client(
    base_url: str,
    *,
    timeout_s: float = 10.0,
    auth: httpx.Auth | None = None,
    max_connections: int = 16,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """One pooled client per shop: bounded connections, explicit timeouts, no redirects."""
    return httpx.Client(
        base_url=base_url,
        auth=auth,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        transport=transport,
        verify=shared_tls_context(),
    )
