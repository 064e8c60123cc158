"""JD wire records -> the canonical case, for both after-sale families. Pure, no I/O.

Refund applications (``RefundApplyVo``, cancel before shipment) are always refund-only on an
unshipped order and carry no deadline: it is derived from the audit rule in the settings and the
case says so (``platform_fields["deadline_source"]``). Service orders (``ServiceBrief`` plus
detail) are one per returned unit; their type, status, reason, deadline (``auditOvertime`` while
awaiting audit, ``receiveOvertime`` while awaiting the goods), the customer's pictures
(``questionPic``), the order's delivery time (``orderDeliveredTime``) and compare-and-set
version (``sysVersion``) come from the record. Money arrives as fen on refund
applications and as yuan ``BigDecimal`` on service orders; both become integer fen exactly.
JD times are GMT+8 and become aware UTC. Customer names, phones and addresses are never read.
A record that cannot be converted is quarantined whole with the wire fields named.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from adapters._rpc.fields import WireReader, as_id, as_whole, one_of, without_private
from adapters._rpc.media import url_evidence
from adapters._rpc.values import parse_local_time, yuan_to_fen
from adapters.jd.reasons import jd_reason
from connector.errors import FieldProblem
from connector.models import (
    CaseStatus,
    CaseType,
    Evidence,
    OrderStatus,
    QuarantinedCase,
    RefundCase,
    ReturnLogistics,
    parse_case,
)

PLATFORM = "jd"
REFUND_FAMILY = "refund_application"
SERVICE_FAMILY = "service_order"

PRIVATE_WORDS = (
    "customername",
    "customertel",
    "customermobile",
    "customeremail",
    "buyername",
    "address",
    "contact",
    "tel",
    "phone",
    "mobile",
)
"""Key fragments of JD personal fields; kept raw records never carry them."""

# ---- refund applications ----------------------------------------------------------------------

REFUND_PENDING = "0"
REFUND_STATUS: dict[str, CaseStatus] = {
    "0": CaseStatus.awaiting_seller,  # not reviewed
    "1": CaseStatus.refunded,  # approved by the seller; JD finance pays out
    "2": CaseStatus.refused,
    "3": CaseStatus.refunded,  # finance approved: refund success
    "4": CaseStatus.closed,  # finance rejected: refund failed
    "5": CaseStatus.refunded,  # manually approved
    "6": CaseStatus.refunded,  # intercepted and refunded
    "7": CaseStatus.refunded,  # JD Logistics intercept succeeded
    "8": CaseStatus.closed,  # intercept failed: the goods left; an after-sale order follows
    "9": CaseStatus.refunded,  # forced close with refund
    "10": CaseStatus.awaiting_seller,  # logistics follow-up: still the seller's move
    "11": CaseStatus.closed,  # the customer cancelled
}
APPROVED_REFUND_STATUSES = frozenset({"1", "3", "5", "6", "7", "9"})


@dataclass(frozen=True, slots=True)
class AuditRule:
    """How long the seller has to audit a refund application (JD sends no deadline)."""

    hours: float

    def deadline(self, applied_at: datetime) -> datetime:
        return applied_at + timedelta(hours=self.hours)

    @property
    def source(self) -> str:
        return f"derived:{self.hours:g}h after applyTime"


def fen(value: Any) -> int:
    """A fen amount sent as a whole number (JSON number, possibly ``4900.0``, or digits)."""
    return as_whole(value)


def _time(value: Any) -> datetime:
    if isinstance(value, Decimal):
        value = int(value)
    return parse_local_time(value)


def _buyer_id(read: WireReader) -> str:
    """The pseudonymous per-app id; never the JD account (pin) or a name. Missing is a problem."""
    found = read.first_text("open_id_buyer", "openIdBuyer", "oaid", "xid_buyer")
    if not found:
        read.complain("open_id_buyer", "is required but missing (also no oaid or xid_buyer)")
    return found


def _quarantine(read: WireReader, shop_id: str, case_id: str | None, wire: Any) -> QuarantinedCase:
    return QuarantinedCase(
        platform=PLATFORM,
        shop_id=shop_id,
        case_id=case_id,
        problems=tuple(read.problems),
        raw=without_private(wire, PRIVATE_WORDS),
    )


def _not_an_object(shop_id: str, what: str, wire: Any) -> QuarantinedCase:
    problem = FieldProblem(what, f"must be an object (got {type(wire).__name__})")
    return QuarantinedCase(platform=PLATFORM, shop_id=shop_id, problems=(problem,), raw=wire)


def _assemble(
    wire: Mapping[str, Any],
    shop_id: str,
    case_id: str | None,
    order_id: str | None,
    item: dict[str, Any],
    facts: dict[str, Any],
) -> RefundCase | QuarantinedCase:
    """The canonical case from what a family mapped; still invalid -> quarantined, raw kept."""
    identity = {"platform": PLATFORM, "shop_id": shop_id, "case_id": case_id, "order_id": order_id}
    parsed = parse_case({**facts, **identity, "item": item})
    if isinstance(parsed, QuarantinedCase):
        return parsed.model_copy(update={"raw": without_private(wire, PRIVATE_WORDS)})
    return parsed


def refund_application_version(wire: Mapping[str, Any]) -> str:
    """The compare-and-set token of a refund application: its audit status.

    ``RefundApplyVo`` has no version field, and a reply is legal only from an open status, so
    the status is the change that matters: the adapter re-reads it just before every write.
    """
    return str(wire.get("status"))


def refund_application_to_case(
    wire: Any, *, shop_id: str, rule: AuditRule
) -> RefundCase | QuarantinedCase:
    """One ``RefundApplyVo`` as a refund-only case on an unshipped order."""
    if not isinstance(wire, Mapping):
        return _not_an_object(shop_id, "RefundApplyVo", wire)
    read = WireReader(wire)
    case_id = read.need("id", as_id)
    order_id = read.need("orderId", as_id)
    amount = read.need("applyRefundSum", fen)
    status = read.need("status", one_of(REFUND_STATUS, "refund application status"))
    applied_at = read.need("applyTime", _time)
    checked_at = read.maybe("checkTime", _time)
    buyer_id = _buyer_id(read)
    reason_text = read.text("reason")
    pending = status is CaseStatus.awaiting_seller
    fields = {
        "family": REFUND_FAMILY,
        "status": read.text("status"),
        "order_status_source": "refund applications exist only before shipment",
        "paid_amount_source": "applyRefundSum (JD sends no paid amount here)",
    }
    if pending:
        fields["deadline_source"] = rule.source
    for name in ("storeId", "partRefundType", "systemId"):
        if read.text(name):
            fields[name] = read.text(name)
    item = {
        "sku": read.first_text("skuId", "wareId") or f"order-{order_id}",
        "title": read.first_text("wareName", "skuName"),
        "quantity": 1,
        "price": amount,
    }
    if read.problems:  # read after every text field: a nested value there is a problem too
        return _quarantine(read, shop_id, case_id, wire)
    assert applied_at is not None
    facts: dict[str, Any] = {
        "type": CaseType.refund_only,
        "reason": jd_reason(reason_text),
        "reason_text": reason_text,
        "status": status,
        "order_status": OrderStatus.not_shipped,
        "paid_amount": amount,
        "refund_amount": amount,
        "created_at": applied_at,
        "updated_at": max(applied_at, checked_at) if checked_at else applied_at,
        "deadline_at": rule.deadline(applied_at) if pending else None,
        "buyer": {"id": buyer_id},
        "version": refund_application_version(wire),
        "platform_fields": fields,
    }
    return _assemble(wire, shop_id, case_id, order_id, item, facts)


# ---- service orders ---------------------------------------------------------------------------

SERVICE_TYPE: dict[str, CaseType] = {
    "10": CaseType.return_and_refund,
    "11": CaseType.refund_only,
    "20": CaseType.exchange,
    "30": CaseType.repair,
    "70": CaseType.repair,  # on-site repair
}

# serviceStatus numbers are not public (platform-apis.md §2.4): the status name decides, by
# key words checked in this order; the number is kept in platform_fields.
_STATUS_WORDS: tuple[tuple[tuple[str, ...], CaseStatus], ...] = (
    (("介入", "仲裁", "申诉"), CaseStatus.in_dispute),
    (("取消", "撤销"), CaseStatus.closed),
    (("拒绝", "审核不通过", "驳回"), CaseStatus.refused),
    (("退款成功", "已退款", "完成"), CaseStatus.refunded),
    (("关闭", "关单", "已结束"), CaseStatus.closed),
    (("待审核", "审核中", "新申请"), CaseStatus.awaiting_seller),
    # approved; the customer must send, hand over or answer
    (("反馈", "发货", "取件", "送货", "寄回"), CaseStatus.awaiting_buyer_return),
    # the goods are on their way back or in: the seller must receive and process
    (
        ("待收货", "收货", "待处理", "处理中", "待检测", "拆包", "待退款"),
        CaseStatus.awaiting_seller_receipt,
    ),
)
_MONEY_TYPES = frozenset({CaseType.refund_only, CaseType.return_and_refund})


def service_status(name: str, case_type: CaseType | None) -> CaseStatus:
    """The canonical status for JD's status name; unknown words are a ``ValueError``."""
    compact = "".join(name.split())
    for words, status in _STATUS_WORDS:
        if any(word in compact for word in words):
            if status is CaseStatus.refunded and case_type not in _MONEY_TYPES:
                return CaseStatus.closed  # an exchange or repair completes without a refund
            return status
    raise ValueError(f"{name!r} is not a service status these words cover")


