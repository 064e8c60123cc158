"""Wire values of Chinese marketplace gateways: yuan strings and GMT+8 local timestamps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from connector.clock import BEIJING

_YUAN = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")
_LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S"


def yuan_to_fen(value: object) -> int:
    """``"12345.60"`` -> 1234560, exactly (Decimal, never float); anything else is a ValueError.

    Money is never negative on the wire: a refund or a payment below zero is a bad record.

    A ``Decimal`` (a JSON number read with ``exact_decimals``) is accepted as its exact text.
    """
    if isinstance(value, Decimal) and value.is_finite():
        value = format(value, "f")
    if isinstance(value, bool) or not isinstance(value, str | int):
        msg = f"must be a yuan amount as text like '12.50' (got {value!r})"
        raise ValueError(msg)
    text = str(value).strip()
    if not _YUAN.match(text):
        msg = f"must be a yuan amount with at most 2 decimals like '12.50' (got {value!r})"
        raise ValueError(msg)
    try:
        fen = Decimal(text) * 100
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules this out
        msg = f"is not a number (got {value!r})"
        raise ValueError(msg) from exc
    if fen < 0:
        msg = f"must not be negative (got {value!r})"
        raise ValueError(msg)
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """1234560 -> ``"12345.60"``."""
    return f"{Decimal(fen) / 100:.2f}"


def parse_local_time(value: object) -> datetime:
    """A GMT+8 ``yyyy-MM-dd HH:mm:ss`` string (or epoch milliseconds) as an aware UTC datetime."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _from_epoch_ms(value)
    if not isinstance(value, str):
        msg = f"must be a time like '2026-11-12 10:00:00' (got {value!r})"
        raise ValueError(msg)
    text = value.strip()
    if text.isascii() and text.isdigit():
        return _from_epoch_ms(int(text))
    try:
        local = datetime.strptime(text, _LOCAL_FORMAT)  # noqa: DTZ007 - zone attached below
    except ValueError as exc:
        msg = f"must be a time like '2026-11-12 10:00:00' (got {value!r})"
        raise ValueError(msg) from exc
    return local.replace(tzinfo=BEIJING).astimezone(UTC)


def _from_epoch_ms(millis: int) -> datetime:
    """Epoch milliseconds; one outside what a datetime holds is a ValueError, not an overflow."""
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        shown = str(millis) if abs(millis) < 10**40 else "a number of more than 40 digits"
        msg = f"must be epoch milliseconds within years 1-9999 (got {shown})"
        raise ValueError(msg) from exc


def format_local_time(value: datetime) -> str:
    """An aware datetime as the gateway's GMT+8 ``yyyy-MM-dd HH:mm:ss``."""
    if value.tzinfo is None:
        msg = "naive datetime: every time in the connector must carry its offset"
        raise ValueError(msg)
    return value.astimezone(BEIJING).strftime(_LOCAL_FORMAT)
