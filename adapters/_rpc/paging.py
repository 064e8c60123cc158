"""Opaque page tokens and the page loop the core (and the conformance kit) drive.

A token is URL-safe base64 of a small JSON object the adapter defines; callers only pass it
back. ``iter_pages`` stops on the last page and refuses to run forever. ``keyset_next`` pages
a listing whose order key never changes (records keep their place); ``next_backward_page``
and ``unread_on_backward_page`` read a listing by change time, where records leave mid-pass,
without skipping one.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from adapters._rpc.transport import UnreadableBodyError
from adapters._rpc.values import format_local_time, parse_local_time
from connector.errors import UnreadablePageError

Page = TypeVar("Page")

MAX_TOKEN_CHARS = 1_000_000
"""A page token longer than this was not made here (the JSON inside is then never parsed)."""


def encode_token(state: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(state), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The state inside a token; a token this code did not make is a ValueError."""
    if len(token) > MAX_TOKEN_CHARS:
        msg = f"not a page token made by this adapter: {len(token)} characters long"
        raise ValueError(msg)
    padded = token + "=" * (-len(token) % 4)
    try:
        state = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError, RecursionError) as exc:
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


def keyset_next(
    state: Mapping[str, Any], stamped: list[tuple[str, str]], *, step: Callable[[str, int], str]
) -> dict[str, Any]:
    """The next keyset state after a page of ``(stamp, id)`` pairs from a time-bounded query.

    ``state`` holds ``lo``/``hi`` (inclusive bounds, sortable stamps), ``page`` (offset within
    those bounds) and ``seen`` (id -> stamp already returned near a bound). The bound moves
    past what was returned: up when the page is oldest-first, down when newest-first, and
    records at the new bound are remembered in ``seen`` so the caller skips them. A page that
    cannot move a bound (unordered, or one stamp fills it) steps the offset instead, which is
    sound only while records keep their stamps (a creation time, say): a record whose stamp
    changes mid-pass leaves its place and shifts unread ones past the offset. A listing by
    change time needs the backward pass (``unread_on_backward_page``) instead.
    ``step(stamp, seconds)`` shifts a stamp.
    """
    seen: dict[str, str] = dict(state.get("seen") or {})
    same_bounds = {**state, "page": int(state["page"]) + 1}
    if not stamped:
        return {**same_bounds, "seen": seen}
    stamps = [stamp for stamp, _ in stamped]
    # A page of one stamp shows no order at all: only a strict spread tells which way it runs.
    spread = stamps[0] != stamps[-1]
    rising = spread and stamps == sorted(stamps)
    falling = spread and stamps == sorted(stamps, reverse=True)
    if rising and stamps[-1] > state["lo"]:
        edge = stamps[-1]
        keep = {rid: at for rid, at in (*seen.items(), *((i, s) for s, i in stamped)) if at >= edge}
        return {**state, "lo": edge, "page": 1, "seen": keep}
    if falling and step(stamps[-1], 1) < state["hi"]:
        edge = stamps[-1]
        keep = {rid: at for rid, at in (*seen.items(), *((i, s) for s, i in stamped)) if at >= edge}
        return {**state, "hi": step(edge, 1), "page": 1, "seen": keep}
    seen.update((rid, at) for at, rid in stamped)
    return {**same_bounds, "seen": seen}


def stamped_row(item: Any, id_field: str, *time_fields: str) -> tuple[str | None, str]:
    """``(time as sortable GMT+8 text, or None when unreadable, id)`` of one list row, for the
    paging helpers here; the first of ``time_fields`` present is read."""
    if not isinstance(item, Mapping):
        return None, repr(item)
    item_id = str(item.get(id_field))
    for name in time_fields:
        value = item.get(name)
        if value in (None, ""):
            continue
        try:
            return format_local_time(parse_local_time(value)), item_id
        except ValueError:
            return None, item_id
    return None, item_id


