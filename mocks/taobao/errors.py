"""TOP gateway and business errors as the fake raises them; rendered as ``error_response``.

Codes and messages below 100 follow platform-apis.md §1.4. The refund ``sub_code``s are the
fake's own catalogue (marked [I] in docs/mocks.md): no authoritative list exists.
"""

from __future__ import annotations

from typing import Any

PLATFORM_MESSAGES: dict[int, str] = {
    7: "App Call Limited",
    11: "Insufficient ISV Permissions",
    12: "Insufficient User Permissions",
    15: "Remote service error",
    21: "Missing Method",
    22: "Invalid Method",
    23: "Invalid Format",
    24: "Missing Signature",
    25: "Invalid Signature",
    26: "Missing Session",
    27: "Invalid Session",
    28: "Missing App Key",
    29: "Invalid App Key",
    30: "Missing Timestamp",
    31: "Invalid Timestamp",
    32: "Missing Version",
    34: "Unsupported Version",
    40: "Missing Required Arguments",
    41: "Invalid Arguments",
}

# Business sub_codes the fake uses (all [I] except where §1.3/§1.4 show the shape).
STATUS_ERROR = "isv.refund-status-error"
ALREADY_DONE = "isv.refund-already-in-target-state"
NOT_FOUND = "isv.refund-not-exist"
STALE_VERSION = "isv.invalid-parameter:refund_version"
WRONG_PHASE = "isv.invalid-parameter:refund_phase"
AMOUNT_TOO_HIGH = "isv.refund-amount-exceed"
NEED_SMS = "isv.need-sms-verify-code"
SMS_WRONG = "isv.sms-verify-code-error"
REFUSE_UNSHIPPED = "isv.refuse-forbidden:unshipped"
REFUSE_NO_REASON = "isv.refuse-forbidden:no-reason-7d"
REFUSE_CONSTRAINT = "isv.refuse-forbidden:cannot_refuse"
SUB_ACCOUNT_ONLY = "isv.permission-denied:sub-account-only"
MEMO_EXISTS = "isv.trade-memo-exist"
MEMO_MISSING = "isv.trade-memo-not-exist"
TRADE_NOT_FOUND = "isv.trade-not-exist"
ITEM_NOT_FOUND = "isv.item-not-exist"


class TopError(Exception):
    """One ``error_response``: raised anywhere in request handling, rendered by the gateway."""

    def __init__(
        self,
        code: int,
        sub_code: str | None = None,
        sub_msg: str | None = None,
        msg: str | None = None,
    ) -> None:
        self.code = code
        self.msg = msg or PLATFORM_MESSAGES.get(code, "Remote service error")
        self.sub_code = sub_code
        self.sub_msg = sub_msg
        super().__init__(f"{code} {self.msg} {sub_code or ''} {sub_msg or ''}".strip())

    def body(self, request_id: str) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "msg": self.msg}
        if self.sub_code:
            error["sub_code"] = self.sub_code
        if self.sub_msg:
            error["sub_msg"] = self.sub_msg
        error["request_id"] = request_id
        return {"error_response": error}


def business(sub_code: str, sub_msg: str) -> TopError:
    return TopError(15, sub_code, sub_msg)


def missing(name: str) -> TopError:
    return TopError(40, f"isv.missing-parameter:{name}", f"缺少必选参数 {name}")


def invalid(name: str, why: str) -> TopError:
    return TopError(41, f"isv.invalid-parameter:{name}", f"参数 {name} 无效：{why}")


def ban(sub_code: str, seconds: int) -> TopError:
    return TopError(7, sub_code, f"This ban will last for {seconds} more seconds")
