"""What ``run`` says at info level: a summary line a minute, and a line per escalation and per
effect that finally failed.

Every figure is read from the store (the audit log since the last look, and the cases' current
states), so the daemon's steps log nothing of their own for this and the figures are right after
a restart. An attempt that failed and will be retried is never a line of its own: attempts are
counted into the minute's summary. Guarded by tests/unit/test_activity.py.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from connector.audit import AuditEntry, AuditEvent
from connector.store.api import CaseState

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.store import Store

logger = logging.getLogger("connector.activity")

SUMMARY_EVERY = timedelta(minutes=1)
LOOK_EVERY_S = 5.0
"""How often the audit log is read for escalations and failures (cheap: entries since the last)."""
AT_RISK_WITHIN = timedelta(hours=1)
"""An open case whose platform deadline is nearer than this is ``at risk``."""
OPEN_STATES = (CaseState.new, CaseState.decided, CaseState.waiting, CaseState.queued_for_human)
AT_RISK_COUNT_CAP = 1000
"""Counting stops here (shown as ``1000+``): the line is a glance, not a report."""
ACTIVITY_EXECUTOR = "activity"


@dataclass
class WindowCounts:
    """What happened since the last summary line (from the audit log)."""

    seen: int = 0
    decided: int = 0
    applied: int = 0
    failed: int = 0
    retried: int = 0
    escalated: int = 0
    fallbacks: int = 0

    def count(self, entry: AuditEntry) -> None:
        event = entry.event
        if event == AuditEvent.case_seen:
            self.seen += 1
        elif event == AuditEvent.decided:
            self.decided += 1
        elif event == AuditEvent.effect_done:
            self.applied += 1
        elif event == AuditEvent.effect_failed:
            self.failed += 1
        elif event == AuditEvent.effect_attempt:
            self.retried += 1
        elif event == AuditEvent.escalated:
            self.escalated += 1
        elif event == AuditEvent.deadline_fallback:
            self.fallbacks += 1


@dataclass
class ActivityLog:
    """Reads the store and logs; ``look()`` is one pass (the service calls it every few s)."""

    store: Store
    clock: Clock
    summary_every: timedelta = SUMMARY_EVERY
    at_risk_within: timedelta = AT_RISK_WITHIN
    last_seq: int | None = 0
    """Audit entries after this seq are told; None: start after the head at the first look."""
    window: WindowCounts = field(default_factory=WindowCounts)
    window_started: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_now(cls, store: Store, clock: Clock) -> ActivityLog:
        """Start after the log's current head: history before this start is not re-told."""
        head = store.audit_head()
        return cls(store=store, clock=clock, last_seq=head.seq if head else 0)

    def look(self) -> None:
        with self._lock:
            now = self.clock.now()
            if self.window_started is None:
                self.window_started = now
            if self.last_seq is None:
                head = self.store.audit_head()
                self.last_seq = head.seq if head else 0
            for entry in self.store.audit_entries(after_seq=self.last_seq):
                self.last_seq = entry.seq
                self.window.count(entry)
                self._tell(entry)
            if now - self.window_started >= self.summary_every:
                self._summary(now)

    def _tell(self, entry: AuditEntry) -> None:
        d = entry.details
        key = f"{entry.platform}/{entry.shop_id}/{entry.case_id}"
        if entry.event == AuditEvent.escalated:
            logger.info(
                "escalated %s to a person: rule %s, deadline %s",
                key,
                d.get("rule_id") or "-",
                d.get("deadline_at") or "none",
                extra={"case": key, "rule_id": d.get("rule_id")},
            )
        elif entry.event == AuditEvent.effect_failed:
            logger.warning(
                "effect failed for good, a person must act: %s #%s on %s after %s attempts: %s",
                d.get("kind"),
                d.get("effect_id"),
                key,
                d.get("attempt", "?"),
                d.get("error") or d.get("platform_code") or "-",
                extra={"case": key, "effect_id": d.get("effect_id")},
            )

    def figures(self, now: datetime) -> dict[str, Any]:
        """The summary's figures: the window's counts and the cases' current states."""
        states = self.store.count_cases_by_state()
        return {
            "window_s": int(self.summary_every.total_seconds()),
            "seen": self.window.seen,
            "decided": self.window.decided,
            "applied": self.window.applied,
            "failed": self.window.failed,
            "retried": self.window.retried,
            "escalated": self.window.escalated,
            "queued": states.get(CaseState.queued_for_human, 0),
            "at_risk": self._at_risk(now),
        }

    def _at_risk(self, now: datetime) -> int:
        limit = now + self.at_risk_within
        count = 0
        for state in OPEN_STATES:
            # Ordered by deadline: stop at the first one beyond the window.
            for record in self.store.cases_in_state(state, limit=AT_RISK_COUNT_CAP):
                if record.deadline_at is None or record.deadline_at > limit:
                    break
                count += 1
        return count

    def _summary(self, now: datetime) -> None:
        f = self.figures(now)
        at_risk = f"{f['at_risk']}+" if f["at_risk"] >= AT_RISK_COUNT_CAP else str(f["at_risk"])
        logger.info(
            "last %ss: seen %s, decided %s, applied %s, failed %s (%s attempts to retry, "
            "%s escalated); now queued for people %s, at risk %s (deadline within %s min)",
            f["window_s"],
            f["seen"],
            f["decided"],
            f["applied"],
            f["failed"],
            f["retried"],
            f["escalated"],
            f["queued"],
            at_risk,
            int(self.at_risk_within.total_seconds() // 60),
            extra={f"activity_{k}": v for k, v in f.items()},
        )
        self.window = WindowCounts()
        self.window_started = now

    def schedule(self, scheduler: Any) -> None:
        """Add the look to an APScheduler 3.x scheduler on an executor of its own."""
        from apscheduler.executors.pool import ThreadPoolExecutor

        scheduler.add_executor(ThreadPoolExecutor(max_workers=1), ACTIVITY_EXECUTOR)
        scheduler.add_job(
            self._guarded_look,
            "interval",
            seconds=LOOK_EVERY_S,
            id="activity",
            executor=ACTIVITY_EXECUTOR,
            next_run_time=self.clock.now(),
        )

    def _guarded_look(self) -> None:
        try:
            self.look()
        except Exception:  # a summary line is never worth a dead job
            logger.exception("activity summary failed")


def attach(daemon: Any, scheduler: Any) -> ActivityLog:
    """The one line ``Service.start`` calls: tell the service's activity from the store."""
    activity = ActivityLog(store=daemon.store, clock=daemon.clock, last_seq=None)
    activity.schedule(scheduler)
    return activity
