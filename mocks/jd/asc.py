"""``jingdong.asc.*``: after-sale service orders (one per returned unit), reads and writes.

Every call needs ``buId`` (the shop's merchant id), ``operatePin`` and ``operateNick``. Lists
answer ``pageResult{success, code, msg, data[], pageSize, pageNumber, totalCount}``, views and
writes ``result{success, code, msg, data}``. Every write carries the current ``sysVersion``;
the order of its checks is: operator -> buId -> parameters -> the order exists -> already in
the target state -> sysVersion -> the status allows the write. Times are epoch ms, money yuan.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from mocks.jd import codes as c
from mocks.jd.args import BusinessError, Call, Method, buyer_fields
from mocks.jd.listing import churn_below, listed_now
from mocks.jd.records import ServiceOrder
from mocks.jd.state import JdMock
from mocks.jd.wire import epoch_ms, yuan_number

PREFIX = "jingdong.asc."
APPROVE_TARGET = {
    "send": c.AWAIT_SEND,
    "homepick": c.AWAIT_PICKUP,
    "delivery": c.AWAIT_DELIVERY,
}
APPLY_WINDOW_MAX = timedelta(days=7)
APPROVE_WINDOW_MAX = timedelta(days=10)


# -- shapes --------------------------------------------------------------------------------------
def service_brief(so: ServiceOrder) -> dict[str, Any]:
    cid1, cid2, cid2_name = c.REASON_BY_WORD[so.reason]
    parcel = so.return_parcel
    return {
        "serviceId": so.service_id,
        "applyId": so.apply_id,
        "parentService": 0,
        "orderId": so.order.order_id,
        "orderType": 22,
        "orderTypeName": "普通订单",
        "customerExpect": so.expect,
        "customerExpectName": c.EXPECT_NAMES[so.expect],
        "serviceStatus": so.status,
        "serviceStatusName": c.SERVICE_STATUS_NAMES[so.status],
        "applyTime": epoch_ms(so.apply_time),
        "updateTime": epoch_ms(so.updated),
        "updateDate": epoch_ms(so.updated),
        "sysVersion": so.sys_version,
        "customerPin": so.buyer.pin,
        **buyer_fields(so.buyer),
        "customerGrade": 50,
        "oaid": so.buyer.oaid,
        "skuId": so.sku_id,
        "skuUuid": f"{so.sku}-{so.sku_id}",
        "wareName": so.title,
        "wareType": 10,
        "wareTypeName": "主商品",
        "serviceCount": 1,
        "actualPayPrice": yuan_number(so.paid_fen),
        "refundAmount": yuan_number(so.refund_fen),
        "pickwareType": 40,
        "pickwareAddress": so.buyer.address,
        "questionTypeCid1": cid1,
        "questionTypeCid1Name": c.QUESTION_CID1_NAMES[cid1],
        "questionTypeCid2": cid2,
        "questionTypeCid2Name": cid2_name,
        "questionDesc": so.reason_text,
        "platformSrc": 1,
        "platformSrcName": "京东商城",
        "expressCode": parcel.waybill if parcel else None,
        "freightUpdateDate": epoch_ms(parcel.shipped_at) if parcel else None,
        "approvePin": so.approve_pin,
        "approveName": so.approve_name,
        "approveTime": epoch_ms(so.approve_time),
        "approveResult": so.approve_result,
        "approveResultName": {0: "审核不通过", 1: "审核通过"}.get(so.approve_result or -1),
        "processPin": so.process_pin,
        "processName": so.process_name,
        "processTime": epoch_ms(so.process_time),
        "processResult": so.process_result,
        "processResultName": c.PROCESS_RESULT_NAMES.get(so.process_result or -1),
        "remindRespList": [],
        "extJsonStr": "{}",
    }


def service_detail(so: ServiceOrder) -> dict[str, Any]:
    """``query.view``: the brief plus evidence, notes, receipt and refund state."""
    parcel = so.return_parcel
    return {
        **service_brief(so),
        "questionPic": ",".join(p for p in so.pictures if p.startswith("http")),
        "approveNotes": so.approve_notes,
        "receiveTime": epoch_ms(so.receive_time),
        "qualityState": so.quality_state,
        "returnExpressCompany": parcel.carrier if parcel else None,
        "refundedAmount": yuan_number(so.refunded_fen),
        "refundCompleteTime": epoch_ms(so.refund_done_at),
        "orderShipped": so.order.parcel is not None,
        "orderDeliveredTime": epoch_ms(so.order.parcel.delivered_at) if so.order.parcel else None,
    }


def _page(rows: list[Any], number: int, size: int) -> dict[str, Any]:
    start = (number - 1) * size
    return {
        "success": True,
        "code": c.OK,
        "msg": "成功",
        "data": rows[start : start + size],
        "pageSize": size,
        "pageNumber": number,
        "totalCount": len(rows),
    }


def _page_of_services(
    mock: JdMock, rows: list[ServiceOrder], number: int, size: int
) -> dict[str, Any]:
    """One page of service briefs, taken before any page churn below it."""
    page = _page([service_brief(s) for s in rows], number, size)
    churn_below(mock, [s.service_id for s in rows[number * size :]])
    return page


def _list_failure(failure: BusinessError) -> dict[str, Any]:
    return {
        "success": False,
        "code": failure.code,
        "msg": failure.msg,
        "data": [],
        "pageSize": 0,
        "pageNumber": 0,
        "totalCount": 0,
    }


def _result_failure(failure: BusinessError) -> dict[str, Any]:
    return {"success": False, "code": failure.code, "msg": failure.msg, "data": None}


def _result(data: Any) -> dict[str, Any]:
    return {"success": True, "code": c.OK, "msg": "成功", "data": data}


# -- common checks -------------------------------------------------------------------------------
def operator(call: Call) -> tuple[str, str]:
    missing = [n for n in ("buId", "operatePin", "operateNick") if not call.args.has(n)]
    if missing:
        raise BusinessError(c.MISSING_OPERATOR, f"缺少操作人信息：{', '.join(missing)}")
    if str(call.args.values["buId"]) != call.shop.bu_id:
        raise BusinessError(
            c.WRONG_BU, f"商家编号 buId={call.args.values['buId']} 与授权商家不一致"
        )
    return str(call.args.values["operatePin"]), str(call.args.values["operateNick"])


def paging(call: Call) -> tuple[int, int]:
    number = call.args.number("pageNumber", low=1, code=c.BAD_PAGING) or 1
    size = call.args.number("pageSize", low=1, high=50, code=c.BAD_PAGING)
    return number, 10 if size is None else size


def _own(call: Call, service_id: int | None) -> ServiceOrder:
    so = call.mock.services.get(service_id or 0)
    if so is None or so.shop_id != call.shop.shop_id:
        raise BusinessError(c.SERVICE_NOT_FOUND, f"服务单 {service_id} 不存在")
    order_id = call.args.number("orderId")
    if order_id is not None and order_id != so.order.order_id:
        raise BusinessError(c.SERVICE_NOT_FOUND, f"服务单 {service_id} 不属于订单 {order_id}")
    return so


def _filtered(
    call: Call, ids: Iterable[int], extra: dict[str, object] | None = None
) -> list[ServiceOrder]:
    """Shop's service orders among ``ids`` matching the common optional filters."""
    args = call.args
    wanted: dict[str, int | None] = {
        "serviceId": args.number("serviceId"),
        "orderId": args.number("orderId"),
        "customerExpect": args.number("customerExpect"),
        "serviceStatus": args.number("serviceStatus"),
        "skuId": args.number("skuId"),
    }
    pin = args.text("customerPin")
    out: list[ServiceOrder] = []
    for service_id in ids:
        so = call.mock.services[service_id]
        actual = {
            "serviceId": so.service_id,
            "orderId": so.order.order_id,
            "customerExpect": so.expect,
            "serviceStatus": so.status,
            "skuId": so.sku_id,
        }
        if any(v is not None and actual[k] != v for k, v in wanted.items()):
            continue
        if pin and so.buyer.pin != pin:
            continue
        if extra and any(getattr(so, k) != v for k, v in extra.items()):
            continue
        out.append(so)
    return out


