"""The Taobao/Tmall adapter: TOP refund APIs behind the connector's adapter contract.

Thin by design: each contract method is a few TOP calls (``api.py``), mapped by ``mapping.py``
and ``trace.py``; errors are mapped by ``errors.py``. It never retries, sleeps or logs secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from adapters._rpc.envelope import unwrap_list
from adapters._rpc.errors import AlreadyInTargetState, PlatformFault
from adapters._rpc.paging import (
    backward_after,
    backward_read,
    decode_token,
    encode_token,
    stamped_row,
    unread_on_backward_page,
    unreadable_backward_page,
)
from adapters._rpc.signing import FileParts
from adapters._rpc.transport import UnreadableBodyError
from adapters._rpc.values import format_local_time, parse_local_time
from adapters.taobao import refusals
from adapters.taobao.api import TopApi
from adapters.taobao.auth import TopAuth
from adapters.taobao.errors import TOP_ERRORS
from adapters.taobao.mapping import (
    DETAIL_FIELDS,
    LIST_FIELDS,
    MESSAGE_FIELDS,
    CaseExtras,
    decode_image,
    image_part,
    messages_to_chat,
    messages_to_evidence,
    private_free,
    refund_to_case,
)
from adapters.taobao.settings import TaobaoSettings
from adapters.taobao.trace import Trace, trace_to_logistics
from connector.adapter import (
    AdapterSettings,
    Capability,
    CasePage,
    ForbiddenRefusal,
    PlatformAdapter,
    SyncWindow,
)
from connector.clock import Clock
from connector.effects import EffectKind, EffectRequest, SubmitOutcome, SubmitResult
from connector.errors import (
    ActionForbiddenError,
    ConfigError,
    InvalidRequestError,
    MalformedPayloadError,
    NotFoundError,
)
from connector.facts import ALL_FACTS, Fact
from connector.models import QuarantinedCase, RefundCase, ReturnLogistics

logger = logging.getLogger(__name__)

PLATFORM = "taobao"
MAX_MESSAGE_PAGES = 20
REFUSE_PROOF_MAX_BYTES = 130_000
MESSAGE_IMAGE_MAX_BYTES = 500 * 1024
MESSAGE_MAX_BYTES = 400
MEMO_EXISTS = "isv.trade-memo-exist"
RECEIVER_FIELDS: dict[str, str] = {
    "receiver_name": "name",
    "receiver_mobile": "phone",
    "receiver_address": "address",
}
"""taobao.trade.get receiver fields -> the contract's contact keys."""


