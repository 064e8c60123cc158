"""The TOP methods the fake serves: parameter checks (40/41), business rules (15), responses.

Each handler gets the locked mock, the calling shop, the text params and the file parts, and
returns the inside of ``<method>_response`` (the gateway adds the envelope and ``request_id``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mocks.taobao import errors as e
from mocks.taobao.config import ShopConfig
from mocks.taobao.errors import TopError, business, invalid, missing
from mocks.taobao.records import Refund, Trade
from mocks.taobao.render import (
    DETAIL_FIELDS,
    LIST_FIELDS,
    MESSAGE_FIELDS,
    TRADE_FIELDS,
    parse_fields,
    pick,
    refund_object,
)
from mocks.taobao.state import DEFAULT_RETURN_ADDRESS, TaobaoMock
from mocks.taobao.wire import (
    PARCEL_WORDS,
    REFUND_STATUSES,
    STATUS_WORDS,
    epoch_ms,
    parse_top_time,
    top_time,
    yuan,
)

Params = dict[str, str]
Files = dict[str, bytes]
REFUSE_PROOF_MAX = 130_000
MESSAGE_IMAGE_MAX = 500 * 1024
AGREE_BATCH_MAX = 20


@dataclass(frozen=True)
class Call:
    mock: TaobaoMock
    shop: ShopConfig
    params: Params
    files: Files
    request_id: str
    now: datetime


Handler = Callable[[Call], dict[str, Any]]


# -- parameter helpers -------------------------------------------------------------------------
def int_param(call: Call, name: str, default: int, low: int, high: int) -> int:
    raw = call.params.get(name)
    if not raw:
        return default
    if not raw.lstrip("-").isdigit():
        raise invalid(name, f"必须是整数，收到 {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise invalid(name, f"取值范围 {low}-{high}，收到 {value}")
    return value


def bool_param(call: Call, name: str) -> bool:
    raw = call.params.get(name, "").lower()
    if raw in {"", "false", "0"}:
        return False
    if raw in {"true", "1"}:
        return True
    raise invalid(name, f"必须是 true 或 false，收到 {raw!r}")


def time_param(call: Call, name: str) -> datetime | None:
    raw = call.params.get(name)
    if not raw:
        return None
    try:
        return parse_top_time(raw)
    except ValueError as exc:
        raise invalid(name, "时间格式应为 yyyy-MM-dd HH:mm:ss") from exc


def image_param(call: Call, name: str, limit: int) -> bytes | None:
    data = call.files.get(name)
    if data is None:
        if call.params.get(name):
            raise invalid(name, "图片必须以 multipart 文件上传")
        return None
    if len(data) > limit:
        raise invalid(name, f"图片不能超过 {limit} 字节，收到 {len(data)} 字节")
    if not (data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a"))):
        raise invalid(name, "只支持 JPG、PNG、GIF 图片")
    return data


def find_refund(call: Call, refund_id: str) -> Refund:
    refund = call.mock.refunds.get(refund_id)
    if refund is None or refund.shop_id != call.shop.shop_id:
        raise business(e.NOT_FOUND, f"退款单 {refund_id} 不存在")
    return refund


def check_version(refund: Refund, version: str | None, phase: str | None) -> None:
    """Compare-and-set: a supplied version or phase must equal the refund's current one."""
    if version:
        if not version.isdigit():
            raise invalid("refund_version", f"必须是数字，收到 {version!r}")
        if int(version) != refund.version:
            raise business(e.STALE_VERSION, "退款版本号已过期，退款单已被修改，请重新查询后再操作")
    if phase and phase != refund.refund_phase:
        raise business(e.WRONG_PHASE, f"退款阶段不匹配，当前为 {refund.refund_phase}")


def already_done(refund: Refund, action: str) -> TopError:
    return business(
        e.ALREADY_DONE,
        f"退款单已处于{STATUS_WORDS.get(refund.status, refund.status)}状态，{action}无需重复操作",
    )


