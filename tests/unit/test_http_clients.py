"""The clients the core builds share one TLS context, and it still verifies certificates.

Found by profiling the SMOKE chaos run: a context per shop's client (the CA bundle loaded each
time) took ~2 s of every restart with 50 shops, before the first deadline sweep.
"""

from __future__ import annotations

import ssl

from connector.http import make_client, shared_tls_context


def test_every_client_shares_one_verifying_tls_context() -> None:
    context = shared_tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    first, second = make_client("https://a.example"), make_client("https://b.example")
    try:
        for client in (first, second):
            assert client._transport._pool._ssl_context is context  # type: ignore[attr-defined]
    finally:
        first.close()
        second.close()