def _in(when: datetime | None, window: tuple[datetime, datetime] | None) -> bool:
    return window is None or (when is not None and window[0] <= when <= window[1])


# -- reads ---------------------------------------------------------------------------------------
def audit_list(call: Call) -> dict[str, Any]:
    operator(call)
    number, size = paging(call)
    timeout_flag = call.args.number("timeoutFlag", low=0, high=1)
    mock = call.mock
    pending = _filtered(call, mock.service_ids(call.shop.shop_id, [c.PENDING_AUDIT]))
    groups: dict[int, list[ServiceOrder]] = {}
    for so in pending:
        if timeout_flag is None or mock.timeout_flag(so.audit_overtime) == timeout_flag:
            groups.setdefault(so.apply_id, []).append(so)
    rows = [_wait_audit_row(mock, sorted(g, key=lambda s: s.service_id)) for g in groups.values()]
    rows.sort(key=lambda r: (r["auditOvertime"] or 0, r["applyId"]))  # most urgent first [I]
    page = _page(rows, number, size)
    churn_below(mock, [i for r in rows[number * size :] for i in r["serviceIdList"]])
    return page


def _wait_audit_row(mock: JdMock, group: list[ServiceOrder]) -> dict[str, Any]:
    first = group[0]
    return {
        "applyId": first.apply_id,
        "serviceIdList": [s.service_id for s in group],
        "customerExpect": first.expect,
        "customerExpectName": c.EXPECT_NAMES[first.expect],
        "serviceStatus": first.status,
        "serviceStatusName": c.SERVICE_STATUS_NAMES[first.status],
        "applyTime": epoch_ms(first.apply_time),
        "auditOvertime": epoch_ms(first.audit_overtime),
        "timeoutFlag": mock.timeout_flag(first.audit_overtime),
        "customerPin": first.buyer.pin,
        **buyer_fields(first.buyer),
        "oaid": first.buyer.oaid,
        "orderId": first.order.order_id,
        "skuId": first.sku_id,
        "wareName": first.title,
        "serviceCount": len(group),
    }


