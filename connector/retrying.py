"""In-call retries (tenacity) for transient platform blips; longer waits become durable schedules.

Only ``RetryableError`` is retried here, and never ``OutcomeUnknownError``: a write whose outcome
is unknown must be re-read before anything is sent again. A platform ban longer than
``max_wait_s`` is not slept through in-call; the caller stores ``next_attempt_at`` instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from connector.errors import OutcomeUnknownError, RetryableError

T = TypeVar("T")
Sleeper = Callable[[float], None]

logger = logging.getLogger(__name__)


def _retry_in_call(exc: BaseException, max_wait_s: float) -> bool:
    if not isinstance(exc, RetryableError) or isinstance(exc, OutcomeUnknownError):
        return False
    return exc.retry_after is None or exc.retry_after <= max_wait_s


def make_retrying(
    *,
    attempts: int = 3,
    max_wait_s: float = 8.0,
    max_elapsed_s: float = 30.0,
    sleep: Sleeper = time.sleep,  # noqa: TID251 - the daemon's real waits; tests inject
) -> Retrying:
    """A tenacity ``Retrying``: jittered exponential backoff, Retry-After honoured, bounded."""
    jitter = wait_random_exponential(multiplier=0.5, max=max_wait_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), max_wait_s)
        return float(jitter(state))

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        logger.info(
            "retrying after transient error",
            extra={"attempt": state.attempt_number, "error": type(exc).__name__},
        )

    return Retrying(
        retry=retry_if_exception(lambda e: _retry_in_call(e, max_wait_s)),
        stop=stop_after_attempt(attempts) | stop_after_delay(max_elapsed_s),
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def call_with_retries(fn: Callable[[], T], retrying: Retrying) -> T:
    return retrying(fn)