@dataclass(frozen=True, slots=True)
class ServiceExtras:
    """What ``get_case`` reads beyond the service order itself."""

    return_logistics: ReturnLogistics | None = None


def _yuan(value: Any) -> int:
    return yuan_to_fen(value)


def _pictures(value: Any) -> tuple[Evidence, ...]:
    """``questionPic``: the customer's picture (or video) links, comma-separated text."""
    if isinstance(value, list | tuple):
        links = [str(link) for link in value]
    elif isinstance(value, str):
        links = value.split(",")
    else:
        raise ValueError(f"must be links separated by commas (got {value!r})")
    return tuple(url_evidence(link.strip()) for link in links if link.strip())


def service_order_to_case(
    wire: Any, *, shop_id: str, extras: ServiceExtras | None = None
) -> RefundCase | QuarantinedCase:
    """One service order (``ServiceBrief`` / detail) as a canonical case."""
    if not isinstance(wire, Mapping):
        return _not_an_object(shop_id, "ServiceBrief", wire)
    extras = extras or ServiceExtras()
    read = WireReader(wire)
    case_id = read.need("serviceId", as_id)
    order_id = read.need("orderId", as_id)
    case_type = read.need("customerExpect", one_of(SERVICE_TYPE, "customerExpect"))
    quantity = read.maybe("serviceCount", lambda v: as_whole(v, minimum=1)) or 1
    unit_price = read.need("actualPayPrice", _yuan)
    refund_amount = read.maybe("applyRefundSum", _yuan)
    if refund_amount is None:
        refund_amount = read.maybe("refundAmount", _yuan)
    created_at = read.need("applyTime", _time)
    updated_at = read.maybe("updateTime", _time) or read.maybe("updateDate", _time)
    if updated_at is None and read.text("updateTime") == "" and read.text("updateDate") == "":
        read.complain("updateTime", "is required but missing")
    deadline_at = read.maybe("auditOvertime", _time) or read.maybe("receiveOvertime", _time)
    delivered_at = read.maybe("orderDeliveredTime", _time)
    evidence = read.maybe("questionPic", _pictures) or ()
    version = read.need("sysVersion", as_id)
    status_name = read.text("serviceStatusName")
    status = read.need("serviceStatusName", lambda name: service_status(str(name), case_type))
    sku = read.need("skuId", as_id)
    buyer_id = _buyer_id(read)
    # The customer's own words when there are any, else the question type's name.
    reason_text = read.first_text("questionDesc", "questionTypeCid2Name", "questionTypeCid1Name")
    reason = jd_reason(
        read.text("questionTypeCid2Name"),
        read.text("questionTypeCid1Name"),
        read.text("questionDesc"),
    )
    title = read.text("wareName")
    platform_fields = _service_fields(read, status_name)
    if read.problems:  # read after every text field: a nested value there is a problem too
        return _quarantine(read, shop_id, case_id, wire)
    assert unit_price is not None
    paid = unit_price * quantity
    item = {
        "sku": sku,
        "title": title,
        "quantity": quantity,
        "price": unit_price,
    }
    facts: dict[str, Any] = {
        "type": case_type,
        "reason": reason,
        "reason_text": reason_text,
        "status": status,
        "order_status": OrderStatus.delivered,
        "paid_amount": paid,
        "refund_amount": paid if refund_amount is None else refund_amount,
        "created_at": created_at,
        "updated_at": updated_at,
        "deadline_at": deadline_at,
        "delivered_at": delivered_at,
        "evidence": evidence,
        "return_logistics": extras.return_logistics,
        "buyer": {"id": buyer_id},
        "version": version,
        "platform_fields": platform_fields,
    }
    return _assemble(wire, shop_id, case_id, order_id, item, facts)