def query_list(call: Call) -> dict[str, Any]:
    operator(call)
    number, size = paging(call)
    args = call.args
    applied = args.window("applyTimeBegin", "applyTimeEnd")
    approved = args.window("approveTimeBegin", "approveTimeEnd")
    finished = args.window("finishTimeBegin", "finishTimeEnd")
    updated = args.window("updateTimeBegin", "updateTimeEnd")
    process_result = args.number("processResult")
    express = args.text("expressCode")
    rows = [
        so
        for so in _filtered(call, call.mock.service_ids(call.shop.shop_id, None))
        if _in(so.apply_time, applied)
        and _in(so.approve_time, approved)
        and _in(so.process_time if so.status in c.SERVICE_CLOSED else None, finished)
        and _in(so.updated, updated)
        and (process_result is None or so.process_result == process_result)
        and (
            express is None
            or (so.return_parcel is not None and so.return_parcel.waybill == express)
        )
        and listed_now(call.mock, so)
    ]
    rows.sort(key=lambda s: (s.apply_time, s.service_id), reverse=True)  # newest first [I]
    return _page_of_services(call.mock, rows, number, size)


def sync_list(call: Call) -> dict[str, Any]:
    """Incremental: every order whose updateTime is in the (required) pair, oldest change first."""
    operator(call)
    number, size = paging(call)
    window = call.args.window("updateTimeBegin", "updateTimeEnd", required=True)
    assert window is not None
    freight = call.args.window("freightUpdateDateBegin", "freightUpdateDateEnd")
    begin, end = (epoch_ms(t) or 0 for t in window)
    ids = call.mock.updated_between(call.shop.shop_id, begin, end)
    rows = [
        so
        for so in _filtered(call, ids)
        if (
            freight is None
            or (so.return_parcel is not None and _in(so.return_parcel.shipped_at, freight))
        )
        and listed_now(call.mock, so)
    ]
    return _page_of_services(call.mock, rows, number, size)


