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
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from pydantic import TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from connector import audit_events, formatting
from connector.audit_render import rule_title, trace_lines
from connector.clock import BEIJING, Clock
from connector.console import auth, evidence_images, login_guard
from connector.console.accounts import (
    AccountError,
    add_account,
    authenticate,
    change_role,
    end_sessions,
    reset_password,
    set_disabled,
)
from connector.console.i18n import (
    DEFAULT_LANG,
    LABELS,
    Lang,
    beijing,
    error_text,
    label,
    pick_lang,
    platform_words,
    text,
    time_left,
    why_not,
    yuan,
)
from connector.console.stats import Period, reason_chart, sku_chart, to_csv
from connector.effects import EffectStatus
from connector.errors import ConnectorError
from connector.formatting import AmountError, amount_in_words_zh, parse_yuan
from connector.messages import MessageTemplates
from connector.policy.decision import RuleMatched, TraceStep
from connector.privacy import mask_phone_numbers
from connector.review import (
    ACTION_EFFECT,
    EVIDENCE_MAX_BYTES,
    CaseChangedError,
    NotDecidableError,
    PlatformLimitError,
    PreparedDecision,
    QueueItem,
    ReviewAction,
    Reviewer,
    approve_second,
    check_decidable,
    claim,
    complete_task_with_code,
    decide_by_person,
    decline_second,
    image_required,
    needs_second_approval,
    offered_actions,
    prepare_decision,
    refundable_fen,
    request_second_approval,
    review_queue,
    suggested_amount,
)
from connector.store import (
    CaseKey,
    CaseRecord,
    ConsoleRole,
    ConsoleSessionRecord,
    DecisionRecord,
    Store,
)
from connector.store import ConsoleUserRecord as User

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
RevealHook = Callable[[Store, CaseKey, Reviewer], Mapping[str, Any]]
"""Fetches a case's buyer contact live from the platform and audits the reveal (as
``connector.reveal.reveal_contact`` does); the result is shown once, never kept."""

VIA = {"via": "console"}
_TRACE = TypeAdapter[Any](TraceStep)
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


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
    login_tokens: login_guard.LoginTokens = field(default_factory=login_guard.LoginTokens)
    login_throttle: login_guard.LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "login_throttle", login_guard.LoginThrottle(self.store))
    approval_limits: Mapping[ConsoleRole, int] = field(default_factory=dict)
    """Fen a role may approve alone (a role not named: no limit)."""
    image_hosts: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per platform, the hosts its adapter declares for evidence images."""
    capabilities: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Per platform, what its adapter can do (a platform not named: not known here)."""
    fetch_image: evidence_images.Fetch = evidence_images.http_fetch


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
        when=lambda value: formatting.person_time(value, english=lang == "en"),
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
    form = await request.form(max_files=101, max_fields=500, max_part_size=EVIDENCE_MAX_BYTES * 2)
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
                lang = _lang_of(request)
                return _render(request, lang, "error.html", status=403, user=user,
                               csrf=session.csrf_token, now=config.clock.now(),
                               message=text(lang, "forbidden"))
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


def client_ip(request: Request) -> str:
    """The caller's address (behind a trusted proxy, uvicorn's proxy-headers middleware has
    already put the forwarded address here)."""
    return request.client.host if request.client else "unknown"


