"""The adapter conformance suite: one contract, checked against every adapter + fake pair.

An adapter's test module subclasses ``AdapterConformanceSuite`` in a few lines::

    class TestTaobaoConformance(AdapterConformanceSuite):
        adapter_cls = TaobaoAdapter
        rate_limit_fault = {"kind": "platform_error", "code": "7", "ban_s": 3}
        rate_limit_retry_after = 3.0
        malformed_item_field = "refund_fee"

        @pytest.fixture
        def endpoint(self) -> Iterator[FakeEndpoint]:
            with BackgroundServer(create_app(...)) as base_url:
                yield FakeEndpoint(base_url, settings=..., bad_settings=...)

The fake runs over real loopback HTTP and is driven only through the platform-neutral
``/__mock`` control API (docs/mocks.md): CaseSpecs, buyer actions, faults, ledger, request log.
Capabilities the adapter lacks are skipped with the reason it declares in
``missing_capabilities``; a capability neither supported nor declared fails. Rules a platform
cannot meet are listed in ``exempt`` (rule id -> reason) and reported as skipped with it.

Listing guarantee checked here (and relied on by the core's look-back): one pass over a window
returns every case whose last change was inside the window when the pass began, each id at most
once, except cases that change during the pass; those are returned by the next pass whose window
starts at or before the first pass's high-water mark (latest ``updated_at`` seen) and ends after
the change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import BaseModel, SecretStr

from connector.adapter import EFFECT_CAPABILITY, Capability, CasePage, PlatformAdapter, SyncWindow
from connector.clock import FakeClock
from connector.effects import EffectKind, EffectRequest, SubmitOutcome, effect_key
from connector.errors import (
    ConflictError,
    MalformedPayloadError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ReauthRequiredError,
    UnavailableError,
    UnreadablePageError,
    UnsupportedEffectError,
)
from connector.facts import ALL_FACTS, FACT_FIELDS, NO_FACTS, Fact
from connector.intake_pages import list_sized, read_page
from connector.models import QuarantinedCase, RefundCase
from connector.testing.mock_control import JsonDict, MockControl

__all__ = ["AdapterConformanceSuite", "FakeEndpoint", "standard_dataset"]

_TOP_FACT_FIELDS = frozenset(p for paths in FACT_FIELDS.values() for p in paths if "." not in p)


def _field(case: RefundCase, path: str) -> Any:
    value: Any = case
    for part in path.split("."):
        value = getattr(value, part)
    return value


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

RULES = frozenset(
    {
        "capabilities-declared",
        "check-ok",
        "bad-credentials-reauth",
        "list-covers-dataset",
        "list-under-change",
        "list-under-change-every-page",
        "list-empty-window",
        "datetimes-aware-utc",
        "money-integer-fen",
        "get-equals-listed",
        "get-unknown-not-found",
        "get-fetches-only-asked-facts",
        "effect-exactly-once",
        "stale-version-conflict",
        "unsupported-effect-no-http",
        "rate-limited",
        "http-5xx-unavailable",
        "read-timeout-unavailable",
        "write-timeout-outcome-unknown",
        "write-dropped-outcome-unknown",
        "malformed-body",
        "malformed-item-quarantined",
        "page-size-hint",
        "unreadable-page-bisected",
        "secrets-hidden",
    }
)


@dataclass(frozen=True)
class FakeEndpoint:
    """A running fake and how to connect a shop to it."""

    base_url: str
    settings: Callable[[str], Any]
    """valid adapter settings for a shop id (the fake must accept its credentials)"""
    bad_settings: Callable[[str], Sequence[Any]]
    """settings whose credentials the fake rejects (wrong secret, revoked session, ...)"""
    shop_id: str = "conformance-shop"


def _spec(shop_id: str, **fields: Any) -> JsonDict:
    return {"shop_id": shop_id, **fields}


def standard_dataset(shop_id: str) -> list[JsonDict]:
    """23 cases across statuses, types, reasons and amount edges (1 fen, 12345.60 yuan)."""
    templates: list[JsonDict] = [
        {"type": "refund_only", "order_status": "not_shipped", "reason": "out_of_stock"},
        {
            "type": "refund_only",
            "order_status": "delivered",
            "reason": "quality",
            "evidence": ["photo"],
            "paid_amount": 2990,
        },
        {
            "type": "return_and_refund",
            "order_status": "delivered",
            "reason": "no_reason_7d",
            "paid_amount": 15900,
        },
        {
            "type": "return_and_refund",
            "order_status": "delivered",
            "reason": "damaged",
            "status": "awaiting_seller_receipt",
            "return_logistics_status": "delivered",
        },
        {
            "type": "refund_only",
            "order_status": "shipped",
            "reason": "not_received",
            "logistics_status": "lost",
        },
        {
            "type": "refund_only",
            "order_status": "delivered",
            "reason": "not_as_described",
            "status": "refused",
        },
        {
            "type": "refund_only",
            "order_status": "delivered",
            "reason": "quality",
            "status": "in_dispute",
        },
        {
            "type": "refund_only",
            "order_status": "not_shipped",
            "reason": "wrong_order",
            "status": "refunded",
        },
        {
            "type": "refund_only",
            "order_status": "not_shipped",
            "reason": "changed_mind",
            "status": "closed",
        },
        {"type": "exchange", "order_status": "delivered", "reason": "quality"},
        {
            "type": "refund_only",
            "order_status": "delivered",
            "reason": "other",
            "reason_text": "包装上有只猫",
            "paid_amount": 1_234_560,
            "refund_amount": 1,
        },
    ]
    return [_spec(shop_id, **templates[i % len(templates)]) for i in range(23)]


# What each effect needs: a case in the right state, and its canonical parameters.
EFFECT_CASES: dict[EffectKind, JsonDict] = {
    EffectKind.agree_refund: {
        "type": "refund_only",
        "order_status": "not_shipped",
        "reason": "out_of_stock",
        "paid_amount": 4900,
    },
    EffectKind.confirm_return_and_refund: {
        "type": "return_and_refund",
        "order_status": "delivered",
        "reason": "quality",
        "status": "awaiting_seller_receipt",
        "return_logistics_status": "delivered",
        "paid_amount": 4900,
    },
    EffectKind.agree_return: {
        "type": "return_and_refund",
        "order_status": "delivered",
        "reason": "quality",
        "evidence": ["photo"],
        "paid_amount": 4900,
    },
    EffectKind.refuse_refund: {
        "type": "refund_only",
        "order_status": "delivered",
        "reason": "not_received",
        "logistics_status": "delivered",
        "paid_amount": 4900,
    },
    EffectKind.message_buyer: {
        "type": "refund_only",
        "order_status": "delivered",
        "reason": "quality",
        "paid_amount": 4900,
    },
    EffectKind.write_order_memo: {
        "type": "refund_only",
        "order_status": "not_shipped",
        "reason": "out_of_stock",
        "paid_amount": 4900,
    },
}
VERSIONED_EFFECTS = (
    EffectKind.agree_refund,
    EffectKind.confirm_return_and_refund,
    EffectKind.agree_return,
    EffectKind.refuse_refund,
)
PLATFORM_EFFECT_KINDS = tuple(EFFECT_CAPABILITY)


def effect_params(kind: EffectKind, case: RefundCase) -> dict[str, Any]:
    """Canonical parameters for ``kind`` on ``case`` (see connector.effects.EffectRequest)."""
    if kind in (EffectKind.agree_refund, EffectKind.confirm_return_and_refund):
        return {"amount": case.refund_amount}
    params: dict[EffectKind, dict[str, Any]] = {
        EffectKind.agree_return: {"return_shipping_paid_by": "seller"},
        EffectKind.refuse_refund: {"message": "the parcel was signed for", "proof_image": PNG_1PX},
        EffectKind.message_buyer: {"content": "please change the refund type", "image": PNG_1PX},
        EffectKind.write_order_memo: {"memo": "after-sales refund handled by the connector"},
    }
    return params.get(kind, {})


def effect_for(kind: EffectKind, case: RefundCase, *, version: str | None = None) -> EffectRequest:
    decided = case.version if version is None else version
    return EffectRequest(
        key=effect_key(case.platform, case.shop_id, case.case_id, decided, kind),
        kind=kind,
        platform=case.platform,
        shop_id=case.shop_id,
        case_id=case.case_id,
        order_id=case.order_id,
        version=decided,
        platform_fields=dict(case.platform_fields),
        params=effect_params(kind, case),
    )


def secrets_of(settings: BaseModel) -> list[str]:
    """Every ``SecretStr`` value in a settings model (nested models included)."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secrets_of(value))
    return [s for s in found if s]


