"""Named crash points: a setting makes the process exit hard at one chosen point.

Every commit and every external send in intake, decide, relay, reconcile and the sweeper calls
``crash_point(name)``. With ``REFUND_CONNECTOR_CRASH_AT=<name>`` (optionally ``<name>@N`` for the
N-th time the point is reached) the process dies there with ``os._exit(137)``, as a ``kill -9``
would: no cleanup, no flush. Tests enumerate ``CRASH_POINTS`` to crash once at each.
"""

from __future__ import annotations

import os
import threading

ENV = "REFUND_CONNECTOR_CRASH_AT"

CRASH_POINTS: tuple[str, ...] = (
    "intake.page_committed",
    "intake.cursor_committed",
    "decide.before_commit",
    "decide.committed",
    "relay.claimed",
    "relay.reread",
    "relay.sent",
    "relay.done_committed",
    "sweep.decided",
    "reconcile.committed",
)

_hits: dict[str, int] = {}
_lock = threading.Lock()


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(ENV, "").strip()
    if not spec:
        return None
    name, _, nth = spec.partition("@")
    return name, int(nth) if nth.isdigit() else 1


def crash_point(name: str) -> None:
    """Exit hard here if this is the configured crash point (and its N-th visit)."""
    target = _target()
    if target is None or target[0] != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        count = _hits[name]
    if count >= target[1]:
        os.write(2, f"crash point {name} reached: exiting hard\n".encode())
        os._exit(137)
