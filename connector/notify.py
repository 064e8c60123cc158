"""The connector's own events (escalation, deadline fallback, deadline at risk) as signed webhooks.

A notice is an outbox effect (``EffectKind.notify_webhook``) written in the same transaction as
the event it reports, so it survives a crash and is retried durably by the relay. Its key (case,
version, event) makes each event one delivery: the receiver sees the same
``X-Refund-Connector-Delivery`` on every retry and can drop repeats. The body carries identifiers
only (platform, shop, case and order ids), never buyer personal data; the store refuses private
keys in effect parameters as a second line of defence.

Signature: ``X-Refund-Connector-Signature: sha256=<hex>``, HMAC-SHA256 with the shared secret over
the raw body bytes (GitHub style). ``X-Refund-Connector-Timestamp`` is the send time in Unix
seconds; the event time is ``at`` inside the signed body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import httpx

from connector import audit_events
from connector.effects import EffectKind, effect_key
from connector.errors import AdapterError, InvalidRequestError, RetryableError, UnavailableError
from connector.http import make_client
from connector.store.api import EffectSpec

if TYPE_CHECKING:
    from connector.clock import Clock
    from connector.settings import NotificationSettings
    from connector.store import CaseRecord, EffectRecord, Store

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Refund-Connector-Signature"
TIMESTAMP_HEADER = "X-Refund-Connector-Timestamp"
DELIVERY_HEADER = "X-Refund-Connector-Delivery"
EVENT_HEADER = "X-Refund-Connector-Event"

_RETRY_STATUSES = frozenset({408, 425, 429})
_WHERE = "webhook"
_OPERATION = "notify_webhook"


class NoticeEvent(StrEnum):
    escalated = "escalated"
    """The policy sent the case to a person (the guard's first step, or a rule)."""
    deadline_fallback = "deadline_fallback"
    """Nobody decided in time: the policy's fallback action was taken."""
    deadline_at_risk = "deadline_at_risk"
    """The guard time came while the case's own writes were still under way."""
    cap_crossed = "cap_crossed"
    """An automatic refund would have crossed a blast-radius cap: it went to people (the first
    such case of the shop in an hour raises it)."""
    breaker_tripped = "breaker_tripped"
    """The breaker paused automatic approval for a refund reason whose rate jumped."""


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """For receivers: constant-time check of a signature header against the raw body."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def notice_payload(
    event: NoticeEvent, record: CaseRecord, *, rule_id: str | None, action: str, now: datetime
) -> dict[str, Any]:
    """Identifiers, times and the policy's verdict; nothing about the buyer."""
    deadline = record.deadline_at
    return {
        "event": str(event),
        "case": {
            "platform": record.platform,
            "shop_id": record.shop_id,
            "case_id": record.case_id,
            "order_id": record.order_id,
        },
        "deadline_at": deadline.isoformat() if deadline is not None else None,
        "seconds_left": int((deadline - now).total_seconds()) if deadline is not None else None,
        "rule_id": rule_id,
        "action": action,
        "at": now.isoformat(),
    }


def notice_spec(
    event: NoticeEvent, record: CaseRecord, *, rule_id: str | None, action: str, now: datetime
) -> EffectSpec:
    """The outbox row for one event: one per (case, version, event), whatever the retries."""
    payload = notice_payload(event, record, rule_id=rule_id, action=action, now=now)
    return EffectSpec(
        kind=EffectKind.notify_webhook, params={"payload": payload}, discriminator=str(event)
    )


def decision_notices(
    notifier: WebhookNotifier | None,
    record: CaseRecord,
    *,
    rule_id: str | None,
    action: str,
    escalated: bool,
    deadline_fallback: bool,
    now: datetime,
) -> list[EffectSpec]:
    """Notices a decision raises, to be written with it (none without a webhook)."""
    if notifier is None:
        return []
    events = [
        event
        for event, happened in (
            (NoticeEvent.escalated, escalated),
            (NoticeEvent.deadline_fallback, deadline_fallback),
        )
        if happened and notifier.wants(event)
    ]
    return [notice_spec(e, record, rule_id=rule_id, action=action, now=now) for e in events]


def enqueue_at_risk(
    store: Store, notifier: WebhookNotifier | None, record: CaseRecord, *, now: datetime
) -> bool:
    """The guard time came while the case's writes are still open: notify once per version.

    Attached to the case's latest decision; audited as ``deadline_at_risk``. True when queued.
    """
    if notifier is None or not notifier.wants(NoticeEvent.deadline_at_risk):
        return False
    latest = store.latest_decision(record.key)
    if latest is None:
        return False
    event = NoticeEvent.deadline_at_risk
    key = effect_key(
        record.platform,
        record.shop_id,
        record.case_id,
        latest.decided_version,
        EffectKind.notify_webhook,
        str(event),
    )
    if store.get_effect_by_key(key) is not None:
        return False
    spec = notice_spec(event, record, rule_id=latest.rule_id, action=latest.action, now=now)
    with store.unit_of_work():
        created = store.enqueue_effects(latest.id, [spec], first_attempt_at=now)
        if created:
            audit_events.deadline_at_risk(
                store,
                key=record.key,
                deadline_at=record.deadline_at,
                open_effects=sorted({str(e.kind) for e in store.open_effects(record.key)}),
            )
    return bool(created)


def body_bytes(payload: Mapping[str, Any]) -> bytes:
    """The exact bytes signed and sent: compact, sorted JSON in UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


class WebhookNotifier:
    """POSTs notices to one URL; raises the connector's error tree so the relay can retry."""

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        events: Iterable[str],
        http: httpx.Client,
        clock: Clock,
    ) -> None:
        if not secret:
            msg = "a webhook needs a signing secret"
            raise ValueError(msg)
        self.url = url
        self._secret = secret
        self.events = frozenset(NoticeEvent(e) for e in events)
        self.http = http
        self.clock = clock

    def __repr__(self) -> str:  # never the secret
        return f"WebhookNotifier(url={self.url!r}, events={sorted(self.events)})"

    @classmethod
    def from_settings(cls, settings: NotificationSettings, *, clock: Clock) -> WebhookNotifier:
        return cls(
            url=settings.webhook_url,
            secret=settings.secret.get_secret_value(),
            events=settings.events,
            http=make_client(settings.webhook_url, timeout_s=settings.timeout_s, max_connections=4),
            clock=clock,
        )

    def wants(self, event: NoticeEvent) -> bool:
        return event in self.events

    def close(self) -> None:
        self.http.close()

    def deliver(self, delivery_id: str, payload: Mapping[str, Any]) -> int:
        """One POST; returns the HTTP status on 2xx. Retryable on 5xx/408/429 and transport."""
        body = body_bytes(payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(self._secret, body),
            TIMESTAMP_HEADER: str(int(self.clock.now().timestamp())),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: str(payload.get("event", "")),
        }
        try:
            response = self.http.post(self.url, content=body, headers=headers)
        except httpx.TransportError as exc:
            msg = f"webhook not reachable: {type(exc).__name__}"
            raise UnavailableError(msg, platform=_WHERE, operation=_OPERATION) from None
        status = response.status_code
        if 200 <= status < 300:
            return status
        code = str(status)
        if status >= 500 or status in _RETRY_STATUSES:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            msg = f"webhook answered HTTP {status}"
            raise UnavailableError(
                msg,
                retry_after=retry_after,
                platform=_WHERE,
                operation=_OPERATION,
                platform_code=code,
            )
        msg = f"webhook refused the notice: HTTP {status}"
        raise InvalidRequestError(msg, platform=_WHERE, operation=_OPERATION, platform_code=code)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


