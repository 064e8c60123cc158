"""The JD adapter: JOS after-sale APIs behind the connector's adapter contract.

Thin by design: each contract method is a few JOS calls (``api.py``) mapped by ``mapping.py``,
with errors mapped by ``errors.py`` and effects built by ``effects.py``. Two families become
cases: refund applications (cancel before shipment) and after-sale service orders. Their ids
are the platform's; which family an id belongs to is remembered from listing, or found by
asking the refund-application API first. It never retries, sleeps or logs secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from adapters._rpc.client import GatewayClient
from adapters._rpc.errors import AlreadyInTargetState
from adapters._rpc.fields import without_private
from adapters._rpc.paging import (
    backward_after,
    backward_read,
    decode_token,
    encode_token,
    forward_read,
    keyset_next,
    stamped_row,
    unread_on_backward_page,
    unreadable_backward_page,
    unreadable_page,
)
from adapters._rpc.transport import UnreadableBodyError
from adapters._rpc.values import format_local_time, parse_local_time
from adapters.jd.api import ASC_SYNC, REFUND_LIST, JosApi
from adapters.jd.auth import jos_auth
from adapters.jd.effects import JdWrites
from adapters.jd.mapping import (
    PRIVATE_WORDS,
    REFUND_FAMILY,
    SERVICE_FAMILY,
    AuditRule,
    ServiceExtras,
    freight_to_return,
    refund_application_to_case,
    service_order_to_case,
)
from adapters.jd.settings import JdSettings
from connector.adapter import AdapterSettings, Capability, CasePage, PlatformAdapter, SyncWindow
from connector.clock import Clock
from connector.effects import EffectRequest, SubmitOutcome, SubmitResult
from connector.errors import (
    ConfigError,
    InvalidRequestError,
    MalformedPayloadError,
    NotFoundError,
    UnreadablePageError,
)
from connector.facts import ALL_FACTS, Fact
from connector.models import QuarantinedCase, RefundCase, ReturnLogistics

logger = logging.getLogger(__name__)

PLATFORM = "jd"
APPS, SERVICES = "apps", "services"
OPEN_REFUND_STATUSES = frozenset({"0", "10"})  # replyRefund is legal only from these
MAX_PAGE_INDEX = 100  # queryPageList refuses pageIndex above 100
DEADLINE_FIELDS = ("auditOvertime", "receiveOvertime", "timeoutFlag")
"""What the audit and receipt lists add to a service order (``query.view`` lacks them)."""


class JdAdapter(PlatformAdapter):
    """One JD POP shop over the JOS ``/routerjson`` gateway."""

    platform: ClassVar[str] = PLATFORM
    settings_model: ClassVar[type[AdapterSettings]] = JdSettings
    image_hosts: ClassVar[frozenset[str]] = frozenset({".360buyimg.com", ".jd.com"})
    missing_capabilities: ClassVar[dict[Capability, str]] = {
        Capability.refuse_with_proof_image: (
            "JD's refusal calls (replyRefund, asc.audit.refuse) take text only: no image upload"
        ),
        Capability.message_buyer: (
            "the JOS after-sale APIs have no seller-to-customer message call; JD's customer "
            "service chat is outside them"
        ),
        Capability.write_order_memo: (
            "the after-sale APIs cannot write the order's seller remark (a separate order API "
            "category the shop's token is not granted here)"
        ),
        Capability.logistics_trace: (
            "the after-sale APIs give only the customer's return waybill (asc.freight.view), "
            "not a trace of the outbound parcel"
        ),
        Capability.buyer_contact: (
            "the connector never reads customerName/customerTel or addresses; the buyer is the "
            "pseudonymous open_id_buyer/oaid"
        ),
    }
    costly_facts: ClassVar[frozenset[Fact]] = frozenset({Fact.return_logistics})
    """The return parcel is the freight call; pictures and delivery come with the record."""

    # Everything the platform does not lack (each lack is declared above with its reason).
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability).difference(
        missing_capabilities
    )

    def __init__(self, settings: AdapterSettings, *, http: httpx.Client, clock: Clock) -> None:
        jd = _jd_settings(settings)
        super().__init__(jd, http=http, clock=clock)
        self.settings: JdSettings = jd
        secrets = (jd.app_secret.get_secret_value(), jd.access_token.get_secret_value())
        gateway = GatewayClient(
            jd.gateway_url,
            http,
            jos_auth(jd, clock),
            clock,
            secrets,
            exact_decimals=True,
            max_body_bytes=jd.max_body_bytes,
        )
        self._api = JosApi(jd, gateway)
        self._rule = AuditRule(hours=jd.refund_audit_sla_hours)
        self._families: dict[str, str] = {}
        self._writes = JdWrites(self._api, jd)

    def __repr__(self) -> str:
        return f"JdAdapter(shop_id={self.settings.shop_id!r})"

    @classmethod
    def auth_for(cls, settings: AdapterSettings) -> httpx.Auth | None:
        return jos_auth(_jd_settings(settings))

    # ---- check ---------------------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated call: the first unaudited refund application."""
        self._api.refund_page({"status": 0}, page=1, size=1)

    # ---- list ----------------------------------------------------------------------------------

    def list_cases(
        self, window: SyncWindow, page: str | None = None, *, page_size: int | None = None
    ) -> CasePage:
        """One page: refund applications first, then service orders changed in the window.

        Both families are read within bounds fixed for the pass: up to the window's end
        rounded down to a whole second, so nothing created or changed during the pass enters.

        Refund applications have no change time. Every one applied within
        ``pending_horizon_days`` before the end is read, newest application first; those still
        open (the seller's move) are always listed, the others only when applied or audited
        inside the window. An application keeps its ``applyTime`` for life, so rows never move
        under the fixed bounds and keyset paging on ``applyTime`` (``keyset_next``) is sound;
        it also gets past queryPageList's 100-page limit.

        Service orders come from ``asc.sync.list`` by update time, oldest change first. An
        order that changes leaves the fixed window (or moves to its newest end), shifting the
        offsets after it. So the pass reads page 1 (learning ``totalCount``), then the last page
        back to the first, dropping orders already listed (``unread_on_backward_page``): an
        unread order never shifts past the boundary, so a pass skips no unchanged order.
        When the refund applications end, the same page continues with the first services.

        ``page_size`` (the contract's hint) reads fewer positions, aligned to JD's pages, and
        makes the call one read (no continuing into the services). An answer that cannot be
        read is ``UnreadablePageError`` with the token past its positions
        (conformance rules page-size-hint, unreadable-page-bisected).
        """
        state = self._start(window) if page is None else self._resume(page)
        limit = min(page_size or self.settings.page_size, self.settings.page_size)
        out = CasePage(cases=[])
        if state["phase"] == APPS:
            more = self._apps_page(window, state, out, limit)
            if more is not None:
                return _with_next(out, more)
            state = _services_start(state)
            if page_size is not None:
                return _with_next(out, state)
            try:
                more = self._services_page(state, out, limit)
            except UnreadablePageError:
                return _with_next(out, state)  # the next call reads the services alone
            return _with_next(out, more)
        more = self._services_page(state, out, limit)
        return _with_next(out, more)

    def _start(self, window: SyncWindow) -> dict[str, Any]:
        end = window.end.replace(microsecond=0)
        horizon = timedelta(days=self.settings.pending_horizon_days)
        return {
            "phase": APPS,
            "start": format_local_time(window.start),
            "end": format_local_time(end),
            "lo": format_local_time(end - horizon),
            "hi": format_local_time(end),
            "offset": 0,
            "seen": {},
        }

    @staticmethod
    def _resume(token: str) -> dict[str, Any]:
        try:
            state = decode_token(token)
            for name in ("start", "end", "lo", "hi"):
                parse_local_time(state[name])
            seen = state["seen"]
            if not isinstance(seen, dict) or state["phase"] not in (APPS, SERVICES):
                raise TypeError
            if state["phase"] == APPS and not _position(state["offset"]):
                raise TypeError
            if state["phase"] == SERVICES:
                floor, top = state["floor"], state["top"]
                if (top is not None and not _position(top)) or not _position(state["learn_at"]):
                    raise TypeError
                if not isinstance(state["ordered"], bool):
                    raise TypeError
                if floor is not None and not isinstance(floor, str):
                    raise TypeError
        except (ValueError, KeyError, TypeError) as exc:
            msg = "page token was not made by this adapter"
            raise InvalidRequestError(msg, platform=PLATFORM, operation="list_cases") from exc
        return state

    def _apps_page(
        self, window: SyncWindow, state: Mapping[str, Any], out: CasePage, limit: int
    ) -> dict[str, Any] | None:
        """Adds one page of refund applications; the next state, or None when they end."""
        query = {"applyTimeStart": state["lo"], "applyTimeEnd": state["hi"]}
        read = forward_read(int(state["offset"]), limit)
        if read.page_no > MAX_PAGE_INDEX:
            raise _too_many_pages()
        try:
            body = self._api.refund_page(query, page=read.page_no, size=read.size)
        except UnreadableBodyError as exc:
            raise unreadable_page(
                exc,
                read=read,
                next_page=encode_token({**state, "offset": read.hi}),
                listing=f"{REFUND_LIST} (applied {state['lo']} to {state['hi']})",
                id_fields=("id",),
                window=f"{state['start']} to {state['end']} (GMT+8)",
            ) from exc
        items = _rows(body, "result", "queryResult")
        seen: Mapping[str, str] = state["seen"]
        stamped: list[tuple[str, str]] = []
        for item in items:
            if isinstance(item, Mapping):
                stamp, refund_id = stamped_row(item, "id", "applyTime")
                if stamp is not None:
                    stamped.append((stamp, refund_id))
                if refund_id in seen or not self._refund_in_window(item, window):
                    continue
            self._add(out, refund_application_to_case(item, **self._refund_args()), item)
        if not items or read.hi >= _total(body):
            return None
        keyset = keyset_next({**state, "page": read.page_no}, stamped, step=_step_stamp)
        moved = keyset["page"] == 1
        following = {k: v for k, v in keyset.items() if k != "page"}
        following["offset"] = 0 if moved else read.hi
        if forward_read(following["offset"], self.settings.page_size).page_no > MAX_PAGE_INDEX:
            raise _too_many_pages()
        return following

    @staticmethod
    def _refund_in_window(item: Mapping[str, Any], window: SyncWindow) -> bool:
        """Open applications always; others when applied or audited inside the window."""
        if str(item.get("status")) in OPEN_REFUND_STATUSES:
            return True
        for name in ("applyTime", "checkTime"):
            try:
                when = parse_local_time(item.get(name))
            except ValueError:
                continue
            if window.start <= when < window.end:
                return True
        # A record whose times cannot be read is listed so that it is quarantined, not lost.
        return item.get("applyTime") in (None, "") or not _parses(item.get("applyTime"))

    def _services_page(
        self, state: Mapping[str, Any], out: CasePage, limit: int
    ) -> dict[str, Any] | None:
        """Adds one page of service orders (a backward pass); the next state, or None."""
        query = {"updateTimeBegin": state["lo"], "updateTimeEnd": state["hi"]}
        read = backward_read(state, limit)
        learning = state["top"] is None
        try:
            body = self._api.service_sync(query, page=read.page_no, size=read.size)
        except UnreadableBodyError as exc:
            raise unreadable_backward_page(
                exc, state, read, listing=ASC_SYNC, id_fields=("serviceId",)
            ) from exc
        items = _rows(body, "data", "pageResult")
        stamped = [stamped_row(item, "serviceId", "updateTime", "updateDate") for item in items]
        fresh, after = unread_on_backward_page(
            state, stamped, raises_floor=not learning, newest_first=False
        )
        for item, new in zip(items, fresh, strict=True):
            if new:
                self._add(out, service_order_to_case(item, shop_id=self.settings.shop_id), item)
        total = _total(body) if learning else None
        return backward_after(after, read, total=total, page_size=self.settings.page_size)

    def _add(self, out: CasePage, parsed: RefundCase | QuarantinedCase, wire: Any) -> None:
        if isinstance(parsed, QuarantinedCase):
            logger.warning(
                "jd case quarantined",
                extra={"case_id": parsed.case_id, "problems": parsed.summary()},
            )
            out.quarantined.append(parsed)
            return
        self._families[parsed.case_id] = parsed.platform_fields["family"]
        out.cases.append(parsed)
        out.raw.append(without_private(wire, PRIVATE_WORDS) if isinstance(wire, Mapping) else {})

    def _refund_args(self) -> dict[str, Any]:
        return {"shop_id": self.settings.shop_id, "rule": self._rule}

    # ---- get -----------------------------------------------------------------------------------

    def get_case(self, case_id: str, facts: frozenset[Fact] = ALL_FACTS) -> RefundCase:
        """The current case from whichever family holds the id, with the return parcel's
        freight when asked for (``Fact.return_logistics``: one more call). The buyer's
        pictures and the delivery time come with the record, so they are always filled."""
        family = self._families.get(case_id)
        if family != SERVICE_FAMILY:
            wire = self._refund_application(case_id)
            if wire is not None:
                return self._parsed(
                    refund_application_to_case(wire, **self._refund_args()), case_id
                )
            if family == REFUND_FAMILY:
                raise NotFoundError(
                    "no such refund application", platform=PLATFORM, case_id=case_id
                )
        detail = self._service(case_id)
        extras = ServiceExtras(
            return_logistics=(
                self._return_parcel(detail, case_id) if Fact.return_logistics in facts else None
            )
        )
        parsed = service_order_to_case(detail, shop_id=self.settings.shop_id, extras=extras)
        return self._parsed(parsed, case_id)

    def _parsed(self, parsed: RefundCase | QuarantinedCase, case_id: str) -> RefundCase:
        if isinstance(parsed, QuarantinedCase):
            raise MalformedPayloadError(
                parsed.summary(), field="case", platform=PLATFORM, case_id=case_id
            )
        self._families[case_id] = parsed.platform_fields["family"]
        return parsed

    def _refund_application(self, case_id: str) -> Mapping[str, Any] | None:
        if not case_id.isdigit():
            return None
        try:
            body = self._api.refund_by_id(case_id)
        except NotFoundError:
            return None
        rows = _rows(body, "result", "queryResult")
        match = [r for r in rows if isinstance(r, Mapping) and str(r.get("id")) == case_id]
        return match[0] if match else None

    def _service(self, case_id: str) -> dict[str, Any]:
        """``query.view``, plus the step's deadline: from ``audit.list`` while it awaits audit,
        from ``receive.list`` while it awaits the goods (JD sends deadlines only there)."""
        body = self._api.service_view(case_id)
        detail = body.get("data")
        if not isinstance(detail, Mapping) or not detail:
            raise NotFoundError("no such service order", platform=PLATFORM, case_id=case_id)
        merged = dict(detail)
        status_name = str(detail.get("serviceStatusName") or "")
        if "待审核" in status_name:
            merged.update(self._deadline_row(self._api.audit_rows(case_id), case_id))
        elif "待收货" in status_name:
            merged.update(self._deadline_row(self._api.receive_rows(case_id), case_id))
        return merged

    @staticmethod
    def _deadline_row(body: Mapping[str, Any], case_id: str) -> dict[str, Any]:
        """The deadline fields of the list row naming ``case_id`` (by id or in its group)."""
        for row in _rows(body, "data", "pageResult"):
            if not isinstance(row, Mapping):
                continue
            ids = [str(i) for i in row.get("serviceIdList") or []]
            if case_id in ids or str(row.get("serviceId")) == case_id:
                return {k: row[k] for k in DEADLINE_FIELDS if k in row}
        return {}

    def _return_parcel(self, detail: Mapping[str, Any], case_id: str) -> ReturnLogistics | None:
        if not detail.get("expressCode"):
            return None  # the customer has not shipped anything back
        try:
            body = self._api.service_freight(case_id, str(detail.get("orderId") or "") or None)
        except NotFoundError:
            return None
        freight = body.get("data")
        return freight_to_return(freight) if isinstance(freight, Mapping) else None

    # ---- submit --------------------------------------------------------------------------------

    def submit(self, effect: EffectRequest) -> SubmitResult:
        """One audit action with the decided version; ``already_done`` when JD says so."""
        self.require(effect)
        if effect.platform != self.platform or effect.shop_id != self.settings.shop_id:
            msg = f"effect for {effect.platform}/{effect.shop_id} sent to this shop's adapter"
            raise InvalidRequestError(msg, platform=PLATFORM, case_id=effect.case_id)
        current = self.get_case(effect.case_id)
        try:
            new_version = self._writes.perform(effect, current)
        except AlreadyInTargetState as done:
            return SubmitResult(
                outcome=SubmitOutcome.already_done,
                platform_code=done.fault.sub_code or done.fault.code or None,
                detail=done.fault.text,
            )
        return SubmitResult(outcome=SubmitOutcome.applied, new_version=new_version)


