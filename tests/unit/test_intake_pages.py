"""The core's poison bisection (connector/intake_pages.py) and the caps (payload_caps.py), with a
scripted listing: which positions are poisoned, how the adapter honours the hint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from connector.adapter import CasePage
from connector.errors import UnreadablePageError
from connector.intake_pages import read_page
from connector.models import QuarantinedCase
from connector.payload_caps import RAW_CAP_BYTES, TEXT_CAP_BYTES, cap_model, cap_raw, cap_text


class ScriptedListing:
    """Positions 0..n-1 read forward by offset tokens; reads covering a poisoned one fail."""

    def __init__(self, n: int, poisoned: set[int], *, page_size: int = 10, honours: bool = True):
        self.n, self.poisoned, self.page_size, self.honours = n, poisoned, page_size, honours
        self.calls: list[tuple[int, int | None]] = []
        self.delivered: list[int] = []

    def __call__(self, token: str | None, size: int | None) -> CasePage:
        at = int(token or 0)
        self.calls.append((at, size))
        count = self.page_size if size is None or not self.honours else min(size, self.page_size)
        end = min(at + count, self.n)
        following = None if end >= self.n else str(end)
        if any(p in self.poisoned for p in range(at, end)):
            raise UnreadablePageError(
                "the body is not UTF-8",
                items=end - at,
                next_page=following,
                position=f"positions {at + 1}-{end}",
                case_ids=(f"c{at}",) if end - at == 1 else (),
            )
        self.delivered += range(at, end)
        return CasePage(cases=[], next_page=following)


def _all(listing: ScriptedListing) -> tuple[list[int], list[QuarantinedCase]]:
    quarantined: list[QuarantinedCase] = []
    token: str | None = None
    while True:
        page = read_page(listing, token, platform="p", shop_id="s")
        quarantined += page.quarantined
        if page.next_page is None:
            return listing.delivered, quarantined
        token = page.next_page


@pytest.mark.parametrize("poisoned", [set(), {0}, {7}, {9, 10}, {3, 4, 5}, {29}])
def test_every_position_but_the_poisoned_is_read_once(poisoned: set[int]) -> None:
    listing = ScriptedListing(30, poisoned)
    read, quarantined = _all(listing)
    assert sorted(read) == [i for i in range(30) if i not in poisoned]
    assert sorted(q.case_id or "" for q in quarantined) == sorted(f"c{p}" for p in poisoned)
    assert all(q.problems[0].field == "(item)" for q in quarantined)
    # a page of 10 with one poisoned item costs about 2 * log2(10) extra reads (plus the one
    # read again before quarantine), not one read per item
    assert len(listing.calls) <= 3 + 10 * len(poisoned)


def test_an_adapter_ignoring_the_hint_still_ends() -> None:
    """It cannot isolate the item, so its whole page is stepped over once (as one item)."""
    listing = ScriptedListing(30, {12}, honours=False)
    read, quarantined = _all(listing)
    assert sorted(read) == [*range(10), *range(20, 30)]
    assert len(quarantined) == 1
    assert quarantined[0].case_id is None
    assert "positions 11-20" in quarantined[0].problems[0].reason


def test_a_one_off_unreadable_answer_loses_nothing() -> None:
    class Once(ScriptedListing):
        def __call__(self, token: str | None, size: int | None) -> CasePage:
            if not self.calls:
                self.calls.append((0, size))
                raise UnreadablePageError("cut short", items=10, next_page="10", position="1-10")
            return super().__call__(token, size)

    read, quarantined = _all(Once(30, set()))
    assert sorted(read) == list(range(30))
    assert quarantined == []


def test_text_is_capped_at_a_character_boundary_with_size_and_digest() -> None:
    text = "退" * 5000  # 15,000 bytes
    capped = cap_text(text)
    head, _, marker = capped.partition("…[truncated")
    assert len(head.encode()) <= TEXT_CAP_BYTES
    assert head == "退" * len(head)
    assert "15000 bytes in all" in marker
    assert hashlib.sha256(text.encode()).hexdigest() in marker
    assert cap_text("short") == "short"
    assert cap_text("a" * TEXT_CAP_BYTES) == "a" * TEXT_CAP_BYTES


def test_a_raw_payload_is_capped_and_keeps_the_whole_digest() -> None:
    small = {"refund_id": "1", "reason": "x" * 100}
    assert cap_raw(small) is small
    wide = {"refund_id": "1", "reason": "x" * 20_000}
    assert cap_raw(wide)["reason"].startswith("x" * TEXT_CAP_BYTES + "…[truncated")
    many = {f"k{i}": "y" * 5000 for i in range(50)}  # every text fits, the whole does not
    summary = cap_raw(many)
    whole = json.dumps(many, ensure_ascii=False, sort_keys=True).encode()
    assert summary["capped_by_refund_connector"] is True
    assert summary["bytes"] == len(whole)
    assert summary["sha256"] == hashlib.sha256(whole).hexdigest()
    assert len(json.dumps(summary)) < RAW_CAP_BYTES


def test_a_model_without_long_text_is_returned_as_is() -> None:
    item: Any = QuarantinedCase(problems=(), raw={"a": "b"})
    assert cap_model(item) is item
    long: Any = QuarantinedCase(case_id="z" * 10_000, problems=())
    assert len(cap_model(long).case_id or "") < TEXT_CAP_BYTES + 200


def test_an_item_cut_short_once_is_read_again_not_quarantined() -> None:
    class Flaky(ScriptedListing):
        """Reads covering position 5 fail until a read of it alone has failed once."""

        def __call__(self, token: str | None, size: int | None) -> CasePage:
            if size == 1 and int(token or 0) == 5 and self.poisoned:
                self.poisoned = set()
                self.calls.append((5, 1))
                raise UnreadablePageError("cut short", items=1, next_page="6", position="6")
            return super().__call__(token, size)

    listing = Flaky(30, {5})
    read, quarantined = _all(listing)
    assert quarantined == []
    assert sorted(read) == list(range(30))
