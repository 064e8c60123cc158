"""How money and time read to a person: one voice for the CLI, the console and notifications.

Rules (guarded by tests/unit/test_formatting.py):
- Money is stored and sent as integer fen. A person reads and types yuan with two decimals
  (``1,500.00``); JSON for machines keeps integer fen under keys ending in ``_fen``.
- Times are stored in UTC. A person reads Beijing time (UTC+8) unless they ask for UTC
  (``--utc`` on the CLI); every rendered time says which zone it is in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from connector.clock import BEIJING
from connector.errors import AmountError

__all__ = [
    "AmountError",
    "amount_in_words_zh",
    "parse_yuan",
    "person_time",
    "time_left",
    "yuan",
    "yuan_with_sign",
]

_DIGITS_ZH = "零壹贰叁肆伍陆柒捌玖"
_UNITS_ZH = ("", "拾", "佰", "仟")
_GROUPS_ZH = ("", "万", "亿", "万亿")
_AMOUNT_TEXT = re.compile(
    r"^\s*[¥￥]?\s*(?P<number>[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)\s*(元)?\s*$"
)


def yuan(fen: int, *, symbol: bool = False) -> str:
    """``150000`` → ``1,500.00`` (``¥1,500.00`` with ``symbol``); a negative keeps its sign."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{'¥' if symbol else ''}{whole:,}.{cents:02d}"


def yuan_with_sign(fen: int) -> str:
    """A difference: ``+12.50`` / ``-3.00`` / ``0.00``."""
    return ("+" if fen > 0 else "") + yuan(fen)


def parse_yuan(text: str) -> int:
    """``"1500"``, ``"1500.5"``, ``"1,500.00"``, ``"¥1500"`` → fen. Refuses anything else.

    Thousands separators must group by three; more than two decimals or a negative amount is
    refused rather than rounded, because a silently changed refund amount costs real money.
    """
    match = _AMOUNT_TEXT.match(text or "")
    if match is None:
        raise AmountError(f"not an amount in yuan: {text!r} (write it like 1500 or 1,500.00)")
    number = match["number"]
    whole = number.split(".", 1)[0]
    if "," in whole and not re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})+", whole):
        raise AmountError(f"misplaced thousands separator in {text!r}")
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise AmountError(f"not an amount in yuan: {text!r}") from exc
    fen = value * 100
    if fen != fen.to_integral_value():
        raise AmountError(f"{text!r} has more than two decimals (fen are the smallest unit)")
    return int(fen)


def amount_in_words_zh(fen: int) -> str:
    """Capital Chinese numerals as on a cheque: ``150000`` → ``人民币壹仟伍佰元整``."""
    if fen < 0:
        raise AmountError("an amount in words cannot be negative")
    whole, cents = divmod(fen, 100)
    text = _integer_in_words(whole) + "元" if whole else ""
    jiao, fen_part = divmod(cents, 10)
    if not cents:
        text = (text or "零元") + "整"
    else:
        if jiao:
            text += _DIGITS_ZH[jiao] + "角"
        elif whole:
            text += "零"
        if fen_part:
            text += _DIGITS_ZH[fen_part] + "分"
    return "人民币" + text


def _integer_in_words(number: int) -> str:
    groups: list[int] = []
    while number:
        number, group = divmod(number, 10_000)
        groups.append(group)
    parts: list[str] = []
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(parts)
            continue
        if need_zero or (parts and group < 1000):
            parts.append("零")
        parts.append(_group_in_words(group) + _GROUPS_ZH[index])
        need_zero = False
    return "".join(parts)


def _group_in_words(group: int) -> str:
    digits = f"{group:04d}"
    out: list[str] = []
    zero = False
    started = False
    for position, char in enumerate(digits):
        digit = int(char)
        unit = _UNITS_ZH[3 - position]
        if digit == 0:
            zero = started
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(_DIGITS_ZH[digit] + unit)
        started = True
    return "".join(out)


def person_time(
    value: datetime | None, *, utc: bool = False, seconds: bool = True, english: bool = False
) -> str:
    """``2026-11-11 20:00:00 北京`` (Beijing; ``Beijing`` with ``english``) or
    ``2026-11-11 12:00:00 UTC``; ``-`` for none."""
    if value is None:
        return "-"
    zone, label = (UTC, "UTC") if utc else (BEIJING, "Beijing" if english else "北京")
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{value.astimezone(zone).strftime(pattern)} {label}"


def time_left(value: datetime | None, now: datetime) -> str:
    """``3h 05m`` until ``value``, or ``overdue 12m`` once it has passed; ``-`` for none."""
    if value is None:
        return "-"
    seconds = int((value - now).total_seconds())
    overdue, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    elif minutes:
        text = f"{minutes}m {secs:02d}s"
    else:
        text = f"{secs}s"
    return f"overdue {text}" if overdue else text