def send_notice(
    store: Store,
    notifier: WebhookNotifier | None,
    effect: EffectRecord,
    *,
    now: datetime,
    retry_schedule_s: tuple[float, ...],
    max_attempts: int,
) -> str:
    """Carry out one notice row: done, ``retry`` later, or ``failed`` (the case is untouched).

    Resending is always safe (the receiver deduplicates on the delivery id), so a timeout is a
    plain retry, never an unknown outcome needing a re-read.
    """
    claimed = store.claim_effect(effect.id)
    if notifier is None:
        store.mark_effect_failed(claimed.id, error="no webhook is configured")
        return "failed"
    payload = claimed.params.get("payload")
    if not isinstance(payload, Mapping):
        store.mark_effect_failed(claimed.id, error="notice has no payload")
        return "failed"
    try:
        status = notifier.deliver(claimed.key, payload)
    except RetryableError as exc:
        if claimed.attempts >= max_attempts:
            store.mark_effect_failed(claimed.id, error=exc.message, platform_code=exc.platform_code)
            logger.warning("notice given up", extra={"effect_id": claimed.id, "error": exc.message})
            return "failed"
        step = retry_schedule_s[min(max(claimed.attempts - 1, 0), len(retry_schedule_s) - 1)]
        wait = max(float(step), exc.retry_after or 0.0)
        store.reschedule_effect(
            claimed.id,
            error=exc.message,
            next_attempt_at=now + timedelta(seconds=wait),
            platform_code=exc.platform_code,
        )
        return "retry"
    except AdapterError as exc:
        store.mark_effect_failed(claimed.id, error=exc.message, platform_code=exc.platform_code)
        logger.warning("notice refused", extra={"effect_id": claimed.id, "error": exc.message})
        return "failed"
    store.mark_effect_done(claimed.id, platform_code=str(status), detail="delivered")
    return "done"