def _service_fields(read: WireReader, status_name: str) -> dict[str, str]:
    fields = {"family": SERVICE_FAMILY, "serviceStatusName": status_name}
    for name in (
        "serviceStatus",
        "customerExpect",
        "customerExpectName",
        "applyId",
        "applyDetailId",
        "skuId",
        "timeoutFlag",
        "approveResult",
        "processResult",
        "questionTypeCid1",
        "questionTypeCid2",
        "auditOvertime",
        "receiveOvertime",
    ):
        if read.text(name):
            fields[name] = read.text(name)
    for source in ("auditOvertime", "receiveOvertime"):
        if read.text(source):
            fields["deadline_source"] = source
            break
    return fields


def freight_to_return(freight: Mapping[str, Any]) -> ReturnLogistics | None:
    """The customer's return waybill (``freight.view``), or None when nothing was shipped.

    ``signState`` 1 (or a ``signTime``) means the parcel reached the shop.
    """
    waybill = str(freight.get("expressCode") or "")
    if not waybill:
        return None
    carrier = str(freight.get("expressCompany") or "") or None
    signed = str(freight.get("signState")) == "1" or freight.get("signTime") not in (None, "")
    return ReturnLogistics(
        carrier=carrier, waybill=waybill, status="delivered" if signed else "in_transit"
    )
