"""Platform error envelopes -> ``connector.errors``, as an ordered table of data.

Each platform declares rules (codes, sub-code patterns, text patterns) in order; the first that
matches decides the error class, or ``ALREADY_DONE`` when the platform reports that the case is
already in the state the write wanted. Messages keep the platform's own words, scrubbed of any
secret the caller names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal, NoReturn

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
    sub_code: str | None = None
    """a regular expression searched in ``sub_code`` (anchor it with ``^`` for a prefix)"""
    text: str | None = None
    """a regular expression searched in ``msg`` and ``sub_msg``"""
    writes_only: bool = False
    _sub_code: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _text: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        sub_code = re.compile(self.sub_code, re.IGNORECASE) if self.sub_code else None
        text = re.compile(self.text, re.IGNORECASE) if self.text else None
        object.__setattr__(self, "_sub_code", sub_code)
        object.__setattr__(self, "_text", text)

    def matches(self, fault: PlatformFault, *, is_write: bool) -> bool:
        if self.writes_only and not is_write:
            return False
        if self.codes and fault.code not in self.codes:
            return False
        if self._sub_code and not self._sub_code.search(fault.sub_code):
            return False
        return not (self._text and not self._text.search(fault.text))


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


class AlreadyInTargetState(Exception):  # noqa: N818 - a signal, not an error
    """The platform refused a write because the case is already where the write would put it.

    Not a ``ConnectorError``: it never leaves an adapter, which answers
    ``SubmitResult(outcome=already_done)`` instead.
    """

    def __init__(self, fault: PlatformFault):
        self.fault = fault
        super().__init__(fault.code)


def raise_for_fault(
    table: ErrorTable,
    fault: PlatformFault,
    *,
    platform: str,
    operation: str,
    is_write: bool,
    case_id: str | None = None,
    secrets: Iterable[str] = (),
) -> NoReturn:
    """Raise the error ``table`` assigns to ``fault``, or ``AlreadyInTargetState``."""
    verdict = table.classify(fault, is_write=is_write)
    if verdict == ALREADY_DONE:
        raise AlreadyInTargetState(fault)
    assert not isinstance(verdict, str)
    raise table.to_error(
        verdict, fault, platform=platform, operation=operation, case_id=case_id, secrets=secrets
    )
