"""Opaque page tokens and the page loop the core (and the conformance kit) drive.

A token is URL-safe base64 of a small JSON object the adapter defines; callers only pass it
back. ``iter_pages`` stops on the last page and refuses to run forever.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

Page = TypeVar("Page")


def encode_token(state: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(state), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The state inside a token; a token this code did not make is a ValueError."""
    padded = token + "=" * (-len(token) % 4)
    try:
        state = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        msg = f"not a page token made by this adapter: {token[:40]!r}"
        raise ValueError(msg) from exc
    if not isinstance(state, dict):
        msg = f"not a page token made by this adapter: {token[:40]!r}"
        raise ValueError(msg)
    return state


def iter_pages(
    fetch: Callable[[str | None], Page],
    next_token: Callable[[Page], str | None],
    *,
    max_pages: int = 10_000,
) -> Iterator[Page]:
    """Every page from the first until no next token; a token that repeats or too many pages
    is a ``RuntimeError`` (the pagination would never end)."""
    token: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page = fetch(token)
        yield page
        token = next_token(page)
        if token is None:
            return
        if token in seen:
            msg = f"pagination repeats a page token ({token[:40]!r}); it would never end"
            raise RuntimeError(msg)
        seen.add(token)
    msg = f"pagination did not end within {max_pages} pages"
    raise RuntimeError(msg)
