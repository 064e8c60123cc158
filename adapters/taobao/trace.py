"""The outbound parcel's logistics trace (``taobao.logistics.trace.search``) -> canonical.

Shape as TOP's logistics API documents it: ``out_sid``, ``company_name`` and
``trace_list.transit_step_info[]{status_time, action, status_desc}``; every step is kept for the
desk (``Trace.steps``). The action words are not
published as a closed list; unknown ones mean the parcel is still moving.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from adapters._rpc.envelope import unwrap_list
from adapters._rpc.values import parse_local_time
from connector.models import Logistics, LogisticsStatus, TrackStep
from connector.payload_caps import cap_text, keep_latest
from connector.privacy import mask_free_text

MAX_TRACE_STEPS = 100
"""Steps kept per parcel (the latest ones): a real trace has a few dozen."""

_ACTION_STATUS: dict[str, LogisticsStatus] = {
    "SIGNED": LogisticsStatus.delivered,
    "SIGN": LogisticsStatus.delivered,
    "DELIVERED": LogisticsStatus.delivered,
    "LOST": LogisticsStatus.lost,
    "REJECTED": LogisticsStatus.refused,
    "REFUSED": LogisticsStatus.refused,
    "RETURNED": LogisticsStatus.returned,
}
_WORDS_STATUS: tuple[tuple[str, LogisticsStatus], ...] = (
    ("拒收", LogisticsStatus.refused),
    ("退回", LogisticsStatus.returned),
    ("丢失", LogisticsStatus.lost),
    ("签收", LogisticsStatus.delivered),
)


@dataclass(frozen=True, slots=True)
class Trace:
    logistics: Logistics | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    steps: tuple[TrackStep, ...] = ()


def _step_status(step: Mapping[str, Any]) -> LogisticsStatus:
    action = str(step.get("action") or "").upper()
    if action in _ACTION_STATUS:
        return _ACTION_STATUS[action]
    words = str(step.get("status_desc") or "")
    for word, status in _WORDS_STATUS:
        if word in words:
            return status
    return LogisticsStatus.in_transit


def trace_to_logistics(body: Mapping[str, Any]) -> Trace:
    """Carrier, waybill, current status, and when it shipped / was signed for."""
    steps = [
        s for s in unwrap_list(body, "trace_list", "transit_step_info") if isinstance(s, Mapping)
    ]
    waybill = str(body.get("out_sid") or "") or None
    carrier = str(body.get("company_name") or "") or None
    if not steps and waybill is None:
        return Trace(None, None, None)
    times = [parse_local_time(s["status_time"]) if s.get("status_time") else None for s in steps]
    status = _step_status(steps[-1]) if steps else LogisticsStatus.in_transit
    delivered_at = next(
        (
            t
            for s, t in zip(steps, times, strict=True)
            if _step_status(s) is LogisticsStatus.delivered
        ),
        None,
    )
    shipped_at = next((t for t in times if t is not None), None)
    return Trace(
        Logistics(carrier=carrier, waybill=waybill, status=status),
        shipped_at,
        delivered_at,
        track_steps(steps, times),
    )


def _words(step: Mapping[str, Any]) -> str:
    return str(step.get("status_desc") or step.get("action") or "")


def track_steps(
    steps: list[Mapping[str, Any]], times: list[datetime | None]
) -> tuple[TrackStep, ...]:
    """Each step's time and the carrier's words (where the parcel is, what happened), for the
    desk: masked (a courier may write the receiver's name or phone) and capped."""
    shown = [
        TrackStep(at=at, description=cap_text(mask_free_text(_words(step))))
        for step, at in zip(steps, times, strict=True)
    ]
    return keep_latest(shown[-MAX_TRACE_STEPS:], lambda step: step.description)
