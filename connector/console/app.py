"""The web console: server-rendered pages over the same review API as ``queue`` on the CLI.

Every page needs a signed-in account (a GET without one is sent to the login page, anything
else is refused); every POST must carry the session's CSRF token; roles gate pages (a reviewer
gets 403 on the account pages). Every action is audited as ``human:<name>`` with
``"via": "console"``. Buyer contact details are never stored or rendered, except once, to a role
allowed to reveal them, in the response to the audited reveal itself.
"""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.clock import BEIJING, Clock
from connector.console import auth
from connector.console.accounts import AccountError, add_account, authenticate
from connector.console.i18n import (
    DEFAULT_LANG,
    Lang,
    beijing,
    label,
    pick_lang,
    text,
    time_left,
    yuan,
)
from connector.console.stats import Period, reason_chart, sku_chart, to_csv
from connector.errors import ConnectorError
from connector.messages import MessageTemplates
from connector.policy.decision import TraceStep, action_zh
from connector.privacy import mask_phone_numbers
from connector.review import (
    EVIDENCE_MAX_BYTES,
    CaseChangedError,
    QueueItem,
    ReviewAction,
    Reviewer,
    claim,
    decide_by_person,
    review_queue,
)
from connector.store import CaseKey, CaseRecord, ConsoleRole, ConsoleSessionRecord, Store
from connector.store import ConsoleUserRecord as User

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
RevealHook = Callable[[CaseKey], Mapping[str, Any]]
"""Fetches a case's buyer contact live from the platform; the result is shown once, never kept."""