def query_view(call: Call) -> dict[str, Any]:
    operator(call)
    so = _own(call, call.args.number("serviceId", required=True))
    return _result(service_detail(so))


def receive_list(call: Call) -> dict[str, Any]:
    operator(call)
    number, size = paging(call)
    timeout_flag = call.args.number("timeoutFlag", low=0, high=1)
    approve_result = call.args.number("approveResult")
    mock = call.mock
    waiting = [*c.AWAITING_RETURN, c.AWAIT_RECEIPT]
    rows = []
    for so in _filtered(call, mock.service_ids(call.shop.shop_id, waiting)):
        overtime = so.deadline if so.status == c.AWAIT_RECEIPT else None
        flag = mock.timeout_flag(overtime)
        if timeout_flag is not None and flag != timeout_flag:
            continue
        if approve_result is not None and so.approve_result != approve_result:
            continue
        row = service_brief(so)
        row.update(receiveOvertime=epoch_ms(overtime), timeoutFlag=flag, jdInterveneFlag=0)
        rows.append(row)
    rows.sort(key=lambda r: (r["receiveOvertime"] or 1 << 62, r["serviceId"]))
    page = _page(rows, number, size)
    churn_below(mock, [r["serviceId"] for r in rows[number * size :]])
    return page


def freight_view(call: Call) -> dict[str, Any]:
    operator(call)
    so = _own(call, call.args.number("serviceId", required=True))
    parcel = so.return_parcel
    if parcel is None:
        return _result(None)
    return _result(
        {
            "serviceId": so.service_id,
            "orderId": so.order.order_id,
            "expressCompany": parcel.carrier,
            "expressCode": parcel.waybill,
            "sendTime": epoch_ms(parcel.shipped_at),
            "freightUpdateDate": epoch_ms(parcel.delivered_at or parcel.shipped_at),
            "signState": 1 if parcel.status == "delivered" else 0,
            "signTime": epoch_ms(parcel.delivered_at),
        }
    )


def service_and_refund_view(call: Call) -> dict[str, Any]:
    operator(call)
    number, size = paging(call)
    args = call.args
    order_id = args.number("orderId")
    applied = args.window("applyTimeBegin", "applyTimeEnd")
    approved = args.window("approveTimeBegin", "approveTimeEnd")
    if order_id is None and applied is None and approved is None:
        raise BusinessError(c.BAD_PARAM, "orderId、申请时间段、审核时间段至少填写一个")
    if applied and applied[1] - applied[0] > APPLY_WINDOW_MAX:
        raise BusinessError(c.BAD_PARAM, "申请时间段不能超过7天")
    if approved and approved[1] - approved[0] > APPROVE_WINDOW_MAX:
        raise BusinessError(c.BAD_PARAM, "审核时间段不能超过10天")
    rows = []
    for so in call.mock.services.values():
        if so.shop_id != call.shop.shop_id or so.refund_done_at is None:
            continue
        if order_id is not None and so.order.order_id != order_id:
            continue
        if not (_in(so.apply_time, applied) and _in(so.approve_time, approved)):
            continue
        rows.append(
            {
                "afsRefundId": 5_000_000_000 + so.service_id,
                "sameOrderServiceBill": {"serviceId": so.service_id, "orderId": so.order.order_id},
                "status": c.REFUND_SUCCESS,
                "refoundAmount": yuan_number(so.refunded_fen),
                "completeTime": epoch_ms(so.refund_done_at),
                "applyTime": epoch_ms(so.apply_time),
            }
        )
    rows.sort(key=lambda r: (r["completeTime"], r["afsRefundId"]))
    return _page(rows, number, size)


