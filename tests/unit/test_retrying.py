"""In-call retries: transient only, Retry-After honoured, unknown outcomes never resent blindly."""

from __future__ import annotations

import pytest

from connector.errors import (
    ConflictError,
    OutcomeUnknownError,
    RateLimitedError,
    UnavailableError,
)
from connector.retrying import make_retrying


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def test_transient_errors_are_retried_with_retry_after() -> None:
    slept: list[float] = []
    retrying = make_retrying(attempts=3, sleep=slept.append)
    fn = Flaky([UnavailableError("502"), RateLimitedError("ban", retry_after=2.0)])
    assert retrying(fn) == "ok"
    assert fn.calls == 3
    assert slept[1] == 2.0


def test_gives_up_after_attempts() -> None:
    retrying = make_retrying(attempts=2, sleep=lambda _: None)
    fn = Flaky([UnavailableError("a"), UnavailableError("b"), UnavailableError("c")])
    with pytest.raises(UnavailableError):
        retrying(fn)
    assert fn.calls == 2


@pytest.mark.parametrize(
    "error",
    [
        OutcomeUnknownError("timeout on write"),
        ConflictError("stale version"),
        RateLimitedError("banned for the day", retry_after=31062),
    ],
)
def test_not_retried_in_call(error: Exception) -> None:
    slept: list[float] = []
    fn = Flaky([error])
    with pytest.raises(type(error)):
        make_retrying(attempts=5, sleep=slept.append)(fn)
    assert fn.calls == 1
    assert slept == []
