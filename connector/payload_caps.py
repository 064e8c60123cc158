"""Caps on what a platform sends us, so one enormous field never fills the database or memory.

Every text of a case is kept to ``TEXT_CAP_BYTES`` of UTF-8 with a marker that says how long
it was and its SHA-256; a raw listing payload is kept to ``RAW_CAP_BYTES`` of JSON, and beyond
that replaced by its head, its size and the SHA-256 of the whole. A 10 MB reason and a 5 MB
title were stored whole, twice (case and raw payload): 73 MB of database and 63 MB of WAL for
8 cases (tests/integration/test_poisoned_pages.py::test_huge_texts_are_capped_and_the_page_taken).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

TEXT_CAP_BYTES = 8 * 1024
"""Each platform text field: the longest reasons and descriptions the platforms allow are
well under this (Taobao's refund reason description is 500 characters)."""
RAW_CAP_BYTES = 64 * 1024
"""A raw payload as stored, in bytes of JSON."""
TRUNCATED = "…[truncated by refund-connector: {size} bytes in all, sha256 {digest}]"

Model = TypeVar("Model", bound=BaseModel)
Item = TypeVar("Item")


def cap_text(text: str, limit: int = TEXT_CAP_BYTES) -> str:
    """``text`` if it fits in ``limit`` UTF-8 bytes, else its head and the truncation marker."""
    if len(text) * 4 <= limit:  # cheap: no character is wider than 4 bytes
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text
    head = encoded[:limit].decode("utf-8", "ignore")  # a cut character is dropped, not mangled
    marker = TRUNCATED.format(size=len(encoded), digest=hashlib.sha256(encoded).hexdigest())
    return head + marker


def keep_latest(
    items: Sequence[Item], text_of: Callable[[Item], str], limit: int = RAW_CAP_BYTES
) -> tuple[Item, ...]:
    """The latest ``items`` (last in the sequence) whose texts together fit in ``limit`` UTF-8
    bytes; the newest one is always kept (its text capped on its own). For lists a platform may
    make long: a case's chat record, a parcel's trace steps."""
    kept: list[Item] = []
    total = 0
    for item in reversed(items):
        total += len(text_of(item).encode("utf-8", "surrogatepass"))
        if kept and total > limit:
            break
        kept.append(item)
    return tuple(reversed(kept))


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {key: _walk(item, text) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_walk(item, text) for item in value)
    return value


def _has_long_text(value: Any, limit: int) -> bool:
    if isinstance(value, str):
        return len(value) * 4 > limit and len(value.encode("utf-8", "surrogatepass")) > limit
    if isinstance(value, dict):
        return any(_has_long_text(item, limit) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_long_text(item, limit) for item in value)
    return False


def cap_model(model: Model, limit: int = TEXT_CAP_BYTES) -> Model:
    """The model with every text in it capped (the same object when nothing is too long)."""
    data = model.model_dump()
    if not _has_long_text(data, limit):
        return model
    return type(model).model_validate(_walk(data, lambda s: cap_text(s, limit)))


def cap_raw(raw: Any, *, text_limit: int = TEXT_CAP_BYTES, limit: int = RAW_CAP_BYTES) -> Any:
    """A raw payload with its texts capped, and replaced by a summary if still over ``limit``.

    The summary keeps the SHA-256 of the whole payload as received (canonical JSON), so the
    original can be matched against the platform's copy later.
    """
    if raw is None or (not _has_long_text(raw, text_limit) and _size(raw) <= limit):
        return raw
    whole = _dumps(raw)
    capped = _walk(raw, lambda s: cap_text(s, text_limit))
    if len(_dumps(capped)) <= limit:
        return capped
    return {
        "capped_by_refund_connector": True,
        "bytes": len(whole),
        "sha256": hashlib.sha256(whole).hexdigest(),
        "head": _dumps(capped)[:TEXT_CAP_BYTES].decode("utf-8", "ignore"),
    }


def _dumps(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text.encode("utf-8", "surrogatepass")


def _size(value: Any) -> int:
    return len(_dumps(value))
