"""Reading one listing page so that one poisoned item never blocks a shop's intake.

A page whose answer cannot be read at all (bad UTF-8 anywhere in it, JSON nested 200,000 deep,
larger than the shop's ``max_body_bytes``) used to fail the shop's poll, every poll, for good.
Now the adapter says so with ``UnreadablePageError`` and the same listing is read again in
halves, down to one item: the item that still cannot be read is quarantined (with the
platform's ids when they can be found in its bytes, else its position and window), every other
item of the page is taken, and the poll goes on past it, so the window moves on
(tests/integration/test_poisoned_pages.py). Raw payloads are capped here too (``payload_caps``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connector.adapter import CasePage
from connector.errors import FieldProblem, UnreadablePageError
from connector.models import QuarantinedCase, RefundCase
from connector.payload_caps import cap_raw

if TYPE_CHECKING:
    from connector.adapter import PlatformAdapter, SyncWindow

logger = logging.getLogger(__name__)

ListPage = Callable[[str | None, int | None], CasePage]
"""``(token, page_size hint or None)`` -> one page, as ``PlatformAdapter.list_cases``."""


def list_sized(
    adapter: PlatformAdapter, window: SyncWindow, token: str | None, size: int | None
) -> CasePage:
    """``list_cases`` with the page-size hint only when there is one (older adapters and test
    doubles take no ``page_size`` and are never asked for one: only ``UnreadablePageError``,
    which they do not raise, starts a smaller read)."""
    if size is None:
        return adapter.list_cases(window, token)
    return adapter.list_cases(window, token, page_size=size)


@dataclass
class _Taken:
    cases: list[RefundCase] = field(default_factory=list)
    raw: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[QuarantinedCase] = field(default_factory=list)

    def add(self, page: CasePage) -> None:
        self.cases.extend(page.cases)
        raws: list[dict[str, Any]] = [cap_raw(r) for r in page.raw[: len(page.cases)]]
        raws.extend({} for _ in range(len(page.cases) - len(raws)))  # keep index alignment
        self.raw.extend(raws)
        self.quarantined.extend(
            q if q.raw is None else q.model_copy(update={"raw": cap_raw(q.raw)})
            for q in page.quarantined
        )


def read_page(list_page: ListPage, token: str | None, *, platform: str, shop_id: str) -> CasePage:
    """The page at ``token``, with any unreadable part read again smaller down to one item.

    The returned page holds everything read (from the whole page, or from its pieces), the
    poisoned items as quarantined, and the token that continues the pass after them.
    """
    taken = _Taken()
    next_page = _read_span(list_page, token, None, taken, platform=platform, shop_id=shop_id)
    return CasePage(
        cases=taken.cases, quarantined=taken.quarantined, next_page=next_page, raw=taken.raw
    )


def _read_span(
    list_page: ListPage,
    token: str | None,
    size: int | None,
    taken: _Taken,
    *,
    platform: str,
    shop_id: str,
    again: bool = False,
) -> str | None:
    """Read up to ``size`` positions at ``token`` (a normal page when None), halving what cannot
    be read; the token after what was read. Depth is bounded by log2 of the page size, since
    each level asks for at most half of what failed. One item is read twice before it is
    quarantined (``again``): an answer cut short once by the network is not poison."""
    try:
        page = list_page(token, size)
    except UnreadablePageError as exc:
        # Only what is needed is kept: the error's chain holds the unreadable body, which
        # must not stay alive through the smaller reads below (15 MB a level, found by
        # benchmarks/huge_texts.py --poison).
        asked = exc.items if size is None else min(size, exc.items)
        poisoned = poisoned_item(exc, platform=platform, shop_id=shop_id) if asked <= 1 else None
        skip = exc.next_page
    else:
        taken.add(page)
        return page.next_page
    if poisoned is not None:
        if not again:
            return _read_span(
                list_page, token, 1, taken, platform=platform, shop_id=shop_id, again=True
            )
        logger.warning(
            "unreadable listed item quarantined",
            extra={
                "platform": platform,
                "shop_id": shop_id,
                "case_id": poisoned.case_id,
                "problem": poisoned.summary(),
            },
        )
        taken.quarantined.append(poisoned)
        return skip
    half = asked // 2
    after = _read_span(list_page, token, half, taken, platform=platform, shop_id=shop_id)
    if after is None:
        return None
    return _read_span(list_page, after, asked - half, taken, platform=platform, shop_id=shop_id)


def poisoned_item(exc: UnreadablePageError, *, platform: str, shop_id: str) -> QuarantinedCase:
    """The quarantine entry for one listed item whose answer cannot be read."""
    case_id = exc.case_ids[0] if len(exc.case_ids) == 1 else None
    reason = f"{exc.message}; listed at {exc.position}"
    return QuarantinedCase(
        platform=platform,
        shop_id=shop_id,
        case_id=case_id,
        problems=(FieldProblem(field="(item)", reason=reason),),
        raw={
            "unreadable": exc.message,
            "position": exc.position,
            "operation": exc.operation,
            "ids_found": list(exc.case_ids),
            "body_bytes": exc.body_bytes,
            "body_sha256": exc.sha256,
        },
    )
