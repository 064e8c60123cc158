"""The daemon's steps: intake, decide, relay, sweep. Each is one call the ticker (or a test) makes.

Nothing durable lives in memory: cursors, cases, decisions, effects and deadlines are rows in the
store, so a crash at any point loses nothing committed and a restart resumes from the tables.
Every external call goes through ``_call`` (quota + in-call retries); anything longer waits as a
stored ``next_attempt_at``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from connector import audit_events
from connector.adapter import EFFECT_CAPABILITY, Capability, CasePage, SyncWindow
from connector.casechange import TARGET_STATUSES
from connector.crashpoints import crash_point
from connector.effects import (
    MONEY_EFFECTS,
    NOTICE_EFFECTS,
    PLATFORM_EFFECTS,
    EffectKind,
    EffectRequest,
    EffectStatus,
    SubmitOutcome,
)
from connector.errors import (
    ActionForbiddenError,
    AdapterError,
    ConflictError,
    NeedsHumanError,
    NotFoundError,
    OutcomeUnknownError,
    ReauthRequiredError,
    RetryableError,
    StepUpRequiredError,
)
from connector.intake_pages import list_sized, read_page
from connector.models import (
    Buyer,
    CaseStatus,
    Inspection,
    OrderStatus,
    QuarantinedCase,
    RefundCase,
    Warehouse,
    WarehouseState,
)
from connector.notify import decision_notices, enqueue_at_risk, send_notice
from connector.observability import DaemonMetrics, NullMetrics
from connector.payload_caps import cap_model
from connector.policy import (
    APPROVING_ACTIONS,
    Action,
    DaemonNote,
    Decision,
    decide,
    decide_for_person,
)
from connector.policy.decision import action_zh
from connector.policy.history import with_live_policy
from connector.policy.reads import fetch_with_facts
from connector.retrying import make_retrying
from connector.review import overtake_pending_approvals
from connector.safety import after_decision, gate, holds_effect
from connector.store import (
    CLOSED_CASE_STATES,
    CaseKey,
    CaseRecord,
    CaseState,
    EffectRecord,
    Store,
)

from .health import ShopHealth
from .planner import ACTION_CAPABILITY, next_review, plan, within_platform_rules
from .urgency import SweeperFirst

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.notify import WebhookNotifier
    from connector.ratelimit import QuotaGate
    from connector.settings import DaemonSettings
    from connector.warehouse import WarehouseClient

    from .runtime import ShopRuntime

logger = logging.getLogger(__name__)
T = TypeVar("T")

URGENT_WAIT_FLOOR_S = 0.5
"""The shortest wait between attempts, however near the deadline."""

RELAY_LOOKAHEAD = 64
"""Due effects read beyond the free senders, for those of shops already at their limit."""

DECIDE_BATCH = 25
"""New cases the decider reads at a time: small, so a case that turned urgent is read soon."""
DECIDE_LONGEST_WAITING = 5
"""Of each read, how many are the longest-waiting new cases rather than the nearest deadlines."""
DECIDERS = 4
"""Threads deciding new cases at once. One was not enough: with a hundred poll, intake and relay
threads sharing the interpreter, a single decider got too small a share of it and fell behind
at ~15 decisions a second (found by the soak chaos run); the case lock keeps each case to one
decider, as it already did between the decider and the sweeper."""

FULL_HISTORY = timedelta(days=90)
"""How far back a full reconciliation lists (platform list APIs keep about 90 days)."""

_Fetched = tuple[RefundCase, Any] | QuarantinedCase | None
"""One fetched case with its raw listing, a case to quarantine, or None (gone meanwhile)."""


@dataclass
class _InFlight:
    """One poll's fetches on the intake pool, each committed as soon as it finishes."""

    fetches: dict[Future[_Fetched], RefundCase] = field(default_factory=dict)
    """Each running fetch and the listed case it fetches."""
    quarantined: list[QuarantinedCase] = field(default_factory=list)
    """Listed items that failed to parse, written with the next commit."""