def last_page_number(total: int, page_size: int) -> int:
    """The page number holding the last of ``total`` items (1 for an empty listing)."""
    return max(1, -(-total // page_size))


def next_backward_page(read: int, *, total: int | None, page_size: int) -> int | None:
    """The page to read after page ``read`` in a backward pass, or None when the pass ends.

    The pass reads page 1 first only to learn ``total`` (pass it for that read alone), then the
    last page, then each page before it down to page 1 again.
    """
    if total is not None:
        last = last_page_number(total, page_size)
        return last if last > 1 else None
    return read - 1 if read > 1 else None


def unread_on_backward_page(
    state: Mapping[str, Any],
    stamped: Sequence[tuple[str | None, str]],
    *,
    raises_floor: bool,
    newest_first: bool = True,
) -> tuple[list[bool], dict[str, Any]]:
    """Which items of a page are new to this pass, for offset pages read last to first.

    The listing is ordered by change time over a window whose end is fixed for the pass, so a
    record that changes meanwhile leaves it (or, oldest first, moves to the end already read).
    Reading from the last page back, a departure only shifts records already read into the
    unread range (they come back, and are dropped here); an unread record never shifts past
    the boundary. ``stamped`` is the page as ``(stamp or None, id)`` in list order, with
    sortable stamps; ``newest_first`` says which way the listing runs.

    ``state`` holds ``seen`` (id -> stamp, read this pass), ``floor`` (the boundary stamp: the
    newest read on a backward page when newest first, the oldest when oldest first) and
    ``ordered``. Every unread record lies on the far side of ``floor`` from the records read,
    so a stamp on the read side is a record read before; only ids at ``floor`` need
    remembering. ``raises_floor`` is false for a page read out of that order (the first page
    read to learn the total). A page not in the expected order switches the stamp rule off
    for the pass and every id is remembered instead.
    """
    seen: dict[str, str | None] = dict(state.get("seen") or {})
    floor: str | None = state.get("floor")
    stamps = [stamp for stamp, _ in stamped if stamp is not None]
    ordered = bool(state.get("ordered", True)) and stamps == sorted(stamps, reverse=newest_first)

    def read_side(stamp: str, edge: str) -> bool:
        return stamp < edge if newest_first else stamp > edge

    fresh: list[bool] = []
    for stamp, item_id in stamped:
        earlier = ordered and floor is not None and stamp is not None and read_side(stamp, floor)
        fresh.append(item_id not in seen and not earlier)
        seen[item_id] = stamp
    if raises_floor and stamps:
        edge = max(stamps) if newest_first else min(stamps)
        floor = edge if floor is None or read_side(floor, edge) else floor
    if ordered and floor is not None:
        seen = {i: s for i, s in seen.items() if s is None or not read_side(s, floor)}
    return fresh, {**state, "seen": seen, "floor": floor, "ordered": ordered}


# ---- sized reads (the contract's page-size hint) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class OffsetRead:
    """One offset page to ask for: ``page_no`` at ``size`` covers positions [lo, hi)."""

    page_no: int
    size: int
    lo: int
    hi: int


def aligned_size(offset: int, limit: int) -> int:
    """The largest page size up to ``limit`` with a page boundary at ``offset``.

    An offset-paged API can read [offset - size, offset) or [offset, offset + size) in one call
    only when ``size`` divides ``offset``; after a poisoned item is stepped over, the boundary
    is wherever it was, so the size shrinks to fit and grows back at the next aligned offset.
    """
    limit = max(1, limit)
    if offset <= 0:
        return limit
    return next(size for size in range(min(limit, offset), 0, -1) if offset % size == 0)


def forward_read(offset: int, limit: int) -> OffsetRead:
    """The read starting at ``offset`` of at most ``limit`` positions."""
    size = aligned_size(offset, limit)
    return OffsetRead(page_no=offset // size + 1, size=size, lo=offset, hi=offset + size)


def backward_read(state: Mapping[str, Any], limit: int) -> OffsetRead:
    """The next read of a backward pass (see ``unread_on_backward_page``), sized up to ``limit``.

    ``state["top"]`` is None for the pass's first read (which learns the total, starting at
    ``state["learn_at"]``, 0 unless a poisoned item was stepped over there); afterwards it is
    the end of the positions still unread, read downward from there.
    """
    top = state.get("top")
    if top is None:
        return forward_read(int(state.get("learn_at") or 0), limit)
    size = aligned_size(int(top), limit)
    return OffsetRead(page_no=int(top) // size, size=size, lo=int(top) - size, hi=int(top))


def backward_after(
    state: Mapping[str, Any], read: OffsetRead, *, total: int | None, page_size: int
) -> dict[str, Any] | None:
    """The state after ``read`` of a backward pass, or None when the pass has ended.

    After the first read (``total`` learnt) the pass goes to the top of the last whole page of
    ``page_size``; a first read from position 0 that held everything ends the pass.
    """
    if state.get("top") is None:
        if total is None:
            msg = "the first read of a backward pass must learn the total"
            raise ValueError(msg)
        if read.lo == 0 and total <= read.hi:
            return None
        return {**state, "top": last_page_number(total, page_size) * page_size}
    return None if read.lo <= 0 else {**state, "top": read.lo}


def backward_skip(state: Mapping[str, Any], read: OffsetRead) -> dict[str, Any] | None:
    """The state past ``read`` when its answer could not be read (the core steps over it)."""
    if state.get("top") is None:
        return {**state, "learn_at": read.hi}
    return None if read.lo <= 0 else {**state, "top": read.lo}


_ID_VALUE = rb'"%s"\s*:\s*"?([0-9A-Za-z_.:\-]{1,64})'


def ids_in_body(head: bytes, *id_fields: str) -> tuple[str, ...]:
    """The values of ``id_fields`` found in the bytes of an unreadable answer, in order.

    A byte scan, not a parse: the body is unreadable as JSON, but its ids are usually plain
    ASCII ahead of the poisoned text.
    """
    found: list[str] = []
    for name in id_fields:
        pattern = re.compile(_ID_VALUE % re.escape(name.encode("ascii")))
        for match in pattern.finditer(head):
            value = match.group(1).decode("ascii")
            if value not in found:
                found.append(value)
    return tuple(found)


def unreadable_page(
    exc: UnreadableBodyError,
    *,
    read: OffsetRead,
    next_page: str | None,
    listing: str,
    id_fields: Sequence[str],
    window: str,
) -> UnreadablePageError:
    """The contract's ``UnreadablePageError`` for a list read whose answer cannot be read."""
    position = (
        f"{listing} positions {read.lo + 1}-{read.hi}"
        if read.size > 1
        else f"{listing} position {read.hi}"
    )
    return UnreadablePageError(
        exc.reason,
        items=read.size,
        next_page=next_page,
        position=f"{position}, window {window}",
        case_ids=ids_in_body(exc.head, *id_fields) if read.size == 1 else (),
        body_bytes=exc.body_bytes,
        sha256=exc.sha256 or None,
        platform=exc.platform,
        operation=exc.operation,
    )


def unreadable_backward_page(
    exc: UnreadableBodyError,
    state: Mapping[str, Any],
    read: OffsetRead,
    *,
    listing: str,
    id_fields: Sequence[str],
) -> UnreadablePageError:
    """``unreadable_page`` for a backward pass over ``state``'s window: the next page steps
    over ``read`` (``backward_skip``)."""
    skip = backward_skip(state, read)
    return unreadable_page(
        exc,
        read=read,
        next_page=None if skip is None else encode_token(skip),
        listing=listing,
        id_fields=id_fields,
        window=f"{state['start']} to {state['end']} (GMT+8)",
    )
