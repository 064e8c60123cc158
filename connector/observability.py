"""The ops surface: Prometheus metrics, liveness and readiness, as Starlette routes.

Counters the daemon increments (effect attempts, decisions) go through the small
``DaemonMetrics`` hook; everything that is state (cases by state, queue depth, nearest deadline,
poll lag, effects by status) is read from the store at scrape time, so it is right after a restart.
Each ``Metrics`` owns its own ``CollectorRegistry``: nothing is global, tests never leak into one
another. ``ops_routes`` sit beside the web console on its port in ``demo --serve``
(``connector/demo_serve.py``) and are served by ``run`` on the ``[ops]`` loopback port.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connector.effects import EffectStatus
from connector.errors import StoreError
from connector.store.api import CaseState

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.daemon.core import Daemon
    from connector.store import Store

logger = logging.getLogger(__name__)

StoreFactory = Callable[[], "Store"]
"""Returns the store to read; the routes never close it (its owner does)."""

DEFAULT_STUCK_AFTER = timedelta(minutes=10)
_UNHEALTHY_SHOP_STATES = frozenset({"auth_failed", "degraded"})
_FAR_AHEAD = timedelta(days=3650)
_NOT_ATTEMPTS = frozenset({"skipped"})
_NOT_FAILURES = frozenset({"done", "skipped"})


class DaemonMetrics(Protocol):
    """What the daemon reports as it works; counters only (state is read from the store)."""

    def effect_attempt(self, platform: str, kind: str, outcome: str, code: str | None) -> None:
        """One send of an effect ended with ``outcome`` (done, retry, unknown, failed, ...)."""

    def decision(self, platform: str, action: str, rule_id: str) -> None:
        """The policy decided one case."""


class NullMetrics:
    """The default hook: a daemon without an ops surface counts nothing."""

    def effect_attempt(self, platform: str, kind: str, outcome: str, code: str | None) -> None:
        del platform, kind, outcome, code

    def decision(self, platform: str, action: str, rule_id: str) -> None:
        del platform, action, rule_id


class Metrics:
    """One process's metrics: the daemon's counters plus the store read at each scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.effect_attempts = Counter(
            "refund_connector_effect_attempts",
            "Effect sends by platform, kind and outcome (done, retry, unknown, failed, conflict).",
            ["platform", "kind", "outcome"],
            registry=self.registry,
        )
        self.effect_failures = Counter(
            "refund_connector_effect_failures",
            "Effect sends that did not end done, by platform, kind and platform code.",
            ["platform", "kind", "code"],
            registry=self.registry,
        )
        self.decisions = Counter(
            "refund_connector_decisions",
            "Policy decisions by platform, action and rule.",
            ["platform", "action", "rule"],
            registry=self.registry,
        )
        self.stage_cpu = Counter(
            "refund_connector_stage_cpu_seconds",
            "CPU seconds by pipeline stage (list, fetch, enrich, decide, store, send), exclusive "
            "of nested stages; the rest of the process's CPU is scheduling and serving.",
            ["stage"],
            registry=self.registry,
        )
        self._store_collector: StoreCollector | None = None
        self._timed: set[int] = set()

    def time_stages(self, daemon: Daemon) -> None:
        """Count each stage's thread CPU for ``daemon`` (once per daemon; see ``StageTimer``)."""
        if id(daemon) in self._timed:
            return
        self._timed.add(id(daemon))
        StageTimer(self.stage_cpu).instrument(daemon)

    def effect_attempt(self, platform: str, kind: str, outcome: str, code: str | None) -> None:
        if outcome in _NOT_ATTEMPTS:
            return
        self.effect_attempts.labels(platform, kind, outcome).inc()
        if outcome not in _NOT_FAILURES:
            self.effect_failures.labels(platform, kind, code or "none").inc()

    def decision(self, platform: str, action: str, rule_id: str) -> None:
        self.decisions.labels(platform, action, rule_id or "(none)").inc()

    def watch_store(self, store_factory: StoreFactory, clock: Clock) -> None:
        """Read the store at every scrape (registered once; later calls are ignored)."""
        if self._store_collector is None:
            self._store_collector = StoreCollector(store_factory, clock)
            self.registry.register(self._store_collector)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Gauges computed from the store when Prometheus scrapes."""

    def __init__(self, store_factory: StoreFactory, clock: Clock) -> None:
        self._store_factory = store_factory
        self._clock = clock

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "refund_connector_store_readable", "1 when the store answered this scrape."
        )
        try:
            families = self._families(self._store_factory(), self._clock.now())
        except StoreError as exc:
            logger.warning("metrics: store unreadable", extra={"error": str(exc)})
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    @staticmethod
    def _families(store: Store, now: datetime) -> list[Metric]:
        by_state = store.count_cases_by_state()
        cases = GaugeMetricFamily(
            "refund_connector_cases", "Cases by the connector's state.", labels=["state"]
        )
        for state in CaseState:
            cases.add_metric([str(state)], by_state.get(state, 0))
        queue = GaugeMetricFamily(
            "refund_connector_queue_depth", "Cases queued for a person (queued_for_human)."
        )
        queue.add_metric([], by_state.get(CaseState.queued_for_human, 0))
        effects = GaugeMetricFamily(
            "refund_connector_effects", "Outbox rows by status.", labels=["status"]
        )
        counted = store.effect_status_counts()
        for status in EffectStatus:
            effects.add_metric([str(status)], counted.get(str(status), 0))
        nearest = GaugeMetricFamily(
            "refund_connector_min_seconds_to_deadline",
            "Seconds left before the nearest deadline among open cases (negative: passed).",
        )
        # Open cases with a guard, nearest deadline first: the sweeper's own query, looking ahead.
        soonest = store.cases_due_for_guard(now + _FAR_AHEAD, limit=1)
        if soonest and soonest[0].deadline_at is not None:
            nearest.add_metric([], (soonest[0].deadline_at - now).total_seconds())
        lag = GaugeMetricFamily(
            "refund_connector_poll_lag_seconds",
            "How far the last completed poll ended behind the clock, per shop.",
            labels=["platform", "shop_id"],
        )
        since = GaugeMetricFamily(
            "refund_connector_seconds_since_poll",
            "Seconds since the last completed poll, per shop.",
            labels=["platform", "shop_id"],
        )
        for shop in store.list_shops():
            labels = [shop.platform, shop.shop_id]
            if shop.poll_lag_s is not None:
                lag.add_metric(labels, shop.poll_lag_s)
            if shop.last_poll_at is not None:
                since.add_metric(labels, (now - shop.last_poll_at).total_seconds())
        from connector.safety import safety_families  # issue 20

        return [cases, queue, effects, nearest, lag, since, *safety_families(store, now)]


# -- readiness ----------------------------------------------------------------------------------


class _ProbeRollbackError(Exception):
    """Raised inside the probe transaction so it rolls back."""


def store_writable(store: Store) -> str | None:
    """Take the write lock (BEGIN IMMEDIATE) and roll back; None when writable, else why not."""
    try:
        with store.unit_of_work():
            raise _ProbeRollbackError
    except _ProbeRollbackError:
        return None
    except StoreError as exc:
        return str(exc)


def unhealthy_platforms(daemon: Daemon | None) -> dict[str, dict[str, Any]]:
    """Shops whose last platform call failed (credentials rejected, or unreachable)."""
    if daemon is None:
        return {}
    return {
        f"{health.platform}:{health.shop_id}": {
            "state": health.state,
            "failures": health.failures,
            "last_error": health.last_error,
        }
        for health in daemon.health.values()
        if health.state in _UNHEALTHY_SHOP_STATES
    }


def stuck_effects(store: Store, now: datetime, stuck_after: timedelta) -> list[dict[str, Any]]:
    """In flight for too long, or of unknown outcome and long past their next attempt."""
    stuck: list[dict[str, Any]] = []
    for status in (EffectStatus.in_flight, EffectStatus.unknown):
        for effect in store.list_effects(status, limit=500):
            in_flight = status is EffectStatus.in_flight
            since = effect.updated_at if in_flight else effect.next_attempt_at
            if since is not None and now - since > stuck_after:
                stuck.append(
                    {
                        "effect_id": effect.id,
                        "kind": str(effect.kind),
                        "status": str(effect.status),
                        "platform": effect.platform,
                        "shop_id": effect.shop_id,
                        "case_id": effect.case_id,
                        "since": since.isoformat(),
                    }
                )
    return stuck


def readiness(
    store: Store, daemon: Daemon | None, now: datetime, stuck_after: timedelta
) -> dict[str, Any]:
    """``{"ready": bool, "not_ready": [names], "checks": {...}}`` for /readyz."""
    not_ready: list[str] = []
    checks: dict[str, Any] = {}
    problem = store_writable(store)
    checks["store"] = {"writable": problem is None, **({"error": problem} if problem else {})}
    if problem is not None:
        not_ready.append("store")
    platforms = unhealthy_platforms(daemon)
    checks["platforms"] = {"unhealthy": platforms, "checked": daemon is not None}
    not_ready.extend(f"platform {name}" for name in sorted(platforms))
    try:
        stuck = stuck_effects(store, now, stuck_after)
    except StoreError as exc:
        stuck = []
        checks["effects_error"] = str(exc)
        if "store" not in not_ready:
            not_ready.append("store")
    checks["effects"] = {"stuck": stuck, "stuck_after_s": stuck_after.total_seconds()}
    if stuck:
        not_ready.append("stuck effects")
    return {"ready": not not_ready, "not_ready": not_ready, "checks": checks}


class StageTimer:
    """Charges thread CPU to pipeline stages by wrapping, on one daemon's objects, the calls
    that make each stage: the adapter contract (list, fetch, send), the store's API (store),
    the daemon's enrich and decide steps. Time is exclusive: a stage nested in another (a store
    write inside a decision) is charged to itself only. Guarded by
    tests/ops_surface/test_stage_cpu.py."""

    DAEMON_STAGES: tuple[tuple[str, str], ...] = (
        ("_enrich", "enrich"),
        ("_decide_locked", "decide"),
    )
    ADAPTER_STAGES: tuple[tuple[str, str], ...] = (
        ("list_cases", "list"),
        ("get_case", "fetch"),
        ("submit", "send"),
    )
    STORE_SKIPPED = frozenset({"unit_of_work", "in_unit_of_work", "close"})

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._local = threading.local()

    def wrap(self, stage: str, call: Callable[..., Any]) -> Callable[..., Any]:
        counter = self._counter.labels(stage)
        local = self._local

        @functools.wraps(call)
        def timed(*args: Any, **kwargs: Any) -> Any:
            stack: list[float] = local.__dict__.setdefault("stack", [])
            started = time.thread_time()
            stack.append(0.0)
            try:
                return call(*args, **kwargs)
            finally:
                nested = stack.pop()
                spent = time.thread_time() - started
                counter.inc(max(spent - nested, 0.0))
                if stack:
                    stack[-1] += spent

        return timed

    def instrument(self, daemon: Daemon) -> None:
        from connector.store.api import Store

        for name, stage in self.DAEMON_STAGES:
            if callable(getattr(daemon, name, None)):
                setattr(daemon, name, self.wrap(stage, getattr(daemon, name)))
        for shop in daemon.shops.values():
            for name, stage in self.ADAPTER_STAGES:
                if callable(getattr(shop.adapter, name, None)):
                    setattr(shop.adapter, name, self.wrap(stage, getattr(shop.adapter, name)))
        store = daemon.store
        for name in dir(Store):
            if name.startswith("_") or name in self.STORE_SKIPPED:
                continue
            method = getattr(store, name, None)
            if callable(method):
                setattr(store, name, self.wrap("store", method))


# -- routes -------------------------------------------------------------------------------------


def ops_routes(
    store_factory: StoreFactory,
    daemon: Daemon | None = None,
    *,
    clock: Clock,
    metrics: Metrics | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> list[Route]:
    """/healthz, /readyz and /metrics. ``metrics`` defaults to the daemon's, else a fresh one."""
    if metrics is None:
        daemon_metrics = getattr(daemon, "metrics", None)
        metrics = daemon_metrics if isinstance(daemon_metrics, Metrics) else Metrics()
    metrics.watch_store(store_factory, clock)
    if daemon is not None:
        metrics.time_stages(daemon)
    exposed = metrics

    def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    def readyz(_request: Request) -> Response:
        report = readiness(store_factory(), daemon, clock.now(), stuck_after)
        return JSONResponse(report, status_code=200 if report["ready"] else 503)

    def metrics_text(_request: Request) -> Response:
        return Response(exposed.exposition(), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]


def ops_app(
    store_factory: StoreFactory,
    daemon: Daemon | None = None,
    *,
    clock: Clock,
    metrics: Metrics | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
) -> Starlette:
    """The ops routes alone, for ``run``'s loopback ops port."""
    return Starlette(
        routes=ops_routes(
            store_factory, daemon, clock=clock, metrics=metrics, stuck_after=stuck_after
        )
    )