class TaobaoAdapter(PlatformAdapter):
    """One Taobao or Tmall shop over the TOP gateway."""

    platform: ClassVar[str] = PLATFORM
    settings_model: ClassVar[type[AdapterSettings]] = TaobaoSettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.list_cases,
            Capability.get_case,
            Capability.agree_refund,
            Capability.agree_return,
            Capability.confirm_return_and_refund,
            Capability.refuse_refund,
            Capability.refuse_with_proof_image,
            Capability.message_buyer,
            Capability.write_order_memo,
            Capability.logistics_trace,
            Capability.buyer_contact,
        }
    )
    missing_capabilities: ClassVar[dict[Capability, str]] = {}
    costly_facts: ClassVar[frozenset[Fact]] = ALL_FACTS
    """Messages, each parcel's trace and the item record are calls of their own."""
    image_hosts: ClassVar[frozenset[str]] = frozenset({".alicdn.com", ".taobaocdn.com"})

    def __init__(self, settings: AdapterSettings, *, http: httpx.Client, clock: Clock) -> None:
        if not isinstance(settings, TaobaoSettings):
            msg = f"expected TaobaoSettings, got {type(settings).__name__}"
            raise ConfigError(msg, field="settings")
        super().__init__(settings, http=http, clock=clock)
        self.settings: TaobaoSettings = settings
        self._api = TopApi(settings, http=http, auth=self._auth(settings, clock), clock=clock)

    def __repr__(self) -> str:
        return f"TaobaoAdapter(shop_id={self.settings.shop_id!r}, tmall={self.settings.tmall})"

    @classmethod
    def auth_for(cls, settings: AdapterSettings) -> httpx.Auth | None:
        if not isinstance(settings, TaobaoSettings):
            msg = f"expected TaobaoSettings, got {type(settings).__name__}"
            raise ConfigError(msg, field="settings")
        return cls._auth(settings, None)

    @staticmethod
    def _auth(settings: TaobaoSettings, clock: Clock | None) -> TopAuth:
        return TopAuth(
            app_key=settings.app_key,
            app_secret=settings.app_secret.get_secret_value(),
            session=settings.session.get_secret_value(),
            sign_method=settings.sign_method,
            clock=clock,
        )

    # ---- check ---------------------------------------------------------------------------------

    def refusal_forbidden(self, case: RefundCase) -> ForbiddenRefusal | None:
        return refusals.refusal_forbidden(case)

    def check(self) -> None:
        """One cheap authenticated list call over the last hour."""
        now = self.clock.now()
        self._api.refunds_receive_get(
            fields=("refund_id", "modified"),
            start_modified=format_local_time(now - timedelta(hours=1)),
            end_modified=format_local_time(now),
            page_no=1,
            page_size=1,
        )

    # ---- list ----------------------------------------------------------------------------------

    def list_cases(
        self, window: SyncWindow, page: str | None = None, *, page_size: int | None = None
    ) -> CasePage:
        """One page of refunds modified in the window; a pass skips no unchanged case.

        TOP pages by offset, newest change first. A case changed while we page leaves the
        window's fixed end and every later offset shifts, so reading first to last would skip
        unchanged cases, however their ``modified`` seconds fall (bulk imports share one).
        So the first call learns ``total_results`` (and returns its page), then the listing is
        read from the last position back to the first: a departure only brings cases already
        read back into the unread positions, and those are dropped (``unread_on_backward_page``).
        Changed cases are for the next pass's look-back.

        ``page_size`` (the contract's hint) reads fewer positions, aligned to TOP's pages
        (``backward_read``); an answer that cannot be read is ``UnreadablePageError`` with the
        token past its positions (conformance rules page-size-hint, unreadable-page-bisected).
        """
        state = self._first_state(window) if page is None else self._resume(page)
        limit = self.settings.page_size if page_size is None else page_size
        read = backward_read(state, min(limit, self.settings.page_size))
        learning = state["top"] is None
        try:
            body = self._api.refunds_receive_get(
                fields=LIST_FIELDS,
                start_modified=state["start"],
                end_modified=state["end"],
                page_no=read.page_no,
                page_size=read.size,
                use_has_next=not learning,
            )
        except UnreadableBodyError as exc:
            raise unreadable_backward_page(
                exc, state, read, listing="taobao.refunds.receive.get", id_fields=("refund_id",)
            ) from exc
        total = _total_results(body) if learning else None
        items = unwrap_list(body, "refunds", "refund", platform=PLATFORM)
        fresh, state = unread_on_backward_page(
            state,
            [stamped_row(item, "refund_id", "modified") for item in items],
            raises_floor=not learning,
        )
        following = backward_after(state, read, total=total, page_size=self.settings.page_size)
        next_page = None if following is None else encode_token(following)
        out = CasePage(cases=[], next_page=next_page)
        for item, new in zip(items, fresh, strict=True):
            if new:
                self._add(out, item)
        return out

    def _add(self, out: CasePage, item: Any) -> None:
        parsed = refund_to_case(item, shop_id=self.settings.shop_id, tmall=self.settings.tmall)
        if isinstance(parsed, QuarantinedCase):
            logger.warning(
                "refund quarantined",
                extra={"case_id": parsed.case_id, "problems": parsed.summary()},
            )
            out.quarantined.append(parsed)
        else:
            out.cases.append(parsed)
            out.raw.append(private_free(item))

    @staticmethod
    def _first_state(window: SyncWindow) -> dict[str, Any]:
        """The pass's fixed bounds: from the start's second to the last whole second of the end.

        ``end_modified`` is inclusive. Rounding the end down (never up) keeps a second that is
        still running out of the pass, so a case changed during the pass cannot land inside it
        and push unread cases up; the rest of that second is the next window's (it starts at or
        before this end).
        """
        return {
            "start": format_local_time(window.start),
            "end": format_local_time(window.end.replace(microsecond=0)),
            "top": None,
            "learn_at": 0,
            "seen": {},
            "floor": None,
            "ordered": True,
        }

    @staticmethod
    def _resume(token: str) -> dict[str, Any]:
        try:
            state = decode_token(token)
            parse_local_time(state["start"])
            parse_local_time(state["end"])
            top, seen, floor = state["top"], state["seen"], state["floor"]
            if (top is not None and not _position(top)) or not _position(state["learn_at"]):
                raise TypeError
            if not isinstance(seen, dict) or not isinstance(state["ordered"], bool):
                raise TypeError
            if floor is not None and not isinstance(floor, str):
                raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            msg = "page token was not made by this adapter for this window"
            raise InvalidRequestError(msg, platform=PLATFORM, operation="list_cases") from exc
        return state

    # ---- buyer contact (read live, never kept) --------------------------------------------------

    def reveal_buyer_contact(self, case_id: str) -> dict[str, str]:
        """The order's receiver from ``taobao.trade.get``: the refund names its ``tid``."""
        body = self._api.refund_get(case_id, fields=("refund_id", "tid"))
        refund = body.get("refund")
        if not isinstance(refund, Mapping) or not refund.get("tid"):
            raise NotFoundError("no such refund", platform=PLATFORM, case_id=case_id)
        trade_body = self._api.trade_get(str(refund["tid"]), fields=RECEIVER_FIELDS)
        trade = trade_body.get("trade")
        if not isinstance(trade, Mapping):
            raise MalformedPayloadError(
                "is missing", field="trade", platform=PLATFORM, case_id=case_id
            )
        return {
            name: str(trade[wire])
            for wire, name in RECEIVER_FIELDS.items()
            if trade.get(wire) not in (None, "")
        }

    # ---- get -----------------------------------------------------------------------------------

    def get_case(self, case_id: str, facts: frozenset[Fact] = ALL_FACTS) -> RefundCase:
        """The refund with its deadline and the ``facts`` asked for: the buyer's pictures (the
        refund's messages), the parcels' traces, the item's no-reason promise; one or more
        calls each, so a fact not asked for is not fetched."""
        body = self._api.refund_get(case_id, fields=DETAIL_FIELDS)
        refund = body.get("refund")
        if not isinstance(refund, Mapping) or not refund:
            raise NotFoundError("no such refund", platform=PLATFORM, case_id=case_id)
        phase = str(refund.get("refund_phase") or "") or None
        messages = self._messages(case_id, phase) if Fact.evidence in facts else []
        extras = CaseExtras(
            evidence=messages_to_evidence(messages),
            chat=messages_to_chat(messages),
            no_reason_eligible=(
                self._no_reason_eligible(refund, case_id) if Fact.item_promise in facts else None
            ),
            **self._trace(refund, case_id, facts),
        )
        parsed = refund_to_case(
            refund, shop_id=self.settings.shop_id, tmall=self.settings.tmall, extras=extras
        )
        if isinstance(parsed, QuarantinedCase):
            raise MalformedPayloadError(
                parsed.summary(), field="refund", platform=PLATFORM, case_id=case_id
            )
        return parsed

    def _messages(self, case_id: str, phase: str | None) -> list[Any]:
        messages: list[Any] = []
        for page_no in range(1, MAX_MESSAGE_PAGES + 1):
            body = self._api.refund_messages_get(
                case_id,
                fields=MESSAGE_FIELDS,
                page_no=page_no,
                refund_phase=phase if self.settings.tmall else None,
            )
            batch = unwrap_list(body, "refund_messages", "refund_message", platform=PLATFORM)
            messages.extend(batch)
            total = body.get("total_results")
            if not batch or total is None or len(messages) >= int(total):
                break
        return messages

    def _trace(
        self, refund: Mapping[str, Any], case_id: str, facts: frozenset[Fact]
    ) -> dict[str, Any]:
        """The outbound parcel's trace, and the buyer's return parcel when there is one."""
        extras: dict[str, Any] = {}
        tid = str(refund.get("tid") or "")
        shipped = refund.get("order_status") not in (
            None,
            "WAIT_SELLER_SEND_GOODS",
            "WAIT_BUYER_PAY",
        )
        if tid and shipped and Fact.logistics in facts:
            outbound = self._trace_or_none(tid, None, case_id)
            if outbound is not None:
                extras.update(
                    logistics=outbound.logistics,
                    shipped_at=outbound.shipped_at,
                    delivered_at=outbound.delivered_at,
                    logistics_steps=outbound.steps,
                )
        if tid and refund.get("sid") and Fact.return_logistics in facts:
            back = self._trace_or_none(tid, case_id, case_id)
            if back is not None and back.logistics is not None:
                delivered = back.logistics.status == "delivered"
                extras["return_logistics"] = ReturnLogistics(
                    carrier=back.logistics.carrier,
                    waybill=back.logistics.waybill,
                    status="delivered" if delivered else "in_transit",
                )
                extras["return_logistics_steps"] = back.steps
        return extras

    def _trace_or_none(self, tid: str, refund_id: str | None, case_id: str) -> Trace | None:
        try:
            body = self._api.logistics_trace_search(tid, refund_id=refund_id, case_id=case_id)
        except NotFoundError:
            return None
        return trace_to_logistics(body)

    def _no_reason_eligible(self, refund: Mapping[str, Any], case_id: str) -> bool | None:
        """The item's 7-day no-reason promise (``no_reason_7d`` on the item); None if unknown."""
        num_iid = refund.get("num_iid")
        if num_iid in (None, ""):
            return None
        try:
            body = self._api.item_seller_get(str(num_iid), case_id=case_id)
        except NotFoundError:
            return None
        item = body.get("item")
        value = item.get("no_reason_7d") if isinstance(item, Mapping) else None
        return None if value is None else value in (True, "true")

    # ---- submit --------------------------------------------------------------------------------

    def submit(self, effect: EffectRequest) -> SubmitResult:
        """One write with the decided version; ``already_done`` when the platform says so."""
        self.require(effect)
        if effect.platform != self.platform or effect.shop_id != self.settings.shop_id:
            msg = f"effect for {effect.platform}/{effect.shop_id} sent to this shop's adapter"
            raise InvalidRequestError(msg, platform=PLATFORM, case_id=effect.case_id)
        handlers: dict[EffectKind, Callable[[EffectRequest], Mapping[str, Any]]] = {
            EffectKind.agree_refund: self._agree_refund,
            EffectKind.confirm_return_and_refund: self._agree_refund,
            EffectKind.agree_return: self._agree_return,
            EffectKind.refuse_refund: self._refuse,
            EffectKind.message_buyer: self._message,
            EffectKind.write_order_memo: self._memo,
        }
        try:
            body = handlers[effect.kind](effect)
        except AlreadyInTargetState as done:
            return SubmitResult(
                outcome=SubmitOutcome.already_done,
                platform_code=done.fault.sub_code or done.fault.code,
                detail=done.fault.text,
            )
        return SubmitResult(outcome=SubmitOutcome.applied, new_version=_new_version(body))

    def _bad(self, effect: EffectRequest, message: str) -> InvalidRequestError:
        return InvalidRequestError(
            message, platform=PLATFORM, operation=str(effect.kind), case_id=effect.case_id
        )

    def _phase(self, effect: EffectRequest) -> str | None:
        phase = effect.platform_fields.get("refund_phase")
        if self.settings.tmall and not phase:
            raise self._bad(effect, "Tmall writes need platform_fields.refund_phase")
        return phase

    def _version(self, effect: EffectRequest) -> str:
        if not effect.version:
            raise self._bad(effect, "the refund_version the decision was made on is required")
        return effect.version

    def _agree_refund(self, effect: EffectRequest) -> Mapping[str, Any]:
        amount = effect.params.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise self._bad(effect, f"params.amount must be a positive integer in fen ({amount!r})")
        parts = [effect.case_id, str(amount), self._version(effect)]
        phase = self._phase(effect)
        if self.settings.tmall and phase:
            parts.append(phase)
        body = self._api.rp_refunds_agree(
            "|".join(parts), code=effect.params.get("verify_code"), case_id=effect.case_id
        )
        self._check_batch_result(body, effect)
        return body

    def _check_batch_result(self, body: Mapping[str, Any], effect: EffectRequest) -> None:
        """A batch answer can report this refund's failure per item instead of as an error."""
        results = unwrap_list(body, "results", "refund_mapping_result", platform=PLATFORM)
        mine = [r for r in results if isinstance(r, Mapping)]
        failed = next((r for r in mine if r.get("succ") in (False, "false")), None)
        if failed is None and body.get("succ") in (False, "false") and not mine:
            failed = body
        if failed is None:
            return
        fault = PlatformFault(
            code=str(failed.get("code") or "15"),
            msg=str(body.get("msg_code") or ""),
            sub_code=str(failed.get("sub_code") or failed.get("error_code") or ""),
            sub_msg=str(failed.get("message") or ""),
        )
        verdict = TOP_ERRORS.classify(fault, is_write=True)
        if verdict == "already_done":
            raise AlreadyInTargetState(fault)
        assert not isinstance(verdict, str)
        raise TOP_ERRORS.to_error(
            verdict,
            fault,
            platform=PLATFORM,
            operation="taobao.rp.refunds.agree",
            case_id=effect.case_id,
        )

    def _agree_return(self, effect: EffectRequest) -> Mapping[str, Any]:
        s = self.settings
        payer = effect.params.get("return_shipping_paid_by")
        if payer not in (None, "buyer", "seller"):
            raise self._bad(
                effect, f"params.return_shipping_paid_by must be buyer or seller ({payer!r})"
            )
        address_id = effect.params.get("address_id") or s.return_address_id
        if not address_id and not (s.return_address and s.return_contact_name):
            raise ConfigError(
                "a return address (return_address_id, or return_contact_name and "
                "return_address) is needed to agree to returns",
                field="return_address_id",
            )
        params: dict[str, object | None] = {
            "refund_id": effect.case_id,
            "refund_version": self._version(effect),
            "refund_phase": self._phase(effect),
            "seller_address_id": address_id,
            "post_fee_bear_role": {"buyer": 1, "seller": 0}.get(str(payer)),
            "remark": effect.params.get("remark") or ("同意退货" if s.tmall else None),
        }
        if not s.tmall:
            params.update(
                name=s.return_contact_name,
                address=s.return_address,
                post=s.return_post_code,
                tel=s.return_tel,
                mobile=s.return_mobile,
            )
        return self._api.rp_returngoods_agree(params, case_id=effect.case_id)

    def _refuse(self, effect: EffectRequest) -> Mapping[str, Any]:
        message = str(effect.params.get("message") or "")
        if not 2 <= len(message) <= 200:
            raise self._bad(effect, "params.message must be 2 to 200 characters")
        proof = self._image(effect, "proof_image", REFUSE_PROOF_MAX_BYTES, "refuse_proof")
        if self.settings.tmall and proof is None:
            raise self._bad(effect, "Tmall refusals need params.proof_image")
        params = {
            "refund_id": effect.case_id,
            "refuse_message": message,
            "refund_version": self._version(effect),
            "refund_phase": self._phase(effect),
            "refuse_reason_id": effect.params.get("reason_id"),
        }
        return self._api.refund_refuse(params, proof=proof, case_id=effect.case_id)

    def _message(self, effect: EffectRequest) -> Mapping[str, Any]:
        content = str(effect.params.get("content") or "")
        if not content or len(content.encode("utf-8")) > MESSAGE_MAX_BYTES:
            raise self._bad(effect, f"params.content must be 1 to {MESSAGE_MAX_BYTES} bytes")
        image = self._image(effect, "image", MESSAGE_IMAGE_MAX_BYTES, "image")
        if image is None:
            raise self._bad(effect, "taobao.refund.message.add requires params.image")
        if self._already_said(effect.case_id, content, effect.platform_fields):
            raise AlreadyInTargetState(
                PlatformFault(code="", msg="the same seller message is already on the refund")
            )
        params = {"refund_id": effect.case_id, "content": content}
        return self._api.refund_message_add(params, image=image, case_id=effect.case_id)

    def _already_said(self, case_id: str, content: str, fields: Mapping[str, str]) -> bool:
        """TOP has no idempotency key for messages: re-read them so a resend never repeats."""
        phase = fields.get("refund_phase") if self.settings.tmall else None
        return any(
            isinstance(m, Mapping)
            and str(m.get("owner_role")) == "2"
            and m.get("content") == content
            for m in self._messages(case_id, phase)
        )

    def _memo(self, effect: EffectRequest) -> Mapping[str, Any]:
        """Add the memo; if the order has one already, keep it and append ours (once)."""
        memo = str(effect.params.get("memo") or "")
        if not memo:
            raise self._bad(effect, "params.memo must not be empty")
        try:
            return self._api.trade_memo_add(effect.order_id, memo, case_id=effect.case_id)
        except ActionForbiddenError as exc:
            if exc.sub_code != MEMO_EXISTS:
                raise
        trade_body = self._api.trade_get(effect.order_id, fields=("tid", "seller_memo"))
        trade = trade_body.get("trade")
        current = str(trade.get("seller_memo") or "") if isinstance(trade, Mapping) else ""
        if memo in current:
            raise AlreadyInTargetState(
                PlatformFault(code="", msg="the memo is already on the order")
            )
        combined = f"{current}\n{memo}" if current else memo
        return self._api.trade_memo_update(effect.order_id, combined, case_id=effect.case_id)

    def _image(self, effect: EffectRequest, name: str, limit: int, part: str) -> FileParts | None:
        value = effect.params.get(name)
        if value is None:
            return None
        try:
            content = decode_image(value, f"params.{name}")
        except ValueError as exc:
            raise self._bad(effect, str(exc)) from exc
        if not content or len(content) > limit:
            raise self._bad(effect, f"params.{name} must be 1 to {limit} bytes")
        return {part: image_part(content, part)}


def _position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _total_results(body: Mapping[str, Any]) -> int:
    """``total_results`` of a list answer asked with ``use_has_next=false``."""
    value = body.get("total_results")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise MalformedPayloadError(
            f"must be a non-negative integer (got {value!r})",
            field="total_results",
            platform=PLATFORM,
            operation="taobao.refunds.receive.get",
        )
    return int(value)


def _new_version(body: Mapping[str, Any]) -> str | None:
    refund = body.get("refund")
    if isinstance(refund, Mapping) and refund.get("refund_version") not in (None, ""):
        return str(refund["refund_version"])
    return None
