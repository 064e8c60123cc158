"""Buyers' evidence photos, fetched by the console's server and served from the console.

A reviewer's browser never loads a platform's image host (the CSP allows ``img-src 'self'
data:`` only): the console fetches an evidence URL itself, only over HTTP(S) from a host the
case's adapter declares in ``image_hosts`` (a leading dot allows subdomains), at most
``MAX_IMAGE_BYTES``, only PNG/JPEG/GIF/WebP checked by their magic bytes, and keeps it in the
store so it is fetched once. Anything else is shown as "image unavailable", never proxied.
Guarded by tests/console/test_evidence_images.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

import httpx

from connector.store import Store

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 3 * 1024 * 1024
FETCH_TIMEOUT_S = 5.0
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
Fetch = Callable[[str], bytes | None]
"""Reads an image URL's bytes (at most MAX_IMAGE_BYTES + 1), or None when it cannot."""


def host_allowed(url: str, hosts: Iterable[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    for allowed in hosts:
        allowed = allowed.lower()
        if allowed.startswith("."):
            if host.endswith(allowed) or host == allowed[1:]:
                return True
        elif host == allowed:
            return True
    return False


def image_type(body: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if body.startswith(magic):
            return kind
    if body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        return "image/webp"
    return None


def http_fetch(url: str) -> bytes | None:
    """GET with a timeout and a size cap, no redirects (a redirect could leave the hosts)."""
    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT_S, follow_redirects=False) as answer:
            if answer.status_code != 200:
                return None
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_IMAGE_BYTES:
                    return None
            return bytes(body)
    except httpx.HTTPError:
        return None


def evidence_image(
    store: Store,
    url: str,
    platform: str,
    image_hosts: Mapping[str, frozenset[str]],
    fetch: Fetch = http_fetch,
) -> tuple[str, bytes] | None:
    """(content type, bytes) of an evidence image, from the store's cache or fetched once."""
    cached = store.cached_evidence_image(url)
    if cached is not None:
        return cached
    if not host_allowed(url, image_hosts.get(platform, frozenset())):
        return None
    body = fetch(url)
    if body is None or not body or len(body) > MAX_IMAGE_BYTES:
        log.info("evidence image not fetched", extra={"platform": platform})
        return None
    kind = image_type(body)
    if kind is None:
        return None
    store.cache_evidence_image(url, kind, body)
    return kind, body
