"""One voice for money and time (connector/formatting.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import AmountError
from connector.formatting import (
    amount_in_words_zh,
    parse_yuan,
    person_time,
    time_left,
    yuan,
    yuan_with_sign,
)


def test_yuan_has_two_decimals_and_thousands() -> None:
    assert yuan(150000) == "1,500.00"
    assert yuan(150000, symbol=True) == "¥1,500.00"
    assert yuan(5) == "0.05"
    assert yuan(-1999) == "-19.99"
    assert yuan_with_sign(1250) == "+12.50"
    assert yuan_with_sign(0) == "0.00"


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("1500", 150000), ("1500.5", 150050), ("1,500.00", 150000), ("¥1500", 150000),
     (" 0.01 ", 1), ("12元", 1200), (".5", 50), ("1,234,567.89", 123456789)],
)
def test_parse_yuan_reads_what_people_type(typed: str, fen: int) -> None:
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "abc", "-5", "1.005", "15,00", "1,5000.00", "1e3", "1 500"])
def test_parse_yuan_refuses_what_is_not_an_amount(typed: str) -> None:
    with pytest.raises(AmountError):
        parse_yuan(typed)


@given(st.integers(min_value=0, max_value=10**12))
def test_parse_yuan_reads_back_what_yuan_writes(fen: int) -> None:
    assert parse_yuan(yuan(fen)) == fen
    assert parse_yuan(yuan(fen, symbol=True)) == fen


@pytest.mark.parametrize(
    ("fen", "words"),
    [(150000, "人民币壹仟伍佰元整"), (0, "人民币零元整"), (1, "人民币壹分"),
     (10050, "人民币壹佰元伍角"), (100005, "人民币壹仟元零伍分"),
     (1000000, "人民币壹万元整"), (1010000, "人民币壹万零壹佰元整"),
     (19999, "人民币壹佰玖拾玖元玖角玖分")],
)
def test_amount_in_words(fen: int, words: str) -> None:
    assert amount_in_words_zh(fen) == words


def test_times_read_in_beijing_unless_utc_is_asked() -> None:
    moment = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    assert person_time(moment) == "2026-11-11 20:00:00 北京"
    assert person_time(moment, utc=True) == "2026-11-11 12:00:00 UTC"
    assert person_time(None) == "-"
    assert time_left(moment + timedelta(hours=3, minutes=5), moment) == "3h 05m"
    assert time_left(moment - timedelta(minutes=12), moment) == "overdue 12m 00s"