def status_error(refund: Refund, action: str) -> TopError:
    return business(
        e.STATUS_ERROR,
        f"当前退款状态为{STATUS_WORDS.get(refund.status, refund.status)}，不能{action}",
    )


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()[:16]


# -- refunds.receive.get / refund.get -----------------------------------------------------------
def refunds_receive_get(call: Call) -> dict[str, Any]:
    fields = parse_fields(call.params["fields"], LIST_FIELDS)
    status = call.params.get("status") or None
    if status is not None and status not in REFUND_STATUSES:
        raise invalid("status", f"未知的退款状态 {status}")
    page_no = int_param(call, "page_no", 1, 1, 1_000_000)
    page_size = int_param(call, "page_size", 40, 1, 100)
    use_has_next = bool_param(call, "use_has_next")
    start, end = time_param(call, "start_modified"), time_param(call, "end_modified")
    if start and end and start > end:
        raise invalid("start_modified", "开始时间不能晚于结束时间")
    rows = call.mock.window(call.shop.shop_id, start, end)
    refunds = call.mock.refunds
    skip, wanted = (page_no - 1) * page_size, page_size + 1
    page: list[Refund] = []
    total = 0
    mock = call.mock
    for _, refund_id in reversed(rows):  # newest change first [I]
        refund = refunds[refund_id]
        if status is not None and refund.status != status:
            continue
        if mock.hidden_from_listing(refund_id, str(refund.version), refund.modified):
            continue  # the fault profile's late visibility: listed later
        total += 1
        if total > skip and len(page) < wanted:
            page.append(refund)
            if use_has_next and len(page) == wanted:
                break
    has_next = len(page) > page_size
    if has_next and mock.profile is not None:
        _churn_below(call, rows, page[:page_size])
    body: dict[str, Any] = {
        "refunds": {
            "refund": [refund_object(call.mock, r, fields, LIST_FIELDS) for r in page[:page_size]]
        }
    }
    if use_has_next:
        body["has_next"] = has_next
    else:
        body["total_results"] = total
    return body


def _churn_below(call: Call, rows: list[tuple[int, str]], page: list[Refund]) -> None:
    """Pagination churn: an open case listed further down changes before the next page."""
    profile = call.mock.profile
    if profile is None or not page:
        return
    oldest_shown = epoch_ms(page[-1].modified)
    shown = {r.refund_id for r in page}
    below = [
        refund_id
        for modified, refund_id in rows
        if modified <= oldest_shown
        and refund_id not in shown
        and call.mock.refunds[refund_id].is_open
    ]
    call.mock.churn_below(below)


def refund_get(call: Call) -> dict[str, Any]:
    fields = parse_fields(call.params["fields"], DETAIL_FIELDS)
    refund = find_refund(call, call.params["refund_id"])
    return {"refund": refund_object(call.mock, refund, fields, DETAIL_FIELDS)}


# -- rp.refunds.agree --------------------------------------------------------------------------
@dataclass
class AgreeItem:
    refund_id: str
    amount: int
    version: str | None
    phase: str | None


def _parse_refund_infos(call: Call) -> list[AgreeItem]:
    raw = call.params["refund_infos"]
    items: list[AgreeItem] = []
    for index, chunk in enumerate(raw.split(",")):
        parts = chunk.strip().split("|")
        if len(parts) < 2 or len(parts) > 4 or not parts[0] or not parts[1].isdigit():
            raise invalid(
                "refund_infos", f"第{index + 1}项格式应为 refund_id|金额(分)|version|phase"
            )
        version = parts[2] if len(parts) > 2 and parts[2] else None
        phase = parts[3] if len(parts) > 3 and parts[3] else None
        if call.shop.tmall and (version is None or phase is None):
            raise missing("refund_version" if version is None else "refund_phase")
        if phase is not None and phase not in {"onsale", "aftersale"}:
            raise invalid("refund_infos", f"第{index + 1}项的 phase 只能是 onsale 或 aftersale")
        items.append(AgreeItem(parts[0], int(parts[1]), version, phase))
    if len(items) > AGREE_BATCH_MAX:
        raise invalid("refund_infos", f"一次最多同意{AGREE_BATCH_MAX}笔退款")
    if len({i.refund_id for i in items}) != len(items):
        raise invalid("refund_infos", "同一退款单不能重复出现")
    return items