@dataclass
class StepCounts:
    """What one step did, for progress displays and tests."""

    seen: int = 0
    changed: int = 0
    quarantined: int = 0
    decided: int = 0
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Daemon:
    """One connector process: shops, their adapters and policies, the store, the clock."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        settings: DaemonSettings,
        shops: Iterable[ShopRuntime],
        quota: QuotaGate,
        warehouse: WarehouseClient | None = None,
        sleep: Callable[[float], None] = time.sleep,  # noqa: TID251 - real waits; tests inject
        notifier: WebhookNotifier | None = None,
        metrics: DaemonMetrics | None = None,
    ) -> None:
        self.notifier = notifier
        self.metrics: DaemonMetrics = metrics if metrics is not None else NullMetrics()
        self.store = store
        self.clock = clock
        self.settings = settings
        self.shops = {(s.platform, s.shop_id): s for s in shops}
        self.quota = quota
        self.warehouse = warehouse
        self._sleep = sleep
        self._retrying = make_retrying(
            attempts=settings.retry_attempts, max_wait_s=settings.retry_max_wait_s, sleep=sleep
        )
        self._pool = ThreadPoolExecutor(
            max_workers=settings.relay_concurrency, thread_name_prefix="relay"
        )
        self._intake_pool = ThreadPoolExecutor(
            max_workers=settings.intake_concurrency, thread_name_prefix="intake"
        )
        self._decide_pool = ThreadPoolExecutor(max_workers=DECIDERS, thread_name_prefix="decide")
        self._shop_slots = {
            key: threading.BoundedSemaphore(settings.per_shop_concurrency) for key in self.shops
        }
        self._poll_locks = {key: threading.Lock() for key in self.shops}
        self._streaming: dict[int, tuple[str, str]] = {}  # effect id -> its shop
        self._streaming_lock = threading.Lock()
        self._case_locks: dict[CaseKey, threading.Lock] = {}
        self._case_locks_guard = threading.Lock()
        self.health = {key: ShopHealth(platform=key[0], shop_id=key[1]) for key in self.shops}
        self.sweeper_first = SweeperFirst()

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        self._intake_pool.shutdown(wait=True, cancel_futures=True)
        self._decide_pool.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        for shop in self.shops.values():
            shop.close()
        if self.notifier is not None:
            self.notifier.close()

    def _call(self, shop: ShopRuntime, fn: Callable[[], T]) -> T:
        """One adapter operation: retry transient blips in-call, report health.

        The quota is taken per HTTP request by the shop's client (see ``runtime.build_daemon``),
        not here: one adapter operation such as ``get_case`` makes several platform calls.
        """
        try:
            result = self._retrying(fn)
        except (RetryableError, ReauthRequiredError) as exc:
            self.health[shop.key].failed(exc)
            raise
        self.health[shop.key].ok()
        return result

    def _case_lock(self, key: CaseKey) -> threading.Lock:
        with self._case_locks_guard:
            return self._case_locks.setdefault(key, threading.Lock())

    # -- intake -------------------------------------------------------------------------------

    def poll_shop(self, shop: ShopRuntime, *, full: bool = False) -> StepCounts:
        """List cases modified since the high-water mark (with look-back), page by page.

        Each listed case that changed is fetched whole and enriched on the intake pool and
        written as soon as its fetch finishes; the high-water mark advances only when every
        case of the window is written.
        """
        with self._poll_locks[shop.key]:
            return self._poll_locked(shop, full=full)

    def _poll_locked(self, shop: ShopRuntime, *, full: bool) -> StepCounts:
        counts = StepCounts()
        now = self.clock.now()
        record = self.store.get_shop(shop.platform, shop.shop_id)
        high_water = None if record is None else record.high_water_at
        if full or high_water is None:
            start = now - FULL_HISTORY
        else:
            start = high_water - timedelta(seconds=self.settings.lookback_s)
        window = SyncWindow(start=start, end=now)
        page_token: str | None = None
        pages = 0
        # While one page's cases are fetched on the intake pool, the next page is listed. Each
        # case is written when its own fetch finishes, not when its page's slowest fetch does:
        # under a fault rate nearly every page has a call that hangs or backs off, and waiting
        # for it held a shop's new cases back by a minute after a restart (found by the SMOKE
        # chaos run); what a life wrote, the next one skips, since its version is stored.
        # A case whose fetch failed is left out and the rest are kept: failing the whole window
        # for one call would hold back every other case of the shop.
        inflight = _InFlight()
        failures: list[tuple[RefundCase, AdapterError]] = []
        try:
            while True:
                page = self._list_page(shop, window, page_token)
                pages += 1
                self._start_fetches(shop, page, counts, inflight, refetch_all=full)
                self._commit_finished(inflight, counts, failures)
                page_token = page.next_page
                if page_token is None or pages > 10_000:
                    break
        finally:
            while inflight.fetches or inflight.quarantined:
                wait(inflight.fetches, return_when=FIRST_COMPLETED)
                self._commit_finished(inflight, counts, failures)
        if failures:
            # The mark moves only up to the earliest missed case, so the next poll lists it
            # again (the cases kept are skipped then: their stored version matches the
            # listing); a stuck mark would re-list the whole growing window on every poll.
            missed = [case.updated_at for case, _ in failures]
            if all(at is not None for at in missed):
                self._advance_mark(shop, min([window.end, *(at for at in missed if at)]))
            counts.errors.extend(_safe(exc) for _, exc in failures)
            raise failures[0][1]
        lag = max((self.clock.now() - window.end).total_seconds(), 0.0)
        with self.store.unit_of_work():
            self._advance_mark(shop, window.end)
            self.store.record_poll(shop.platform, shop.shop_id, lag_s=lag)
            if full:
                self.store.record_full_reconciliation(shop.platform, shop.shop_id)
        crash_point("reconcile.committed" if full else "intake.cursor_committed")
        return counts

    def _advance_mark(self, shop: ShopRuntime, mark: datetime) -> None:
        """Every case listed as modified up to ``mark`` is stored; the mark never goes back."""
        with self.store.unit_of_work():
            latest = self.store.get_shop(shop.platform, shop.shop_id)
            if latest is not None and latest.high_water_at is not None:
                mark = max(mark, latest.high_water_at)
            self.store.advance_cursor(shop.platform, shop.shop_id, cursor=None, high_water_at=mark)

    def _list_page(self, shop: ShopRuntime, window: SyncWindow, token: str | None) -> CasePage:
        self.sweeper_first.wait_turn()
        return read_page(  # an unreadable page is read again smaller, down to one item
            lambda at, size: self._call(shop, lambda: list_sized(shop.adapter, window, at, size)),
            token,
            platform=shop.platform,
            shop_id=shop.shop_id,
        )

    def _start_fetches(
        self,
        shop: ShopRuntime,
        page: CasePage,
        counts: StepCounts,
        inflight: _InFlight,
        *,
        refetch_all: bool,
    ) -> None:
        """Queue a fetch (get_case + enrichment) for every listed case that changed.

        A reconciliation (``refetch_all``) also re-reads the open cases whose version did not
        move, since facts the version does not cover (the parcel's trace, the warehouse) may
        have; a closed case at an unchanged version is settled and is not read again, which
        keeps a reconciliation's cost to the open cases, not the shop's whole history.
        """
        inflight.quarantined.extend(page.quarantined)
        stored_versions = self.store.stored_versions([listed.key for listed in page.cases])
        for index, listed in enumerate(page.cases):
            counts.seen += 1
            stored = stored_versions.get(listed.key)
            if (
                stored is not None
                and listed.version is not None
                and stored.version == listed.version
                and (not refetch_all or stored.state in CLOSED_CASE_STATES)
            ):
                continue
            raw = page.raw[index] if index < len(page.raw) else None
            queued = stored is not None and stored.state is CaseState.queued_for_human
            future = self._intake_pool.submit(self._fetch_one, shop, listed, raw, queued)
            inflight.fetches[future] = listed

    def _fetch_one(
        self, shop: ShopRuntime, listed: RefundCase, raw: Any, queued: bool = False
    ) -> _Fetched:
        self.sweeper_first.wait_turn()
        try:
            full = self._fetch_case(shop, listed, queued)
        except NotFoundError:
            return None
        except NeedsHumanError as exc:
            return QuarantinedCase(
                platform=shop.platform,
                shop_id=shop.shop_id,
                case_id=listed.case_id,
                problems=(_problem(exc),),
                raw=raw,
            )
        return cap_model(self._enrich(shop, full)), raw

    def _commit_finished(
        self,
        inflight: _InFlight,
        counts: StepCounts,
        failures: list[tuple[RefundCase, AdapterError]],
    ) -> None:
        """Write, in one unit of work, every fetch that has finished and the quarantined items.

        A fetch that failed with a platform error is noted in ``failures`` and left out; any
        other exception is a bug and fails the poll.
        """
        finished = [future for future in inflight.fetches if future.done()]
        if not finished and not inflight.quarantined:
            return
        quarantined, inflight.quarantined = inflight.quarantined, []
        fetched: list[tuple[RefundCase, Any]] = []
        for future in finished:
            listed = inflight.fetches.pop(future)
            error = future.exception()
            if isinstance(error, AdapterError):
                failures.append((listed, error))
                continue
            result = future.result()
            if isinstance(result, QuarantinedCase):
                quarantined.append(result)
            elif result is not None:
                fetched.append(result)
        with self.store.unit_of_work():
            for item in quarantined:
                self.store.quarantine(item)
                counts.quarantined += 1
            for case, raw in fetched:
                change = self.store.upsert_case(case, raw)
                if change.needs_decision:
                    counts.changed += 1
                    self._resolve_waiting_reviewers(change.record)
        crash_point("intake.page_committed")

    def _fetch_case(self, shop: ShopRuntime, listed: RefundCase, queued: bool) -> RefundCase:
        """Only the facts the shop's policy or, for a person, the desk can read (issue 15)."""
        if Capability.get_case not in shop.adapter.capabilities:
            return listed
        return fetch_with_facts(
            lambda facts: self._call(shop, lambda: shop.adapter.get_case(listed.case_id, facts)),
            listed,
            (shop.policy,),
            queued_for_person=queued,
        )

    def _resolve_waiting_reviewers(self, record: CaseRecord) -> None:
        """A fact changed: whatever was queued is decided afresh (the store set state ``new``)."""
        del record

    def _enrich(self, shop: ShopRuntime, case: RefundCase) -> RefundCase:
        """Facts the platform list does not carry: buyer history, flags, the warehouse."""
        now = self.clock.now()
        refunds = self.store.buyer_refunds_within(case.platform, case.buyer.id, now)
        flagged = case.buyer.flagged or case.buyer.id in self.store.flagged_buyers(case.platform)
        update: dict[str, Any] = {
            "buyer": Buyer(id=case.buyer.id, refunds_90d=refunds, flagged=flagged)
        }
        if (
            self.warehouse is not None
            and case.warehouse is None
            and case.order_status is OrderStatus.not_shipped
        ):
            state = self._warehouse_state(case.order_id)
            if state is not None:
                update["warehouse"] = Warehouse(order_state=state)
        if (
            self.warehouse is not None
            and case.inspection is None
            and case.status is CaseStatus.awaiting_seller_receipt
        ):
            inspection = self._warehouse_inspection(case.order_id)
            if inspection is not None:
                update["inspection"] = inspection
        return case.model_copy(update=update)

    def _warehouse_state(self, order_id: str) -> WarehouseState | None:
        warehouse = self.warehouse
        assert warehouse is not None
        try:
            return self._retrying(lambda: warehouse.get_order_state(order_id)).state
        except NotFoundError:
            return None

    def _warehouse_inspection(self, order_id: str) -> Inspection | None:
        warehouse = self.warehouse
        assert warehouse is not None
        try:
            receipt = self._retrying(lambda: warehouse.get_return_inspection(order_id))
        except NotFoundError:
            return None
        return receipt.inspection if receipt.received else None

    # -- decide -------------------------------------------------------------------------------

    def decide_pending(self, limit: int = 1000) -> StepCounts:
        """Decide new cases, nearest deadline first, up to ``limit`` of them.

        Read a few at a time, not one long list: a case that becomes new while the decider
        works through a backlog (a conflict near its deadline, a buyer's change) is taken next,
        not after the hundreds read before it (found by the SMOKE chaos run: cases waited in
        ``new`` for up to 130 s while the backlog of a 2,000-case start was decided). A few of
        each read are the longest waiting, so a case with a far deadline is never starved by a
        steady stream of nearer ones.
        """
        counts = StepCounts()
        skipped: set[CaseKey] = set()  # busy or unknown shop: still new, not read again
        tried = 0
        while tried < limit:
            nearest = self.store.cases_in_state(
                CaseState.new, limit=DECIDE_BATCH - DECIDE_LONGEST_WAITING + len(skipped)
            )
            oldest = self.store.cases_in_state(
                CaseState.new, limit=DECIDE_LONGEST_WAITING + len(skipped), longest_waiting=True
            )
            batch = list({r.key: r for r in [*oldest, *nearest] if r.key not in skipped}.values())
            if not batch:
                break
            jobs: list[tuple[CaseRecord, Future[Decision | None]]] = []
            for record in batch[: limit - tried]:
                tried += 1
                shop = self.shops.get((record.platform, record.shop_id))
                if shop is None:
                    skipped.add(record.key)
                    continue
                jobs.append((record, self._decide_pool.submit(self._decide_in_turn, shop, record)))
            for record, job in jobs:
                if job.result() is None:
                    skipped.add(record.key)
                else:
                    counts.decided += 1
        return counts

    def _decide_in_turn(self, shop: ShopRuntime, record: CaseRecord) -> Decision | None:
        self.sweeper_first.wait_turn()
        return self.decide_case(shop, record)

    def decide_case(self, shop: ShopRuntime, record: CaseRecord) -> Decision | None:
        """Decide one case and write decision, effects, state and audit in one transaction.

        Postponed (None) while an earlier effect of the case is in flight or of unknown outcome:
        it may have landed, and deciding on top of it could apply a second, conflicting write.
        """
        lock = self._case_lock(record.key)
        # Never wait for the case: its lock is held by a send that may hang for the whole
        # client timeout and its retries, and the decider (the deadline sweeper above all)
        # must not stall behind a network call. A busy case stays due and is tried next tick.
        if not lock.acquire(blocking=False):
            return None
        try:
            fresh = self.store.get_case(record.key)
            if fresh is None:
                return None
            open_effects = self.store.open_effects(record.key)
            if any(e.status is not EffectStatus.pending for e in open_effects):
                return None
            return self._decide_locked(shop, fresh, supersede=bool(open_effects))
        finally:
            lock.release()

    def _decide_locked(self, shop: ShopRuntime, record: CaseRecord, *, supersede: bool) -> Decision:
        shop = with_live_policy(self.store, shop)  # issue 20: an installed policy, no restart
        now = self.clock.now()
        case = record.case
        decision = decide(case, shop.policy, now)
        refused = self._refused_at_this_version(record)
        if refused is not None and decision.action not in (Action.none, Action.human):
            decision = decide_for_person(
                case, shop.policy, now, rule_id=decision.rule_id, note=refused
            )
        decision = self._cap_to_refundable(case, decision)
        decision = self._within_adapter(shop, decision)
        decision = within_platform_rules(
            case, decision, shop.policy, now, shop.adapter.refusal_forbidden
        )
        decision = gate(self.store, shop.policy, record.key, case, decision, now)  # issue 20
        steps = plan(case, decision, shop.policy, now, shop.templates, shop.adapter.capabilities)
        no_proof = _lacks(shop, Capability.refuse_with_proof_image)
        effects = [
            spec.model_copy(
                update={
                    "params": shop.evidence.attach(
                        spec.kind, spec.params, case, no_proof_image=no_proof
                    )
                }
            )
            for spec in self._drop_repeated_asks(record, list(steps.effects))
        ]
        not_planned = {str(k): _lacks(shop, EFFECT_CAPABILITY[k]) for k in steps.not_planned}
        notices = decision_notices(
            self.notifier,
            record,
            rule_id=decision.rule_id,
            action=decision.action.value,
            escalated=steps.escalate,
            deadline_fallback=decision.deadline_fallback,
            now=now,
        )
        with self.store.unit_of_work():
            crash_point("decide.before_commit")
            if supersede:
                self.store.supersede_open_effects(record.key, reason="the case was decided again")
            self.store.record_decision(
                record.key,
                decided_version=case.version,
                policy_version=decision.policy_version,
                rule_id=decision.rule_id or "(none)",
                action=decision.action.value,
                params={
                    **decision.expect_view(),
                    "guard": decision.guard,
                    "deadline_fallback": decision.deadline_fallback,
                    "left_to_platform": decision.left_to_platform,
                    **({"not_planned": not_planned} if not_planned else {}),
                    "attachments": _attachment_hashes(effects),
                },
                trace=[step.model_dump(mode="json") for step in decision.trace],
                effects=[*effects, *notices],
                first_attempt_at=now,
                facts=case,
                facts_at=now,  # issue 20: kept for backtests
            )
            self.store.set_case_state(
                record.key,
                steps.state,
                actor="policy",
                reason=f"{decision.action.value} by {decision.rule_id}",
                next_review_at=steps.next_review_at,
            )
            if steps.escalate:
                audit_events.escalated(
                    self.store,
                    key=record.key,
                    deadline_at=case.deadline_at,
                    rule_id=decision.rule_id,
                    guard=decision.guard,
                )
            if decision.deadline_fallback:
                audit_events.deadline_fallback(
                    self.store,
                    key=record.key,
                    action=decision.action.value,
                    rule_id=decision.rule_id,
                )
        crash_point("decide.committed")
        after_decision(self.store, self.notifier, record.key, case, now, decision)  # issue 20
        self.metrics.decision(shop.platform, decision.action.value, decision.rule_id or "(none)")
        return decision

    def _refused_at_this_version(self, record: CaseRecord) -> DaemonNote | None:
        """The platform refused an effect decided on this very version: a person owns it now."""
        for effect in self.store.effects_of_case(record.key):
            if (
                effect.status is EffectStatus.failed
                and effect.decided_version == record.version
                and effect.kind not in NOTICE_EFFECTS
            ):
                reason = effect.last_error or "refused"
                return DaemonNote(
                    text_en=f"the platform refused {effect.kind}: {reason}; a person decides",
                    text_zh=f"平台拒绝了 {effect.kind}：{reason}；转人工处理",
                )
        return None

    def _within_adapter(self, shop: ShopRuntime, decision: Decision) -> Decision:
        """An action the shop's adapter cannot carry out (JD cannot message buyers) is a person's.

        The rule's parameters stay, so its deadline fallback (e.g. refuse) still applies when
        the guard's time comes and the policy decides afresh.
        """
        needed = ACTION_CAPABILITY.get(decision.action)
        if needed is None or needed in shop.adapter.capabilities:
            return decision
        why = _lacks(shop, needed)
        note = DaemonNote(
            text_en=f"{decision.action.value} needs {needed}, which {shop.platform} lacks "
            f"({why}): a person does it",
            text_zh=f"{action_zh(decision.action)}需要{needed}，{shop.platform} 不支持"
            f"（{why}）：转人工处理",
        )
        return decision.model_copy(
            update={"action": Action.human, "trace": (*decision.trace, note)}
        )

    def _cap_to_refundable(self, case: RefundCase, decision: Decision) -> Decision:
        """Never approve more than paid less what was already refunded on the same order."""
        if decision.action not in APPROVING_ACTIONS:
            return decision
        amount = decision.parameters.refund_amount or case.refund_amount
        already = self.store.refunded_on_order(
            case.platform, case.shop_id, case.order_id, exclude_case_id=case.case_id
        )
        if amount <= case.paid_amount - already:
            return decision
        note = DaemonNote(
            text_en=(
                f"refund of {amount} fen exceeds what is left to refund on order {case.order_id}"
                f" ({case.paid_amount} paid, {already} already refunded): a person decides"
            ),
            text_zh=(
                f"退款 {amount} 分超过订单 {case.order_id} 可退余额（实付 {case.paid_amount} 分，"
                f"已退 {already} 分）：转人工"
            ),
        )
        return decision.model_copy(
            update={
                "action": Action.human,
                "parameters": decision.parameters.model_copy(update={"escalated": True}),
                "deadline_fallback": False,
                "trace": (*decision.trace, note),
            }
        )

    def _drop_repeated_asks(self, record: CaseRecord, effects: list[Any]) -> list[Any]:
        """The buyer is asked to modify at most once per change of theirs."""
        asks = [e for e in effects if e.kind is EffectKind.message_buyer]
        if not asks:
            return effects
        for previous in self.store.effects_of_case(record.key):
            if (
                previous.kind is EffectKind.message_buyer
                and previous.status not in (EffectStatus.superseded, EffectStatus.cancelled)
                and previous.created_at >= record.changed_at
            ):
                return [e for e in effects if e.kind is not EffectKind.message_buyer]
        return effects

    # -- relay --------------------------------------------------------------------------------

    def relay_due(self, limit: int = 200) -> StepCounts:
        """Send every due effect, concurrently but bounded per shop; wait for them all."""
        counts = StepCounts()
        due = self.store.due_effects(self.clock.now(), limit=limit)
        futures = [self._pool.submit(self._send_guarded, effect) for effect in due]
        for future in futures:
            outcome = future.result()
            if outcome == "done":
                counts.sent += 1
            elif outcome == "failed":
                counts.failed += 1
        return counts

    def relay_stream(self, limit: int = 200) -> int:
        """Hand due effects to the senders without waiting for them (the service's relay).

        A slow or hung send holds only its own worker, so an urgent effect never waits for
        the slowest send of a batch; an effect already handed over is not handed over again.
        Only as many as there are free senders are handed over: a queue inside the pool would
        keep the order of an earlier tick, and an effect that turned urgent since (a deadline
        fallback) would wait behind hundreds of others (found by the SMOKE chaos run: after an
        outage, fallback approvals waited 4-11 s for a sender and the platform acted first).
        """
        with self._streaming_lock:
            busy = len(self._streaming)
            per_shop = Counter(self._streaming.values())
        free = min(limit, self.settings.relay_concurrency - busy)
        if free <= 0:
            return 0
        # A freed sender's refill (free = 1) reads a few rows, not the whole look-ahead.
        lookahead = min(RELAY_LOOKAHEAD, 8 * free)
        due = self.store.due_effects(self.clock.now(), limit=free + busy + lookahead)
        handed = 0
        for effect in due:
            if handed >= free:
                break
            shop = (effect.platform, effect.shop_id)
            # A shop's sends beyond its concurrency would only hold senders waiting for its slot.
            if per_shop[shop] >= self.settings.per_shop_concurrency:
                continue
            with self._streaming_lock:
                if effect.id in self._streaming:
                    continue
                self._streaming[effect.id] = shop
            per_shop[shop] += 1
            try:
                self._pool.submit(self._send_streamed, effect)
            except RuntimeError:  # shutting down: the effect stays due for the next start
                with self._streaming_lock:
                    self._streaming.pop(effect.id, None)
                break
            handed += 1
        return handed

    def _send_streamed(self, effect: EffectRecord) -> str:
        try:
            return self._send_guarded(effect)
        finally:
            with self._streaming_lock:
                self._streaming.pop(effect.id, None)
            # The freed sender takes the most urgent due effect now, not at the next tick.
            with contextlib.suppress(Exception):
                self.relay_stream(limit=1)

    def _send_guarded(self, effect: EffectRecord) -> str:
        self.sweeper_first.wait_turn()
        key = (effect.platform, effect.shop_id)
        slot = self._shop_slots.get(key)
        lock = self._case_lock(effect.case_key)
        if slot is None:
            return "skipped"
        with slot, lock:
            try:
                outcome = self.send_effect(effect)
            except Exception:  # the one broad catch: a bug in one send must not stop the relay
                logger.exception(
                    "effect send crashed", extra={"effect_id": effect.id, "kind": effect.kind}
                )
                return "crashed"
        after = self.store.get_effect(effect.id)
        code = after.last_platform_code if after is not None else None
        self.metrics.effect_attempt(effect.platform, str(effect.kind), outcome, code)
        return outcome

    def send_effect(self, effect: EffectRecord) -> str:
        """Carry out one outbox row; every outcome is recorded with its audit entry."""
        shop = self.shops[(effect.platform, effect.shop_id)]
        current = self.store.get_effect(effect.id)
        if current is None or current.status not in (EffectStatus.pending, EffectStatus.unknown):
            return "skipped"
        if holds_effect(self.store, current, self.clock.now()):  # issue 20: paused
            return "held"
        record = self.store.get_case(effect.case_key)
        if record is None:
            return "skipped"
        if current.kind in NOTICE_EFFECTS:
            return send_notice(
                self.store,
                self.notifier,
                current,
                now=self.clock.now(),
                retry_schedule_s=self.settings.retry_schedule_s,
                max_attempts=self.settings.max_attempts,
            )
        if current.status is EffectStatus.unknown:
            resolved = self._resolve_unknown(shop, current, record)
            if resolved is not None:
                return resolved
        claimed = self.store.claim_effect(effect.id)
        crash_point("relay.claimed")
        started = time.monotonic()
        try:
            result_code, detail = self._perform(shop, claimed, record)
        except OutcomeUnknownError as exc:
            wait = self._backoff(claimed, record.deadline_at)
            self.store.mark_effect_unknown(
                claimed.id,
                error=_safe(exc),
                next_attempt_at=self.clock.now() + timedelta(seconds=wait),
                platform_code=exc.platform_code,
                latency_ms=_ms(started),
            )
            return "unknown"
        except ConflictError as exc:
            self._on_conflict(shop, claimed, exc)
            return "conflict"
        except StepUpRequiredError as exc:
            self._on_step_up(claimed, record, exc, _ms(started))
            return "failed"
        except (NeedsHumanError, ActionForbiddenError) as exc:
            self._on_permanent(claimed, record, exc, _ms(started))
            return "failed"
        except (RetryableError, ReauthRequiredError) as exc:
            return self._on_retryable(claimed, record, exc, _ms(started))
        crash_point("relay.sent")
        with self.store.unit_of_work():
            self.store.mark_effect_done(
                claimed.id, platform_code=result_code, latency_ms=_ms(started), detail=detail
            )
            if claimed.kind in MONEY_EFFECTS:
                self.store.record_buyer_refund(
                    claimed.case_key,
                    buyer_id=record.case.buyer.id,
                    amount=int(claimed.params.get("amount", record.case.refund_amount)),
                    refunded_at=self.clock.now(),
                )
        crash_point("relay.done_committed")
        return "done"

    def _perform(
        self, shop: ShopRuntime, effect: EffectRecord, record: CaseRecord
    ) -> tuple[str | None, str]:
        case = record.case
        if effect.kind is EffectKind.void_warehouse_order:
            if self.warehouse is None:
                msg = "no warehouse is configured, so the order cannot be voided"
                raise ActionForbiddenError(msg, operation="void_warehouse_order")
            warehouse = self.warehouse
            voided = self._retrying(
                lambda: warehouse.void_order(case.order_id, request_id=effect.key)
            )
            done = voided.outcome is SubmitOutcome.already_done
            return None, "already voided" if done else "voided"
        if effect.kind is EffectKind.open_carrier_claim:
            self.store.record_carrier_claim(effect.case_key, case=case, effect_id=effect.id)
            return None, "claim recorded"
        if effect.kind not in PLATFORM_EFFECTS:
            msg = f"no sender for effect {effect.kind}"
            raise ActionForbiddenError(msg, operation=str(effect.kind))
        request = EffectRequest(
            key=effect.key,
            kind=effect.kind,
            platform=effect.platform,
            shop_id=effect.shop_id,
            case_id=effect.case_id,
            order_id=case.order_id,
            version=effect.decided_version,
            platform_fields=dict(case.platform_fields),
            params=shop.evidence.wire_params(dict(effect.params)),
        )
        shop.adapter.require(request)
        result = self._call(shop, lambda: shop.adapter.submit(request))
        detail = "already in target state" if result.outcome is SubmitOutcome.already_done else ""
        return result.platform_code, detail or result.detail

    def _resolve_unknown(
        self, shop: ShopRuntime, effect: EffectRecord, record: CaseRecord
    ) -> str | None:
        """Re-read before any resend whose outcome is unknown; None means: send again."""
        if effect.kind not in TARGET_STATUSES:
            return None
        try:
            latest = self._call(shop, lambda: shop.adapter.get_case(effect.case_id))
            landed = latest.status in TARGET_STATUSES[effect.kind]
            # Enriched now, outside the write transaction below; a failing warehouse is a
            # failed re-read like any other (the effect must not stay in flight).
            unmoved = landed or latest.version == effect.decided_version
            moved = None if unmoved else self._enrich(shop, latest)
        except AdapterError as exc:
            self.store.reschedule_effect(
                effect.id,
                error=f"re-read before resend failed: {_safe(exc)}",
                next_attempt_at=self.clock.now()
                + timedelta(seconds=self._backoff(effect, record.deadline_at)),
            )
            return "unknown"
        crash_point("relay.reread")
        if landed:
            with self.store.unit_of_work():
                self.store.mark_effect_done(effect.id, detail="found applied on re-read")
                if effect.kind in MONEY_EFFECTS:
                    self.store.record_buyer_refund(
                        effect.case_key,
                        buyer_id=record.case.buyer.id,
                        amount=int(effect.params.get("amount", record.case.refund_amount)),
                        refunded_at=self.clock.now(),
                    )
            return "done"
        if moved is not None:
            with self.store.unit_of_work():
                self.store.upsert_case(moved)
                self.store.supersede_open_effects(
                    effect.case_key, reason="the case changed before the outcome was known"
                )
                self.store.set_case_state(
                    effect.case_key, CaseState.new, reason="re-read after an unknown outcome"
                )
            return "superseded"
        return None

    def _on_conflict(self, shop: ShopRuntime, effect: EffectRecord, exc: ConflictError) -> None:
        """The case moved on: re-read it, drop what was planned, decide again."""
        enriched: RefundCase | None
        try:
            latest = self._call(shop, lambda: shop.adapter.get_case(effect.case_id))
            enriched = self._enrich(shop, latest)  # outside the write transaction below
        except AdapterError:
            enriched = None  # the next poll reads it: its version moved
        with self.store.unit_of_work():
            if enriched is not None:
                self.store.upsert_case(enriched)
            self.store.mark_effect_superseded(
                effect.id, reason=f"conflict: {_safe(exc)}", platform_code=exc.platform_code
            )
            self.store.supersede_open_effects(effect.case_key, reason=f"conflict: {_safe(exc)}")
            self.store.set_case_state(
                effect.case_key, CaseState.new, reason="platform version moved; deciding again"
            )

    def _on_step_up(
        self, effect: EffectRecord, record: CaseRecord, exc: StepUpRequiredError, latency: float
    ) -> None:
        with self.store.unit_of_work():
            self.store.mark_effect_failed(
                effect.id, error=_safe(exc), platform_code=exc.sub_code, latency_ms=latency
            )
            self.store.open_task(
                effect.case_key,
                "sms_code",
                deadline_at=record.deadline_at,
                details={"effect_id": effect.id, "kind": str(effect.kind), "why": _safe(exc)},
            )
            self.store.set_case_state(
                effect.case_key, CaseState.queued_for_human, reason="platform asks for an SMS code"
            )

    def _on_permanent(
        self, effect: EffectRecord, record: CaseRecord, exc: AdapterError, latency: float
    ) -> None:
        with self.store.unit_of_work():
            self.store.mark_effect_failed(
                effect.id, error=_safe(exc), platform_code=exc.platform_code, latency_ms=latency
            )
            self.store.supersede_open_effects(
                effect.case_key, reason=f"an earlier effect failed: {effect.kind}"
            )
            shop = self.shops.get((effect.platform, effect.shop_id))
            review_at = (
                next_review(record.case, shop.policy, self.clock.now())
                if shop is not None
                else record.guard_at
            )
            self.store.set_case_state(
                effect.case_key,
                CaseState.queued_for_human,
                reason=f"{effect.kind} refused by the platform: {_safe(exc)}",
                next_review_at=review_at or self.clock.now(),
            )

    def _on_retryable(
        self, effect: EffectRecord, record: CaseRecord, exc: AdapterError, latency: float
    ) -> str:
        if effect.attempts >= self.settings.max_attempts:
            self._on_permanent(effect, record, exc, latency)
            return "failed"
        wait = self._backoff(effect, record.deadline_at)
        if isinstance(exc, RetryableError) and exc.retry_after is not None:
            wait = max(wait, exc.retry_after)
        self.store.reschedule_effect(
            effect.id,
            error=_safe(exc),
            next_attempt_at=self.clock.now() + timedelta(seconds=wait),
            platform_code=exc.platform_code,
            latency_ms=latency,
        )
        return "retry"

    def _backoff(self, effect: EffectRecord, deadline: datetime | None) -> float:
        """The retry schedule's wait, cut near the deadline to leave room for more attempts.

        (Found by the SMOKE chaos run: a fallback approval due 15 s before the deadline lost
        its first two sends and a restart, waited out the schedule, and the platform acted for
        the seller first.) A platform's Retry-After still wins: a ban is waited out.
        """
        schedule = self.settings.retry_schedule_s
        wait = float(schedule[min(max(effect.attempts - 1, 0), len(schedule) - 1)])
        if deadline is not None:
            left = (deadline - self.clock.now()).total_seconds()
            if left > 0:
                wait = min(wait, max(left / 4, URGENT_WAIT_FLOOR_S))
        return wait

    # -- deadlines ----------------------------------------------------------------------------

    def sweep_deadlines(self) -> StepCounts:
        """Re-decide every case whose stored review time has come (the deadline guard).

        Other workers start no new unit of work meanwhile (``SweeperFirst``).
        """
        with self.sweeper_first.first():
            return self._sweep()

    def _sweep(self) -> StepCounts:
        counts = StepCounts()
        now = self.clock.now()
        for record in [*self.store.cases_due_for_review(now), *self._new_inside_guard(now)]:
            shop = self.shops.get((record.platform, record.shop_id))
            if shop is None or record.state in (CaseState.done, CaseState.left_to_platform):
                continue
            if self.store.open_effects(record.key):
                enqueue_at_risk(self.store, self.notifier, record, now=now)
                continue
            if self.decide_case(shop, record) is not None:
                overtake_pending_approvals(self.store, record.key)
                crash_point("sweep.decided")
                counts.decided += 1
        return counts

    def _new_inside_guard(self, now: datetime) -> list[CaseRecord]:
        """Undecided cases already inside their shop's guard window: the sweeper's, not the
        decider's, so they never queue behind a backlog of new cases (found by the SMOKE chaos
        run: a case sent back to ``new`` by a conflict 11 s before its deadline was not decided
        again before the platform acted).
        """
        leads = [shop.policy.guard_escalate for shop in self.shops.values()]
        if not leads:
            return []
        due = []
        for record in self.store.new_cases_due_by(now + max(leads)):
            shop = self.shops.get((record.platform, record.shop_id))
            deadline = record.deadline_at
            if (
                shop is not None
                and deadline is not None
                and deadline - shop.policy.guard_escalate <= now
            ):
                due.append(record)
        return due

    # -- one whole pass -----------------------------------------------------------------------

    def run_once(self, *, full: bool = False, max_relay_rounds: int = 50) -> StepCounts:
        """Poll every shop, decide, relay until nothing is due now, sweep deadlines."""
        total = StepCounts()
        for shop in self.shops.values():
            if not shop.enabled:
                continue
            try:
                counts = self.poll_shop(shop, full=full)
            except AdapterError as exc:
                total.errors.append(f"{shop.shop_id}: {_safe(exc)}")
                continue
            total.seen += counts.seen
            total.changed += counts.changed
            total.quarantined += counts.quarantined
        for _ in range(max_relay_rounds):
            total.decided += self.decide_pending().decided
            total.decided += self.sweep_deadlines().decided
            sent = self.relay_due()
            total.sent += sent.sent
            total.failed += sent.failed
            due = self.store.due_effects(self.clock.now(), limit=1)
            if not due and not self.store.cases_in_state(CaseState.new, limit=1):
                break
        return total


def _attachment_hashes(effects: list[Any]) -> list[dict[str, Any]]:
    """What each planned write carries as pictures, by hash: the audit shows exactly what went."""
    found = []
    for spec in effects:
        for key, value in spec.params.items():
            if key.endswith("_sha256"):
                name = key.removesuffix("_sha256")
                found.append(
                    {
                        "effect": str(spec.kind),
                        "attachment": name,
                        "sha256": value,
                        "bytes": spec.params.get(f"{name}_bytes"),
                    }
                )
    return found


def _lacks(shop: ShopRuntime, capability: Capability) -> str | None:
    """Why the shop's adapter lacks ``capability`` (None when it has it)."""
    adapter = shop.adapter
    if capability in adapter.capabilities:
        return None
    return adapter.missing_capabilities.get(capability) or f"{shop.platform} cannot {capability}"


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def _safe(exc: BaseException) -> str:
    """Error text for the store and logs: adapters build messages from safe fields only."""
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


def _problem(exc: AdapterError) -> Any:
    from connector.errors import FieldProblem

    field_name = getattr(exc, "field", None) or "(payload)"
    return FieldProblem(field=str(field_name), reason=exc.message)
