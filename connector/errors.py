"""The connector's only exception tree, grouped by what the caller must do next.

    ConnectorError                    root; never raised directly
    ├── ConfigError                   bad settings: refuse to start, name the field
    ├── PolicyError                   bad policy file: refuse to load, name file, rule and field
    ├── StoreError                    the local database failed: the job fails, the ticker retries
    ├── CaseValidationError           a platform payload is not a valid case: quarantine it
    └── AdapterError                  raised by adapters only; carries platform, operation, codes
        ├── RetryableError            try again later (in-call with backoff, then durably)
        │   ├── RateLimitedError      the platform throttled us; ``retry_after`` says how long
        │   ├── UnavailableError      5xx, connection refused/reset, platform-side failure
        │   └── OutcomeUnknownError   a write timed out: it may have been applied; re-read first
        ├── ReauthRequiredError       credentials rejected: stop this shop, alert ops
        ├── ConflictError             the case moved on (stale version): re-read and decide again
        └── NeedsHumanError           permanent for this request: a person must look
            ├── ActionForbiddenError  the platform forbids this action here (its reason kept)
            ├── StepUpRequiredError   the platform wants an SMS code from the seller
            ├── NotFoundError         the platform does not know the case
            ├── InvalidRequestError   the platform refused our parameters (a bug or bad data)
            ├── UnsupportedEffectError the adapter cannot perform this effect at all
            └── MalformedPayloadError the platform's response is not what its protocol says
                └── UnreadablePageError   a list page cannot be read at all: read it smaller

Messages are built from safe fields only: never a signature, secret, session token or buyer
personal data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ActionForbiddenError",
    "AdapterError",
    "AmountError",
    "CaseValidationError",
    "ConfigError",
    "ConflictError",
    "ConnectorError",
    "FieldProblem",
    "InvalidRequestError",
    "MalformedPayloadError",
    "NeedsHumanError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PolicyError",
    "RateLimitedError",
    "ReauthRequiredError",
    "RetryableError",
    "StepUpRequiredError",
    "StoreError",
    "UnavailableError",
    "UnreadablePageError",
    "UnsupportedEffectError",
]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One thing wrong with one field, in plain words (``field`` is a dotted path)."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """The configuration is wrong; the service refuses to start and names the field."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None):
        self.field = field
        self.source = source
        where = " ".join(p for p in (source and f"in {source}", field and f"field {field!r}") if p)
        super().__init__(f"{where}: {message}" if where else message)


class PolicyError(ConnectorError):
    """A policy file cannot be used; every problem names the file, the rule and the field."""

    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"policy {file} is not valid:\n{listing}")


class AmountError(ConnectorError, ValueError):
    """A typed amount is not yuan with at most two decimals; the form names what was typed."""


class StoreError(ConnectorError):
    """The local database could not do what was asked."""


class CaseValidationError(ConnectorError):
    """A payload failed canonical validation; the caller quarantines it with these problems."""

    def __init__(self, problems: list[FieldProblem], *, case_id: str | None = None):
        self.problems = list(problems)
        self.case_id = case_id
        head = f"case {case_id} " if case_id else "case "
        super().__init__(head + "failed validation: " + "; ".join(str(p) for p in self.problems))


class AdapterError(ConnectorError):
    """Raised by adapters only; says which platform call failed and with which platform code."""

    def __init__(
        self,
        message: str,
        *,
        platform: str | None = None,
        operation: str | None = None,
        platform_code: str | None = None,
        sub_code: str | None = None,
        case_id: str | None = None,
    ):
        self.platform = platform
        self.operation = operation
        self.platform_code = platform_code
        self.sub_code = sub_code
        self.case_id = case_id
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [p for p in (self.platform, self.operation) if p]
        where = "/".join(parts)
        codes = ", ".join(
            f"{name} {value}"
            for name, value in (("code", self.platform_code), ("sub_code", self.sub_code))
            if value
        )
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} ({codes})" if codes else text


class RetryableError(AdapterError):
    """Transient: the same request may succeed later. ``retry_after`` is seconds, when known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: str | None):
        self.retry_after = retry_after
        super().__init__(message, **kw)


class RateLimitedError(RetryableError):
    """The platform throttled or banned the caller for a while."""


class UnavailableError(RetryableError):
    """The platform or the network failed before the request could have been applied."""


class OutcomeUnknownError(RetryableError):
    """A write whose outcome we cannot know (timeout, dropped response): re-read before resend."""


class ReauthRequiredError(AdapterError):
    """Credentials or the session were rejected; the shop stops until ops fix them."""


class ConflictError(AdapterError):
    """The case changed since we decided (stale version): re-read it and decide again."""


class NeedsHumanError(AdapterError):
    """Retrying the same request will not help; a person must decide what to do."""


class ActionForbiddenError(NeedsHumanError):
    """The platform does not allow this action on this case; ``message`` keeps its reason."""


class StepUpRequiredError(NeedsHumanError):
    """The platform requires a verification code from the seller before it applies the write."""


class NotFoundError(NeedsHumanError):
    """The platform does not know the case or order."""


class InvalidRequestError(NeedsHumanError):
    """The platform rejected our parameters."""


class UnsupportedEffectError(NeedsHumanError):
    """The adapter cannot perform this effect; raised before any network call."""


class MalformedPayloadError(NeedsHumanError):
    """The platform's response breaks its own protocol; ``field`` names what is wrong."""

    def __init__(self, message: str, *, field: str | None = None, **kw: str | None):
        self.field = field
        super().__init__(f"{field}: {message}" if field else message, **kw)


class UnreadablePageError(MalformedPayloadError):
    """A page of ``list_cases`` cannot be read at all (bad UTF-8, too deep, too large).

    Raised by an adapter that honours the ``page_size`` hint, so the core can read the same
    listing again in smaller pages down to one item (``connector.intake_pages``). ``items`` is
    how many listing positions the failed read asked for; ``next_page`` continues the pass past
    them (the core uses it only when ``items`` is 1, to step over the poisoned item); ``position``
    says in words where the read was (listing, offset, window); ``case_ids`` are the platform's
    ids found in the unreadable body, when any could be read.
    """

    def __init__(
        self,
        message: str,
        *,
        items: int,
        next_page: str | None,
        position: str,
        case_ids: tuple[str, ...] = (),
        body_bytes: int | None = None,
        sha256: str | None = None,
        **kw: str | None,
    ):
        self.items = items
        self.next_page = next_page
        self.position = position
        self.case_ids = case_ids
        self.body_bytes = body_bytes
        self.sha256 = sha256
        super().__init__(message, **kw)