def log_list(call: Call) -> dict[str, Any]:
    operator(call)
    number, size = paging(call)
    so = _own(call, call.args.number("serviceId", required=True))
    rows = [
        {
            "serviceId": so.service_id,
            "operateTime": epoch_ms(at),
            "operatePin": who,
            "operateRemark": text,
        }
        for at, who, text in so.logs
    ]
    return _page(rows, number, size)


# -- writes --------------------------------------------------------------------------------------
def _writable(
    call: Call, target: set[int] | frozenset[int], allowed: set[int]
) -> tuple[ServiceOrder, str, str]:
    """The shared write checks, in order; answers the order and the operator (pin, nick)."""
    pin, nick = operator(call)
    args = call.args
    service_id = args.number("serviceId", required=True)
    args.number("orderId", required=True)
    version = args.number("sysVersion", required=True)
    so = _own(call, service_id)
    if so.status in target:
        name = c.SERVICE_STATUS_NAMES[so.status]
        raise BusinessError(c.ALREADY_IN_TARGET, f"服务单已是{name}状态，无需重复操作")
    if version != so.sys_version:
        raise BusinessError(c.STALE_VERSION, c.STALE_VERSION_MSG)
    if so.status not in allowed:
        name = c.SERVICE_STATUS_NAMES[so.status]
        raise BusinessError(c.STATUS_FORBIDS, f"服务单当前状态（{so.status} {name}）不允许此操作")
    return so, pin, nick


def _seller_change(
    call: Call, so: ServiceOrder, effect: str, status: int, note: str | None = None
) -> None:
    """Apply a seller write; the ledger key is the sysVersion the write carried."""
    carried = f"sysVersion:{so.sys_version}"
    call.mock.service_change(
        so,
        call.now,
        actor="seller",
        effect=effect,
        status=status,
        request_id=call.request_id,
        key=carried,
        note=note,
    )


def _written(so: ServiceOrder) -> dict[str, Any]:
    return _result(
        {"serviceId": so.service_id, "sysVersion": so.sys_version, "serviceStatus": so.status}
    )


def audit_refuse(call: Call) -> dict[str, Any]:
    notes = call.args.text("approveNotes", required=True, max_len=200)
    call.args.number("questionTypeCid1", required=True)
    call.args.number("questionTypeCid2")
    so, pin, nick = _writable(call, {c.REFUSED}, {c.PENDING_AUDIT})
    so.approve_pin, so.approve_name, so.approve_time = pin, nick, call.now
    so.approve_notes, so.approve_result = notes, 0
    _seller_change(call, so, "refuse_refund", c.REFUSED, f"审核拒绝：{notes}")
    return _written(so)


def _approve(call: Call, way: str) -> dict[str, Any]:
    so, pin, nick = _writable(call, c.AWAITING_RETURN, {c.PENDING_AUDIT})
    if so.expect == c.REFUND_ONLY:
        raise BusinessError(
            c.STATUS_FORBIDS, "仅退款服务单无需寄回商品，请用 process.close 处理退款"
        )
    so.approve_pin, so.approve_name, so.approve_time = pin, nick, call.now
    so.approve_notes, so.approve_result = call.args.text("approveNotes"), 1
    _seller_change(call, so, "agree_return", APPROVE_TARGET[way], f"审核通过（{way}）")
    return _written(so)


def audit_send(call: Call) -> dict[str, Any]:
    return _approve(call, "send")


def audit_homepick(call: Call) -> dict[str, Any]:
    return _approve(call, "homepick")


def audit_delivery(call: Call) -> dict[str, Any]:
    return _approve(call, "delivery")


