"""Canonical effects -> JD audit actions, with compare-and-set on the decided version.

Refund applications (cancel before shipment):
- ``agree_refund`` -> ``replyRefund`` status 1 (approve; ``outWareStatus`` 2 not shipped), or
  status 6 (approve and have JD intercept the parcel; ``outWareStatus`` 1) when the effect says
  the goods already left: ``params["intercept"]`` true, or the case's
  ``platform_fields["out_ware"] == "shipped"`` (set by whoever learned it, e.g. a failed void).
- ``refuse_refund`` -> ``replyRefund`` status 2 with ``rejectType`` (``params["reject_type"]``,
  else the shop's ``refuse_reject_type``) and the message as ``remark``.
  Refund applications carry no version: the audit status is the version (a reply is legal only
  from an open status), read just before the write.

Service orders (every call also carries buId/operatePin/operateNick and the ``sysVersion``):
- ``refuse_refund`` -> ``asc.audit.refuse`` (``approveNotes``, ``questionTypeCid1``);
- ``agree_return`` -> ``asc.audit.send`` (the customer ships back to the shop's address);
- ``confirm_return_and_refund`` (and ``agree_refund`` on a return whose goods are in) ->
  ``asc.process.close``, which on JD both registers the receipt and refunds a return (one
  write, so one version and no half-done state); ``asc.receive.register`` with inspection
  details is left to the shop's warehouse staff;
- ``agree_refund`` on a refund-only service order -> ``asc.process.close`` straight away.

Before writing, the current case is compared with the decision: already in the target state ->
``AlreadyInTargetState`` (the caller answers ``already_done``); a different version ->
``ConflictError`` without any write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters._rpc.errors import AlreadyInTargetState, PlatformFault
from adapters.jd import api as jos
from adapters.jd.api import JosApi
from adapters.jd.mapping import APPROVED_REFUND_STATUSES, REFUND_FAMILY
from adapters.jd.settings import JdSettings
from connector.effects import EffectKind, EffectRequest
from connector.errors import ConfigError, ConflictError, InvalidRequestError
from connector.models import CaseStatus, CaseType, RefundCase

PLATFORM = "jd"

REPLY_APPROVE = 1
REPLY_REJECT = 2
REPLY_APPROVE_INTERCEPT = 6
OUT_WARE_SHIPPED = 1
OUT_WARE_NOT_SHIPPED = 2

_TARGET: dict[EffectKind, frozenset[CaseStatus]] = {
    EffectKind.agree_refund: frozenset({CaseStatus.refunded}),
    EffectKind.confirm_return_and_refund: frozenset({CaseStatus.refunded}),
    EffectKind.refuse_refund: frozenset({CaseStatus.refused}),
    EffectKind.agree_return: frozenset(
        {CaseStatus.awaiting_buyer_return, CaseStatus.awaiting_seller_receipt}
    ),
}


class JdWrites:
    """Performs one effect on one current case; answers the new version when JD gives one."""

    def __init__(self, api: JosApi, settings: JdSettings) -> None:
        self._api = api
        self._settings = settings

    def perform(self, effect: EffectRequest, current: RefundCase) -> str | None:
        self._compare(effect, current)
        if current.platform_fields.get("family") == REFUND_FAMILY:
            return self._refund_application(effect, current)
        return self._service_order(effect, current)

    # ---- compare-and-set -----------------------------------------------------------------------

    def _compare(self, effect: EffectRequest, current: RefundCase) -> None:
        if current.status in _TARGET.get(effect.kind, frozenset()) and not (
            effect.kind is EffectKind.agree_return
            and current.type is not CaseType.return_and_refund
        ):
            raise AlreadyInTargetState(
                PlatformFault(code="", msg=f"the case is already {current.status}")
            )
        if not effect.version:
            raise self._bad(effect, "the version the decision was made on is required")
        if effect.version != current.version:
            msg = f"the case changed since the decision ({effect.version} -> {current.version})"
            raise ConflictError(
                msg, platform=PLATFORM, operation=str(effect.kind), case_id=effect.case_id
            )

    def _bad(self, effect: EffectRequest, message: str) -> InvalidRequestError:
        return InvalidRequestError(
            message, platform=PLATFORM, operation=str(effect.kind), case_id=effect.case_id
        )

    # ---- refund applications -------------------------------------------------------------------

    def _refund_application(self, effect: EffectRequest, current: RefundCase) -> str | None:
        params = reply_refund_params(effect, self._settings)
        if params is None:
            raise self._bad(effect, f"{effect.kind} does not apply to a refund application")
        self._api.reply_refund(params, case_id=effect.case_id)
        if params["status"] == REPLY_REJECT:
            return str(REPLY_REJECT)
        return str(params["status"]) if str(params["status"]) in APPROVED_REFUND_STATUSES else None

    # ---- service orders ------------------------------------------------------------------------

    def _service_order(self, effect: EffectRequest, current: RefundCase) -> str | None:
        version = str(current.version)
        base = {"serviceId": effect.case_id, "orderId": effect.order_id}
        kind = effect.kind
        if kind is EffectKind.refuse_refund:
            params = {
                **base,
                **audit_refuse_params(effect, current, self._settings),
                "sysVersion": version,
            }
            return self._write(jos.ASC_REFUSE, params, effect)
        if kind is EffectKind.agree_return:
            params = {**base, **audit_send_params(self._settings, current), "sysVersion": version}
            return self._write(jos.ASC_SEND, params, effect)
        if kind is EffectKind.agree_refund and current.type is CaseType.refund_only:
            return self._write(
                jos.ASC_CLOSE, {**base, **close_params(effect), "sysVersion": version}, effect
            )
        if current.status is not CaseStatus.awaiting_seller_receipt:
            raise ConflictError(
                f"the goods are not back yet (status {current.status})",
                platform=PLATFORM,
                operation=str(kind),
                case_id=effect.case_id,
            )
        return self._write(
            jos.ASC_CLOSE, {**base, **close_params(effect), "sysVersion": version}, effect
        )

    def _write(self, method: str, params: Mapping[str, Any], effect: EffectRequest) -> str | None:
        result = self._api.service_write(method, params, case_id=effect.case_id)
        return new_sys_version(result)


def new_sys_version(result: Mapping[str, Any]) -> str | None:
    """The version a write produced when JD answers it (``data.sysVersion`` or ``data``)."""
    data = result.get("data")
    if isinstance(data, Mapping):
        data = data.get("sysVersion")
    if isinstance(data, int | str) and not isinstance(data, bool) and str(data).isdigit():
        return str(data)
    return None


def reply_refund_params(effect: EffectRequest, settings: JdSettings) -> dict[str, Any] | None:
    """``replyRefund`` parameters for an approval or a refusal (None for other effects)."""
    base: dict[str, Any] = {"id": effect.case_id, "checkUserName": settings.auditor}
    if effect.kind is EffectKind.agree_refund:
        intercept = bool(effect.params.get("intercept")) or (
            effect.platform_fields.get("out_ware") == "shipped"
        )
        return {
            **base,
            "status": REPLY_APPROVE_INTERCEPT if intercept else REPLY_APPROVE,
            "outWareStatus": OUT_WARE_SHIPPED if intercept else OUT_WARE_NOT_SHIPPED,
            "remark": str(effect.params.get("remark") or "同意退款"),
        }
    if effect.kind is EffectKind.refuse_refund:
        reject_type = effect.params.get("reject_type", settings.refuse_reject_type)
        if reject_type not in (1, 2, 3, 4, 5, 6):
            msg = f"params.reject_type must be 1 to 6 (got {reject_type!r})"
            raise InvalidRequestError(msg, platform=PLATFORM, case_id=effect.case_id)
        return {
            **base,
            "status": REPLY_REJECT,
            "rejectType": reject_type,
            "remark": _message(effect),
        }
    return None


def _message(effect: EffectRequest) -> str:
    message = str(effect.params.get("message") or "").strip()
    if not message:
        msg = "params.message (the reason shown to the customer) must not be empty"
        raise InvalidRequestError(msg, platform=PLATFORM, case_id=effect.case_id)
    return message


def audit_refuse_params(
    effect: EffectRequest, current: RefundCase, settings: JdSettings
) -> dict[str, Any]:
    cid1 = (
        effect.params.get("reason_id")
        or settings.refuse_question_type_cid1
        or current.platform_fields.get("questionTypeCid1")
    )
    if cid1 in (None, ""):
        msg = "a questionTypeCid1 is needed to refuse (params.reason_id or the shop's setting)"
        raise ConfigError(msg, field="refuse_question_type_cid1")
    return {"approveNotes": _message(effect), "questionTypeCid1": cid1}


def audit_send_params(settings: JdSettings, current: RefundCase) -> dict[str, Any]:
    """The shop's return address (never the customer's) for ``asc.audit.send``."""
    s = settings
    if not (s.return_contact_name and s.return_contact_tel and s.return_address_detail):
        msg = (
            "a return address (return_contact_name, return_contact_tel, return_address_detail "
            "and the area codes) is needed to agree to returns"
        )
        raise ConfigError(msg, field="return_address_detail")
    detail_id = current.platform_fields.get("applyDetailId")
    return {
        "returnContactName": s.return_contact_name,
        "returnContactTel": s.return_contact_tel,
        "returnProvince": s.return_province,
        "returnCity": s.return_city,
        "returnCounty": s.return_county,
        "returnVillage": s.return_village,
        "returnDetail": s.return_address_detail,
        "returnAddressType": s.return_address_type,
        "applyDetailIdList": [int(detail_id)] if detail_id and detail_id.isdigit() else None,
    }


def close_params(effect: EffectRequest) -> dict[str, Any]:
    amount = effect.params.get("amount")
    if amount is not None and (
        isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0
    ):
        msg = f"params.amount must be a positive integer in fen ({amount!r})"
        raise InvalidRequestError(msg, platform=PLATFORM, case_id=effect.case_id)
    return {}
