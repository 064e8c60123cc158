"""The daemon's hooks for changing the policy safely (issue 20), one call per call site:

- ``gate`` before a decision is planned: the kill switch and the breaker's pauses, then the
  blast-radius caps (``connector.pause``, ``connector.caps``);
- ``after_decision`` once it is recorded: the shadow policy decides beside it
  (``connector.policy.shadow``) and alerts raised by the gate go out as webhook notices;
- ``holds_effect`` before the relay sends: a pause holds automatic writes already queued;
- ``safety_families`` for ``/metrics``: cap usage, held and fallback counts, open pauses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from connector import caps, pause
from connector.effects import EffectKind
from connector.models import RefundCase
from connector.notify import NoticeEvent, notice_payload
from connector.policy.decision import Decision
from connector.policy.model import Policy
from connector.policy.shadow import decide_beside
from connector.store.api import CapEntryKind, EffectSpec

if TYPE_CHECKING:
    from connector.notify import WebhookNotifier
    from connector.store.api import CaseKey, Store

holds_effect = pause.holds_effect


def gate(
    store: Store, policy: Policy, key: CaseKey, case: RefundCase, decision: Decision, now: datetime
) -> Decision:
    caps.take_alerts()  # nothing left over from a decision that failed to record
    decision = pause.hold_if_paused(store, policy, case, decision)
    return caps.admit(store, policy, key, case, decision, now)


def after_decision(
    store: Store,
    notifier: WebhookNotifier | None,
    key: CaseKey,
    case: RefundCase,
    now: datetime,
    decision: Decision,
) -> None:
    decide_beside(store, key, case, now, decision)
    alerts = caps.take_alerts()
    if not alerts or notifier is None:
        return
    record, latest = store.get_case(key), store.latest_decision(key)
    if record is None or latest is None:
        return
    specs = []
    for event_name, details in alerts:
        event = NoticeEvent(event_name)
        if not notifier.wants(event):
            continue
        payload: dict[str, Any] = notice_payload(
            event, record, rule_id=decision.rule_id, action=decision.action.value, now=now
        )
        payload["details"] = details
        specs.append(
            EffectSpec(
                kind=EffectKind.notify_webhook,
                params={"payload": payload},
                discriminator=str(event),
            )
        )
    if specs:
        store.enqueue_effects(latest.id, specs, first_attempt_at=now)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def safety_families(store: Store, now: datetime) -> list[Metric]:
    usage = _gauge(
        "refund_connector_cap_usage",
        "Automatic refunds admitted under the caps, per shop, window (hour/day) and measure.",
        ["shop_id", "window", "measure"],
    )
    held = _gauge(
        "refund_connector_cap_held",
        "Automatic refunds sent to people because a cap would be crossed, last day, per shop.",
        ["shop_id"],
    )
    fallbacks = _gauge(
        "refund_connector_cap_fallbacks",
        "Deadline fallback refunds (never held by caps, counted apart), last day, per shop.",
        ["shop_id"],
    )
    for shop in store.list_shops():
        for window, span in (("hour", caps.HOUR), ("day", caps.DAY)):
            count, fen = store.cap_usage(shop.shop_id, kind=CapEntryKind.counted, since=now - span)
            usage.add_metric([shop.shop_id, window, "count"], count)
            usage.add_metric([shop.shop_id, window, "fen"], fen)
        since = now - caps.DAY
        held.add_metric(
            [shop.shop_id], store.cap_usage(shop.shop_id, kind=CapEntryKind.held, since=since)[0]
        )
        fallbacks.add_metric(
            [shop.shop_id],
            store.cap_usage(shop.shop_id, kind=CapEntryKind.fallback, since=since)[0],
        )
    paused = _gauge(
        "refund_connector_paused",
        "1 per open pause: shop ('*' for all) and refund reason ('*' for every push).",
        ["shop_id", "reason_code"],
    )
    for item in store.open_pauses():
        paused.add_metric([item.shop_id or "*", item.reason_code or "*"], 1)
    if pause.pause_file(store) is not None and pause.state_for(store, "*", []).paused:
        paused.add_metric(["*", "file"], 1)
    return [usage, held, fallbacks, paused]


__all__ = ["after_decision", "gate", "holds_effect", "safety_families"]
