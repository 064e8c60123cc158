"""TOP wire conventions the fake renders and parses: yuan strings, GMT+8 times, enum words.

The Chinese reason texts and status maps are the fake's own (written from the reference, not
copied from any SDK); the adapter maps them back independently, so mismatches surface in tests.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

GMT8 = timezone(timedelta(hours=8), "GMT+8")
TOP_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_TOP_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def yuan(fen: int) -> str:
    """Integer fen as TOP's yuan string with two decimals: 1230 -> "12.30", -5 -> "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def top_time(value: datetime) -> str:
    return value.astimezone(GMT8).strftime(TOP_TIME_FORMAT)


def parse_top_time(text: str) -> datetime:
    """``yyyy-MM-dd HH:mm:ss`` read as GMT+8; ValueError when the shape is wrong."""
    if not _TOP_TIME.match(text):
        msg = f"expected yyyy-MM-dd HH:mm:ss, got {text!r}"
        raise ValueError(msg)
    return datetime.strptime(text, TOP_TIME_FORMAT).replace(tzinfo=GMT8)


def parse_timestamp(text: str) -> datetime:
    """The ``timestamp`` param: GMT+8 text or epoch milliseconds (what the Python SDK sends)."""
    if text.isdigit() and len(text) >= 12:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    return parse_top_time(text)


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


# canonical case type -> (dispute_type on Taobao, on Tmall, has_good_return)
DISPUTE_TYPES: dict[str, tuple[str, str, bool]] = {
    "refund_only": ("REFUND", "REFUND", False),
    "return_and_refund": ("REFUND_AND_RETURN", "REFUND_AND_RETURN", True),
    "exchange": ("TAOBAO_EXCHANGE", "TMALL_EXCHANGE", True),
    "repair": ("REPAIR", "REPAIR", True),
}

REASON_TEXT: dict[str, str] = {
    "no_reason_7d": "七天无理由退换货",
    "not_as_described": "描述不符",
    "quality": "质量问题",
    "damaged": "收到商品破损",
    "shipping_fee": "退运费",
    "not_received": "未收到货",
    "invoice": "发票问题",
    "late_shipment": "未按约定时间发货",
    "out_of_stock": "缺货",
    "wrong_order": "拍错/多拍",
    "changed_mind": "不想要了",
    "wrong_item_sent": "卖家发错货",
    "price_difference": "退差价",
    "other": "其他",
}

STATUS_FROM_CANONICAL: dict[str, str] = {
    "awaiting_seller": "WAIT_SELLER_AGREE",
    "awaiting_buyer_return": "WAIT_BUYER_RETURN_GOODS",
    "awaiting_seller_receipt": "WAIT_SELLER_CONFIRM_GOODS",
    "refused": "SELLER_REFUSE_BUYER",
    "in_dispute": "SELLER_REFUSE_BUYER",
    "refunded": "SUCCESS",
    "closed": "CLOSED",
}
CANONICAL_FROM_STATUS: dict[str, str] = {
    "WAIT_SELLER_AGREE": "awaiting_seller",
    "WAIT_BUYER_RETURN_GOODS": "awaiting_buyer_return",
    "WAIT_SELLER_CONFIRM_GOODS": "awaiting_seller_receipt",
    "SELLER_REFUSE_BUYER": "refused",
    "SUCCESS": "refunded",
    "CLOSED": "closed",
}
REFUND_STATUSES = frozenset(
    {
        *CANONICAL_FROM_STATUS,
        "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS",
        "EXCHANGE_TRANSFORM_TO_REFUND",
        "WAIT_SELLER_CONSIGN_GOODS",
    }
)
STATUS_WORDS: dict[str, str] = {
    "WAIT_SELLER_AGREE": "买家已申请退款，等待卖家同意",
    "WAIT_BUYER_RETURN_GOODS": "卖家已同意退货，等待买家退货",
    "WAIT_SELLER_CONFIRM_GOODS": "买家已退货，等待卖家确认收货",
    "SELLER_REFUSE_BUYER": "卖家拒绝退款",
    "SUCCESS": "退款成功",
    "CLOSED": "退款关闭",
}

TRADE_STATUS_FROM_ORDER: dict[str, str] = {
    "not_shipped": "WAIT_SELLER_SEND_GOODS",
    "shipped": "WAIT_BUYER_CONFIRM_GOODS",
    "delivered": "WAIT_BUYER_CONFIRM_GOODS",
    "completed": "TRADE_FINISHED",
}

# Outbound/return parcel states -> (trace action code [I], Chinese status line)
PARCEL_WORDS: dict[str, tuple[str, str]] = {
    "in_transit": ("TRANSPORT", "运输中"),
    "delivered": ("SIGNED", "已签收"),
    "lost": ("LOST", "快件丢失"),
    "refused": ("REJECTED", "收件人拒收"),
    "returned": ("RETURNED", "已退回寄件人"),
}
