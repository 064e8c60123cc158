"""What a policy says about how much automatic decisions may do: blast-radius caps and the
breaker (the ``[caps]`` and ``[breaker]`` tables; docs/policy.md, "Changing the policy safely").

Amounts are fen, as everywhere in the policy. Enforced by ``connector.caps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connector.policy.conditions import parse_duration

CAPS_KEYS = ("hour_total", "hour_count", "day_total", "day_count", "single")
BREAKER_KEYS = ("factor", "window", "baseline", "min_cases")

AddProblem = Callable[[str, str, str], None]


@dataclass(frozen=True, slots=True)
class Caps:
    """Per shop: automatic refunds per rolling hour and day (fen and count), and the largest
    single one. None: no cap. Deadline fallbacks are never held by a cap (counted apart)."""

    hour_total: int | None = None
    hour_count: int | None = None
    day_total: int | None = None
    day_count: int | None = None
    single: int | None = None

    @property
    def any(self) -> bool:
        return any(getattr(self, key) is not None for key in CAPS_KEYS)


@dataclass(frozen=True, slots=True)
class Breaker:
    """Pause automatic approval for a refund reason when its approvals in ``window`` exceed
    ``factor`` times its average per window over the ``baseline`` before (and ``min_cases``)."""

    factor: float
    window: timedelta = timedelta(hours=1)
    baseline: timedelta = timedelta(days=7)
    min_cases: int = 5


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_caps(raw: Any, add: AddProblem) -> Caps:
    where = "[caps]"
    if raw is None:
        return Caps()
    if not isinstance(raw, dict):
        add(where, "caps", "must be a table")
        return Caps()
    values: dict[str, int] = {}
    for key, value in raw.items():
        if key not in CAPS_KEYS:
            add(where, key, f"unknown cap; known: {', '.join(CAPS_KEYS)}")
        elif not _whole(value) or value < 0:
            add(where, key, "must be a whole number, zero or more (fen for totals)")
        else:
            values[key] = value
    return Caps(**values)


def parse_breaker(raw: Any, add: AddProblem) -> Breaker | None:
    where = "[breaker]"
    if raw is None:
        return None
    if not isinstance(raw, dict):
        add(where, "breaker", "must be a table")
        return None
    problems_before: list[str] = []

    def note(field: str, message: str) -> None:
        problems_before.append(field)
        add(where, field, message)

    for key in raw:
        if key not in BREAKER_KEYS:
            note(key, f"unknown field; known: {', '.join(BREAKER_KEYS)}")
    factor = raw.get("factor")
    if factor is None:
        note("factor", "is required, e.g. 3 (three times the baseline rate)")
    elif isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 1:
        note("factor", "must be a number above 1")
    spans: dict[str, timedelta] = {}
    for key, default in (("window", "1h"), ("baseline", "7d")):
        text = raw.get(key, default)
        try:
            spans[key] = parse_duration(text) if isinstance(text, str) else timedelta(-1)
        except ValueError as exc:
            note(key, str(exc))
            continue
        if spans[key] <= timedelta(0):
            note(key, 'must be a positive duration string such as "1h"')
    if "window" in spans and "baseline" in spans and spans["baseline"] <= spans["window"]:
        note("baseline", "must be longer than window")
    min_cases = raw.get("min_cases", 5)
    if not _whole(min_cases) or min_cases < 1:
        note("min_cases", "must be a whole number, 1 or more")
    if problems_before:
        return None
    return Breaker(
        factor=float(factor),  # type: ignore[arg-type]
        window=spans["window"],
        baseline=spans["baseline"],
        min_cases=int(min_cases),
    )
