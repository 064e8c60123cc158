"""Poison isolation over real loopback HTTP (issue 14, "one poisoned item blocks a whole shop").

The Taobao fake poisons one listed case on every listing that holds it (``poison_item``): bytes
that are not UTF-8, or JSON nested 200,000 deep. Before, either made every poll of the shop
fail ("the body is not JSON", or a ``RecursionError`` traceback every poll) and the shop's
window never moved. Now the page is read again in smaller pages down to the one item, which is
quarantined; every other case of the page is taken and the window moves on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from daemon_world import World
from jd_world import JD_SHOP, MixedWorld, make_mixed_world
from typer.testing import CliRunner

from connector.cli import app
from connector.store import QuarantineRecord

pytestmark = pytest.mark.integration

SHOP = "taobao-shop"
CASES = 45  # three pages of 20, so the poisoned one shares its page with others


def _seed(world: World, count: int = CASES, **extra: Any) -> list[str]:
    specs = [
        {"shop_id": SHOP, "reason": "changed_mind", "deadline_s": 40 * 3600, **extra}
        for _ in range(count)
    ]
    return world.control.seed(specs)


def _stored(world: World, ids: list[str]) -> set[str]:
    return {i for i in ids if world.store.get_case(("taobao", SHOP, i)) is not None}


def _poll(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """One poll of the shop: it must not raise, nor log a traceback."""
    shop = world.daemon.shops[("taobao", SHOP)]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        world.daemon.poll_shop(shop)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]


def _mark(world: World) -> Any:
    record = world.store.get_shop("taobao", SHOP)
    return None if record is None else record.high_water_at


def _quarantine_list(world: World) -> list[dict[str, Any]]:
    """What ops see: ``refund-connector quarantine list --json``."""
    result = CliRunner().invoke(
        app, ["quarantine", "list", "--json", "--state-dir", str(world.state_dir)]
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def _quarantined(world: World) -> list[QuarantineRecord]:
    return [q for q in world.store.list_quarantine() if q.shop_id == SHOP]


@pytest.mark.parametrize("poison", ["invalid_utf8", "deep_nesting"])
def test_one_poisoned_item_is_quarantined_and_the_rest_of_its_page_taken(
    world: World, caplog: pytest.LogCaptureFixture, poison: str
) -> None:
    ids = _seed(world)
    bad = ids[22]  # newest first: on the second page of 20
    world.control.faults(
        {
            "match": {"method": "taobao.refunds.receive.get"},
            "count": -1,
            "fault": {"kind": "poison_item", "case": bad, "poison": poison},
        }
    )
    _poll(world, caplog)
    assert _stored(world, ids) == set(ids) - {bad}
    assert _mark(world) == world.clock.now(), "the window did not move on"
    (row,) = _quarantined(world)
    assert row.case_id == bad  # the refund_id was readable ahead of the poison
    assert row.problems[0]["field"] == "(item)"
    reason = row.problems[0]["reason"]
    assert ("not UTF-8" if poison == "invalid_utf8" else "nests deeper than") in reason
    assert "taobao.refunds.receive.get position" in reason
    assert "window" in reason
    assert row.raw["body_sha256"]
    shown = _quarantine_list(world)
    assert [(r["case_id"], r["problems"][0]["field"]) for r in shown] == [(bad, "(item)")]

    # The next poll passes it again: still no traceback, the same quarantine row, the mark on.
    world.advance(timedelta(minutes=1))
    _poll(world, caplog)
    assert _mark(world) == world.clock.now()
    (again,) = _quarantined(world)
    assert again.id == row.id
    assert again.seen_count >= 2


def test_an_item_whose_id_cannot_be_read_is_quarantined_by_position_and_window(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    ids = _seed(world, 25)
    bad = ids[3]
    world.control.faults(
        {
            "match": {"method": "taobao.refunds.receive.get"},
            "count": -1,
            "fault": {
                "kind": "poison_item",
                "case": bad,
                "poison": "deep_nesting",
                "field": "refund_id",
            },
        }
    )
    _poll(world, caplog)
    assert _stored(world, ids) == set(ids) - {bad}
    assert _mark(world) == world.clock.now()
    rows = _quarantined(world)
    assert rows, "the unreadable item left no quarantine row"
    for row in rows:
        assert row.case_id is None
        reason = row.problems[0]["reason"]
        assert "position" in reason
        assert "window" in reason
        assert "GMT+8" in reason
    result = CliRunner().invoke(app, ["quarantine", "list", "--state-dir", str(world.state_dir)])
    assert result.exit_code == 0, result.output
    assert "(id unreadable)" in result.stdout


def test_huge_texts_are_capped_and_the_page_taken(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A 10 MB reason and a 5 MB title were stored whole, twice (case and raw payload)."""
    ids = _seed(world, 6)
    huge_reason = "退款原因" * (10 * 1024 * 1024 // 12)  # 10 MB of UTF-8
    huge_title = "t" * (5 * 1024 * 1024)
    (huge,) = world.control.seed(
        [
            {
                "shop_id": SHOP,
                "reason": "changed_mind",
                "reason_text": huge_reason,
                "item": {"title": huge_title},
                "deadline_s": 40 * 3600,
            }
        ]
    )
    _poll(world, caplog)
    assert _stored(world, [*ids, huge]) == {*ids, huge}
    assert _mark(world) == world.clock.now()
    record = world.store.get_case(("taobao", SHOP, huge))
    assert record is not None
    assert record.case.reason_text is not None
    assert len(record.case.reason_text.encode()) < 9 * 1024
    assert "truncated by refund-connector" in record.case.reason_text
    assert f"{len(huge_reason.encode())} bytes in all" in record.case.reason_text
    assert len(record.case.item.title.encode()) < 9 * 1024
    assert "truncated by refund-connector" in record.case.item.title
    connection = sqlite3.connect(world.state_dir / "connector.db")
    try:
        case_json, raw_json = connection.execute(
            "SELECT max(length(case_json)), max(length(coalesce(raw_json, ''))) FROM cases"
        ).fetchone()
    finally:
        connection.close()
    assert case_json < 64 * 1024, f"a stored case is {case_json} bytes"
    assert raw_json < 100 * 1024, f"a stored raw payload is {raw_json} bytes"
    files = [world.state_dir / f"connector.db{s}" for s in ("", "-wal")]
    stored = sum(f.stat().st_size for f in files if f.exists())
    assert stored < 8 * 1024 * 1024, f"database and WAL hold {stored} bytes for 7 cases"


@pytest.fixture
def mixed(tmp_path: Path) -> Iterator[MixedWorld]:
    yield from make_mixed_world(tmp_path)


def test_jd_poisoned_refund_application_and_service_order_are_quarantined(
    mixed: MixedWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """Both JD families: a refund application with bytes that are not UTF-8 and a service
    order nested 200,000 deep, each among 25 others of its family (page size 20)."""
    plain = {"shop_id": JD_SHOP, "reason": "changed_mind", "deadline_s": 40 * 3600}
    applications = mixed.jd.seed(
        [{**plain, "type": "refund_only", "order_status": "not_shipped"}] * 25
    )
    services = mixed.jd.seed(
        [{**plain, "type": "return_and_refund", "order_status": "delivered"}] * 25
    )
    bad_app, bad_service = applications[7], services[21]
    for case, poison in ((bad_app, "invalid_utf8"), (bad_service, "deep_nesting")):
        method = (
            "jingdong.pop.afs.soa.refundapply.queryPageList"
            if case == bad_app
            else "jingdong.asc.sync.list"
        )
        mixed.jd.faults(
            {
                "match": {"method": method},
                "count": -1,
                "fault": {"kind": "poison_item", "case": case, "poison": poison},
            }
        )
    shop = mixed.daemon.shops[("jd", JD_SHOP)]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        mixed.daemon.poll_shop(shop)
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    everything = [*applications, *services]
    stored = {i for i in everything if mixed.store.get_case(("jd", JD_SHOP, i)) is not None}
    assert stored == set(everything) - {bad_app, bad_service}
    record = mixed.store.get_shop("jd", JD_SHOP)
    assert record is not None
    assert record.high_water_at == mixed.clock.now()
    rows = [q for q in mixed.store.list_quarantine() if q.shop_id == JD_SHOP]
    assert {q.case_id for q in rows} == {bad_app, bad_service}


def test_an_item_that_makes_its_page_too_large_is_quarantined_alone(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """With ``max_body_bytes`` at 1 MB, a 2 MB reason makes every page holding it unreadable."""
    shop = world.daemon.shops[("taobao", SHOP)]
    api = shop.adapter._api  # type: ignore[attr-defined]  # the shop's TOP gateway
    api._settings = api._settings.model_copy(update={"max_body_bytes": 1024 * 1024})
    ids = _seed(world, 25)
    (big,) = world.control.seed(
        [
            {
                "shop_id": SHOP,
                "reason": "changed_mind",
                "reason_text": "x" * (2 * 1024 * 1024),
                "deadline_s": 40 * 3600,
            }
        ]
    )
    _poll(world, caplog)
    assert _stored(world, ids) == set(ids)
    assert world.store.get_case(("taobao", SHOP, big)) is None
    assert _mark(world) == world.clock.now()
    (row,) = _quarantined(world)
    assert row.case_id == big
    assert "more than the 1048576" in row.problems[0]["reason"]
