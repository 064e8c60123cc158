"""Business parameters from ``360buy_param_json`` and the business failure every method answers.

JD reports a bad business parameter inside the business object (``success:false``) rather than
as a gateway error, so a getter raises ``BusinessError`` with the family's code and a message
naming the parameter; each method turns it into its own result shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mocks.jd.config import JdShop
from mocks.jd.records import Buyer
from mocks.jd.state import JdMock
from mocks.jd.wire import parse_time_value


class BusinessError(Exception):
    """``success:false`` with ``code`` and a Chinese message naming what is wrong."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg


@dataclass(frozen=True)
class Args:
    """The decoded ``360buy_param_json`` object; ``bad`` is the family's bad-parameter code."""

    values: dict[str, Any]
    bad: str

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str, *, required: bool = False, max_len: int = 500) -> str | None:
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise BusinessError(self.bad, f"参数 {name} 不能为空")
            return None
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise BusinessError(self.bad, f"参数 {name} 必须是字符串")
        text = str(value)
        if len(text) > max_len:
            raise BusinessError(self.bad, f"参数 {name} 长度不能超过 {max_len}")
        return text

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        low: int | None = None,
        high: int | None = None,
        code: str | None = None,
    ) -> int | None:
        value = self.values.get(name)
        if value in (None, ""):
            if required:
                raise BusinessError(code or self.bad, f"参数 {name} 不能为空")
            return None
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise BusinessError(code or self.bad, f"参数 {name} 必须是整数，收到 {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{low if low is not None else '-∞'}-{high if high is not None else '∞'}"
            raise BusinessError(code or self.bad, f"参数 {name} 取值范围 {span}，收到 {value}")
        return value

    def time(self, name: str) -> datetime | None:
        value = self.values.get(name)
        if value in (None, ""):
            return None
        try:
            return parse_time_value(value)
        except (ValueError, OverflowError, OSError) as exc:
            raise BusinessError(self.bad, f"参数 {name} 时间格式错误：{value!r}") from exc

    def window(
        self, begin: str, end: str, *, required: bool = False
    ) -> tuple[datetime, datetime] | None:
        """A begin/end pair: both or neither (both when ``required``), begin <= end."""
        low, high = self.time(begin), self.time(end)
        if low is None and high is None and not required:
            return None
        if low is None or high is None:
            raise BusinessError(self.bad, f"参数 {begin} 和 {end} 必须同时填写")
        if low > high:
            raise BusinessError(self.bad, f"参数 {begin} 不能晚于 {end}")
        return low, high

    def ids(self, name: str) -> list[int] | None:
        raw = self.values.get(name)
        if raw in (None, ""):
            return None
        parts = [p.strip() for p in str(raw).split(",") if p.strip()]
        if not all(p.isdigit() for p in parts):
            raise BusinessError(self.bad, f"参数 {name} 必须是逗号分隔的数字")
        return [int(p) for p in parts]


@dataclass(frozen=True)
class Call:
    mock: JdMock
    shop: JdShop
    args: Args
    request_id: str
    now: datetime


Handler = Callable[[Call], dict[str, Any]]
Failure = Callable[[BusinessError], dict[str, Any]]


@dataclass(frozen=True)
class Method:
    """One JOS method: its handler, the business key it answers under, its failure shape."""

    handler: Handler
    result_key: str
    failure: Failure
    bad_param_code: str


def buyer_fields(buyer: Buyer) -> dict[str, str]:
    """The personal data JD returns next to the pseudonymous id (never to be stored)."""
    return {"customerName": buyer.name, "customerTel": buyer.phone}