def _jd_settings(settings: AdapterSettings) -> JdSettings:
    if not isinstance(settings, JdSettings):
        msg = f"expected JdSettings, got {type(settings).__name__}"
        raise ConfigError(msg, field="settings")
    return settings


def _with_next(page: CasePage, state: Mapping[str, Any] | None) -> CasePage:
    token = None if state is None else encode_token(state)
    return CasePage(page.cases, page.quarantined, token, page.raw)


def _services_start(apps_state: Mapping[str, Any]) -> dict[str, Any]:
    """A backward pass over ``asc.sync.list`` within the pass's fixed bounds."""
    return {
        "phase": SERVICES,
        "start": apps_state["start"],
        "end": apps_state["end"],
        "lo": apps_state["start"],
        "hi": apps_state["end"],
        "top": None,
        "learn_at": 0,
        "seen": {},
        "floor": None,
        "ordered": True,
    }


def _position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _too_many_pages() -> InvalidRequestError:
    msg = (
        f"more than {MAX_PAGE_INDEX} pages of refund applications share one applyTime "
        "second, and queryPageList pages no further: raise page_size"
    )
    return InvalidRequestError(msg, platform=PLATFORM, operation="list_cases")


def _parses(value: Any) -> bool:
    try:
        parse_local_time(value)
    except ValueError:
        return False
    return True


def _step_stamp(stamp: str, seconds: int) -> str:
    return format_local_time(parse_local_time(stamp) + timedelta(seconds=seconds))


def _rows(body: Mapping[str, Any], key: str, where: str) -> list[Any]:
    rows = body.get(key)
    if rows is None:
        return []
    if isinstance(rows, Mapping):
        return [rows]
    if not isinstance(rows, list):
        msg = f"expected a list, got {type(rows).__name__}"
        raise MalformedPayloadError(msg, field=f"{where}.{key}", platform=PLATFORM)
    return rows


def _total(body: Mapping[str, Any]) -> int:
    try:
        return int(str(body.get("totalCount", 0)))
    except ValueError as exc:
        msg = f"must be a whole number (got {body.get('totalCount')!r})"
        raise MalformedPayloadError(msg, field="totalCount", platform=PLATFORM) from exc
