"""The fake warehouse's ground truth: orders, their print/ship/void state, returns received.

Pure state under one lock; HTTP lives in ``mocks.warehouse.app``. Errors are raised as
``WarehouseError`` carrying the HTTP status and the error code the API answers with.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from mocks.kit.clock import ClockLike, MockClock
from mocks.kit.faults import FaultPlan
from mocks.kit.journal import Journal, JsonDict
from mocks.kit.profile import FaultProfile, ProfiledFake

ORDER_STATES = ("not_printed", "printed", "shipped", "voided")
# A warehouse only moves forward; voiding is possible only before the label is printed.
_FORWARD = {"not_printed": 0, "printed": 1, "shipped": 2}


class WarehouseError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> JsonDict:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass
class Order:
    order_id: str
    shop_id: str
    case_id: str | None
    state: str
    updated_at: datetime
    voided_at: datetime | None = None
    void_request_id: str | None = None


@dataclass
class ReturnReceipt:
    order_id: str
    case_id: str | None
    received_at: datetime
    resellable: bool
    note: str


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _text(body: JsonDict, name: str, where: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        msg = f"{where}.{name} must be a non-empty string"
        raise ValueError(msg)
    return value


class WarehouseMock(ProfiledFake):
    """Orders by id; every applied change goes to the ledger, every API call to the request log.

    A fault profile hits its per-call share here (a warehouse has no listings or buyers): 5xx,
    the ban as 429 with ``Retry-After``, hang, reset, a void applied and its answer dropped, and
    the outages."""

    platform = "warehouse"

    def __init__(self, clock: ClockLike | None = None) -> None:
        self.clock = MockClock(clock)
        self.lock = threading.RLock()
        self.ledger = Journal()
        self.requests = Journal()
        self.faults = FaultPlan()
        self.profile: FaultProfile | None = None
        self.orders: dict[str, Order] = {}
        self.returns: dict[str, ReturnReceipt] = {}

    def now(self) -> datetime:
        return self.clock.now()

    # API ---------------------------------------------------------------------------------------
    def order(self, order_id: str) -> Order:
        found = self.orders.get(order_id)
        if found is None:
            raise WarehouseError(404, "order_not_found", f"no order {order_id}")
        return found

    def order_view(self, order: Order) -> JsonDict:
        return {
            "order_id": order.order_id,
            "shop_id": order.shop_id,
            "case_id": order.case_id,
            "state": order.state,
            "updated_at": _iso(order.updated_at),
            "voided_at": _iso(order.voided_at),
        }

    def void(self, order_id: str, request_id: str | None) -> JsonDict:
        """Void before printing; voiding again answers ``already_voided``; later is refused."""
        with self.lock:
            order = self.order(order_id)
            if order.state == "voided":
                return {**self.order_view(order), "result": "already_voided"}
            if order.state != "not_printed":
                raise WarehouseError(
                    409,
                    f"order_{order.state}",
                    f"order {order_id} is already {order.state}; it can no longer be voided",
                )
            now = self.now()
            order.state, order.updated_at, order.voided_at = "voided", now, now
            order.void_request_id = request_id
            self.ledger.append(
                {
                    "at": _iso(now),
                    "platform": self.platform,
                    "shop_id": order.shop_id,
                    "case_id": order.case_id,
                    "order_id": order_id,
                    "effect": "void_order",
                    "actor": "seller",
                    "amount": None,
                    "version_before": "not_printed",
                    "version_after": "voided",
                    "request_id": request_id,
                    "key": request_id,
                }
            )
            return {**self.order_view(order), "result": "voided"}

    def return_view(self, order_id: str) -> JsonDict:
        with self.lock:
            order = self.order(order_id)
            receipt = self.returns.get(order_id)
            return {
                "order_id": order.order_id,
                "case_id": receipt.case_id if receipt else order.case_id,
                "received": receipt is not None,
                "received_at": _iso(receipt.received_at) if receipt else None,
                "inspection": (
                    {"resellable": receipt.resellable, "note": receipt.note} if receipt else None
                ),
            }

    # control -----------------------------------------------------------------------------------
    def add_orders(self, raw: object) -> list[str]:
        if not isinstance(raw, list):
            msg = "orders must be a list of {order_id, shop_id, state?, case_id?}"
            raise ValueError(msg)
        parsed: list[Order] = []
        now = self.now()
        for index, item in enumerate(raw):
            where = f"orders[{index}]"
            if not isinstance(item, dict):
                msg = f"{where} must be an object"
                raise ValueError(msg)
            state = item.get("state", "not_printed")
            if state not in ORDER_STATES:
                msg = f"{where}.state must be one of {list(ORDER_STATES)}, got {state!r}"
                raise ValueError(msg)
            parsed.append(
                Order(
                    order_id=str(_text(item, "order_id", where)),
                    shop_id=str(_text(item, "shop_id", where)),
                    case_id=_text(item, "case_id", where, required=False),
                    state=state,
                    updated_at=now,
                    voided_at=now if state == "voided" else None,
                )
            )
        with self.lock:
            for order in parsed:
                self.orders[order.order_id] = order
        return [o.order_id for o in parsed]

    def move_order(self, order_id: str, body: JsonDict) -> JsonDict:
        """The warehouse works on: print the label, ship the parcel (never backwards)."""
        state = body.get("state")
        if state not in _FORWARD:
            msg = f"state must be one of {sorted(_FORWARD)}, got {state!r}"
            raise ValueError(msg)
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            if order.state == "voided" or _FORWARD[order.state] > _FORWARD[state]:
                msg = f"order {order_id} is {order.state}; it cannot go to {state}"
                raise ValueError(msg)
            order.state, order.updated_at = state, self.now()
            return self.order_view(order)

    def receive_return(self, order_id: str, body: JsonDict) -> JsonDict:
        resellable = body.get("resellable")
        if not isinstance(resellable, bool):
            msg = "resellable must be true or false"
            raise ValueError(msg)
        note = body.get("note", "")
        if not isinstance(note, str):
            msg = "note must be text"
            raise ValueError(msg)
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            case_id = _text(body, "case_id", "body", required=False) or order.case_id
            self.returns[order_id] = ReturnReceipt(order_id, case_id, self.now(), resellable, note)
            return self.return_view(order_id)

    def order_views(self) -> list[JsonDict]:
        with self.lock:
            return [self.order_view(o) for o in self.orders.values()]

    def reset(self) -> None:
        with self.lock:
            self.orders.clear()
            self.returns.clear()
            self.faults.clear()
            self.profile = None
            self.ledger.clear()
            self.requests.clear()

    def log_request(self, operation: str, shop_id: str | None, outcome: str, ms: float) -> None:
        self.requests.append(
            {
                "at": _iso(self.now()),
                "method": operation,
                "shop_id": shop_id,
                "outcome": outcome,
                "ms": round(ms, 1),
            }
        )

    def shop_of(self, order_id: str) -> str | None:
        with self.lock:
            order = self.orders.get(order_id)
            return order.shop_id if order else None
