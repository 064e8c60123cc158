"""The long-running service: APScheduler 3.x only ticks; every step reads and writes the store.

Jobs: one incremental poll and one full reconciliation per shop, the decider of new cases, the
deadline sweeper on a thread of its own, and the outbox relay. Each job has ``max_instances=1``
and ``coalesce``, so a slow tick never piles up. SIGTERM/SIGINT stop the ticker and wait for
in-flight work to finish.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from connector import activity
from connector.errors import AdapterError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .core import Daemon
    from .runtime import ShopRuntime

logger = logging.getLogger(__name__)
CORE_EXECUTOR = "core"
"""The executor of the decide and relay jobs, apart from the per-shop polls."""
SWEEP_EXECUTOR = "sweep"
"""The deadline sweeper's own thread: a burst of new cases never holds back the guard."""


class Service:
    """Runs a Daemon's steps on wall-clock intervals until stopped."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.stopping = threading.Event()
        # A thread for every poll and reconcile job, and the decide and relay jobs apart: a
        # job queued behind others past ``misfire_grace_time`` is skipped, so with fewer
        # threads than jobs some shops would never be polled and every push would wait.
        # The platform calls themselves stay bounded by the intake pool and the quota.
        polls = 2 * len(daemon.shops)
        self.scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=max(polls, 1)),
                CORE_EXECUTOR: ThreadPoolExecutor(max_workers=2),
                SWEEP_EXECUTOR: ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
            timezone="UTC",
        )

    def _guarded(self, name: str, step: Callable[[], Any]) -> Callable[[], None]:
        def job() -> None:
            if self.stopping.is_set():
                return
            try:
                step()
            except AdapterError as exc:
                logger.warning("step failed", extra={"step": name, "error": str(exc)})
            except StoreError:
                logger.exception("store failure", extra={"step": name})
            except Exception:  # the ticker's only broad catch: one failed tick, not a dead daemon
                logger.exception("step crashed", extra={"step": name})

        return job

    def _poll(self, shop: ShopRuntime, *, full: bool) -> Callable[[], Any]:
        def step() -> None:
            self.daemon.poll_shop(shop, full=full)

        return step

    def _next_reconciliation(self, shop: ShopRuntime, now: datetime) -> datetime:
        """From the stored time of the last one: frequent restarts must not put it off forever.

        (Found by the SMOKE chaos run: with a kill every 30 s and the first reconciliation
        always a whole interval after start, an item broken in its only listing waited.)
        """
        interval = timedelta(seconds=self.daemon.settings.reconcile_interval_s)
        record = self.daemon.store.get_shop(shop.platform, shop.shop_id)
        # Never reconciled: an interval after the first poll (which lists the whole history),
        # not after this start, or a daemon restarted more often than the interval never
        # reconciles (found by the soak chaos run).
        last = None if record is None else record.last_full_reconciliation_at
        if last is None and record is not None:
            last = record.first_polled_at
        if last is None:
            return now + interval
        return max(now, last + interval)

    def start(self) -> None:
        settings = self.daemon.settings
        now = self.daemon.clock.now()
        recovered = self.daemon.store.recover_in_flight()
        if recovered:
            logger.warning(
                "in-flight effects from before a crash marked unknown",
                extra={"count": len(recovered)},
            )
        # The guard before anything else: after a restart (or a long stop) the cases whose
        # guard moment passed meanwhile are escalated before the polls of every shop compete
        # with the sweeper for the process (found by the SMOKE chaos run: ~1.7 s after start).
        self._guarded("sweep at start", self.daemon.sweep_deadlines)()
        for key, shop in self.daemon.shops.items():
            if not shop.enabled:
                continue
            name = f"{key[0]}:{key[1]}"
            self.scheduler.add_job(
                self._guarded(f"reconcile:{name}", self._poll(shop, full=True)),
                "interval",
                seconds=settings.reconcile_interval_s,
                id=f"reconcile:{name}",
                next_run_time=self._next_reconciliation(shop, now),
            )
            self.scheduler.add_job(
                self._guarded(f"poll:{name}", self._poll(shop, full=False)),
                "interval",
                seconds=settings.poll_interval_s,
                id=f"poll:{name}",
                next_run_time=now,
                jitter=min(settings.poll_interval_s / 10, 1.0),
            )
        # The sweeper apart from the decider: a burst of new cases (after an outage or a
        # restart) must not hold back the escalation or fallback of a case whose deadline is near.
        self.scheduler.add_job(
            self._guarded("sweep", self.daemon.sweep_deadlines),
            "interval",
            seconds=settings.sweep_interval_s,
            id="sweep",
            executor=SWEEP_EXECUTOR,
            next_run_time=now,
        )
        self.scheduler.add_job(
            self._guarded("decide", self.daemon.decide_pending),
            "interval",
            seconds=min(settings.relay_interval_s, settings.sweep_interval_s),
            id="decide",
            executor=CORE_EXECUTOR,
            next_run_time=now,
        )
        self.scheduler.add_job(
            self._guarded("relay", self.daemon.relay_stream),
            "interval",
            seconds=settings.relay_interval_s,
            id="relay",
            executor=CORE_EXECUTOR,
            next_run_time=now,
        )
        activity.attach(self.daemon, self.scheduler)  # the minute summary (connector/activity.py)
        self.scheduler.start()
        logger.info("service started", extra={"shops": len(self.daemon.shops)})

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        self.daemon.close()
        logger.info("service stopped")

    def run_forever(self) -> None:
        """Start, then block until SIGTERM or SIGINT; finish in-flight work before returning."""
        stop_requested = threading.Event()

        def request_stop(signum: int, _frame: Any) -> None:
            logger.info("stop requested", extra={"signal": signum})
            stop_requested.set()

        previous = {
            sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self.start()
            while not stop_requested.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
