"""Platform error envelopes -> ``connector.errors``, as an ordered table of data.

Each platform declares rules (codes, sub-code prefixes, text patterns) in order; the first that
matches decides the error class, or ``ALREADY_DONE`` when the platform reports that the case is
already in the state the write wanted. Messages keep the platform's own words, scrubbed of any
secret the caller names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from connector.errors import AdapterError, RetryableError

ALREADY_DONE: Final = "already_done"
Verdict = type[AdapterError] | Literal["already_done"]


@dataclass(frozen=True, slots=True)
class PlatformFault:
    """One error answer, in the platform's words."""

    code: str
    msg: str = ""
    sub_code: str = ""
    sub_msg: str = ""

    @property
    def text(self) -> str:
        return ": ".join(part for part in (self.msg, self.sub_msg) if part)


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """Matches when every given criterion matches; an empty criterion matches anything."""

    verdict: Verdict
    codes: frozenset[str] = frozenset()
    sub_codes: tuple[str, ...] = ()
    """sub_code equals one of these or starts with one followed by ``:`` or ``.``"""
    text: str | None = None
    """a regular expression searched in ``msg`` and ``sub_msg``"""
    writes_only: bool = False
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = re.compile(self.text, re.IGNORECASE) if self.text else None
        object.__setattr__(self, "_pattern", pattern)

    def matches(self, fault: PlatformFault, *, is_write: bool) -> bool:
        if self.writes_only and not is_write:
            return False
        if self.codes and fault.code not in self.codes:
            return False
        if self.sub_codes and not any(_sub_code_matches(fault.sub_code, p) for p in self.sub_codes):
            return False
        return not (self._pattern and not self._pattern.search(fault.text))


def _sub_code_matches(sub_code: str, prefix: str) -> bool:
    if prefix.endswith((".", ":")):
        return sub_code.startswith(prefix)
    return sub_code == prefix or sub_code.startswith((prefix + ":", prefix + "."))


class ErrorTable:
    """An ordered list of rules plus a default, and how to read a retry delay from a fault."""

    def __init__(
        self,
        rules: Iterable[ErrorRule],
        *,
        default: type[AdapterError],
        retry_after: Callable[[PlatformFault], float | None] = lambda _: None,
    ) -> None:
        self.rules = tuple(rules)
        self.default = default
        self.retry_after = retry_after

    def classify(self, fault: PlatformFault, *, is_write: bool) -> Verdict:
        for rule in self.rules:
            if rule.matches(fault, is_write=is_write):
                return rule.verdict
        return self.default

    def to_error(
        self,
        error_cls: type[AdapterError],
        fault: PlatformFault,
        *,
        platform: str,
        operation: str,
        case_id: str | None = None,
        secrets: Iterable[str] = (),
    ) -> AdapterError:
        """The exception for ``fault``; ``secrets`` are scrubbed from the platform's text."""
        message = scrub(fault.text or "platform error", secrets)
        context: dict[str, str | None] = {
            "platform": platform,
            "operation": operation,
            "platform_code": fault.code or None,
            "sub_code": scrub(fault.sub_code, secrets) or None,
            "case_id": case_id,
        }
        if issubclass(error_cls, RetryableError):
            return error_cls(message, retry_after=self.retry_after(fault), **context)
        return error_cls(message, **context)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every (non-trivial) secret replaced."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text
