"""``jingdong.pop.afs.soa.refundapply.*``: cancel-before-shipment refund applications.

Answers ``queryResult{success, totalCount, result[RefundApplyVo]}`` and
``replyResult{success, errorCode, errorMsg}``; failures stay inside those objects. Money is fen
(``applyRefundSum``), times are ``yyyy-MM-dd HH:mm:ss`` GMT+8; a VO carries no deadline.
"""

from __future__ import annotations

from typing import Any

from mocks.jd import codes as c
from mocks.jd.args import BusinessError, Call, Method
from mocks.jd.listing import churn_below, listed_now
from mocks.jd.records import RefundApply
from mocks.jd.wire import jos_time

PREFIX = "jingdong.pop.afs.soa.refundapply."


def refund_apply_vo(apply: RefundApply) -> dict[str, Any]:
    return {
        "id": apply.apply_id,
        "orderId": str(apply.order.order_id),
        "status": apply.status,
        "applyRefundSum": apply.amount_fen,
        "applyTime": jos_time(apply.apply_time),
        "checkTime": jos_time(apply.check_time),
        "checkUserName": apply.check_user,
        "checkRemark": apply.check_remark,
        "buyerId": apply.buyer.pin,
        "buyerName": apply.buyer.name,
        "reason": apply.reason_zh,
        "systemId": 1,
        "storeId": 0,
        "partRefundType": 1 if apply.amount_fen < apply.order.paid_fen else 0,
        "open_id_buyer": apply.buyer.oaid,
        "skuId": apply.sku,
        "wareName": apply.title,
    }


def _query_failure(failure: BusinessError) -> dict[str, Any]:
    return {
        "success": False,
        "errorCode": failure.code,
        "errorMsg": failure.msg,
        "totalCount": 0,
        "result": [],
    }


def _reply_failure(failure: BusinessError) -> dict[str, Any]:
    return {"success": False, "errorCode": failure.code, "errorMsg": failure.msg}


def query_page_list(call: Call) -> dict[str, Any]:
    args = call.args
    page_index = args.number("pageIndex", required=True, low=1, high=100)
    page_size = args.number("pageSize", required=True, low=1, high=50)
    assert page_index is not None
    assert page_size is not None
    status = args.number("status", low=0, high=11)
    ids = args.ids("ids")
    if ids is not None and len(ids) > page_size:
        raise BusinessError(c.APPLY_BAD_PARAM, "参数 ids 的个数不能超过 pageSize")
    applied = args.window("applyTimeStart", "applyTimeEnd")
    checked = args.window("checkTimeStart", "checkTimeEnd")
    order_id = args.text("orderId")
    buyer_id = args.text("buyerId")
    mock = call.mock
    candidates = (
        ids
        if ids is not None
        else mock.apply_ids(call.shop.shop_id, None if status is None else [status])
    )
    rows: list[RefundApply] = []
    for apply_id in candidates:
        apply = mock.applies.get(apply_id)
        if apply is None or apply.shop_id != call.shop.shop_id:
            continue
        if status is not None and apply.status != status:
            continue
        if applied and not applied[0] <= apply.apply_time <= applied[1]:
            continue
        if checked and (
            apply.check_time is None or not checked[0] <= apply.check_time <= checked[1]
        ):
            continue
        if order_id and str(apply.order.order_id) != order_id:
            continue
        if buyer_id and apply.buyer.pin != buyer_id:
            continue
        if not listed_now(mock, apply):
            continue  # the fault profile's late visibility: listed later
        rows.append(apply)
    rows.sort(key=lambda a: (a.apply_time, a.apply_id), reverse=True)  # newest first [I]
    start = (page_index - 1) * page_size
    page = [refund_apply_vo(a) for a in rows[start : start + page_size]]
    churn_below(mock, [a.apply_id for a in rows[start + page_size :]])
    return {"success": True, "totalCount": len(rows), "result": page}


def _own_apply(call: Call, name: str) -> RefundApply:
    apply_id = call.args.number(name, required=True, low=1)
    apply = call.mock.applies.get(apply_id or 0)
    if apply is None or apply.shop_id != call.shop.shop_id:
        raise BusinessError(c.APPLY_NOT_FOUND, f"退款单 {apply_id} 不存在")
    return apply


def query_by_id(call: Call) -> dict[str, Any]:
    apply = _own_apply(call, "id")
    return {"success": True, "totalCount": 1, "result": [refund_apply_vo(apply)]}


def reply_refund(call: Call) -> dict[str, Any]:
    args = call.args
    status = args.number("status", required=True)
    if status not in c.REPLY_STATUSES:
        raise BusinessError(c.APPLY_BAD_PARAM, f"参数 status 只能是 1、2、6、9、10，收到 {status}")
    checker = args.text("checkUserName", required=True, max_len=50)
    remark = args.text("remark", required=status != 9, max_len=200)
    reject_type = args.number("rejectType")
    if status == 2 and reject_type not in c.REJECT_TYPES:
        raise BusinessError(c.APPLY_BAD_PARAM, "驳回退款必须填写 rejectType（1-6）")
    args.number("outWareStatus", low=1, high=2)
    apply = _own_apply(call, "id")
    if apply.status not in c.APPLY_OPEN or (status == 10 and apply.status == 10):
        name = c.APPLY_STATUS_NAMES[apply.status]
        raise BusinessError(
            c.APPLY_ALREADY_AUDITED, f"退款单已审核，当前状态：{apply.status}（{name}）"
        )
    mock, now = call.mock, call.now
    apply.check_user, apply.check_time, apply.check_remark = checker, now, remark
    key = f"replyRefund:{status}"
    if status in {1, 6, 9}:
        mock.refund_apply(
            apply, now, actor="seller", status=status, request_id=call.request_id, key=key
        )
    else:
        apply.reject_type = reject_type if status == 2 else None
        effect = "refuse_refund" if status == 2 else "logistics_follow_up"
        mock.apply_change(
            apply,
            now,
            actor="seller",
            effect=effect,
            status=status,
            request_id=call.request_id,
            key=key,
        )
    return {"success": True, "errorCode": None, "errorMsg": None}


def get_wait_refund_num(call: Call) -> dict[str, Any]:
    waiting = len(call.mock.apply_ids(call.shop.shop_id, [0]))
    return {"success": True, "totalCount": waiting, "result": waiting}


METHODS: dict[str, Method] = {
    PREFIX + "queryPageList": Method(
        query_page_list, "queryResult", _query_failure, c.APPLY_BAD_PARAM
    ),
    PREFIX + "queryById": Method(query_by_id, "queryResult", _query_failure, c.APPLY_BAD_PARAM),
    PREFIX + "replyRefund": Method(reply_refund, "replyResult", _reply_failure, c.APPLY_BAD_PARAM),
    PREFIX + "getWaitRefundNum": Method(
        get_wait_refund_num, "queryResult", _query_failure, c.APPLY_BAD_PARAM
    ),
}