class AdapterConformanceSuite:
    """Base class of every adapter's conformance tests (not collected by itself)."""

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.conformance]

    adapter_cls: ClassVar[type[PlatformAdapter]]
    rate_limit_fault: ClassVar[JsonDict]
    """a ``/__mock/faults`` fault making the fake throttle the way the platform does"""
    rate_limit_retry_after: ClassVar[float | None] = None
    """the ``retry_after`` the adapter must read from that fault"""
    malformed_item_field: ClassVar[str]
    """the wire field the ``malformed_item`` fault breaks; quarantine must name it"""
    write_methods: ClassVar[dict[EffectKind, str]] = {}
    """platform API name per effect, so write faults target the write call itself"""
    exempt: ClassVar[dict[str, str]] = {}
    """rule id -> reason, for rules this platform cannot meet"""
    http_timeout_s: ClassVar[float] = 5.0
    short_timeout_s: ClassVar[float] = 0.3
    hang_s: ClassVar[float] = 1.5

    # ---- fixtures ------------------------------------------------------------------------------

    @pytest.fixture
    def endpoint(self) -> Iterator[FakeEndpoint]:
        """Start the fake (over loopback HTTP, test mode on) and say how to connect."""
        msg = f"{type(self).__name__} must override the `endpoint` fixture"
        raise NotImplementedError(msg)

    @pytest.fixture(autouse=True)
    def _never_sleeps(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
        """Adapters never sleep: ``time.sleep`` on the test's thread fails the test."""
        calls: list[float] = []
        test_thread = threading.get_ident()
        real_sleep = time.sleep  # noqa: TID251 - other threads (the fake's server) may sleep

        def guarded_sleep(seconds: float) -> None:
            if threading.get_ident() == test_thread:
                calls.append(seconds)
                msg = f"adapter called time.sleep({seconds}); adapters never sleep"
                raise AssertionError(msg)
            real_sleep(seconds)

        monkeypatch.setattr(time, "sleep", guarded_sleep)
        yield calls
        assert calls == [], "the adapter slept"

    @pytest.fixture
    def control(self, endpoint: FakeEndpoint) -> Iterator[MockControl]:
        with MockControl(endpoint.base_url) as control:
            yield control

    @pytest.fixture
    def clock(self, control: MockControl) -> FakeClock:
        return FakeClock(control.now())

    @pytest.fixture
    def http(self) -> Iterator[httpx.Client]:
        with httpx.Client(timeout=self.http_timeout_s) as client:
            yield client

    @pytest.fixture
    def adapter(
        self, endpoint: FakeEndpoint, http: httpx.Client, clock: FakeClock
    ) -> PlatformAdapter:
        return self.adapter_cls(endpoint.settings(endpoint.shop_id), http=http, clock=clock)

    @pytest.fixture
    def impatient_adapter(
        self, endpoint: FakeEndpoint, clock: FakeClock
    ) -> Iterator[PlatformAdapter]:
        with httpx.Client(timeout=self.short_timeout_s) as client:
            yield self.adapter_cls(endpoint.settings(endpoint.shop_id), http=client, clock=clock)

    @pytest.fixture
    def dataset(self, control: MockControl, endpoint: FakeEndpoint) -> list[str]:
        return control.seed(standard_dataset(endpoint.shop_id))

    # ---- helpers -------------------------------------------------------------------------------

    def rule(self, rule_id: str) -> None:
        """Skip an exempt rule with its reason; an exemption without a reason is an error."""
        unknown = set(self.exempt) - RULES
        assert not unknown, f"exempt names unknown rules {sorted(unknown)}"
        if rule_id in self.exempt:
            reason = self.exempt[rule_id].strip()
            assert reason, f"exemption of {rule_id} needs a reason"
            pytest.skip(f"{rule_id} exempt: {reason}")

    def capable(self, kind: EffectKind) -> None:
        """Skip an effect the adapter declares it lacks (with its reason); undeclared fails."""
        capability = EFFECT_CAPABILITY[kind]
        if capability in self.adapter_cls.capabilities:
            return
        reason = self.adapter_cls.missing_capabilities.get(capability)
        assert reason, f"{capability} is neither supported nor declared missing with a reason"
        pytest.skip(f"{capability} not supported: {reason}")

    @staticmethod
    def window(control: MockControl, back: timedelta = timedelta(days=30)) -> SyncWindow:
        now = control.now()
        return SyncWindow(now - back, now + timedelta(seconds=1))

    @staticmethod
    def list_pass(
        adapter: PlatformAdapter,
        window: SyncWindow,
        *,
        max_pages: int,
        between_pages: Callable[[int, CasePage], None] | None = None,
    ) -> list[CasePage]:
        pages: list[CasePage] = []
        token: str | None = None
        while True:
            page = adapter.list_cases(window, token)
            pages.append(page)
            assert len(pages) <= max_pages, f"pagination did not end within {max_pages} pages"
            if page.next_page is None:
                return pages
            assert page.next_page != token, "the next page token repeats the current one"
            if between_pages is not None:
                between_pages(len(pages), page)
            token = page.next_page

    def touch(self, control: MockControl, case_id: str) -> None:
        """The buyer changes an open case (its version moves). Platforms where a buyer cannot
        add evidence to some cases override this with an action they do support."""
        control.buyer(case_id, {"action": "add_evidence", "kind": "photo"})

    def seeded_case(
        self, control: MockControl, adapter: PlatformAdapter, spec: JsonDict
    ) -> RefundCase:
        shop_id = adapter.settings.shop_id
        (case_id,) = control.seed([_spec(shop_id, **spec)])
        return adapter.get_case(case_id)

    def write_fault(self, kind: EffectKind, fault: JsonDict) -> JsonDict:
        method = self.write_methods.get(kind)
        return {"match": {"method": method} if method else {}, "count": 1, "fault": fault}

    def first_capable(self, kinds: Sequence[EffectKind]) -> EffectKind:
        for kind in kinds:
            if EFFECT_CAPABILITY[kind] in self.adapter_cls.capabilities:
                return kind
        pytest.skip("the adapter performs none of " + ", ".join(map(str, kinds)))

    @staticmethod
    def seller_entries(control: MockControl, since: int, case_id: str) -> list[JsonDict]:
        entries, _ = control.ledger(since)
        return [e for e in entries if e["case_id"] == case_id and e["actor"] == "seller"]

    # ---- identity and check --------------------------------------------------------------------

    def test_capabilities_declared(self) -> None:
        self.rule("capabilities-declared")
        supported = set(self.adapter_cls.capabilities)
        missing = set(self.adapter_cls.missing_capabilities)
        assert not supported & missing, f"both supported and missing: {supported & missing}"
        silent = set(Capability) - supported - missing
        assert not silent, f"capabilities neither supported nor declared missing: {sorted(silent)}"
        for capability, reason in self.adapter_cls.missing_capabilities.items():
            assert reason.strip(), f"{capability} is declared missing without a reason"

    def test_check_ok(self, adapter: PlatformAdapter) -> None:
        self.rule("check-ok")
        adapter.check()

    def test_bad_credentials_reauth(
        self, endpoint: FakeEndpoint, http: httpx.Client, clock: FakeClock, control: MockControl
    ) -> None:
        self.rule("bad-credentials-reauth")
        variants = list(endpoint.bad_settings(endpoint.shop_id))
        assert variants, "bad_settings must give at least one rejected credential"
        for settings in variants:
            adapter = self.adapter_cls(settings, http=http, clock=clock)
            with pytest.raises(ReauthRequiredError):
                adapter.check()
            with pytest.raises(ReauthRequiredError):
                adapter.list_cases(self.window(control))

    # ---- listing -------------------------------------------------------------------------------

    def test_list_covers_dataset(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        self.rule("list-covers-dataset")
        pages = self.list_pass(adapter, self.window(control), max_pages=len(dataset) + 2)
        assert len(pages) >= 3, "configure a page size so the 23-case dataset spans >= 3 pages"
        ids = [c.case_id for p in pages for c in p.cases]
        assert len(ids) == len(set(ids)), "a case was listed twice in one pass"
        assert set(ids) == set(dataset)
        assert all(not p.quarantined for p in pages)
        for page in pages:
            assert len(page.raw) == len(page.cases), "raw must be index-aligned with cases"
            assert all(isinstance(c, RefundCase) for c in page.cases)
            assert all(c.shop_id == adapter.settings.shop_id for c in page.cases)

    def test_list_under_change(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        """Cases change between pages 1 and 2; pass 1 plus a look-back pass 2 lose none."""
        self.rule("list-under-change")
        self.check_list_under_change(adapter, control, dataset, every_page=False)

    def test_list_under_change_every_page(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        """Cases change after every page, both already listed and not yet listed ones.

        The dataset is seeded at once, so more than a page shares one change second: offset
        paging that steps through such a second skips unchanged cases here.
        """
        self.rule("list-under-change-every-page")
        self.check_list_under_change(adapter, control, dataset, every_page=True)

    def check_list_under_change(
        self,
        adapter: PlatformAdapter,
        control: MockControl,
        dataset: list[str],
        *,
        every_page: bool,
    ) -> None:
        """After page 1 one listed and two unlisted open cases change (moving the clock past
        the window); with ``every_page`` one more of each after every later page."""
        views = {v["case_id"]: v for v in control.cases(adapter.settings.shop_id)}
        open_ids = [i for i in dataset if views[i]["status"] == "awaiting_seller"]
        changed: list[str] = []
        listed_so_far: set[str] = set()
        first_window = self.window(control)

        def change(pages_done: int, page: CasePage) -> None:
            listed_so_far.update(c.case_id for c in page.cases)
            if pages_done != 1 and not every_page:
                return
            waiting = [i for i in open_ids if i not in changed]
            before = [i for i in waiting if i in listed_so_far][:1]
            after = [i for i in reversed(waiting) if i not in listed_so_far]
            after = after[: 2 if pages_done == 1 else 1]
            control.advance(2)
            for case_id in before + after:
                self.touch(control, case_id)
                changed.append(case_id)

        pass1 = self.list_pass(
            adapter, first_window, max_pages=len(dataset) + 2, between_pages=change
        )
        assert len(changed) >= 3, "the dataset should leave open cases on and after page 1"
        ids1 = [c.case_id for p in pass1 for c in p.cases]
        assert len(ids1) == len(set(ids1)), "a case was listed twice in one pass"
        unchanged = set(dataset) - set(changed)
        assert unchanged <= set(ids1), f"pass 1 lost unchanged cases {unchanged - set(ids1)}"
        high_water = max(c.updated_at for p in pass1 for c in p.cases if c.updated_at)
        second_window = SyncWindow(
            high_water - timedelta(seconds=1), control.now() + timedelta(seconds=1)
        )
        pass2 = self.list_pass(adapter, second_window, max_pages=len(dataset) + 2)
        latest = {c.case_id: c for p in pass1 + pass2 for c in p.cases}
        assert set(dataset) <= set(latest), f"lost {set(dataset) - set(latest)}"
        for case_id in changed:
            in_pass2 = {c.case_id: c for p in pass2 for c in p.cases}
            assert case_id in in_pass2, f"changed case {case_id} missing from the look-back pass"
            assert in_pass2[case_id].version == control.case(case_id)["version"]

    def test_list_empty_window(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        self.rule("list-empty-window")
        now = control.now()
        page = adapter.list_cases(SyncWindow(now - timedelta(days=60), now - timedelta(days=59)))
        assert (page.cases, page.quarantined, page.next_page) == ([], [], None)

    def test_datetimes_aware_utc_and_money_integer(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        self.rule("datetimes-aware-utc")
        pages = self.list_pass(adapter, self.window(control), max_pages=len(dataset) + 2)
        cases = [c for p in pages for c in p.cases]
        cases += [adapter.get_case(cid) for cid in dataset[:11]]
        for case in cases:
            for name in ("created_at", "updated_at", "deadline_at", "shipped_at", "delivered_at"):
                value: datetime | None = getattr(case, name)
                if value is not None:
                    assert value.tzinfo is not None, name
                    assert value.utcoffset() == timedelta(0), name
            for name in ("paid_amount", "refund_amount"):
                value_fen = getattr(case, name)
                assert isinstance(value_fen, int), name
                assert not isinstance(value_fen, bool), name
            assert isinstance(case.item.price, int)
        edge = next(c for c in cases if c.paid_amount == 1_234_560)
        assert edge.refund_amount == 1
        assert (edge.reason, edge.reason_text) == ("other", "包装上有只猫")

    # ---- get -----------------------------------------------------------------------------------

    def test_get_equals_listed(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        self.rule("get-equals-listed")
        pages = self.list_pass(adapter, self.window(control), max_pages=len(dataset) + 2)
        listed = {c.case_id: c for p in pages for c in p.cases}
        for case_id in dataset[:11]:
            got = adapter.get_case(case_id)
            seen = listed[case_id]
            for name in (
                "platform",
                "shop_id",
                "case_id",
                "order_id",
                "type",
                "reason",
                "reason_text",
                "paid_amount",
                "refund_amount",
                "version",
                "created_at",
            ):
                assert getattr(got, name) == getattr(seen, name), name
            assert got.buyer.id == seen.buyer.id
            assert got.version == control.case(case_id)["version"]

    def test_get_fetches_only_asked_facts(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        """``get_case(id, facts)``: what is asked for equals the full read, the rest of the case
        never changes, and leaving facts out costs fewer calls unless they came for free."""
        self.rule("get-fetches-only-asked-facts")

        def counted(case_id: str, facts: frozenset[Fact]) -> tuple[RefundCase, int]:
            _, since = control.requests()
            case = adapter.get_case(case_id, facts)
            made, _ = control.requests(since)
            return case, len(made)

        saved = dict.fromkeys(Fact, 0)
        filled = dict.fromkeys(Fact, False)
        for case_id in dataset[:11]:
            adapter.get_case(case_id)  # warm what an adapter may remember (JD: the id's family)
            full, full_calls = counted(case_id, ALL_FACTS)
            bare, _ = counted(case_id, NO_FACTS)
            core = full.model_dump(exclude={"item", *_TOP_FACT_FIELDS})
            assert {k: v for k, v in bare.model_dump().items() if k in core} == core, case_id
            assert bare.item.model_dump(exclude={"no_reason_eligible"}) == full.item.model_dump(
                exclude={"no_reason_eligible"}
            )
            for fact in Fact:
                one, _ = counted(case_id, frozenset({fact}))
                _, without_calls = counted(case_id, ALL_FACTS - {fact})
                assert without_calls <= full_calls, f"{case_id}: asking for less cost more"
                saved[fact] += full_calls - without_calls
                for path in FACT_FIELDS[fact]:
                    got, want = _field(one, path), _field(full, path)
                    assert got == want, f"{case_id}: {path} with facts={{{fact}}}"
                    if fact not in adapter.costly_facts:
                        assert _field(bare, path) == want, f"{case_id}: free {path} left out"
                    filled[fact] |= want not in (None, (), False)
        for fact in Fact:
            if fact in adapter.costly_facts and filled[fact]:
                assert saved[fact] > 0, f"{fact} is costly, yet leaving it out saves no call"
            if fact not in adapter.costly_facts:
                assert saved[fact] == 0, f"{fact} costs calls: declare it in costly_facts"

    def test_get_unknown_not_found(self, adapter: PlatformAdapter) -> None:
        self.rule("get-unknown-not-found")
        with pytest.raises(NotFoundError):
            adapter.get_case("424242424242")

    # ---- effects -------------------------------------------------------------------------------

    @pytest.mark.parametrize("kind", PLATFORM_EFFECT_KINDS, ids=str)
    def test_effect_exactly_once(
        self, kind: EffectKind, adapter: PlatformAdapter, control: MockControl
    ) -> None:
        self.rule("effect-exactly-once")
        self.capable(kind)
        case = self.seeded_case(control, adapter, EFFECT_CASES[kind])
        request = effect_for(kind, case)
        _, since = control.ledger()
        first = adapter.submit(request)
        assert first.outcome is SubmitOutcome.applied
        try:
            second = adapter.submit(request)
        except ConflictError:
            pass
        else:
            assert second.outcome is SubmitOutcome.already_done
        entries = self.seller_entries(control, since, case.case_id)
        assert [e["effect"] for e in entries] == [str(kind)], entries

    def test_stale_version_conflict(self, adapter: PlatformAdapter, control: MockControl) -> None:
        self.rule("stale-version-conflict")
        kind = self.first_capable(VERSIONED_EFFECTS)
        case = self.seeded_case(control, adapter, EFFECT_CASES[kind])
        control.advance(1)
        self.touch(control, case.case_id)
        _, since = control.ledger()
        with pytest.raises(ConflictError):
            adapter.submit(effect_for(kind, case))
        assert self.seller_entries(control, since, case.case_id) == []

    def test_unsupported_effect_no_http(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        self.rule("unsupported-effect-no-http")
        case = adapter.get_case(dataset[0])
        unsupported = [EffectKind.void_warehouse_order, EffectKind.open_carrier_claim]
        unsupported += [
            k
            for k in PLATFORM_EFFECT_KINDS
            if EFFECT_CAPABILITY[k] not in self.adapter_cls.capabilities
        ]
        _, since = control.requests()
        for kind in unsupported:
            with pytest.raises(UnsupportedEffectError):
                adapter.submit(effect_for(kind, case))
        assert control.requests(since)[0] == [], "an unsupported effect reached the platform"

    # ---- error mapping -------------------------------------------------------------------------

    def test_rate_limited(self, adapter: PlatformAdapter, control: MockControl) -> None:
        self.rule("rate-limited")
        control.faults({"count": 1, "fault": self.rate_limit_fault})
        with pytest.raises(RateLimitedError) as caught:
            adapter.list_cases(self.window(control))
        assert caught.value.retry_after == self.rate_limit_retry_after
        adapter.list_cases(self.window(control))  # the next call goes through

    @pytest.mark.parametrize(("status", "retry_after"), [(502, 2.0), (503, None)])
    def test_http_5xx_unavailable(
        self, adapter: PlatformAdapter, control: MockControl, status: int, retry_after: float | None
    ) -> None:
        self.rule("http-5xx-unavailable")
        fault: JsonDict = {"kind": "http_status", "status": status}
        if retry_after is not None:
            fault["retry_after_s"] = retry_after
        control.faults({"count": 1, "fault": fault})
        with pytest.raises(UnavailableError) as caught:
            adapter.list_cases(self.window(control))
        assert caught.value.retry_after == retry_after

    def test_read_timeout_unavailable(
        self, impatient_adapter: PlatformAdapter, control: MockControl
    ) -> None:
        self.rule("read-timeout-unavailable")
        for fault in ({"kind": "hang", "seconds": self.hang_s}, {"kind": "reset"}):
            control.faults({"count": 1, "fault": fault})
            with pytest.raises(UnavailableError) as caught:
                impatient_adapter.list_cases(self.window(control))
            assert type(caught.value) is UnavailableError, fault

    def test_write_timeout_outcome_unknown(
        self, impatient_adapter: PlatformAdapter, control: MockControl
    ) -> None:
        self.rule("write-timeout-outcome-unknown")
        kind = self.first_capable(VERSIONED_EFFECTS)
        case = self.seeded_case(control, impatient_adapter, EFFECT_CASES[kind])
        control.faults(self.write_fault(kind, {"kind": "hang", "seconds": self.hang_s}))
        with pytest.raises(OutcomeUnknownError):
            impatient_adapter.submit(effect_for(kind, case))

    def test_write_dropped_outcome_unknown(
        self, adapter: PlatformAdapter, control: MockControl
    ) -> None:
        """The write is applied but the answer is lost: unknown, and a resend never repeats it."""
        self.rule("write-dropped-outcome-unknown")
        kind = self.first_capable(VERSIONED_EFFECTS)
        case = self.seeded_case(control, adapter, EFFECT_CASES[kind])
        _, since = control.ledger()
        control.faults(self.write_fault(kind, {"kind": "apply_then_drop"}))
        with pytest.raises(OutcomeUnknownError):
            adapter.submit(effect_for(kind, case))
        try:
            again = adapter.submit(effect_for(kind, case))
        except ConflictError:
            pass
        else:
            assert again.outcome is SubmitOutcome.already_done
        assert len(self.seller_entries(control, since, case.case_id)) == 1

    def test_malformed_body(self, adapter: PlatformAdapter, control: MockControl) -> None:
        self.rule("malformed-body")
        control.faults({"count": 1, "fault": {"kind": "malformed_body"}})
        with pytest.raises(MalformedPayloadError):
            adapter.list_cases(self.window(control))

    def test_malformed_item_quarantined(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        self.rule("malformed-item-quarantined")
        window = self.window(control)
        clean = adapter.list_cases(window)
        field = self.malformed_item_field
        control.faults({"count": 1, "fault": {"kind": "malformed_item", "field": field}})
        page = adapter.list_cases(window)
        assert len(page.quarantined) == 1
        bad: QuarantinedCase = page.quarantined[0]
        assert any(field in p.field for p in bad.problems), bad.summary()
        assert len(page.cases) == len(clean.cases) - 1, "the rest of the page must proceed"
        assert page.next_page is not None or clean.next_page is None

    # ---- poisoned pages (the page-size hint) ---------------------------------------------------

    def sized_pass(
        self, adapter: PlatformAdapter, window: SyncWindow, sizes: Sequence[int | None]
    ) -> list[CasePage]:
        """A whole pass whose calls take the page-size hints in ``sizes`` in turn."""
        pages: list[CasePage] = []
        token: str | None = None
        while True:
            size = sizes[len(pages) % len(sizes)]
            page = list_sized(adapter, window, token, size)
            if size is not None:
                listed = len(page.cases) + len(page.quarantined)
                assert listed <= size, f"asked for at most {size} items, got {listed}"
            pages.append(page)
            assert len(pages) <= 500, "pagination did not end within 500 pages"
            if page.next_page is None:
                return pages
            token = page.next_page

    def test_page_size_hint(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        """``list_cases(..., page_size=n)`` reads at most n items and the pass still covers
        everything, each once, whatever sizes its calls are given (the core reads an
        unreadable page again this way: docs/adding-a-platform.md, "Poisoned pages")."""
        self.rule("page-size-hint")
        window = self.window(control)
        for sizes in ([1], [2, None], [None, 3, 1]):
            pages = self.sized_pass(adapter, window, sizes)
            ids = [c.case_id for p in pages for c in p.cases]
            assert len(ids) == len(set(ids)), f"a case was listed twice with sizes {sizes}"
            assert set(ids) == set(dataset), f"sizes {sizes} lost cases"

    def test_unreadable_page_bisected(
        self, adapter: PlatformAdapter, control: MockControl, dataset: list[str]
    ) -> None:
        """An answer that cannot be read is ``UnreadablePageError``: how many positions the read
        asked for, and a token past them that continues the pass; the core's reader then
        takes every case of the page by reading it smaller."""
        self.rule("unreadable-page-bisected")
        window = self.window(control)
        control.faults({"count": 1, "fault": {"kind": "malformed_body"}})
        with pytest.raises(UnreadablePageError) as caught:
            adapter.list_cases(window, None, page_size=1)
        assert caught.value.items == 1
        assert caught.value.position, "the error must say where the read was"
        rest = []
        token = caught.value.next_page
        while token is not None:
            page = adapter.list_cases(window, token)
            rest += [c.case_id for c in page.cases]
            token = page.next_page
        assert len(set(dataset) - set(rest)) <= 1, "stepping over one item skipped more"

        control.faults({"count": 1, "fault": {"kind": "malformed_body"}})
        taken: list[str] = []
        token = None
        while True:
            page = read_page(
                lambda at, size: list_sized(adapter, window, at, size),
                token,
                platform=adapter.platform,
                shop_id=adapter.settings.shop_id,
            )
            assert not page.quarantined, "a one-off unreadable answer quarantined an item"
            taken += [c.case_id for c in page.cases]
            if page.next_page is None:
                break
            token = page.next_page
        assert set(taken) == set(dataset)

    def test_secrets_hidden(
        self,
        endpoint: FakeEndpoint,
        adapter: PlatformAdapter,
        control: MockControl,
        http: httpx.Client,
        clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        self.rule("secrets-hidden")
        secrets = secrets_of(adapter.settings)
        assert secrets, "the settings model should hold its credentials as SecretStr"
        texts = [repr(adapter), repr(adapter.settings), str(adapter.settings)]
        texts.append(repr(self.adapter_cls.auth_for(adapter.settings)))
        with caplog.at_level(logging.DEBUG):
            control.faults(
                {"count": 1, "fault": {"kind": "http_status", "status": 502}},
                {"count": 1, "fault": {"kind": "malformed_body"}},
                {"count": 1, "fault": self.rate_limit_fault},
            )
            failing = [adapter] * 3
            failing += [
                self.adapter_cls(s, http=http, clock=clock)
                for s in endpoint.bad_settings(endpoint.shop_id)
            ]
            for candidate in failing:
                with pytest.raises(Exception) as caught:  # noqa: PT011 - any mapped error
                    candidate.list_cases(self.window(control))
                texts += [str(caught.value), repr(caught.value)]
        texts.append(caplog.text)
        texts += [r.getMessage() + " " + str(r.__dict__) for r in caplog.records]
        for text in texts:
            for secret in secrets:
                assert secret not in text, f"a secret leaked into: {text[:200]}"
