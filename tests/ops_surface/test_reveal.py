"""Buyer contact is read live for one reviewer, audited without the details, and never stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

import httpx
import pytest
from daemon_world import World

from connector.adapter import AdapterSettings, Capability, CasePage, PlatformAdapter, SyncWindow
from connector.clock import FakeClock
from connector.effects import EffectRequest, SubmitResult
from connector.errors import NotFoundError, UnsupportedEffectError
from connector.facts import ALL_FACTS, Fact
from connector.models import RefundCase
from connector.reveal import REVEAL_EVENT, reveal_contact
from connector.review import Reviewer

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
BUYER = {
    "buyer_name": "李四海",
    "buyer_phone": "13812340987",
    "buyer_address": "上海市浦东新区世纪大道100号",
}
ALICE = Reviewer(name="alice", os_user="cs-desk", via="console")


def seed_case(world: World) -> tuple[str, str, str]:
    now = world.clock.now()
    case_id = world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=4 * 3600, **BUYER,
    )
    world.daemon.run_once(full=True)
    return ("taobao", "taobao-shop", case_id)


def stored_bytes(world: World) -> bytes:
    world.store.close()  # folds the WAL into the database file; every file is read anyway
    return b"".join(p.read_bytes() for p in sorted(world.state_dir.rglob("*")) if p.is_file())


def test_reveal_returns_the_live_contact_and_audits_who_without_the_details(
    world: World,
) -> None:
    key = seed_case(world)
    adapter = world.daemon.shops[("taobao", "taobao-shop")].adapter

    contact = reveal_contact(world.store, adapter, key, ALICE)

    assert contact == {
        "name": BUYER["buyer_name"],
        "phone": BUYER["buyer_phone"],
        "address": BUYER["buyer_address"],
    }
    entries = [e for e in world.store.audit_entries(case_id=key[2]) if e.event == REVEAL_EVENT]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.actor == "human:alice"
    assert (entry.platform, entry.shop_id, entry.case_id) == key
    assert entry.at_datetime == world.clock.now()
    assert entry.details == {
        "os_user": "cs-desk",
        "via": "console",
        "shown": ["address", "name", "phone"],
    }

    raw = stored_bytes(world)
    for value in BUYER.values():
        assert value.encode() not in raw


def test_the_store_really_is_searched(world: World) -> None:
    """Guard for the test above: a value that is stored is found by the same search."""
    key = seed_case(world)
    assert key[2].encode() in stored_bytes(world)


def test_an_unknown_case_reveals_nothing_and_audits_nothing(world: World) -> None:
    seed_case(world)
    adapter = world.daemon.shops[("taobao", "taobao-shop")].adapter
    before = sum(1 for _ in world.store.audit_entries())
    with pytest.raises(NotFoundError):
        reveal_contact(world.store, adapter, ("taobao", "taobao-shop", "999999"), ALICE)
    assert sum(1 for _ in world.store.audit_entries()) == before


class _NoContactAdapter(PlatformAdapter):
    platform: ClassVar[str] = "nocontact"
    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.list_cases})
    missing_capabilities: ClassVar[dict[Capability, str]] = {
        Capability.buyer_contact: "the platform keeps buyers anonymous"
    }

    def check(self) -> None:
        return None

    def list_cases(self, window: SyncWindow, page: str | None = None) -> CasePage:
        return CasePage(cases=[])

    def get_case(self, case_id: str, facts: frozenset[Fact] = ALL_FACTS) -> RefundCase:
        del facts  # this fake's case record carries every fact
        raise NotFoundError("none", case_id=case_id)

    def submit(self, effect: EffectRequest) -> SubmitResult:
        raise AssertionError(effect)


def test_the_contract_default_refuses_with_the_declared_reason() -> None:
    adapter: Any = _NoContactAdapter(
        AdapterSettings(base_url="http://127.0.0.1:9", shop_id="s1"),
        http=httpx.Client(),
        clock=FakeClock(),
    )
    with pytest.raises(UnsupportedEffectError, match="keeps buyers anonymous"):
        adapter.reveal_buyer_contact("C1")
