"""JD's after-sale question types and refund reasons (Chinese words) -> canonical reason codes.

JD sends a question type (``questionTypeCid1/2`` with ``...Name``) on service orders and a free
``reason`` on refund applications. The category ids differ per shop category and are not public,
so the words decide: the first reason whose key words occur wins; anything else is ``other``
and the mapper keeps the words in ``reason_text``.
"""

from __future__ import annotations

import re

from connector.models import Reason

# Reason -> key words, in priority order (specific before general).
_WORDS: dict[Reason, tuple[str, ...]] = {
    Reason.no_reason_7d: ("七天无理由", "7天无理由", "无理由退"),
    Reason.wrong_item_sent: ("发错", "错发", "商品与订单不符"),
    Reason.not_as_described: ("描述不符", "与描述", "实物不符", "与页面不符"),
    Reason.damaged: ("破损", "损坏", "少件", "漏发", "缺件"),
    Reason.quality: ("质量", "故障", "性能问题", "无法使用", "坏了"),
    Reason.shipping_fee: ("运费",),
    Reason.price_difference: ("价保", "差价", "降价"),
    Reason.not_received: ("未收到", "没收到", "未送达", "物流停滞", "丢件"),
    Reason.invoice: ("发票",),
    Reason.late_shipment: ("发货慢", "未按时发货", "延迟发货", "迟迟不发货", "配送慢"),
    Reason.out_of_stock: ("缺货", "无货", "库存不足"),
    Reason.wrong_order: ("拍错", "多拍", "地址填错", "信息填写错误", "重复下单"),
    Reason.changed_mind: ("不想要", "不想买", "不需要", "买多了", "计划有变", "其他渠道"),
}

_PATTERNS: tuple[tuple[Reason, re.Pattern[str]], ...] = tuple(
    (reason, re.compile("|".join(map(re.escape, words)))) for reason, words in _WORDS.items()
)


def jd_reason(*texts: str) -> Reason:
    """The canonical reason for JD's words (most specific text first); unknown is ``other``."""
    for text in texts:
        compact = "".join(text.split())
        if not compact:
            continue
        for reason, pattern in _PATTERNS:
            if pattern.search(compact):
                return reason
    return Reason.other