async def login_form(request: Request) -> Response:
    config: ConsoleConfig = request.app.state.console
    now = config.clock.now()
    token = config.login_tokens.issue(now)
    response = _render(
        request, _lang_of(request), "login.html", now=now, csrf=token,
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
    token = given if isinstance(given, str) else None
    now = config.clock.now()
    if not (
        auth.tokens_match(token, request.cookies.get(auth.LOGIN_CSRF_COOKIE))
        and config.login_tokens.valid(token, now)
    ):
        return _error(request, config, 403, "csrf_failed")
    name = str(form.get("account") or "").strip()[:64]
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    address = client_ip(request)
    throttle = config.login_throttle
    wait = await run_in_threadpool(throttle.wait_seconds, now, name, address)
    if wait > 0:
        await run_in_threadpool(partial(throttle.failed, now, name, address, why="throttled",
                                        wait_s=wait))
        response = _render(
            request, lang, "login.html", now=now, csrf=config.login_tokens.issue(now),
            next=target, failed=False, status=429,
            throttled=text(lang, "login_throttled", seconds=max(int(wait + 0.999), 1)),
        )
        response.headers["Retry-After"] = str(max(int(wait + 0.999), 1))
        return response
    user = await login_guard.in_hash_pool(authenticate, config.store, name, password)
    if user is None:
        log.info("console login failed")
        await run_in_threadpool(partial(throttle.failed, now, name, address,
                                        why="wrong_account_or_password"))
        return _render(
            request, lang, "login.html", now=now, csrf=str(given),
            next=target, failed=True, status=401,
        )

    def _start() -> str:
        with config.store.unit_of_work():
            token, _ = auth.start_session(config.store, user, config.clock.now(),
                                         config.session_ttl)
            audit_events.console_login(config.store, actor=f"human:{user.name}",
                                       client_ip=address, **VIA)
        return token

    token = await run_in_threadpool(_start)
    signed_in = RedirectResponse(target, status_code=303)
    signed_in.set_cookie(
        auth.SESSION_COOKIE, token, max_age=int(config.session_ttl.total_seconds()),
        httponly=True, samesite="lax", secure=config.secure_cookies,
    )
    signed_in.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return signed_in


@page()
def logout(p: Page) -> Response:
    with p.store.unit_of_work():
        p.store.delete_console_session(p.session.token_hash)
        audit_events.console_logout(p.store, actor=p.actor, **VIA)
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


def last_refusal(
    store: Store, record: CaseRecord, decision: DecisionRecord | None = None
) -> tuple[str, str] | None:
    """(action, the platform's words) when the platform refused this case's latest decision."""
    decision = decision or store.latest_decision(record.key)
    if decision is None:
        return None
    for effect in reversed(store.effects_of_case(record.key)):
        if effect.decision_id == decision.id and effect.status is EffectStatus.failed:
            return decision.action, effect.last_error or effect.last_platform_code or "?"
    return None


def _action_label(lang: Lang, action: str) -> str:
    return label(lang, "review_action", action.replace("_", "-"))


def _why(store: Store, item: QueueItem, lang: Lang) -> str:
    """Why the case waits for a person, in the page's language, with one rule numbering."""
    decision = store.latest_decision(item.key)
    refused = None if decision is None else last_refusal(store, item.record, decision)
    if refused is not None and "sms" in refused[1].lower():
        return text(lang, "sms_waiting", words=platform_words(lang, refused[1]))[:240]
    if refused is not None:
        return text(lang, "platform_refused_top", action=_action_label(lang, refused[0]),
                    words=platform_words(lang, refused[1]))[:240]
    zh = lang == "zh"
    if decision is None:
        return "尚未决定" if zh else "not decided yet"
    for step in decision.trace:
        if isinstance(step, dict) and step.get("kind") == "note":
            return str((step.get("text_zh") if zh else None) or step.get("text_en", ""))[:160]
        if isinstance(step, dict) and step.get("kind") == "quarantine":
            problems = "；".join(step.get("problems", [])) if zh else "; ".join(
                step.get("problems", []))
            return (("数据校验失败：" if zh else "payload failed validation: ") + problems)[:160]
    action = label(lang, "decision_action", decision.action)
    escalated = ""
    if decision.params.get("escalated"):
        escalated = "（已升级提醒）" if zh else " (escalated)"
    return f"{decision_title(decision, lang)} → {action}{escalated}"


PAGE_SIZE = 50
BANDS = ("overdue", "red", "amber", "later")


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters, read from the query string (every one optional)."""

    shop: str = ""
    platform: str = ""
    reason: str = ""
    min_yuan: str = ""
    max_yuan: str = ""
    band: str = ""
    who: str = ""
    q: str = ""

    @classmethod
    def of(cls, request: Request) -> QueueFilters:
        q = request.query_params
        return cls(**{name: q.get(name, "").strip() for name in cls.__dataclass_fields__})

    def as_query(self, **extra: object) -> str:
        values = {k: v for k, v in self.__dict__.items() if v}
        values.update({k: str(v) for k, v in extra.items()})
        return urlencode(values)

    def bounds(self) -> tuple[int | None, int | None]:
        return (parse_yuan(self.min_yuan) if self.min_yuan else None,
                parse_yuan(self.max_yuan) if self.max_yuan else None)


def _band(row: QueueRow) -> str:
    left = row.item.seconds_left
    if left is None:
        return "later"
    if left < 0:
        return "overdue"
    return row.urgency or "later"


def _mine(record: CaseRecord, me: str, now: datetime) -> bool:
    claimed = record.claimed_by == me and (
        record.claim_expires_at is None or record.claim_expires_at > now
    )
    return record.assigned_to == me or claimed


def _unclaimed(record: CaseRecord, now: datetime) -> bool:
    live_claim = record.claimed_by is not None and (
        record.claim_expires_at is None or record.claim_expires_at > now
    )
    return record.assigned_to is None and not live_claim


def _queue_rows(p: Page, f: QueueFilters, items: list[QueueItem]) -> list[QueueRow]:
    low, high = f.bounds()
    now = p.now()
    term = f.q.lower()
    rows = []
    for item in items:
        r = item.record
        if (f.shop and r.shop_id != f.shop) or (f.platform and r.platform != f.platform):
            continue
        if f.reason and r.case.reason.value != f.reason:
            continue
        if (low is not None and r.case.refund_amount < low) or (
            high is not None and r.case.refund_amount > high
        ):
            continue
        if f.who == "mine" and not _mine(r, p.user.name, now):
            continue
        if f.who == "unclaimed" and not _unclaimed(r, now):
            continue
        if term and term not in r.case_id.lower() and term not in r.order_id.lower():
            continue
        lead = _guard_lead(r)
        deadline = r.deadline_at
        row = QueueRow(
            item=item,
            why=_why(p.store, item, p.lang),
            urgency=urgency(item.seconds_left, lead),
            guard_lead_s=lead,
            deadline_ms=None if deadline is None else int(deadline.timestamp() * 1000),
        )
        if f.band and _band(row) != f.band:
            continue
        rows.append(row)
    return rows


@page()
def queue_page(p: Page) -> Response:
    f = QueueFilters.of(p.request)
    everything = review_queue(p.store, p.now())
    try:
        rows = _queue_rows(p, f, everything)
        error = ""
    except AmountError:
        rows, error = [], text(p.lang, "bad_amount", value=f"{f.min_yuan} / {f.max_yuan}")
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    try:
        number = min(max(int(p.request.query_params.get("page", "1")), 1), pages)
    except ValueError:
        number = 1
    elsewhere: list[CaseRecord] = []
    if f.q and not rows:
        elsewhere = [r for r in p.store.find_cases(f.q) if r.state.value != "queued_for_human"]
    return p.render(
        "queue.html",
        rows=rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
        total=len(rows),
        page_no=number,
        pages=pages,
        f=f,
        error=error,
        elsewhere=elsewhere,
        shops=sorted({i.record.shop_id for i in everything}),
        platforms=sorted({i.record.platform for i in everything}),
        reasons=sorted({i.record.case.reason.value for i in everything}),
        bands=BANDS,
        actions=list(ReviewAction),
        colleagues=[u.name for u in p.store.list_console_users() if not u.disabled],
        link=_case_link,
    )


@page()
def queue_assign(p: Page) -> Response:
    """Assign the selected cases to a colleague (or to me, or to nobody); audited."""
    assert p.form is not None
    refs = [str(v) for v in p.form.getlist("case")]
    if not refs:
        return p.error(400, text(p.lang, "batch_none"))
    who = p.field("assignee")
    assignee = p.user.name if who == "me" else (who or None)
    if assignee is not None:
        user = p.store.get_console_user(assignee)
        if user is None or user.disabled:
            return p.error(400, text(p.lang, "no_such_colleague", name=assignee))
    with p.store.unit_of_work():
        for ref in refs:
            parts = ref.split("|")
            if len(parts) != 4:
                return p.error(400, f"bad case reference {ref!r}")
            p.store.assign_case((parts[0], parts[1], parts[2]), assignee, actor=p.actor)
    back = p.field("back")
    return RedirectResponse(back if back.startswith("/queue") else "/queue", status_code=303)


@page()
def queue_next(p: Page) -> Response:
    """The most urgent case for me: mine first, then unclaimed; never the one I just left."""
    after = p.request.query_params.get("after", "")
    now = p.now()
    items = [i for i in review_queue(p.store, now) if i.record.case_id != after]
    mine = [i for i in items if _mine(i.record, p.user.name, now)]
    free = [i for i in items if _unclaimed(i.record, now)]
    for item in (*mine, *free):
        return RedirectResponse(_case_link(*item.key), status_code=303)
    return RedirectResponse("/queue?empty=1", status_code=303)


@page()
def case_note(p: Page) -> Response:
    key = _key_of(p.request)
    if p.store.get_case(key) is None:
        return p.error(404, text(p.lang, "not_found"))
    body = p.field("note")
    if not body:
        return _case_page(p, key, status=400, error=text(p.lang, "note_empty"))
    p.store.add_case_note(key, body[:1000], actor=p.actor)
    return RedirectResponse(_case_link(*key) + "#notes", status_code=303)


@page()
def case_assign(p: Page) -> Response:
    key = _key_of(p.request)
    if p.store.get_case(key) is None:
        return p.error(404, text(p.lang, "not_found"))
    who = p.field("assignee")
    assignee = p.user.name if who == "me" else (who or None)
    if assignee is not None:
        user = p.store.get_console_user(assignee)
        if user is None or user.disabled:
            return _case_page(p, key, status=400,
                              error=text(p.lang, "no_such_colleague", name=assignee))
    p.store.assign_case(key, assignee, actor=p.actor)
    return RedirectResponse(_case_link(*key), status_code=303)


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
    if not p.field("action"):
        return p.error(400, text(p.lang, "action_needed"))
    try:
        action = ReviewAction(p.field("action"))
    except ValueError:
        return p.error(400, text(p.lang, "action_needed"))
    reason = p.field("reason")
    keys: list[tuple[CaseKey, str, str]] = []
    for ref in refs:
        parts = ref.split("|")
        if len(parts) != 4:
            return p.error(400, f"bad case reference {ref!r}")
        platform, shop_id, case_id, seen = parts
        keys.append(((platform, shop_id, case_id), seen, ref))
    if action in MONEY and p.field("confirm") != "1":
        amounts = []
        for key, _, ref in keys:
            record = p.store.get_case(key)
            if record is not None:
                amounts.append((ref, key[2], suggested_amount(p.store, record.case)))
        total = sum(a for _, _, a in amounts)
        return p.render("confirm.html", batch=True, action=action, reason=reason,
                        amounts=amounts, total=total, words=amount_in_words_zh(total),
                        link="/queue/decide", hidden={})
    results = [
        _decide_one(p, key, action, reason, seen or None, None,
                    p.files.get(f"proof:{ref}", ("", b""))[1] or None)
        for key, seen, ref in keys
    ]
    return p.render("results.html", results=results, action=action)


MONEY = frozenset({ReviewAction.approve_refund, ReviewAction.confirm_return_and_refund})


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
    except NotDecidableError as exc:
        return BatchResult(key[2], link, "refused",
                           text(p.lang, "not_decidable", why=why_not(p.lang, exc.code)))
    except PlatformLimitError as exc:
        return BatchResult(key[2], link, "refused",
                           f"{text(p.lang, 'result_refused')}: {why_not(p.lang, exc.code)}")
    except CaseChangedError as exc:
        new = exc.record
        message = (
            f"{text(p.lang, 'result_changed')}: {seen} → {new.version}, "
            f"{label(p.lang, 'status', new.case.status)}, "
            f"{label(p.lang, 'reason', new.case.reason)}, {yuan(new.case.refund_amount)}"
        )
        return BatchResult(key[2], link, "changed", message)
    except ConnectorError as exc:
        return BatchResult(key[2], link, "refused",
                           f"{text(p.lang, 'result_refused')}: {error_text(p.lang, str(exc))}")
    return BatchResult(key[2], link, "ok", text(p.lang, "result_ok", id=decision_id))


# case page --------------------------------------------------------------------------------------
def decision_title(decision: DecisionRecord, lang: Lang) -> str:
    """A decision as a person reads it: the rule's number and title, or who decided."""
    for step in decision.trace:
        if isinstance(step, dict) and step.get("kind") == "rule" and (
            step.get("rule_id") == decision.rule_id
        ):
            try:
                parsed = _TRACE.validate_python(step)
            except ValidationError:
                break
            if isinstance(parsed, RuleMatched):
                return rule_title(parsed, lang)
    if decision.policy_version == "human":
        return ("人工：" if lang == "zh" else "by ") + decision.actor.removeprefix("human:")
    return ("规则 " if lang == "zh" else "rule ") + decision.rule_id


def _person_value(value: Any) -> str:
    """A detail value as a person reads it: stored UTC times in Beijing time."""
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None:
            return beijing(moment, seconds=True)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return "-" if value is None else str(value)


MONEY_KEYS = frozenset({"paid_amount", "refund_amount", "amount_fen", "amount", "refunded"})


def _details_text(details: Mapping[str, Any], lang: Lang = "en") -> str:
    """Audit details as a person reads them: keys and known values in the page's language,
    times in Beijing time."""

    def value(key: str, raw: Any) -> str:
        if key in ("state", "previous_state") and isinstance(raw, str):
            return label(lang, "state", raw)
        if key == "status" and isinstance(raw, str):
            return label(lang, "status", raw)
        if key == "type" and isinstance(raw, str):
            return label(lang, "type", raw)
        if key in MONEY_KEYS and isinstance(raw, int) and not isinstance(raw, bool):
            return yuan(raw)
        if key == "reason" and isinstance(raw, str) and raw in LABELS["reason"]:
            return label(lang, "reason", raw)
        if key in ("action", "kind") and isinstance(raw, str):
            group = "effect" if key == "kind" else "decision_action"
            return label(lang, group, raw.replace("-", "_"))
        return _person_value(raw)

    shown = [f"{label(lang, 'detail_key', k)}：{value(k, v)}" if lang == "zh"
             else f"{k}: {value(k, v)}"
             for k, v in sorted(details.items()) if k not in {"trace", "params"}]
    body = " · ".join(shown)
    return body if len(body) <= 400 else body[:400] + "…"


def _key_of(request: Request) -> CaseKey:
    params = request.path_params
    return (str(params["platform"]), str(params["shop_id"]), str(params["case_id"]))


def decision_life(store: Store, record: CaseRecord) -> list[tuple[str, str, str]]:
    """The latest decision's effects as (action/effect kind, life stage, platform words):
    pending → sending → applied, or refused (guarded by test_desk_rules)."""
    decision = store.latest_decision(record.key)
    if decision is None:
        return []
    stages = {
        EffectStatus.pending: "pending",
        EffectStatus.in_flight: "sending",
        EffectStatus.unknown: "sending",
        EffectStatus.done: "applied",
        EffectStatus.failed: "refused",
        EffectStatus.superseded: "superseded",
        EffectStatus.cancelled: "superseded",
    }
    return [
        (e.kind.value, stages[e.status], e.last_error or "")
        for e in store.effects_of_case(record.key)
        if e.decision_id == decision.id
    ]


def _case_page(
    p: Page,
    key: CaseKey,
    *,
    status: int = 200,
    changed: CaseChangedError | None = None,
    error: str = "",
    revealed: Mapping[str, Any] | None = None,
    reveal_message: str = "",
    form: Mapping[str, str] | None = None,
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
    try:
        check_decidable(p.store, record)
        not_decidable = ""
    except NotDecidableError as exc:
        not_decidable = text(p.lang, "not_decidable", why=why_not(p.lang, exc.code))
    refused = last_refusal(p.store, record)
    if refused is not None and "sms" in refused[1].lower():
        refused = None  # the SMS form below says what to do
    top_line = "" if refused is None else text(
        p.lang, "platform_refused_top", action=_action_label(p.lang, refused[0]),
        words=platform_words(p.lang, refused[1]),
    )
    offered = offered_actions(record.case, p.config.capabilities.get(record.platform))
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
        trace=trace_lines(decision.trace, p.lang, desk=True) if decision else [],
        decision_text=decision_title(decision, p.lang) if decision else "",
        audit=[(e, beijing(e.at_datetime, seconds=True), _details_text(e.details, p.lang))
               for e in audit],
        actions=offered,
        needs_image=[a.value for a in offered if image_required(record.case, a)],
        suggested=yuan_plain(suggested_amount(p.store, record.case)),
        refundable=refundable_fen(p.store, record.case),
        life=decision_life(p.store, record),
        top_line=top_line,
        not_decidable=not_decidable,
        form=form or {},
        link=_case_link(*key),
        changed=changed,
        error=error,
        decided=decided if decided.isdigit() else "",
        can_reveal=p.user.role in p.config.reveal_roles,
        revealed=revealed,
        reveal_message=reveal_message,
        claimed_now=p.request.query_params.get("claimed") == "1",
        approval=p.store.pending_approval(key),
        sms_tasks=[t for t in p.store.open_tasks("sms_code")
                   if (t.platform, t.shop_id, t.case_id) == key],
        approval_note=p.request.query_params.get("approval", ""),
        words=amount_in_words_zh,
        me=p.actor,
        notes=p.store.case_notes(key),
        colleagues=[u.name for u in p.store.list_console_users() if not u.disabled],
    )
    if revealed is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def yuan_plain(fen: int) -> str:
    """``1,500.00``: what the amount field shows (parse_yuan reads it back)."""
    return formatting.yuan(fen)


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
            audit_events.case_claimed(
                p.store, actor=p.actor, key=key, seen_version=record.version, **VIA
            )
    except ConnectorError as exc:
        return _case_page(p, key, status=409, error=error_text(p.lang, str(exc)))
    return RedirectResponse(_case_link(*key) + "?claimed=1", status_code=303)


@page()
def case_decide(p: Page) -> Response:
    """Decide one case. A money-moving action is first shown back with its amount in words
    and needs ``confirm=1``; nothing is recorded before that."""
    key = _key_of(p.request)
    typed = {name: p.field(name) for name in ("action", "amount", "reason", "seen_version")}
    if not typed["action"]:
        return _case_page(p, key, status=400, error=text(p.lang, "action_needed"), form=typed)
    try:
        action = ReviewAction(typed["action"])
    except ValueError:
        return _case_page(p, key, status=400, error=text(p.lang, "action_needed"), form=typed)
    can = p.config.capabilities.get(key[0])
    if can is not None and ACTION_EFFECT[action].value not in can:
        return _case_page(p, key, status=400, error=why_not(p.lang, "action_not_offered"),
                          form=typed)
    amount: int | None = None
    if action in MONEY and typed["amount"]:
        try:
            amount = parse_yuan(typed["amount"])
        except AmountError:
            return _case_page(p, key, status=400, form=typed,
                              error=text(p.lang, "bad_amount", value=typed["amount"]))
    evidence = p.files.get("evidence", ("", b""))[1] or None
    record = p.store.get_case(key)
    if record is None:
        return p.error(404, text(p.lang, "not_found"))
    seen = typed["seen_version"] or None

    def prepare() -> PreparedDecision:
        return prepare_decision(
            p.store, record, action, reviewer=p.reviewer(), reason=typed["reason"],
            now=p.now(), amount=amount, evidence=evidence, seen_version=seen,
        )

    try:
        if action in MONEY and p.field("confirm") != "1":
            prepared = prepare()
            hidden = {**typed, "amount": yuan_plain(prepared.amount), "confirm": "1"}
            return p.render(
                "confirm.html", batch=False, action=action, reason=typed["reason"],
                amounts=[("", record.case_id, prepared.amount)], total=prepared.amount,
                words=amount_in_words_zh(prepared.amount), link=f"{_case_link(*key)}/decide",
                hidden=hidden, back=_case_link(*key),
            )
        limit = p.config.approval_limits.get(p.user.role)
        if action in MONEY and limit is not None:
            with p.store.unit_of_work():
                prepared = prepare()
                if needs_second_approval(limit, prepared):
                    request_second_approval(p.store, prepared, reviewer=p.reviewer(),
                                            reason=typed["reason"])
                    return RedirectResponse(f"{_case_link(*key)}?approval=requested",
                                            status_code=303)
        decision_id = decide_by_person(
            p.store, record, action, reviewer=p.reviewer(), reason=typed["reason"],
            now=p.now(), amount=amount, evidence=evidence, seen_version=seen,
            templates=p.config.templates,
        )
    except (CaseChangedError, NotDecidableError) as exc:
        return _refused_page(p, key, exc)
    except PlatformLimitError as exc:
        return _case_page(p, key, status=400, error=why_not(p.lang, exc.code), form=typed)
    except ConnectorError as exc:
        return _case_page(p, key, status=400, error=error_text(p.lang, str(exc)), form=typed)
    return RedirectResponse(f"{_case_link(*key)}?decided={decision_id}", status_code=303)


def _refused_page(p: Page, key: CaseKey, exc: CaseChangedError | NotDecidableError) -> Response:
    """The case page again (409) when the case changed under the person or cannot be decided."""
    if isinstance(exc, CaseChangedError):
        return _case_page(p, key, status=409, changed=exc)
    return _case_page(p, key, status=409,
                      error=text(p.lang, "not_decidable", why=why_not(p.lang, exc.code)))


@page()
def case_approval(p: Page) -> Response:
    """A second person approves or declines a refund above the requester's limit."""
    key = _key_of(p.request)
    approval = p.store.pending_approval(key)
    wanted = str(p.request.path_params["approval_id"])
    if approval is None or str(approval.id) != wanted:
        return _case_page(p, key, status=409, error=text(p.lang, "approval_gone"))
    try:
        if p.request.path_params["verdict"] == "approve":
            decision_id = approve_second(
                p.store, approval, approver=p.reviewer(),
                approver_limit=p.config.approval_limits.get(p.user.role), now=p.now(),
                templates=p.config.templates,
            )
            return RedirectResponse(f"{_case_link(*key)}?decided={decision_id}",
                                    status_code=303)
        decline_second(p.store, approval, approver=p.reviewer())
    except (CaseChangedError, NotDecidableError) as exc:
        return _refused_page(p, key, exc)
    except ConnectorError as exc:
        return _case_page(p, key, status=403, error=error_text(p.lang, str(exc)))
    return RedirectResponse(f"{_case_link(*key)}?approval=declined", status_code=303)


@page()
def case_sms_code(p: Page) -> Response:
    """The seller's phone got the platform's SMS code: the refund goes again with it."""
    key = _key_of(p.request)
    task_id = int(str(p.request.path_params["task_id"]))
    task = next((t for t in p.store.open_tasks("sms_code") if t.id == task_id), None)
    if task is None or (task.platform, task.shop_id, task.case_id) != key:
        return _case_page(p, key, status=409, error=text(p.lang, "task_gone"))
    try:
        complete_task_with_code(p.store, task_id, p.field("code"), reviewer=p.reviewer())
    except ConnectorError as exc:
        return _case_page(p, key, status=400, error=error_text(p.lang, str(exc)))
    return RedirectResponse(f"{_case_link(*key)}?code_sent=1", status_code=303)


@page()
def case_evidence(p: Page) -> Response:
    """One evidence image of a case, fetched by the server from the platform's image hosts."""
    key = _key_of(p.request)
    record = p.store.get_case(key)
    index = int(str(p.request.path_params["index"]))
    if record is None or not 0 <= index < len(record.case.evidence):
        return p.error(404, text(p.lang, "not_found"))
    found = evidence_images.evidence_image(
        p.store, record.case.evidence[index].url, record.platform, p.config.image_hosts,
        p.config.fetch_image,
    )
    if found is None:
        return p.error(404, text(p.lang, "image_unavailable"))
    kind, body = found
    return Response(body, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


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
        details = dict(p.config.reveal(p.store, key, p.reviewer()))
    except ConnectorError as exc:
        return _case_page(p, key, reveal_message=text(p.lang, "reveal_failed", error=exc))
    return _case_page(p, key, revealed=details)


AUDIT_LIMIT = 5000
TABLE_PAGE = 100


@dataclass(frozen=True)
class Paged:
    """One page of a long table, with the links to its neighbours."""

    rows: list[Any]
    page_no: int
    pages: int
    total: int
    prev_link: str
    next_link: str


def paged(request: Request, rows: list[Any], size: int = TABLE_PAGE) -> Paged:
    pages = max((len(rows) + size - 1) // size, 1)
    try:
        number = min(max(int(request.query_params.get("page", "1")), 1), pages)
    except ValueError:
        number = 1

    def link(n: int) -> str:
        query = dict(request.query_params)
        query["page"] = str(n)
        return f"{request.url.path}?{urlencode(query)}"

    return Paged(
        rows=rows[(number - 1) * size : number * size], page_no=number, pages=pages,
        total=len(rows), prev_link=link(number - 1) if number > 1 else "",
        next_link=link(number + 1) if number < pages else "",
    )


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
            limit=AUDIT_LIMIT,
        )
    rows = [
        (
            e,
            beijing(e.at_datetime, seconds=True),
            _details_text(e.details, p.lang),
            _case_link(e.platform, e.shop_id, e.case_id)
            if e.platform and e.shop_id and e.case_id
            else "",
        )
        for e in entries
    ]
    page_of = paged(p.request, rows)
    return p.render("audit.html", f=fields, rows=page_of.rows, pg=page_of, error=error,
                    searched=searched)


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
        return p.error(400, error_text(p.lang, str(exc)))
    counts = p.store.refund_reason_counts(period.since, period.until)
    return p.render(
        "stats.html",
        period=period,
        counts=(pg := paged(p.request, list(counts), 50)).rows,
        pg=pg,
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
        return p.error(400, error_text(p.lang, str(exc)))
    counts = p.store.refund_reason_counts(period.since, period.until)
    with p.store.unit_of_work():
        audit_events.report_exported(
            p.store, actor=p.actor, report="refund_reasons", first_day=period.first.isoformat(),
            last_day=period.last.isoformat(), rows=len(counts), **VIA,
        )
    name = f"refund-reasons-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        to_csv(counts, period, p.lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# accounts ---------------------------------------------------------------------------------------
def _admin_page(p: Page, *, status: int = 200, added: str = "", done: str = "",
                error: str = "") -> HTMLResponse:
    return p.render("admin.html", status=status, users=p.store.list_console_users(),
                    roles=list(ConsoleRole), sessions=p.store.list_console_sessions(p.now()),
                    added=added, done=done, error=error)


@page(roles={ConsoleRole.admin})
def users_page(p: Page) -> Response:
    q = p.request.query_params
    done = q.get("changed", "")
    return _admin_page(
        p, added=q.get("added", ""),
        done=text(p.lang, "account_changed", name=done) if done else (
            text(p.lang, "session_ended") if q.get("ended") else ""
        ),
    )


@page(roles={ConsoleRole.admin})
def users_add(p: Page) -> Response:
    name = p.field("account")
    try:
        add_account(
            p.store, name, p.field("role"), str(p.form.get("password") or "") if p.form else "",
            actor=p.actor, via="console",
        )
    except (AccountError, ConnectorError) as exc:
        return _admin_page(p, status=400, error=error_text(p.lang, str(exc)))
    return RedirectResponse(f"/admin/users?added={quote(name)}", status_code=303)


@page(roles={ConsoleRole.admin})
def user_change(p: Page) -> Response:
    """Disable/enable, change role, reset password, end sessions: each audited."""
    name = str(p.request.path_params["name"])
    change = p.field("change")
    try:
        if change in ("disable", "enable"):
            set_disabled(p.store, name, change == "disable", actor=p.actor, via="console")
        elif change == "role":
            change_role(p.store, name, p.field("role"), actor=p.actor, via="console")
        elif change == "password":
            password = str(p.form.get("password") or "") if p.form else ""
            reset_password(p.store, name, password, actor=p.actor, via="console")
        elif change == "end_sessions":
            end_sessions(p.store, name, actor=p.actor, via="console")
        else:
            return _admin_page(p, status=400, error=f"change {change!r}?")
    except (AccountError, ConnectorError) as exc:
        return _admin_page(p, status=400, error=error_text(p.lang, str(exc)))
    return RedirectResponse(f"/admin/users?changed={quote(name)}", status_code=303)


@page(roles={ConsoleRole.admin})
def session_end(p: Page) -> Response:
    prefix = str(p.request.path_params["session"])
    matches = [s for s in p.store.list_console_sessions(p.now())
               if s.token_hash.startswith(prefix)]
    if len(prefix) < 12 or len(matches) != 1:
        return p.error(404, text(p.lang, "not_found_page"))
    p.store.end_console_session(matches[0].token_hash, actor=p.actor, details=VIA)
    return RedirectResponse("/admin/users?ended=1", status_code=303)


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
                    b"permissions-policy": _PERMISSIONS.encode(),
                    b"cross-origin-opener-policy": b"same-origin",
                    b"cross-origin-resource-policy": b"same-origin",
                }
                if not static:
                    extra[b"cache-control"] = b"no-store"
                headers += [(k, v) for k, v in extra.items() if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _origin_of(value: str) -> str:
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


class SameOrigin:
    """Every POST must come from the console's own pages: its ``Origin`` (or, without one, its
    ``Referer``) must be this console's scheme and host. A request with neither is not from a
    browser page; it still needs the session's CSRF token."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        own = f"{request.url.scheme}://{request.url.netloc}".lower()
        given = request.headers.get("origin") or request.headers.get("referer") or ""
        if given and _origin_of(given) != own:  # "null" (a sandboxed page) never matches
            log.warning("console post refused: foreign origin", extra={"path": request.url.path})
            config: ConsoleConfig = scope["app"].state.console
            await _error(request, config, 403, "bad_origin")(scope, receive, send)
            return
        await self.app(scope, receive, send)


DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


async def not_found(request: Request, exc: Exception) -> Response:
    """404/405 inside the console's layout (with the nav when signed in)."""
    config: ConsoleConfig = request.app.state.console
    status = getattr(exc, "status_code", 404)
    key = "method_not_allowed" if status == 405 else "not_found_page"
    found = await run_in_threadpool(
        auth.session_user, config.store, request.cookies.get(auth.SESSION_COOKIE),
        config.clock.now(),
    )
    lang = _lang_of(request)
    return _render(
        request, lang, "error.html", status=status, now=config.clock.now(),
        user=None if found is None else found[1], csrf="" if found is None else found[0].csrf_token,
        message=text(lang, key),
    )


def create_console_app(
    store: Store,
    *,
    clock: Clock,
    reveal: RevealHook | None = None,
    reveal_roles: Iterable[ConsoleRole] = auth.REVEAL_ROLES,
    session_ttl: timedelta = auth.SESSION_TTL,
    templates: MessageTemplates | None = None,
    secure_cookies: bool = False,
    allowed_hosts: Iterable[str] = DEFAULT_ALLOWED_HOSTS,
    trusted_proxies: Iterable[str] = (),
    approval_limits: Mapping[ConsoleRole, int] | None = None,
    image_hosts: Mapping[str, Iterable[str]] | None = None,
    fetch_image: evidence_images.Fetch = evidence_images.http_fetch,
    capabilities: Mapping[str, Iterable[str]] | None = None,
) -> Starlette:
    """The console as an ASGI app over ``store`` (shared with the daemon; it is thread-safe).

    ``allowed_hosts``: the names the console answers to (any other ``Host`` gets 400: DNS
    rebinding). ``trusted_proxies``: addresses of the TLS proxy whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed. ``secure_cookies``: set behind that TLS proxy.
    """
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
        Route("/queue/assign", queue_assign, methods=["POST"]),
        Route("/queue/next", queue_next, methods=["GET"]),
        Route(case, case_page, methods=["GET"]),
        Route(case + "/claim", case_claim, methods=["POST"]),
        Route(case + "/notes", case_note, methods=["POST"]),
        Route(case + "/assign", case_assign, methods=["POST"]),
        Route(case + "/decide", case_decide, methods=["POST"]),
        Route(case + "/reveal", case_reveal, methods=["POST"]),
        Route(case + "/evidence/{index:int}", case_evidence, methods=["GET"]),
        Route(case + "/tasks/{task_id:int}/code", case_sms_code, methods=["POST"]),
        Route(case + "/approvals/{approval_id}/{verdict:str}", case_approval, methods=["POST"]),
        Route("/audit", audit_page, methods=["GET"]),
        Route("/stats", stats_page, methods=["GET"]),
        Route("/stats.csv", stats_csv, methods=["POST"]),
        Route("/admin/users", users_page, methods=["GET"]),
        Route("/admin/users", users_add, methods=["POST"]),
        Route("/admin/users/{name}", user_change, methods=["POST"]),
        Route("/admin/sessions/{session}/end", session_end, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.console = ConsoleConfig(
        store=store,
        clock=clock,
        reveal=reveal,
        reveal_roles=frozenset(reveal_roles),
        session_ttl=session_ttl,
        templates=templates,
        secure_cookies=secure_cookies,
        approval_limits=dict(approval_limits or {}),
        image_hosts={k: frozenset(v) for k, v in (image_hosts or {}).items()},
        fetch_image=fetch_image,
        capabilities={k: frozenset(str(c) for c in v) for k, v in (capabilities or {}).items()},
    )
    app.add_middleware(SameOrigin)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    proxies = list(trusted_proxies)
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    return app