def _check_sms(call: Call, items: list[AgreeItem]) -> None:
    threshold = call.mock.config.sms_threshold_fen
    if threshold is None:
        return
    big = [
        i
        for i in items
        if i.amount > threshold
        and (r := call.mock.refunds.get(i.refund_id)) is not None
        and r.is_open
    ]
    if not big:
        return
    code = call.params.get("code")
    shop_id = call.shop.shop_id
    if not code:
        call.mock.issue_sms_code(shop_id)
        raise business(
            e.NEED_SMS, "退款金额较大，验证码已发送至卖家绑定手机，请带上验证码 code 重新提交"
        )
    if call.mock.pending_sms.get(shop_id) != code:
        raise business(e.SMS_WRONG, "短信验证码错误或已失效")
    del call.mock.pending_sms[shop_id]


def _agree_one(call: Call, item: AgreeItem) -> dict[str, Any]:
    result: dict[str, Any] = {"refund_id": item.refund_id, "succ": True, "message": "退款成功"}
    try:
        refund = find_refund(call, item.refund_id)
        if refund.status == "SUCCESS":
            raise already_done(refund, "同意退款")
        check_version(refund, item.version, item.phase)
        if refund.status == "WAIT_SELLER_CONFIRM_GOODS":
            effect = "confirm_return_and_refund"
        elif refund.status == "WAIT_SELLER_AGREE" and refund.case_type == "refund_only":
            effect = "agree_refund"
        elif refund.status == "WAIT_SELLER_AGREE" and refund.has_good_return:
            raise business(
                e.STATUS_ERROR, "买家申请的是退货退款，请先同意退货，收到退货后再确认退款"
            )
        else:
            raise status_error(refund, "同意退款")
        refundable = min(refund.refund_fee_fen, refund.total_fee_fen) - refund.refunded_fen
        if item.amount <= 0 or item.amount > refundable:
            raise business(e.AMOUNT_TOO_HIGH, f"退款金额必须大于0且不超过可退金额{refundable}分")
        key = item.version or str(refund.version)
        call.mock.seller_finish(refund, effect, item.amount, call.request_id, key)
    except TopError as err:
        result.update(succ=False, message=err.sub_msg or err.msg, error_code=err.sub_code)
    return result


def rp_refunds_agree(call: Call) -> dict[str, Any]:
    items = _parse_refund_infos(call)
    if not call.shop.sub_account:
        raise TopError(12, e.SUB_ACCOUNT_ONLY, "该接口只允许子账号调用")
    _check_sms(call, items)
    results = [_agree_one(call, item) for item in items]
    ok = sum(1 for r in results if r["succ"])
    if ok == len(results):
        msg_code, message = "OP_SUCC", "操作成功"
    elif ok:
        msg_code, message = "SOME_OP_SUCC", "部分退款操作成功"
    else:
        msg_code, message = "OP_FAILURE_UE", "退款操作失败"
    return {
        "succ": ok == len(results),
        "msg_code": msg_code,
        "message": message,
        "results": {"refund_mapping_result": results},
    }


