"""JOS error answers -> ``connector.errors`` (platform-apis.md §2.2).

Two places can say no. The gateway answers ``error_response{code, zh_desc, en_desc}`` with its
numeric table; those faults keep the gateway code. A call the gateway accepted can still fail in
its business object (``success:false`` with ``errorCode``/``code`` and a message); those faults
carry ``code="business"`` and the business code as ``sub_code``, matched by code or by words
because JD does not publish the after-sale business codes.

Choices (documented in docs/adding-a-platform.md and the module below):
- 12 invalid signature -> ``ReauthRequiredError``. The algorithm is fixed and tested against the
  reference vector, so a bad signature in production means a wrong app_secret: a credential a
  person must fix. 11 (missing signature) can only be our own bug -> ``InvalidRequestError``.
- 8 invalid timestamp (more than 6 minutes off) -> ``UnavailableError``: nothing was applied and
  the cause is this host's clock, not the case; the core backs off and the health check shows
  the message, which names the clock. Sending it to a person per case would not help.
- 2 call limit -> ``RateLimitedError`` (JD advises waiting; a "N seconds" hint is honoured).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from adapters._rpc.errors import ALREADY_DONE, ErrorRule, ErrorTable, PlatformFault
from connector import errors as err

BUSINESS = "business"
"""``PlatformFault.code`` of a failure reported inside a business object."""

CLOCK_HINT = "this host's clock may be more than 6 minutes off Beijing time"
_WAIT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:more\s+)?(?:seconds?|secs?|s\b|秒)", re.IGNORECASE)


def wait_hint(fault: PlatformFault) -> float | None:
    """Seconds to wait when the platform's words name them ("... 3 seconds", "3秒")."""
    match = _WAIT.search(fault.sub_msg) or _WAIT.search(fault.msg)
    return float(match.group(1)) if match else None


def gateway_fault(error: Mapping[str, Any]) -> PlatformFault:
    """``error_response{code, zh_desc, en_desc}`` as a fault (both descriptions kept)."""
    code = str(error.get("code", "")).strip()
    zh = str(error.get("zh_desc") or error.get("msg") or "")
    en = str(error.get("en_desc") or "")
    if code == "8":
        en = f"{en} ({CLOCK_HINT})" if en else CLOCK_HINT
    return PlatformFault(code=code, msg=zh, sub_msg=en)


def business_fault(result: Mapping[str, Any]) -> PlatformFault:
    """A business object with ``success:false`` as a fault; its own code becomes ``sub_code``."""
    code = result.get("errorCode", result.get("code"))
    message = result.get("errorMsg", result.get("msg"))
    return PlatformFault(
        code=BUSINESS,
        sub_code="" if code is None else str(code),
        msg="" if message is None else str(message),
    )


_BIZ = frozenset({BUSINESS})

JOS_ERRORS = ErrorTable(
    [
        # ---- gateway table (error_response) ----
        ErrorRule(err.RateLimitedError, codes=frozenset({"2"})),
        ErrorRule(err.ReauthRequiredError, codes=frozenset({"19", "12"})),
        ErrorRule(err.UnavailableError, codes=frozenset({"8"})),
        ErrorRule(err.InvalidRequestError, codes=frozenset({"4", "5", "7", "11", "14", "15"})),
        # Rows our fake fills in where the public copies stop (docs/mocks.md, [I]).
        ErrorRule(err.ReauthRequiredError, codes=frozenset({"6", "9", "18"})),
        ErrorRule(err.InvalidRequestError, codes=frozenset({"21", "66"})),
        ErrorRule(err.UnavailableError, codes=frozenset({"67"})),
        # ---- business objects (success:false) ----
        # Codes of the fake's after-sale answers (docs/mocks.md, [I]); words below catch others.
        ErrorRule(ALREADY_DONE, codes=_BIZ, sub_code=r"^40006$", writes_only=True),
        ErrorRule(err.ConflictError, codes=_BIZ, sub_code=r"^(40005|40007|10002)$"),
        ErrorRule(err.NotFoundError, codes=_BIZ, sub_code=r"^(40004|10001)$"),
        ErrorRule(err.ReauthRequiredError, codes=_BIZ, sub_code=r"^40003$"),
        ErrorRule(err.InvalidRequestError, codes=_BIZ, sub_code=r"^(40001|40002|40008|10003)$"),
        ErrorRule(
            ALREADY_DONE,
            codes=_BIZ,
            text=r"already|已审核|已处理|重复|无需",
            writes_only=True,
        ),
        ErrorRule(ALREADY_DONE, codes=_BIZ, sub_code=r"already|repeat|duplicate", writes_only=True),
        ErrorRule(err.ConflictError, codes=_BIZ, text=r"版本|sysversion|version"),
        ErrorRule(err.ConflictError, codes=_BIZ, sub_code=r"version"),
        ErrorRule(err.NotFoundError, codes=_BIZ, text=r"不存在|not.?exist|not.?found|查询不到"),
        ErrorRule(err.NotFoundError, codes=_BIZ, sub_code=r"not.?exist|not.?found"),
        ErrorRule(err.InvalidRequestError, codes=_BIZ, text=r"参数|param|必填|required"),
        ErrorRule(err.ConflictError, codes=_BIZ, text=r"状态|status|state"),
        ErrorRule(err.ActionForbiddenError, codes=_BIZ, writes_only=True),
        ErrorRule(err.InvalidRequestError, codes=_BIZ),
        # ---- gateway rows the copies of the table lost (app key, permission, QPS): by words ----
        ErrorRule(err.RateLimitedError, text=r"call limit|限制|频率|流控|qps|too many"),
        ErrorRule(err.ReauthRequiredError, text=r"app_?key|access_?token|permission|权限|授权"),
        ErrorRule(err.UnavailableError, text=r"系统繁忙|服务异常|system (busy|error)|timeout"),
    ],
    default=err.InvalidRequestError,
    retry_after=wait_hint,
)