VIA = {"via": "console"}
_TRACE = TypeAdapter[Any](TraceStep)
_CSP = (
    "default-src 'self'; img-src 'self' data: http: https:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console runs on: the daemon's store and clock, and the optional reveal hook."""

    store: Store
    clock: Clock
    reveal: RevealHook | None = None
    reveal_roles: frozenset[ConsoleRole] = auth.REVEAL_ROLES
    session_ttl: timedelta = auth.SESSION_TTL
    templates: MessageTemplates | None = None
    secure_cookies: bool = False


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _lang_of(request: Request) -> Lang:
    return (
        pick_lang(request.query_params.get("lang"))
        or pick_lang(request.cookies.get(auth.LANG_COOKIE))
        or DEFAULT_LANG
    )


def _render(
    request: Request,
    lang: Lang,
    name: str,
    *,
    user: User | None = None,
    csrf: str = "",
    status: int = 200,
    now: datetime,
    **context: Any,
) -> HTMLResponse:
    def t(key: str, **values: object) -> str:
        return text(lang, key, **values)

    def lbl(group: str, value: object) -> str:
        return label(lang, group, value)

    def switch(to: Lang) -> str:
        query = dict(request.query_params)
        query["lang"] = to
        return f"{request.url.path}?{urlencode(query)}"

    html = _env.get_template(name).render(
        t=t,
        L=lbl,
        lang=lang,
        user=user,
        csrf=csrf,
        bj=beijing,
        yuan=yuan,
        left=lambda seconds: time_left(lang, seconds),
        switch=switch,
        now_ms=int(now.timestamp() * 1000),
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(auth.LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


@dataclass
class Page:
    """One signed-in request: who, in which language, with the POST form already checked."""

    request: Request
    config: ConsoleConfig
    session: ConsoleSessionRecord
    user: User
    lang: Lang
    form: FormData | None = None
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.config.store

    def now(self) -> datetime:
        return self.config.clock.now()

    @property
    def actor(self) -> str:
        return f"human:{self.user.name}"

    def field(self, name: str) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return _render(
            self.request,
            self.lang,
            name,
            user=self.user,
            csrf=self.session.csrf_token,
            status=status,
            now=self.now(),
            **context,
        )

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, message=message)

    def reviewer(self) -> Reviewer:
        return Reviewer(name=self.user.name, os_user=_os_user(), via="console")

    def audit(self, event: str, *, key: CaseKey | None = None, **details: Any) -> None:
        with self.store.unit_of_work():
            self.store.append_audit(event, actor=self.actor, key=key, details={**details, **VIA})


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


Handler = Callable[[Page], Response]


def _error(request: Request, config: ConsoleConfig, status: int, key: str) -> HTMLResponse:
    lang = _lang_of(request)
    return _render(
        request, lang, "error.html", status=status, now=config.clock.now(),
        message=text(lang, key),
    )


async def _read_form(request: Request) -> tuple[FormData, dict[str, tuple[str, bytes]]]:
    form = await request.form(max_files=2, max_fields=500, max_part_size=EVIDENCE_MAX_BYTES * 2)
    files: dict[str, tuple[str, bytes]] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read(EVIDENCE_MAX_BYTES + 1)
            if data:
                files[name] = (value.filename or "", data)
    return form, files


def page(roles: Iterable[ConsoleRole] = auth.ALL_ROLES) -> Callable[[Handler], Any]:
    """Wrap a sync handler: session, role and CSRF checks first, then the handler in a thread."""
    allowed = frozenset(roles)

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            config: ConsoleConfig = request.app.state.console
            found = await run_in_threadpool(
                auth.session_user,
                config.store,
                request.cookies.get(auth.SESSION_COOKIE),
                config.clock.now(),
            )
            if found is None:
                if request.method == "GET":
                    target = request.url.path
                    if request.url.query:
                        target += "?" + request.url.query
                    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
                return _error(request, config, 403, "session_needed")
            session, user = found
            if user.role not in allowed:
                return _error(request, config, 403, "forbidden")
            current = Page(request, config, session, user, _lang_of(request))
            if request.method == "POST":
                current.form, current.files = await _read_form(request)
                given = current.form.get("csrf")
                if not auth.tokens_match(given if isinstance(given, str) else None,
                                         session.csrf_token):
                    log.warning("console post refused: bad CSRF token",
                                extra={"path": request.url.path, "account": user.name})
                    return _error(request, config, 403, "csrf_failed")
            return await run_in_threadpool(handler, current)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


# login / logout ---------------------------------------------------------------------------------
def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/queue"


async def login_form(request: Request) -> Response:
    config: ConsoleConfig = request.app.state.console
    token = request.cookies.get(auth.LOGIN_CSRF_COOKIE) or auth.new_token()
    response = _render(
        request, _lang_of(request), "login.html", now=config.clock.now(), csrf=token,
        next=_safe_next(request.query_params.get("next")), failed=False,
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
        secure=config.secure_cookies, path="/login",
    )
    return response


async def login_submit(request: Request) -> Response:
    config: ConsoleConfig = request.app.state.console
    lang = _lang_of(request)
    form = await request.form(max_files=0, max_fields=10)
    given = form.get("csrf")
    if not auth.tokens_match(
        given if isinstance(given, str) else None, request.cookies.get(auth.LOGIN_CSRF_COOKIE)
    ):
        return _error(request, config, 403, "csrf_failed")
    name = str(form.get("account") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    user = await run_in_threadpool(authenticate, config.store, name, password)
    if user is None:
        log.info("console login failed")
        return _render(
            request, lang, "login.html", now=config.clock.now(), csrf=str(given),
            next=target, failed=True, status=401,
        )

    def _start() -> str:
        with config.store.unit_of_work():
            token, _ = auth.start_session(config.store, user, config.clock.now(),
                                         config.session_ttl)
            config.store.append_audit("console_login", actor=f"human:{user.name}", details=VIA)
        return token

    token = await run_in_threadpool(_start)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE, token, max_age=int(config.session_ttl.total_seconds()),
        httponly=True, samesite="lax", secure=config.secure_cookies,
    )
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@page()
def logout(p: Page) -> Response:
    with p.store.unit_of_work():
        p.store.delete_console_session(p.session.token_hash)
        p.store.append_audit("console_logout", actor=p.actor, details=VIA)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE)
    return response


# queue ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueRow:
    item: QueueItem
    why: str
    urgency: str
    guard_lead_s: int
    deadline_ms: int | None

    @property
    def record(self) -> CaseRecord:
        return self.item.record

    @property
    def ref(self) -> str:
        r = self.item.record
        return "|".join((r.platform, r.shop_id, r.case_id, r.version or ""))


def _guard_lead(record: CaseRecord) -> int:
    if record.deadline_at is None or record.guard_at is None:
        return 3600
    return max(int((record.deadline_at - record.guard_at).total_seconds()), 1)


def urgency(seconds_left: float | None, guard_lead_s: int) -> str:
    """``red`` once the deadline guard's window is reached, ``amber`` within twice that."""
    if seconds_left is None:
        return ""
    if seconds_left <= guard_lead_s:
        return "red"
    return "amber" if seconds_left <= 2 * guard_lead_s else ""


def _why(store: Store, item: QueueItem, lang: Lang) -> str:
    if lang == "en":
        return item.reason
    decision = store.latest_decision(item.key)
    if decision is None:
        return "尚未决定"
    for step in decision.trace:
        if isinstance(step, dict) and step.get("kind") == "note":
            return str(step.get("text_zh") or step.get("text_en", ""))[:160]
        if isinstance(step, dict) and step.get("kind") == "quarantine":
            return "数据校验失败：" + "；".join(step.get("problems", []))[:140]
    try:
        action = action_zh(decision.action)
    except ValueError:
        action = decision.action
    escalated = "（已升级提醒）" if decision.params.get("escalated") else ""
    return f"规则 {decision.rule_id}：{action}{escalated}"


@page()
def queue_page(p: Page) -> Response:
    items = review_queue(p.store, p.now())
    rows = []
    for item in items:
        lead = _guard_lead(item.record)
        deadline = item.record.deadline_at
        rows.append(
            QueueRow(
                item=item,
                why=_why(p.store, item, p.lang),
                urgency=urgency(item.seconds_left, lead),
                guard_lead_s=lead,
                deadline_ms=None if deadline is None else int(deadline.timestamp() * 1000),
            )
        )
    return p.render("queue.html", rows=rows, actions=list(ReviewAction))


@dataclass(frozen=True)
class BatchResult:
    case_id: str
    link: str
    outcome: str
    message: str


def _case_link(platform: str, shop_id: str, case_id: str) -> str:
    return "/cases/" + "/".join(quote(part, safe="") for part in (platform, shop_id, case_id))


@page()
def queue_decide(p: Page) -> Response:
    assert p.form is not None
    refs = [str(v) for v in p.form.getlist("case")]
    if not refs:
        return p.error(400, text(p.lang, "batch_none"))
    try:
        action = ReviewAction(p.field("action"))
    except ValueError:
        return p.error(400, f"action {p.field('action')!r}?")
    reason = p.field("reason")
    results = []
    for ref in refs:
        parts = ref.split("|")
        if len(parts) != 4:
            return p.error(400, f"bad case reference {ref!r}")
        platform, shop_id, case_id, seen = parts
        results.append(
            _decide_one(p, (platform, shop_id, case_id), action, reason, seen or None, None, None)
        )
    return p.render("results.html", results=results, action=action)


def _decide_one(
    p: Page,
    key: CaseKey,
    action: ReviewAction,
    reason: str,
    seen: str | None,
    amount: int | None,
    evidence: bytes | None,
) -> BatchResult:
    link = _case_link(*key)
    record = p.store.get_case(key)
    if record is None:
        return BatchResult(key[2], link, "refused", text(p.lang, "not_found"))
    try:
        decision_id = decide_by_person(
            p.store, record, action, reviewer=p.reviewer(), reason=reason, now=p.now(),
            amount=amount, evidence=evidence, seen_version=seen, templates=p.config.templates,
        )
    except CaseChangedError as exc:
        new = exc.record
        message = (
            f"{text(p.lang, 'result_changed')}: {seen} → {new.version}, "
            f"{label(p.lang, 'status', new.case.status)}, "
            f"{label(p.lang, 'reason', new.case.reason)}, {yuan(new.case.refund_amount)}"
        )
        return BatchResult(key[2], link, "changed", message)
    except ConnectorError as exc:
        return BatchResult(key[2], link, "refused", f"{text(p.lang, 'result_refused')}: {exc}")
    return BatchResult(key[2], link, "ok", text(p.lang, "result_ok", id=decision_id))


# case page --------------------------------------------------------------------------------------
def _trace_lines(trace: list[Any], lang: Lang) -> list[str]:
    lines = []
    for step in trace:
        if not isinstance(step, dict):
            lines.append(str(step))
            continue
        try:
            parsed = _TRACE.validate_python(step)
        except ValidationError:
            lines.append(str(step.get("text_en") or json.dumps(step, ensure_ascii=False)))
            continue
        lines.append(parsed.zh() if lang == "zh" else parsed.en())
    return lines


def _details_text(details: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in details.items() if k not in {"trace", "params"}}
    body = json.dumps(shown, ensure_ascii=False, sort_keys=True, default=str)
    return body if len(body) <= 400 else body[:400] + "…"


def _key_of(request: Request) -> CaseKey:
    params = request.path_params
    return (str(params["platform"]), str(params["shop_id"]), str(params["case_id"]))


def _case_page(
    p: Page,
    key: CaseKey,
    *,
    status: int = 200,
    changed: CaseChangedError | None = None,
    error: str = "",
    revealed: Mapping[str, Any] | None = None,
    reveal_message: str = "",
) -> Response:
    record = p.store.get_case(key)
    if record is None:
        return p.error(404, text(p.lang, "not_found"))
    decision = p.store.latest_decision(key)
    audit = [
        e
        for e in p.store.audit_entries(case_id=record.case_id)
        if (e.platform, e.shop_id) == (record.platform, record.shop_id)
    ]
    now = p.now()
    left = None if record.deadline_at is None else (record.deadline_at - now).total_seconds()
    decided = p.request.query_params.get("decided", "")
    response = p.render(
        "case.html",
        status=status,
        r=record,
        c=record.case,
        reason_text=mask_phone_numbers(record.case.reason_text),
        seconds_left=left,
        urgency=urgency(left, _guard_lead(record)),
        guard_lead_s=_guard_lead(record),
        deadline_ms=None if record.deadline_at is None else int(
            record.deadline_at.timestamp() * 1000
        ),
        decision=decision,
        trace=_trace_lines(decision.trace, p.lang) if decision else [],
        audit=[(e, beijing(e.at_datetime, seconds=True), _details_text(e.details)) for e in audit],
        actions=list(ReviewAction),
        link=_case_link(*key),
        changed=changed,
        error=error,
        decided=decided if decided.isdigit() else "",
        can_reveal=p.user.role in p.config.reveal_roles,
        revealed=revealed,
        reveal_message=reveal_message,
        claimed_now=p.request.query_params.get("claimed") == "1",
    )
    if revealed is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@page()
def case_page(p: Page) -> Response:
    return _case_page(p, _key_of(p.request))


@page()
def case_claim(p: Page) -> Response:
    key = _key_of(p.request)
    record = p.store.get_case(key)
    if record is None:
        return p.error(404, text(p.lang, "not_found"))
    try:
        with p.store.unit_of_work():
            claim(p.store, record, p.reviewer(), p.now())
            p.store.append_audit(
                "case_claimed", actor=p.actor, key=key,
                details={"seen_version": record.version, **VIA},
            )
    except ConnectorError as exc:
        return _case_page(p, key, status=409, error=str(exc))
    return RedirectResponse(_case_link(*key) + "?claimed=1", status_code=303)


@page()
def case_decide(p: Page) -> Response:
    key = _key_of(p.request)
    try:
        action = ReviewAction(p.field("action"))
    except ValueError:
        return _case_page(p, key, status=400, error=f"action {p.field('action')!r}?")
    amount_text = p.field("amount")
    if amount_text and not amount_text.isdigit():
        return _case_page(p, key, status=400, error=f"amount {amount_text!r}: whole fen")
    amount = int(amount_text) if amount_text else None
    evidence = p.files.get("evidence", ("", b""))[1] or None
    record = p.store.get_case(key)
    if record is None:
        return p.error(404, text(p.lang, "not_found"))
    try:
        decision_id = decide_by_person(
            p.store, record, action, reviewer=p.reviewer(), reason=p.field("reason"),
            now=p.now(), amount=amount, evidence=evidence,
            seen_version=p.field("seen_version") or None, templates=p.config.templates,
        )
    except CaseChangedError as exc:
        return _case_page(p, key, status=409, changed=exc)
    except ConnectorError as exc:
        return _case_page(p, key, status=400, error=str(exc))
    return RedirectResponse(f"{_case_link(*key)}?decided={decision_id}", status_code=303)


@page()
def case_reveal(p: Page) -> Response:
    key = _key_of(p.request)
    if p.user.role not in p.config.reveal_roles:
        return p.error(403, text(p.lang, "forbidden"))
    if p.store.get_case(key) is None:
        return p.error(404, text(p.lang, "not_found"))
    if p.config.reveal is None:
        return _case_page(p, key, reveal_message=text(p.lang, "reveal_unavailable"))
    try:
        details = dict(p.config.reveal(key))
    except ConnectorError as exc:
        return _case_page(p, key, reveal_message=text(p.lang, "reveal_failed", error=exc))
    p.audit("contact_revealed", key=key)
    return _case_page(p, key, revealed=details)


# audit search -----------------------------------------------------------------------------------
def parse_beijing(value: str, *, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` (a whole day; as an end, the day's end) or ``YYYY-MM-DDTHH:MM``."""
    if "T" in value or " " in value:
        return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=BEIJING)
    day = date.fromisoformat(value)
    start = datetime.combine(day, time(0), tzinfo=BEIJING)
    return start + timedelta(days=1) if end else start


@page()
def audit_page(p: Page) -> Response:
    q = p.request.query_params
    fields = {k: q.get(k, "").strip() for k in ("case", "order", "shop", "event", "rule",
                                                 "from", "to")}
    error = ""
    entries = []
    searched = any(fields.values())
    try:
        since = parse_beijing(fields["from"]) if fields["from"] else None
        until = parse_beijing(fields["to"], end=True) if fields["to"] else None
    except ValueError:
        error = text(p.lang, "bad_time", value=f"{fields['from']} / {fields['to']}")
        since = until = None
    if not error:
        entries = p.store.search_audit(
            case_id=fields["case"] or None,
            order_id=fields["order"] or None,
            shop_id=fields["shop"] or None,
            event=fields["event"] or None,
            rule_id=fields["rule"] or None,
            since=since,
            until=until,
            limit=500,
        )
    rows = [
        (
            e,
            beijing(e.at_datetime, seconds=True),
            _details_text(e.details),
            _case_link(e.platform, e.shop_id, e.case_id)
            if e.platform and e.shop_id and e.case_id
            else "",
        )
        for e in entries
    ]
    return p.render("audit.html", f=fields, rows=rows, error=error, searched=searched)


# statistics -------------------------------------------------------------------------------------
def _period(p: Page) -> Period:
    q = p.request.query_params
    today = p.now().astimezone(BEIJING).date()
    return Period.parse(q.get("from") or None, q.get("to") or None, today)


@page()
def stats_page(p: Page) -> Response:
    try:
        period = _period(p)
    except ValueError as exc:
        return p.error(400, str(exc))
    counts = p.store.refund_reason_counts(period.since, period.until)
    return p.render(
        "stats.html",
        period=period,
        counts=counts,
        total=sum(c.cases for c in counts),
        by_reason=reason_chart(counts, p.lang),
        by_sku=sku_chart(counts, p.lang),
        csv_link="/stats.csv?" + urlencode(
            {"from": period.first.isoformat(), "to": period.last.isoformat(), "lang": p.lang}
        ),
    )


@page()
def stats_csv(p: Page) -> Response:
    try:
        period = _period(p)
    except ValueError as exc:
        return p.error(400, str(exc))
    counts = p.store.refund_reason_counts(period.since, period.until)
    p.audit("report_exported", report="refund_reasons", first_day=period.first.isoformat(),
            last_day=period.last.isoformat(), rows=len(counts))
    name = f"refund-reasons-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        to_csv(counts, period, p.lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# accounts ---------------------------------------------------------------------------------------
@page(roles={ConsoleRole.admin})
def users_page(p: Page) -> Response:
    added = p.request.query_params.get("added", "")
    return p.render("admin.html", users=p.store.list_console_users(), roles=list(ConsoleRole),
                    added=added, error="")


@page(roles={ConsoleRole.admin})
def users_add(p: Page) -> Response:
    name = p.field("account")
    try:
        add_account(
            p.store, name, p.field("role"), str(p.form.get("password") or "") if p.form else "",
            actor=p.actor, via="console",
        )
    except (AccountError, ConnectorError) as exc:
        return p.render("admin.html", status=400, users=p.store.list_console_users(),
                        roles=list(ConsoleRole), added="", error=str(exc))
    return RedirectResponse(f"/admin/users?added={quote(name)}", status_code=303)


async def home(request: Request) -> Response:
    return RedirectResponse("/queue", status_code=303)


class SecurityHeaders:
    """No framing, scripts and styles from the console itself only, no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": _CSP.encode(),
                    b"x-frame-options": b"DENY",
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_console_app(
    store: Store,
    *,
    clock: Clock,
    reveal: RevealHook | None = None,
    reveal_roles: Iterable[ConsoleRole] = auth.REVEAL_ROLES,
    session_ttl: timedelta = auth.SESSION_TTL,
    templates: MessageTemplates | None = None,
    secure_cookies: bool = False,
) -> Starlette:
    """The console as an ASGI app over ``store`` (shared with the daemon; it is thread-safe)."""
    from connector.console.safety import routes as safety_routes  # issue 20

    case = "/cases/{platform}/{shop_id}/{case_id}"
    routes = [
        *safety_routes(),
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/queue", queue_page, methods=["GET"]),
        Route("/queue/decide", queue_decide, methods=["POST"]),
        Route(case, case_page, methods=["GET"]),
        Route(case + "/claim", case_claim, methods=["POST"]),
        Route(case + "/decide", case_decide, methods=["POST"]),
        Route(case + "/reveal", case_reveal, methods=["POST"]),
        Route("/audit", audit_page, methods=["GET"]),
        Route("/stats", stats_page, methods=["GET"]),
        Route("/stats.csv", stats_csv, methods=["GET"]),
        Route("/admin/users", users_page, methods=["GET"]),
        Route("/admin/users", users_add, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.console = ConsoleConfig(
        store=store,
        clock=clock,
        reveal=reveal,
        reveal_roles=frozenset(reveal_roles),
        session_ttl=session_ttl,
        templates=templates,
        secure_cookies=secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    return app