def receive_register(call: Call) -> dict[str, Any]:
    quality = call.args.number("qualityState", required=True, low=1, high=3)
    so, _, _ = _writable(
        call, {c.AWAIT_PROCESS}, {c.AWAIT_PICKUP, c.AWAIT_DELIVERY, c.AWAIT_RECEIPT}
    )
    so.receive_time = call.now
    so.quality_state = {1: "完好", 2: "轻微瑕疵", 3: "损坏"}[quality or 1]
    _seller_change(call, so, "register_receipt", c.AWAIT_PROCESS, f"拆包登记：{so.quality_state}")
    return _written(so)


def process_close(call: Call) -> dict[str, Any]:
    """Finish a service order: refund-only from 待审核; returns (refund) and others from receipt."""
    result = call.args.number("processResult")
    if result is not None and result not in c.PROCESS_RESULT_NAMES:
        raise BusinessError(c.BAD_PARAM, f"参数 processResult 不支持：{result}")
    so_id = call.args.number("serviceId")
    found = call.mock.services.get(so_id or 0)
    allowed = (
        {c.PENDING_AUDIT}
        if found is not None and found.expect == c.REFUND_ONLY
        else {c.AWAIT_RECEIPT, c.AWAIT_PROCESS}
    )
    so, pin, nick = _writable(call, {c.COMPLETED}, allowed)
    so.process_pin, so.process_name = pin, nick
    so.process_result = result or c.PROCESS_RESULT_OF_EXPECT[so.expect]
    key = f"sysVersion:{so.sys_version}"
    if so.status == c.PENDING_AUDIT:
        so.approve_pin, so.approve_name, so.approve_time, so.approve_result = pin, nick, call.now, 1
    if so.expect in {c.RETURN, c.REFUND_ONLY}:
        so.receive_time = so.receive_time or (call.now if so.expect == c.RETURN else None)
        effect = "agree_refund" if so.expect == c.REFUND_ONLY else "confirm_return_and_refund"
        call.mock.refund_service(
            so, call.now, actor="seller", effect=effect, request_id=call.request_id, key=key
        )
    else:
        so.process_time = call.now
        _seller_change(call, so, "complete_service", c.COMPLETED)
    return _written(so)


def common_cancel(call: Call) -> dict[str, Any]:
    notes = call.args.text("approveNotes", required=True, max_len=200)
    so, _, _ = _writable(call, {c.CANCELLED}, {c.PENDING_AUDIT, *c.AWAITING_RETURN})
    _seller_change(call, so, "cancel_service", c.CANCELLED, f"商家取消：{notes}")
    return _written(so)


def _list(handler: Any) -> Method:
    return Method(handler, "pageResult", _list_failure, c.BAD_PARAM)


def _one(handler: Any) -> Method:
    return Method(handler, "result", _result_failure, c.BAD_PARAM)


METHODS: dict[str, Method] = {
    PREFIX + "audit.list": _list(audit_list),
    PREFIX + "query.list": _list(query_list),
    PREFIX + "sync.list": _list(sync_list),
    PREFIX + "receive.list": _list(receive_list),
    PREFIX + "serviceAndRefund.view": _list(service_and_refund_view),
    PREFIX + "log.list": _list(log_list),
    PREFIX + "query.view": _one(query_view),
    PREFIX + "freight.view": _one(freight_view),
    PREFIX + "audit.refuse": _one(audit_refuse),
    PREFIX + "audit.send": _one(audit_send),
    PREFIX + "audit.homepick": _one(audit_homepick),
    PREFIX + "audit.delivery": _one(audit_delivery),
    PREFIX + "receive.register": _one(receive_register),
    PREFIX + "process.close": _one(process_close),
    PREFIX + "common.cancel": _one(common_cancel),
}
WRITE_METHODS = frozenset(
    PREFIX + n
    for n in (
        "audit.refuse",
        "audit.send",
        "audit.homepick",
        "audit.delivery",
        "receive.register",
        "process.close",
        "common.cancel",
    )
)