# -- rp.returngoods.agree ----------------------------------------------------------------------
def rp_returngoods_agree(call: Call) -> dict[str, Any]:
    p = call.params
    refund = find_refund(call, p["refund_id"])
    role = p.get("post_fee_bear_role")
    if role not in {None, "", "0", "1"}:
        raise invalid("post_fee_bear_role", "只能是 0（卖家承担）或 1（买家承担）")
    if (
        not call.shop.tmall
        and not p.get("seller_address_id")
        and not (p.get("name") and p.get("address"))
    ):
        raise missing("seller_address_id")
    if refund.status in {"WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS"}:
        raise already_done(refund, "同意退货")
    check_version(refund, p.get("refund_version"), p.get("refund_phase"))
    if refund.status != "WAIT_SELLER_AGREE":
        raise status_error(refund, "同意退货")
    if not refund.has_good_return:
        raise business(e.STATUS_ERROR, "买家申请的是仅退款，无需退货，请直接同意退款或拒绝")
    if p.get("name") and p.get("address"):
        refund.address = " ".join(
            x
            for x in (
                p.get("address"),
                p.get("post"),
                p.get("name"),
                p.get("mobile") or p.get("tel"),
            )
            if x
        )
    else:
        refund.address = (
            f"{DEFAULT_RETURN_ADDRESS}（地址库编号 {p.get('seller_address_id') or '默认'}）"
        )
    refund.post_fee_bear_role = int(role) if role else None
    call.mock.add_seller_message(
        refund, f"卖家已同意退货，退货地址：{refund.address}", [], "RETURN_GOODS_APPROVED"
    )
    key = p.get("refund_version") or str(refund.version)
    call.mock.seller_change(
        refund,
        effect="agree_return",
        status="WAIT_BUYER_RETURN_GOODS",
        request_id=call.request_id,
        key=key,
    )
    return {"is_success": True}


# -- refund.refuse -----------------------------------------------------------------------------
def refund_refuse(call: Call) -> dict[str, Any]:
    p = call.params
    message = p["refuse_message"]
    if not 2 <= len(message) <= 200:
        raise invalid("refuse_message", f"拒绝理由需为2-200个字，收到{len(message)}个字")
    proof = image_param(call, "refuse_proof", REFUSE_PROOF_MAX)
    if call.shop.tmall and proof is None:
        raise missing("refuse_proof")
    if p.get("refuse_reason_id") and not p["refuse_reason_id"].isdigit():
        raise invalid("refuse_reason_id", "必须是数字")
    refund = find_refund(call, p["refund_id"])
    for extra in ("tid", "oid"):
        if p.get(extra) and p[extra] != str(getattr(refund, extra)):
            raise invalid(extra, f"与退款单 {refund.refund_id} 不匹配")
    if refund.status == "SELLER_REFUSE_BUYER":
        raise already_done(refund, "拒绝退款")
    check_version(refund, p.get("refund_version"), p.get("refund_phase"))
    if call.mock.trades[refund.tid].status == "WAIT_SELLER_SEND_GOODS":
        raise business(
            e.REFUSE_UNSHIPPED, "订单尚未发货，不能拒绝退款。请同意退款，或先发货后再与买家协商"
        )
    if refund.reason == "no_reason_7d":
        raise business(e.REFUSE_NO_REASON, "七天无理由退货申请不能拒绝，如有异议请联系平台客服处理")
    if refund.operation_contraint == "cannot_refuse":
        raise business(e.REFUSE_CONSTRAINT, "平台已限制该退款单不可拒绝，请同意退款或联系平台客服")
    if refund.status not in {"WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS"}:
        raise status_error(refund, "拒绝退款")
    refund.refuse_message = message
    pics = (
        [f"https://img.mock.taobao/proof/{refund.refund_id}-{len(refund.messages)}.jpg"]
        if proof
        else []
    )
    call.mock.add_seller_message(refund, message, pics)
    key = p.get("refund_version") or str(refund.version)
    call.mock.seller_change(
        refund,
        effect="refuse_refund",
        status="SELLER_REFUSE_BUYER",
        request_id=call.request_id,
        key=key,
    )
    return {
        "is_success": True,
        "refund": {
            "refund_id": refund.refund_id,
            "status": refund.status,
            "modified": top_time(refund.modified),
        },
    }


