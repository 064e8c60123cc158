"""JD's wire vocabulary as the fake speaks it: gateway codes, status numbers, reasons, results.

Gateway codes 2-19 are the public table (platform-apis.md §2.2); the rest and every business
code here are the fake's own, marked [I] in docs/mocks.md. The adapter maps them back on its
own, so a mismatch shows up in the conformance run instead of hiding in shared code.
"""

from __future__ import annotations

from typing import NamedTuple


class GatewayCode(NamedTuple):
    zh: str
    en: str


GATEWAY_CODES: dict[str, GatewayCode] = {
    "2": GatewayCode("限制时间内调用失败次数", "App Call Limited"),
    "4": GatewayCode("缺少版本参数", "Missing Version"),
    "5": GatewayCode("不支持的版本号", "Unsupported Version"),
    "6": GatewayCode("缺少AppKey参数", "Missing App Key"),  # [I]
    "7": GatewayCode("缺少时间戳参数", "Missing Timestamp"),
    "8": GatewayCode("非法的时间戳参数", "Invalid Timestamp"),
    "9": GatewayCode("无效的AppKey", "Invalid App Key"),  # [I]
    "11": GatewayCode("缺少签名参数", "Missing Signature"),
    "12": GatewayCode("无效签名", "Invalid Signature"),
    "14": GatewayCode("缺少方法名参数", "Missing Method"),
    "15": GatewayCode("不存在的方法名", "Invalid Method"),
    "18": GatewayCode("缺少access_token参数", "Missing access_token"),  # [I]
    "19": GatewayCode("无效access_token", "Invalid access_token"),
    "21": GatewayCode("不支持的格式", "Invalid Format"),  # [I]
    "66": GatewayCode("360buy_param_json 不是合法的JSON", "Invalid 360buy_param_json"),  # [I]
    "67": GatewayCode("服务暂时不可用", "Service Unavailable"),  # [I] for injected faults
}

# -- refund applications (jingdong.pop.afs.soa.refundapply.*) ---------------------------------
APPLY_STATUS_NAMES: dict[int, str] = {
    0: "未审核",
    1: "审核通过",
    2: "审核不通过",
    3: "京东财务审核通过",
    4: "京东财务审核不通过",
    5: "人工审核通过",
    6: "拦截并退款",
    7: "青龙拦截成功",
    8: "青龙拦截失败",
    9: "强制关单并退款",
    10: "物流待跟进",
    11: "用户撤销",
}
APPLY_OPEN = frozenset({0, 10})  # the seller can still answer replyRefund
APPLY_REFUNDED = frozenset({1, 3, 5, 6, 9})
REPLY_STATUSES = frozenset({1, 2, 6, 9, 10})
REJECT_TYPES = frozenset({1, 2, 3, 4, 5, 6})

# replyResult.errorCode / queryResult.errorCode [I]
APPLY_NOT_FOUND = "10001"
APPLY_ALREADY_AUDITED = "10002"
APPLY_BAD_PARAM = "10003"

# -- after-sale service orders (jingdong.asc.*) -----------------------------------------------
PENDING_AUDIT = 10
REFUSED = 20
AWAIT_SEND = 31
AWAIT_PICKUP = 32
AWAIT_DELIVERY = 33
AWAIT_RECEIPT = 40
AWAIT_PROCESS = 50
JD_INTERVENING = 60
COMPLETED = 70
CANCELLED = 80

SERVICE_STATUS_NAMES: dict[int, str] = {
    PENDING_AUDIT: "待审核",
    REFUSED: "审核不通过",
    AWAIT_SEND: "待客户发货",
    AWAIT_PICKUP: "待上门取件",
    AWAIT_DELIVERY: "待客户送货",
    AWAIT_RECEIPT: "待收货",
    AWAIT_PROCESS: "待处理",
    JD_INTERVENING: "京东介入中",
    COMPLETED: "已完成",
    CANCELLED: "已取消",
}
AWAITING_RETURN = frozenset({AWAIT_SEND, AWAIT_PICKUP, AWAIT_DELIVERY})
SERVICE_CLOSED = frozenset({COMPLETED, CANCELLED})

# customerExpect [S]: the four the fake creates
RETURN, EXCHANGE, REPAIR, REFUND_ONLY = 10, 20, 30, 11
EXPECT_NAMES: dict[int, str] = {
    RETURN: "退货",
    EXCHANGE: "换货",
    REPAIR: "维修",
    REFUND_ONLY: "仅退款",
}
EXPECT_OF_TYPE: dict[str, int] = {
    "return_and_refund": RETURN,
    "exchange": EXCHANGE,
    "repair": REPAIR,
    "refund_only": REFUND_ONLY,
}

# processResult [S] as process.close records it
PROCESS_RESULT_NAMES: dict[int, str] = {
    40: "退货",
    23: "维修换新",
    50: "换良",
    60: "原返",
    80: "强制关单",
    11: "仅退款",
}
PROCESS_RESULT_OF_EXPECT: dict[int, int] = {RETURN: 40, EXCHANGE: 50, REPAIR: 23, REFUND_ONLY: 11}

# pageResult.code / result.code [I]; "00000" is the success code seen on 15040 [S]
OK = "00000"
BAD_PARAM = "40001"
MISSING_OPERATOR = "40002"
WRONG_BU = "40003"
SERVICE_NOT_FOUND = "40004"
STALE_VERSION = "40005"
ALREADY_IN_TARGET = "40006"
STATUS_FORBIDS = "40007"
BAD_PAGING = "40008"
STALE_VERSION_MSG = "服务单版本号不一致"

# refund rows of serviceAndRefund.view [S]
REFUND_SUCCESS, REFUND_FAILED = 13, 14

# Reasons: (canonical word, questionTypeCid1, questionTypeCid2, Chinese name). The cid numbers
# are the fake's own; the adapter should read the Chinese name.
REASON_ROWS: tuple[tuple[str, int, int, str], ...] = (
    ("no_reason_7d", 1, 101, "7天无理由退货"),
    ("changed_mind", 1, 102, "不想要了"),
    ("wrong_order", 1, 103, "拍错了/订单信息有误"),
    ("price_difference", 1, 104, "商品降价"),
    ("quality", 2, 201, "商品质量问题"),
    ("damaged", 2, 202, "商品破损/少件"),
    ("not_as_described", 2, 203, "商品与页面描述不符"),
    ("wrong_item_sent", 2, 204, "商家发错货"),
    ("not_received", 3, 301, "未收到货"),
    ("late_shipment", 3, 302, "商家未按时发货"),
    ("out_of_stock", 3, 303, "商家缺货"),
    ("shipping_fee", 4, 401, "运费补偿"),
    ("invoice", 4, 402, "发票问题"),
    ("other", 9, 901, "其他原因"),
)
REASON_BY_WORD: dict[str, tuple[int, int, str]] = {w: (c1, c2, zh) for w, c1, c2, zh in REASON_ROWS}
QUESTION_CID1_NAMES: dict[int, str] = {
    1: "主观原因",
    2: "商品问题",
    3: "物流问题",
    4: "费用问题",
    9: "其他",
}
