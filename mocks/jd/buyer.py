"""What the buyer (and JD staff) can do to a case through ``POST /__mock/buyer/{case_id}``.

A cancel-before-shipment refund application only knows ``cancel`` (status 11); evidence,
returns and disputes belong to after-sale service orders. Anything else answers 400.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mocks.jd import codes as c
from mocks.jd.records import Parcel, RefundApply, ServiceOrder
from mocks.jd.state import JdMock
from mocks.kit.journal import JsonDict

ServiceAction = Callable[[JdMock, ServiceOrder, JsonDict, datetime], None]
_PARCEL_STATES = ("in_transit", "delivered", "lost", "refused", "returned")


def act(mock: JdMock, record: RefundApply | ServiceOrder, body: JsonDict) -> None:
    action = str(body.get("action"))
    now = mock.now()
    if isinstance(record, RefundApply):
        if action != "cancel":
            msg = (
                f"action {action!r} is not meaningful for a JD refund application "
                "(cancel-before-shipment); the buyer can only cancel it"
            )
            raise ValueError(msg)
        cancel_apply(mock, record, now)
        return
    handler = SERVICE_ACTIONS.get(action)
    if handler is None:
        msg = f"action must be one of {sorted(SERVICE_ACTIONS)}, got {action!r}"
        raise ValueError(msg)
    handler(mock, record, body, now)


def cancel_apply(mock: JdMock, apply: RefundApply, now: datetime) -> None:
    if apply.status not in c.APPLY_OPEN:
        msg = f"buyer cannot cancel a refund application in status {apply.status}"
        raise ValueError(msg)
    mock.apply_change(apply, now, actor="buyer", effect="buyer_cancel", status=11)


def buyer_touch(mock: JdMock, record: RefundApply | ServiceOrder) -> None:
    """The ``change_before`` fault: the buyer acts just before the seller's call lands."""
    now = mock.now()
    if isinstance(record, RefundApply):
        if record.status in c.APPLY_OPEN:
            cancel_apply(mock, record, now)
        return
    if record.status not in c.SERVICE_CLOSED:
        record.reason_text = f"{record.reason_text}（客户补充说明）"
        mock.service_change(record, now, actor="buyer", effect="buyer_modify", note="客户修改申请")


def _require(so: ServiceOrder, allowed: set[int] | frozenset[int], action: str) -> None:
    if so.status not in allowed:
        name = c.SERVICE_STATUS_NAMES[so.status]
        msg = f"buyer cannot {action} while the service order is {so.status} {name}"
        raise ValueError(msg)


def _text(body: JsonDict, name: str, action: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        msg = f"{action} needs a non-empty {name}"
        raise ValueError(msg)
    return value


def ship_return(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    _require(so, c.AWAITING_RETURN, "ship a return")
    carrier = _text(body, "carrier", "ship_return")
    waybill = _text(body, "waybill", "ship_return")
    so.return_parcel = Parcel(carrier=carrier, waybill=waybill, status="in_transit", shipped_at=now)
    mock.service_change(
        so,
        now,
        actor="buyer",
        effect="buyer_ship_return",
        status=c.AWAIT_RECEIPT,
        note="客户已寄回",
    )


def return_delivered(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    if so.return_parcel is None:
        msg = "this service order has no return parcel"
        raise ValueError(msg)
    so.return_parcel.status, so.return_parcel.delivered_at = "delivered", now


def outbound_parcel(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    parcel = so.order.parcel
    status = body.get("status")
    if parcel is None or status not in _PARCEL_STATES:
        msg = f"parcel needs a shipped order and a status in {list(_PARCEL_STATES)}"
        raise ValueError(msg)
    parcel.status = str(status)
    parcel.delivered_at = now if status == "delivered" else None


def cancel(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    _require(so, {c.PENDING_AUDIT, c.REFUSED, *c.AWAITING_RETURN}, "cancel")
    mock.service_change(so, now, actor="buyer", effect="buyer_cancel", status=c.CANCELLED)


def modify(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    _require(so, {c.PENDING_AUDIT, c.REFUSED}, "modify")
    case_type = body.get("type", so.case_type)
    reason = body.get("reason", so.reason)
    if case_type not in c.EXPECT_OF_TYPE:
        msg = f"type must be one of {sorted(c.EXPECT_OF_TYPE)}"
        raise ValueError(msg)
    if reason not in c.REASON_BY_WORD:
        msg = f"reason must be one of {sorted(c.REASON_BY_WORD)}"
        raise ValueError(msg)
    so.case_type, so.expect, so.reason = (
        str(case_type),
        c.EXPECT_OF_TYPE[str(case_type)],
        str(reason),
    )
    so.reason_text = str(body.get("reason_text") or c.REASON_BY_WORD[so.reason][2])
    if so.expect in {c.EXCHANGE, c.REPAIR}:
        so.refund_fen = 0
    elif so.refund_fen == 0:
        so.refund_fen = so.paid_fen
    mock.service_change(so, now, actor="buyer", effect="buyer_modify", status=c.PENDING_AUDIT)


def escalate(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    _require(so, {c.REFUSED, c.PENDING_AUDIT, c.AWAIT_RECEIPT, c.AWAIT_PROCESS}, "escalate")
    if body.get("outcome") in {"buyer", "seller"}:
        so.dispute_outcome = str(body["outcome"])
    so.escalated_from = so.status
    mock.service_change(
        so,
        now,
        actor="buyer",
        effect="buyer_escalate",
        status=c.JD_INTERVENING,
        note="客户申请京东介入",
    )


def add_evidence(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    kind = body.get("kind")
    if kind not in {"photo", "video", "chat"}:
        msg = "kind must be photo, video or chat"
        raise ValueError(msg)
    if so.status in c.SERVICE_CLOSED:
        msg = "the service order is closed; it takes no more evidence"
        raise ValueError(msg)
    mock.add_picture(so, str(kind))
    mock.service_change(so, now, actor="buyer", effect="buyer_add_evidence", note="客户补充凭证")


def decide_dispute(mock: JdMock, so: ServiceOrder, body: JsonDict, now: datetime) -> None:
    _require(so, {c.JD_INTERVENING}, "have a dispute decided")
    winner = {"buyer": "buyer", "seller": "seller"}.get(str(body.get("outcome")))
    if winner is None:
        raise ValueError("decide_dispute needs outcome buyer or seller")
    so.dispute_outcome = winner
    mock.settle_dispute(so, now)


SERVICE_ACTIONS: dict[str, ServiceAction] = {
    "ship_return": ship_return,
    "return_delivered": return_delivered,
    "parcel": outbound_parcel,
    "cancel": cancel,
    "modify": modify,
    "escalate": escalate,
    "add_evidence": add_evidence,
    "decide_dispute": decide_dispute,
}