# -- refund messages ---------------------------------------------------------------------------
def refund_message_add(call: Call) -> dict[str, Any]:
    content = call.params["content"]
    if len(content.encode("utf-8")) > 400:
        raise invalid("content", "留言不能超过400字节")
    image = image_param(call, "image", MESSAGE_IMAGE_MAX)
    if image is None:
        raise missing("image")
    refund = find_refund(call, call.params["refund_id"])
    message = call.mock.add_seller_message(
        refund,
        content,
        [f"https://img.mock.taobao/message/{refund.refund_id}-{len(refund.messages)}.jpg"],
    )
    call.mock.record_effect(
        at=call.now,
        shop_id=refund.shop_id,
        case_id=refund.refund_id,
        order_id=str(refund.tid),
        effect="message_buyer",
        actor="seller",
        version_before=str(refund.version),
        version_after=str(refund.version),
        request_id=call.request_id,
        key=digest(content),
    )
    return {"refund_message": {"id": message.id, "created": top_time(message.created)}}


def refund_messages_get(call: Call) -> dict[str, Any]:
    fields = parse_fields(call.params["fields"], MESSAGE_FIELDS)
    page_no = int_param(call, "page_no", 1, 1, 1_000_000)
    page_size = int_param(call, "page_size", 40, 1, 100)
    refund = find_refund(call, call.params["refund_id"])
    phase = call.params.get("refund_phase")
    if phase and phase != refund.refund_phase:
        raise business(e.WRONG_PHASE, f"退款阶段不匹配，当前为 {refund.refund_phase}")
    chunk = refund.messages[(page_no - 1) * page_size : page_no * page_size]
    return {
        "total_results": len(refund.messages),
        "refund_messages": {"refund_message": [pick(m, fields, MESSAGE_FIELDS) for m in chunk]},
    }


# -- orders: memo, trade, logistics, item --------------------------------------------------------
def _trade(call: Call) -> Trade:
    raw = call.params["tid"]
    if not raw.isdigit():
        raise invalid("tid", "必须是数字")
    trade = call.mock.trades.get(int(raw))
    if trade is None or trade.shop_id != call.shop.shop_id:
        raise business(e.TRADE_NOT_FOUND, f"交易 {raw} 不存在")
    return trade


def _flag(call: Call) -> int | None:
    if not call.params.get("flag"):
        return None
    return int_param(call, "flag", 0, 0, 5)


def _memo_effect(call: Call, trade: Trade, memo: str) -> None:
    trade.modified = call.now
    refund_id = call.mock.refund_of_trade.get(trade.tid, "")
    call.mock.record_effect(
        at=call.now,
        shop_id=trade.shop_id,
        case_id=refund_id,
        order_id=str(trade.tid),
        effect="write_order_memo",
        actor="seller",
        request_id=call.request_id,
        key=digest(memo),
    )


def trade_memo_add(call: Call) -> dict[str, Any]:
    memo, flag = call.params["memo"], _flag(call)
    if len(memo) > 1000:
        raise invalid("memo", "备注不能超过1000个字")
    trade = _trade(call)
    if trade.memo:
        raise business(e.MEMO_EXISTS, "该订单已有备注，请使用 taobao.trade.memo.update 修改")
    trade.memo = memo
    trade.flag = flag or 0
    _memo_effect(call, trade, memo)
    return {"trade": {"tid": trade.tid, "created": top_time(call.now)}}


def trade_memo_update(call: Call) -> dict[str, Any]:
    memo, flag, reset = call.params.get("memo"), _flag(call), bool_param(call, "reset")
    if memo is not None and len(memo) > 1000:
        raise invalid("memo", "备注不能超过1000个字")
    if memo is None and flag is None and not reset:
        raise missing("memo")
    trade = _trade(call)
    if reset:
        trade.memo, trade.flag = None, 0
    if memo is not None:
        trade.memo = memo
    if flag is not None:
        trade.flag = flag
    _memo_effect(call, trade, trade.memo or "")
    return {"trade": {"tid": trade.tid, "modified": top_time(call.now)}}


