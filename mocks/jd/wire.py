"""How the fake writes JD values: GMT+8 time strings, epoch milliseconds, yuan numbers.

Refund applications carry times as ``yyyy-MM-dd HH:mm:ss`` strings and money in fen; service
orders carry times as epoch milliseconds and money as BigDecimal yuan (a JSON number) [I].
"""

from __future__ import annotations

from datetime import UTC, datetime

from mocks.jd.signing import BEIJING, parse_jos_timestamp

JOS_TIME = "%Y-%m-%d %H:%M:%S"


def jos_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(BEIJING).strftime(JOS_TIME)


def epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def yuan_number(fen: int) -> float:
    """Fen as a yuan JSON number: 1234560 -> 12345.6 (the shortest float text round-trips)."""
    return round(fen / 100, 2)


def parse_time_value(value: object) -> datetime:
    """A request time: ``yyyy-MM-dd HH:mm:ss`` (GMT+8) text, or epoch milliseconds."""
    if isinstance(value, bool):
        msg = "a time must be text or epoch milliseconds"
        raise ValueError(msg)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    if isinstance(value, str):
        return parse_jos_timestamp(value)
    msg = f"a time must be text or epoch milliseconds, got {value!r}"
    raise ValueError(msg)
