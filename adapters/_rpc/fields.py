"""Reading one wire record field by field, collecting every problem instead of stopping at one.

A record with problems is quarantined whole by the adapter, with each bad wire field named, so
a person sees everything that is wrong at once. Converters raise ``ValueError`` in plain words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from connector.errors import FieldProblem

T = TypeVar("T")

PRIVATE_KEY_WORDS: tuple[str, ...] = (
    "nick",
    "name",
    "phone",
    "mobile",
    "tel",
    "address",
    "receiver",
    "post",
)
"""Key fragments of personal fields (buyer names, phones, addresses) never kept from a record."""


class WireReader:
    """``reader.need("id", as_id)`` / ``reader.maybe("price", ...)``; ``reader.problems`` after."""

    def __init__(self, wire: Mapping[str, Any]) -> None:
        self.wire = wire
        self.problems: list[FieldProblem] = []

    def _absent(self, name: str) -> bool:
        return self.wire.get(name) in (None, "")

    def need(self, name: str, convert: Callable[[Any], T]) -> T | None:
        """The converted field; a missing or bad one is recorded and answers None."""
        if self._absent(name):
            self.problems.append(FieldProblem(name, "is required but missing"))
            return None
        return self._convert(name, convert)

    def maybe(self, name: str, convert: Callable[[Any], T]) -> T | None:
        """Like ``need`` but a missing field is fine (None); a present bad one is a problem."""
        if self._absent(name):
            return None
        return self._convert(name, convert)

    def _convert(self, name: str, convert: Callable[[Any], T]) -> T | None:
        try:
            return convert(self.wire[name])
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            self.problems.append(FieldProblem(name, str(exc)))
            return None

    def text(self, name: str) -> str:
        """The field as text; absent is empty. An object or list here is a problem, not text."""
        value = self.wire.get(name)
        if isinstance(value, Mapping | list | tuple):
            problem = FieldProblem(name, not_a_single_value(value))
            if problem not in self.problems:
                self.problems.append(problem)
            return ""
        return "" if value is None else str(value)

    def first_text(self, *names: str) -> str:
        """The first of ``names`` that has a value, as text; none is empty."""
        return next((self.text(n) for n in names if not self._absent(n)), "")

    def complain(self, name: str, reason: str) -> None:
        self.problems.append(FieldProblem(name, reason))


def not_a_single_value(value: Any) -> str:
    """Why a nested object or list cannot stand where the protocol puts one value."""
    kind = "an object" if isinstance(value, Mapping) else "a list"
    return f"must be a single value (text or number), not {kind}"


def as_id(value: Any) -> str:
    """An id sent as text or as a number (never a fraction, a bool or empty)."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"must be an id as text or a whole number (got {value!r})")
    shown = str(value).strip()
    if not shown:
        raise ValueError("must not be empty")
    return shown


def as_whole(value: Any, *, minimum: int = 0) -> int:
    """A whole number sent as a number or digits; at least ``minimum``."""
    if isinstance(value, bool):
        raise ValueError(f"must be a whole number (got {value!r})")
    if isinstance(value, Decimal | float):
        if value != int(value):
            raise ValueError(f"must be a whole number, not a fraction (got {value!r})")
        number = int(value)
    else:
        try:
            number = int(str(value).strip())
        except ValueError as exc:
            raise ValueError(f"must be a whole number (got {value!r})") from exc
    if number < minimum:
        raise ValueError(f"must be at least {minimum} (got {value!r})")
    return number


def one_of(table: Mapping[str, T], what: str) -> Callable[[Any], T]:
    """A converter looking the value (as text) up in ``table``; unknown values name the known."""

    def convert(value: Any) -> T:
        found = table.get(str(value).strip())
        if found is None:
            raise ValueError(f"{value!r} is not a known {what} (known: {', '.join(table)})")
        return found

    return convert


def without_private(
    wire: Mapping[str, Any], words: Iterable[str] = PRIVATE_KEY_WORDS
) -> dict[str, Any]:
    """A copy of the record without personal fields (by key fragment), for the audit log."""
    fragments = tuple(w.lower() for w in words)
    return {k: v for k, v in wire.items() if not any(f in k.lower() for f in fragments)}