def trade_get(call: Call) -> dict[str, Any]:
    fields = parse_fields(call.params["fields"], TRADE_FIELDS)
    return {"trade": pick(_trade(call), fields, TRADE_FIELDS)}


def logistics_trace_search(call: Call) -> dict[str, Any]:
    trade = _trade(call)
    refund_id = call.params.get("refund_id")  # [I] the buyer's return parcel of this refund
    if refund_id:
        refund = find_refund(call, refund_id)
        if refund.tid != trade.tid:
            raise invalid("refund_id", "退款单不属于该交易")
        parcel = refund.return_parcel
    else:
        parcel = trade.parcel
    if parcel is None:
        raise business("isv.logistics-not-exist", "该交易暂无物流信息")
    action, words = PARCEL_WORDS[parcel.status]
    steps = [
        {
            "status_time": top_time(parcel.shipped_at),
            "status_desc": f"【{parcel.carrier}】已揽收",
            "action": "CONSIGN",
        }
    ]
    last_time = parcel.delivered_at or max(parcel.shipped_at, call.now)
    if parcel.status != "in_transit":
        steps.append(
            {
                "status_time": top_time(last_time),
                "status_desc": f"【{parcel.carrier}】{words}",
                "action": action,
            }
        )
    body: dict[str, Any] = {
        "tid": trade.tid,
        "company_name": parcel.carrier,
        "out_sid": parcel.waybill,
        "status": words,
        "trace_list": {"transit_step_info": steps},
    }
    if parcel.delivered_at is not None:
        body["signed_time"] = top_time(parcel.delivered_at)  # [I]
    return body


ITEM_FIELDS = ("num_iid", "title", "price", "outer_id", "no_reason_7d")


def item_seller_get(call: Call) -> dict[str, Any]:
    names = parse_fields(call.params["fields"], dict.fromkeys(ITEM_FIELDS))
    raw = call.params["num_iid"]
    item = call.mock.items.get(int(raw)) if raw.isdigit() else None
    if item is None or item.shop_id != call.shop.shop_id:
        raise business(e.ITEM_NOT_FOUND, f"商品 {raw} 不存在")
    values = {
        "num_iid": item.num_iid,
        "title": item.title,
        "price": yuan(item.price_fen),
        "outer_id": item.sku,
        "no_reason_7d": item.no_reason_eligible,  # [I] the 7-day no-reason promise on the item
    }
    return {"item": {n: values[n] for n in names}}


# method -> (handler, required params, extra required params on Tmall)
METHODS: dict[str, tuple[Handler, tuple[str, ...], tuple[str, ...]]] = {
    "taobao.refunds.receive.get": (refunds_receive_get, ("fields",), ()),
    "taobao.refund.get": (refund_get, ("fields", "refund_id"), ()),
    "taobao.rp.refunds.agree": (rp_refunds_agree, ("refund_infos",), ()),
    "taobao.rp.returngoods.agree": (
        rp_returngoods_agree,
        ("refund_id",),
        ("refund_phase", "refund_version"),
    ),
    "taobao.refund.refuse": (
        refund_refuse,
        ("refund_id", "refuse_message"),
        ("refund_phase", "refund_version"),
    ),
    "taobao.refund.message.add": (refund_message_add, ("refund_id", "content"), ()),
    "taobao.refund.messages.get": (refund_messages_get, ("fields", "refund_id"), ("refund_phase",)),
    "taobao.trade.memo.add": (trade_memo_add, ("tid", "memo"), ()),
    "taobao.trade.memo.update": (trade_memo_update, ("tid",), ()),
    "taobao.trade.get": (trade_get, ("fields", "tid"), ()),
    "taobao.logistics.trace.search": (logistics_trace_search, ("tid",), ()),
    "taobao.item.seller.get": (item_seller_get, ("fields", "num_iid"), ()),
}
