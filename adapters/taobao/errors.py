"""TOP error envelopes -> ``connector.errors`` (platform-apis.md §1.4, §1.5).

The official classification: codes below 100 except 15/40/41 are platform errors, ``isp.*``
sub-codes are server-side (retry later), 40/41 and ``isv.*`` are the caller's business errors.
The refund-specific sub-codes are not public; the names below are the ones our fake platform
uses (docs/mocks.md), matched loosely (also by the platform's words) so that a real gateway's
variants land in the same class.
"""

from __future__ import annotations

import re

from adapters._rpc.errors import ALREADY_DONE, ErrorRule, ErrorTable, PlatformFault
from connector.errors import (
    ActionForbiddenError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitedError,
    ReauthRequiredError,
    StepUpRequiredError,
    UnavailableError,
)

_BAN = re.compile(r"ban will last for (\d+(?:\.\d+)?) more seconds", re.IGNORECASE)


def ban_seconds(fault: PlatformFault) -> float | None:
    """N from "This ban will last for N more seconds" (in sub_msg or msg), else None."""
    match = _BAN.search(fault.sub_msg) or _BAN.search(fault.msg)
    return float(match.group(1)) if match else None


TOP_ERRORS = ErrorTable(
    [
        # Call limits: app / user / session / partner quotas and frequency (codes 4-8).
        ErrorRule(RateLimitedError, codes=frozenset({"4", "5", "6", "7", "8"})),
        ErrorRule(RateLimitedError, sub_code=r"^accesscontrol\.limited"),
        # Credentials: signature, session, app key; permissions the session lacks.
        ErrorRule(ReauthRequiredError, codes=frozenset({"25", "26", "27", "28", "29"})),
        ErrorRule(ReauthRequiredError, codes=frozenset({"11", "12", "13"})),
        ErrorRule(ReauthRequiredError, sub_code=r"invalid-sessionkey|session-expired"),
        ErrorRule(ReauthRequiredError, sub_code=r"^isv\.permission-denied"),
        # Server side: retry later.
        ErrorRule(UnavailableError, codes=frozenset({"10"})),
        ErrorRule(UnavailableError, sub_code=r"^isp\."),
        # Refund business outcomes, most specific first.
        ErrorRule(
            ALREADY_DONE,
            sub_code=r"already|status-is-target|repeat|duplicate",
            writes_only=True,
        ),
        ErrorRule(StepUpRequiredError, sub_code=r"sms|verify-code|need-code"),
        ErrorRule(ConflictError, sub_code=r"refund_version|refund-version|version-(error|stale)"),
        ErrorRule(ConflictError, sub_code=r"refund_phase|refund-phase"),
        ErrorRule(NotFoundError, sub_code=r"not-?exist|not-?found"),
        ErrorRule(
            ActionForbiddenError,
            sub_code=r"cannot-refuse|refuse-forbidden|not-allowed|forbidden|no-reason",
        ),
        ErrorRule(ConflictError, sub_code=r"status-error|status-not-allow|state-error"),
        ErrorRule(ActionForbiddenError, codes=frozenset({"42"})),
        # Our request was wrong.
        ErrorRule(InvalidRequestError, codes=frozenset({"40", "41", "43"})),
        ErrorRule(InvalidRequestError, sub_code=r"^isv\.(invalid|missing)-parameter"),
        # Any other business refusal of a write keeps the platform's reason for a person.
        ErrorRule(ActionForbiddenError, sub_code=r"^isv\.", writes_only=True),
    ],
    default=InvalidRequestError,
    retry_after=ban_seconds,
)
