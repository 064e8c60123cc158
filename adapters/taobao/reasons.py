"""The platform's refund reasons (Chinese text, as buyers pick them) -> canonical reason codes.

Exact phrases first, then key words; anything else is ``other`` and the text is kept verbatim in
``reason_text`` by the mapper, so nothing a buyer said is lost.
"""

from __future__ import annotations

import re

from connector.models import Reason

_EXACT: dict[str, Reason] = {
    "7天无理由退换货": Reason.no_reason_7d,
    "七天无理由退换货": Reason.no_reason_7d,
    "7天无理由退货": Reason.no_reason_7d,
    "七天无理由退货": Reason.no_reason_7d,
    "与商品描述不符": Reason.not_as_described,
    "收到商品与描述不符": Reason.not_as_described,
    "商品质量问题": Reason.quality,
    "质量问题": Reason.quality,
    "收到商品破损": Reason.damaged,
    "商品破损/少件": Reason.damaged,
    "退运费": Reason.shipping_fee,
    "未收到货": Reason.not_received,
    "快递一直未送到": Reason.not_received,
    "发票问题": Reason.invoice,
    "未按约定时间发货": Reason.late_shipment,
    "缺货": Reason.out_of_stock,
    "卖家缺货": Reason.out_of_stock,
    "拍错/多拍": Reason.wrong_order,
    "多拍/拍错/不想要": Reason.wrong_order,
    "不想要了": Reason.changed_mind,
    "卖家发错货": Reason.wrong_item_sent,
    "退差价": Reason.price_difference,
}

# Key words, checked in this order (the more specific phrases first).
_KEYWORDS: tuple[tuple[re.Pattern[str], Reason], ...] = tuple(
    (re.compile(pattern), reason)
    for pattern, reason in (
        (r"(7|七)\s*天无理由", Reason.no_reason_7d),
        (r"发错", Reason.wrong_item_sent),
        (r"描述不符|与描述|商品不符", Reason.not_as_described),
        (r"质量", Reason.quality),
        (r"破损|损坏|少件", Reason.damaged),
        (r"运费", Reason.shipping_fee),
        (r"差价|价格", Reason.price_difference),
        (r"未收到|没有?收到|未送达|未送到", Reason.not_received),
        (r"发票", Reason.invoice),
        (r"未按约定时间发货|发货慢|延迟发货|未按时发货", Reason.late_shipment),
        (r"缺货|无货", Reason.out_of_stock),
        (r"拍错|多拍", Reason.wrong_order),
        (r"不想要|不喜欢|不需要", Reason.changed_mind),
    )
)

_SPACES = re.compile(r"\s+")


def reason_code(text: str) -> Reason:
    """The canonical reason for the platform's words; unknown words are ``other``."""
    normalized = _SPACES.sub("", text).replace("／", "/")
    if not normalized:
        return Reason.other
    exact = _EXACT.get(normalized)
    if exact is not None:
        return exact
    for pattern, reason in _KEYWORDS:
        if pattern.search(normalized):
            return reason
    return Reason.other
