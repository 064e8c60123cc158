"""Hostile payloads into the adapters' wire -> canonical mapping (Hypothesis).

Whatever a platform sends, an adapter either maps a record to a valid case or quarantines it
with problems that name the field; it never raises anything outside ``connector.errors``, and one
bad item never costs the rest of its page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.jd.mapping import AuditRule, refund_application_to_case, service_order_to_case
from adapters.taobao import TaobaoAdapter, TaobaoSettings
from adapters.taobao.mapping import refund_to_case
from connector.adapter import SyncWindow
from connector.clock import FakeClock
from connector.errors import ConnectorError
from connector.models import MAX_AMOUNT_FEN, QuarantinedCase, RefundCase

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---- hostile values ---------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**60),
    st.integers(min_value=-(10**60), max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        [
            "12.345",
            "-12.50",
            "-0.01",
            "0.00",
            "1e5",
            "１２.５０",  # full-width digits
            "١٢.٥٠",  # Arabic-Indic digits
            "9" * 40,
            "9" * 5000,
            "99999999999999999999.99",
            "2026-13-40 25:61:61",
            "2026-11-12T10:00:00+08:00",
            "0000-00-00 00:00:00",
            "9" * 25,
            "-1",
            "NaN",
            "Infinity",
            "\x00",
            "退款\u202e\ufeff",
            "WAIT_SELLER_AGREE ",
        ]
    ),
)
hostile = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
MISSING = object()

# ---- Taobao ----------------------------------------------------------------------------------


def taobao_refund(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "refund_id": "900001",
        "tid": 700001,
        "oid": 700001,
        "title": "cotton shirt",
        "total_fee": "123.40",
        "payment": "0.00",
        "refund_fee": "100.00",
        "status": "WAIT_SELLER_AGREE",
        "created": "2026-11-12 09:00:00",
        "modified": "2026-11-12 09:30:00",
        "reason": "质量问题",
        "has_good_return": False,
        "good_status": "BUYER_NOT_RECEIVED",
        "order_status": "WAIT_SELLER_SEND_GOODS",
        "refund_phase": "onsale",
        "refund_version": 1762911000000,
        "num": 1,
        "sku": "30004447689|颜色分类:军绿色",
        "outer_id": "SKU-1",
        "buyer_open_uid": "AAH-open-uid-1",
        "price": "123.40",
        "refund_remind_timeout": {"exist_timeout": True, "timeout": "2026-11-13 09:00:00"},
        "cs_status": "1",
        "sid": "",
    }
    wire.update(overrides)
    return wire


TAOBAO_FIELDS = sorted(taobao_refund())
# Where a wire field lands in the canonical case, for problems reported after mapping.
TAOBAO_CANONICAL: dict[str, set[str]] = {
    "refund_fee": {"refund_amount"},
    "total_fee": {"paid_amount", "item.price"},
    "price": {"item.price"},
    "num": {"item.quantity", "item.price"},
    "outer_id": {"sku"},
    "sku": {"sku"},
    "oid": {"sku"},
    "has_good_return": {"has_good_return"},
    "buyer_open_uid": {"buyer_open_uid"},
    "refund_remind_timeout": {"refund_remind_timeout"},
}


def _mutate(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    wire = dict(base)
    for name, value in changes.items():
        if value is MISSING:
            wire.pop(name, None)
        else:
            wire[name] = value
    return wire


def _named(problem_field: str, changed: set[str], canonical: dict[str, set[str]]) -> bool:
    """The problem names a changed wire field, or the canonical field it became."""
    head = problem_field.split(".")[0]
    if problem_field in changed or head in changed:
        return True
    return any(problem_field in canonical.get(name, set()) for name in changed)


def _check_case(case: RefundCase) -> None:
    """A case that got through is sane: bounded integer money, no nested value turned text."""
    assert isinstance(case.paid_amount, int)
    assert isinstance(case.refund_amount, int)
    assert 0 <= case.paid_amount <= MAX_AMOUNT_FEN
    assert 0 <= case.refund_amount <= MAX_AMOUNT_FEN
    for text in (case.case_id, case.order_id, case.item.sku, case.item.title, case.version or ""):
        assert not text.startswith(("{", "[")), text
    assert all(not v.startswith(("{", "[")) for v in case.platform_fields.values())


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(TAOBAO_FIELDS), hostile | st.just(MISSING), min_size=1, max_size=3
    )
)
def test_taobao_mapping_never_raises_and_names_the_field(changes: dict[str, Any]) -> None:
    wire = _mutate(taobao_refund(), changes)
    result = refund_to_case(wire, shop_id="s1", tmall=False)
    if isinstance(result, QuarantinedCase):
        assert result.problems
        for problem in result.problems:
            assert problem.field
            assert problem.reason.strip()
        assert any(_named(p.field, set(changes), TAOBAO_CANONICAL) for p in result.problems), (
            changes,
            result.summary(),
        )
        assert "buyer_nick" not in (result.raw or {})
    else:
        assert isinstance(result, RefundCase)
        _check_case(result)


@FUZZ
@given(value=hostile)
def test_taobao_mapping_of_a_non_object_item(value: Any) -> None:
    result = refund_to_case(value, shop_id="s1", tmall=True)
    if not isinstance(value, dict):
        assert isinstance(result, QuarantinedCase)
        assert result.problems[0].field == "refund"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("refund_fee", "-12.50", "must not be negative"),
        ("refund_fee", "12.345", "at most 2 decimals"),
        ("total_fee", "١٢.٥٠", "at most 2 decimals"),
        ("modified", 10**30, "epoch milliseconds"),
        ("modified", "9" * 30, "epoch milliseconds"),
        ("created", "2026-02-30 10:00:00", "must be a time"),
        ("refund_remind_timeout", {"exist_timeout": True, "timeout": 10**25}, "epoch"),
        ("refund_version", {"v": 1}, "single value"),
        ("outer_id", ["SKU"], "single value"),
        ("num", 10**400, "too large"),
        ("refund_fee", "9" * 5000, "too large"),
    ],
)
def test_taobao_named_problems(field: str, value: Any, words: str) -> None:
    result = refund_to_case(taobao_refund(**{field: value}), shop_id="s1", tmall=False)
    assert isinstance(result, QuarantinedCase), result
    assert words in result.summary(), result.summary()
    assert any(_named(p.field, {field}, TAOBAO_CANONICAL) for p in result.problems)


# ---- Taobao list page over HTTP (respx) ------------------------------------------------------

BASE_URL = "http://top.test"
CLOCK_START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def _adapter() -> tuple[TaobaoAdapter, FakeClock, httpx.Client]:
    clock = FakeClock(CLOCK_START)
    http = httpx.Client()
    adapter = TaobaoAdapter(
        TaobaoSettings(
            base_url=BASE_URL,
            shop_id="s1",
            app_key="12345678",
            app_secret="fuzz-app-secret",
            session="fuzz-session",
            return_address_id="addr-1",
        ),
        http=http,
        clock=clock,
    )
    return adapter, clock, http


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(TAOBAO_FIELDS), hostile | st.just(MISSING), min_size=1, max_size=3
    ),
    position=st.integers(min_value=0, max_value=3),
)
def test_taobao_list_page_keeps_the_good_items(changes: dict[str, Any], position: int) -> None:
    good = [taobao_refund(refund_id=f"90000{i}", buyer_nick="canary-nick") for i in range(3)]
    bad = _mutate(taobao_refund(refund_id="bad-1"), changes)
    items: list[Any] = [*good]
    items.insert(position, bad)
    adapter, clock, http = _adapter()
    body = {
        "refunds_receive_get_response": {
            "total_results": len(items),
            "refunds": {"refund": items},
            "request_id": "r1",
        }
    }
    with http, respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE_URL}/router/rest").mock(
            return_value=httpx.Response(200, content=_json_bytes(body))
        )
        window = SyncWindow(start=clock.now() - timedelta(days=1), end=clock.now())
        try:
            page = adapter.list_cases(window)
        except ConnectorError:
            return  # a page-level protocol break is an error in the tree, never a crash
    listed = {c.case_id for c in page.cases}
    # A bad item whose "modified" is unreadable may fall out of the backward-paging order, and
    # one whose changed refund_id is still a usable id (e.g. 0) is listed under it, but every
    # good item is kept, and nothing is dropped silently: each is a case or quarantined.
    assert {"900000", "900001", "900002"} <= listed
    assert len(page.cases) + len(page.quarantined) == len(items)
    assert len(page.raw) == len(page.cases)
    assert all("buyer_nick" not in raw for raw in page.raw)


def _json_bytes(body: Any) -> bytes:
    """JSON as a platform would send it: Decimals and huge ints written as plain numbers."""
    import json

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                return str(value)
            return float(value) if value == value else str(value)
        raise TypeError(type(value).__name__)

    text = json.dumps(body, default=default, ensure_ascii=False, allow_nan=True)
    return text.encode("utf-8")


# ---- JD --------------------------------------------------------------------------------------


def jd_refund_application(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "id": 5001,
        "orderId": "80001",
        "status": "0",
        "applyRefundSum": 4900,
        "applyTime": "2026-11-12 09:00:00",
        "checkTime": None,
        "buyerName": "canary-name",
        "reason": "不想要了",
        "systemId": 1,
        "storeId": 0,
        "partRefundType": 0,
        "open_id_buyer": "oaid-1",
        "skuId": "SKU-9",
        "wareName": "tea",
    }
    wire.update(overrides)
    return wire


def jd_service_order(**overrides: Any) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "serviceId": 7001,
        "applyId": 8001,
        "orderId": 90001,
        "customerExpect": 10,
        "serviceStatus": 10001,
        "serviceStatusName": "待审核",
        "applyTime": 1762909200000,
        "updateTime": 1762909200000,
        "sysVersion": 3,
        "oaid": "oaid-2",
        "skuId": 1234,
        "wareName": "kettle",
        "serviceCount": 1,
        "actualPayPrice": Decimal("129.90"),
        "refundAmount": Decimal("129.90"),
        "questionTypeCid1": 1,
        "questionTypeCid1Name": "质量问题",
        "questionDesc": "坏了",
        "auditOvertime": 1763082000000,
        "remindRespList": [],
    }
    wire.update(overrides)
    return wire


JD_REFUND_FIELDS = sorted(jd_refund_application())
JD_SERVICE_FIELDS = sorted(jd_service_order())
JD_CANONICAL: dict[str, set[str]] = {
    "applyRefundSum": {"paid_amount", "refund_amount", "item.price"},
    "actualPayPrice": {"paid_amount", "refund_amount", "item.price"},
    "refundAmount": {"refund_amount"},
    "serviceCount": {"item.quantity", "paid_amount", "refund_amount"},
    "oaid": {"open_id_buyer"},
    "open_id_buyer": {"open_id_buyer"},
    "updateTime": {"updateTime"},
}


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(JD_REFUND_FIELDS), hostile | st.just(MISSING), min_size=1, max_size=3
    )
)
def test_jd_refund_application_mapping(changes: dict[str, Any]) -> None:
    wire = _mutate(jd_refund_application(), changes)
    result = refund_application_to_case(wire, shop_id="jd1", rule=AuditRule(48))
    if isinstance(result, QuarantinedCase):
        assert all(p.field for p in result.problems)
        assert all(p.reason.strip() for p in result.problems)
        assert any(_named(p.field, set(changes), JD_CANONICAL) for p in result.problems), (
            changes,
            result.summary(),
        )
        assert "buyerName" not in (result.raw or {})
    else:
        _check_case(result)


@FUZZ
@given(
    changes=st.dictionaries(
        st.sampled_from(JD_SERVICE_FIELDS), hostile | st.just(MISSING), min_size=1, max_size=3
    )
)
def test_jd_service_order_mapping(changes: dict[str, Any]) -> None:
    wire = _mutate(jd_service_order(), changes)
    result = service_order_to_case(wire, shop_id="jd1")
    if isinstance(result, QuarantinedCase):
        assert all(p.field for p in result.problems)
        assert all(p.reason.strip() for p in result.problems)
        assert any(_named(p.field, set(changes), JD_CANONICAL) for p in result.problems), (
            changes,
            result.summary(),
        )
    else:
        _check_case(result)


@FUZZ
@given(value=hostile)
def test_jd_mapping_of_a_non_object_item(value: Any) -> None:
    for result in (
        refund_application_to_case(value, shop_id="jd1", rule=AuditRule(48)),
        service_order_to_case(value, shop_id="jd1"),
    ):
        if not isinstance(value, dict):
            assert isinstance(result, QuarantinedCase)
