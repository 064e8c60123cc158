"""Refunds, messages and trades rendered as TOP JSON objects, limited to the asked ``fields``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mocks.taobao.errors import invalid
from mocks.taobao.records import Message, Refund, Trade
from mocks.taobao.state import TaobaoMock
from mocks.taobao.wire import top_time, yuan

Getter = Callable[[TaobaoMock, Refund], Any]


def _remind(mock: TaobaoMock, r: Refund) -> dict[str, Any]:
    if r.deadline is None:
        return {"exist_timeout": False}
    return {
        "exist_timeout": True,
        "remind_type": mock.remind_type(r),
        "timeout": top_time(r.deadline),
    }


def _opt_time(value: Any) -> str | None:
    return None if value is None else top_time(value)


# Fields of taobao.refunds.receive.get (request list and Refund response, platform-apis.md §1.6).
LIST_FIELDS: dict[str, Getter] = {
    "refund_id": lambda m, r: r.refund_id,
    "tid": lambda m, r: r.tid,
    "oid": lambda m, r: r.oid,
    "title": lambda m, r: r.item.title,
    "buyer_nick": lambda m, r: r.buyer_nick,
    "buyer_open_uid": lambda m, r: r.buyer_open_uid,
    "seller_nick": lambda m, r: r.seller_nick,
    "total_fee": lambda m, r: yuan(r.total_fee_fen),
    "status": lambda m, r: r.status,
    "created": lambda m, r: top_time(r.created),
    "modified": lambda m, r: top_time(r.modified),
    "refund_fee": lambda m, r: yuan(r.refund_fee_fen),
    "payment": lambda m, r: yuan(r.total_fee_fen - r.refund_fee_fen),
    "good_status": lambda m, r: r.good_status,
    "has_good_return": lambda m, r: r.has_good_return,
    "company_name": lambda m, r: r.return_parcel.carrier if r.return_parcel else None,
    "sid": lambda m, r: r.return_parcel.waybill if r.return_parcel else None,
    "reason": lambda m, r: r.reason_text,
    "desc": lambda m, r: r.desc,
    "order_status": lambda m, r: m.trades[r.tid].status,
    "refund_phase": lambda m, r: r.refund_phase,
    "refund_version": lambda m, r: r.version,
    "dispute_type": lambda m, r: _dispute_type(r),
    "end_time": lambda m, r: _opt_time(r.end_time),
    "num": lambda m, r: r.num,
    "num_iid": lambda m, r: r.item.num_iid,
    "price": lambda m, r: yuan(r.item.price_fen),
    "sku": lambda m, r: f"{r.item.num_iid}|规格:{r.item.sku}",
    "outer_id": lambda m, r: r.item.sku,
    "attribute": lambda m, r: "",
    "operation_contraint": lambda m, r: r.operation_contraint,
}
# taobao.refund.get adds the detail fields.
DETAIL_FIELDS: dict[str, Getter] = {
    **LIST_FIELDS,
    "alipay_no": lambda m, r: f"2026{r.tid}",
    "good_return_time": lambda m, r: (
        _opt_time(r.return_parcel.shipped_at) if r.return_parcel else None
    ),
    "address": lambda m, r: r.address,
    "shipping_type": lambda m, r: "express",
    "refund_remind_timeout": _remind,
    "cs_status": lambda m, r: r.cs_status,
    "advance_status": lambda m, r: 0,
}
MESSAGE_FIELDS: dict[str, Callable[[Message], Any]] = {
    "id": lambda x: x.id,
    "refund_id": lambda x: x.refund_id,
    "content": lambda x: x.content,
    "created": lambda x: top_time(x.created),
    "message_type": lambda x: x.message_type,
    "owner_id": lambda x: x.owner_role * 1000 + x.id,
    "owner_nick": lambda x: x.owner_nick,
    "owner_open_uid": lambda x: x.owner_open_uid,
    "owner_role": lambda x: x.owner_role,
    "refund_phase": lambda x: x.refund_phase,
    "pic_urls": lambda x: {"pic_url": [{"url": u} for u in x.pic_urls]},
}
TRADE_FIELDS: dict[str, Callable[[Trade], Any]] = {
    "tid": lambda t: t.tid,
    "status": lambda t: t.status,
    "created": lambda t: top_time(t.created),
    "modified": lambda t: top_time(t.modified),
    "payment": lambda t: yuan(t.payment_fen),
    "seller_memo": lambda t: t.memo,
    "seller_flag": lambda t: t.flag,
    "buyer_nick": lambda t: t.buyer_nick,
    "buyer_open_uid": lambda t: t.buyer_open_uid,
    "receiver_name": lambda t: t.receiver_name,
    "receiver_mobile": lambda t: t.receiver_mobile,
    "receiver_address": lambda t: t.receiver_address,
    "consign_time": lambda t: _opt_time(t.parcel.shipped_at) if t.parcel else None,
}


def _dispute_type(r: Refund) -> str:
    return {
        "refund_only": "REFUND",
        "return_and_refund": "REFUND_AND_RETURN",
        "exchange": "TMALL_EXCHANGE" if r.tmall else "TAOBAO_EXCHANGE",
        "repair": "REPAIR",
    }[r.case_type]


def parse_fields(raw: str, allowed: dict[str, Any]) -> list[str]:
    """The ``fields`` param: comma separated, all known (else 41 naming the first unknown)."""
    names = [f.strip() for f in raw.split(",") if f.strip()]
    if not names:
        raise invalid("fields", "至少需要一个字段")
    if len(names) > 100:
        raise invalid("fields", "字段数不能超过100")
    for name in names:
        if name not in allowed:
            raise invalid("fields", f"不支持的字段 {name}")
    return names


def refund_object(
    mock: TaobaoMock, refund: Refund, fields: list[str], table: dict[str, Getter]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = table[name](mock, refund)
        if value is not None:  # TOP leaves absent values out
            out[name] = value
    return out


def pick(obj: Any, fields: list[str], table: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = table[name](obj)
        if value is not None:
            out[name] = value
    return out
