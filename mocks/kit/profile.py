"""Seeded fault profiles (F10, F15): a nemesis that hits a share of *every* gateway call.

A ``FaultPlan`` rule fires on the next matching calls; a profile instead draws, for each call,
whether it fails and how (reliability.md, "Proposed measurable goals"): 5xx (half with
Retry-After), the platform's own ban envelope with a retry time, a hang past the client timeout,
a connection reset, a write applied and its answer dropped, malformed list items, pagination
churn, late visibility of modified cases in listings, the buyer changing a case between the
seller's read and push, and whole-platform outages. The fake asks the profile at each call and
serves the answer in its own wire shapes (docs/mocks.md).

Replaying a seed replays the outage schedule and which cases are late or changed by the buyer;
per-call draws follow the order calls arrive in, which a multi-threaded client does not fix.
"""

from __future__ import annotations

import hashlib
import random
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from mocks.kit.faults import Fault, FaultPlan

OUTAGE_MODES = frozenset({"503", "reset"})
SCALED_SHARES = (
    "http_5xx",
    "ban",
    "hang",
    "reset",
    "write_drop",
    "malformed_item",
    "late_visibility",
    "buyer_change",
)


@dataclass(frozen=True)
class ProfileRates:
    """Shares of calls (or of cases, where said) that a profile disturbs."""

    http_5xx: float = 0.04
    ban: float = 0.02
    hang: float = 0.02
    reset: float = 0.01
    write_drop: float = 0.01
    """Of write calls: applied, then the connection is dropped before the answer."""
    malformed_item: float = 0.005
    """Of listed items: one field broken."""
    page_churn: float = 1.0
    """Of list pages with a next page: an open case further down changes meanwhile."""
    late_visibility: float = 0.05
    """Of case versions: hidden from listings for up to ``late_visibility_max_s``."""
    late_visibility_max_s: float = 60.0
    buyer_change: float = 0.03
    """Of cases: the buyer edits it just before the seller's first write lands."""
    outages: int = 2
    outage_s: float = 30.0


PROFILES: dict[str, ProfileRates] = {
    "F10": ProfileRates(),
    "F15": ProfileRates(
        http_5xx=0.06,
        ban=0.03,
        hang=0.03,
        reset=0.015,
        write_drop=0.015,
        malformed_item=0.0075,
        late_visibility=0.075,
        buyer_change=0.045,
        outages=3,
        outage_s=60.0,
    ),
}


@dataclass(frozen=True)
class Outage:
    """The whole platform is down from ``start`` for ``duration_s``: 503s or dropped connections.

    A refused TCP connect cannot be served on the port that also serves ``/__mock``, so the
    ``reset`` mode aborts every connection instead (the client cannot tell whether a write
    landed, which is the harder case for it).
    """

    start: datetime
    duration_s: float
    mode: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def view(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "duration_s": self.duration_s,
            "mode": self.mode,
        }


def _unit(*parts: object) -> float:
    """A stable draw in [0, 1) from its parts (which case is late, which the buyer edits)."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass
class FaultProfile:
    """One active profile: its rates, seed, outage schedule and what it injected so far."""

    name: str
    seed: int
    rates: ProfileRates
    started: datetime
    outages: list[Outage]
    hang_s: float = 15.0
    ban_error: Mapping[str, Any] = field(default_factory=dict)
    """The fake's own ban error (``platform_error`` params such as ``code``); ``ban_s`` is drawn."""
    injected: Counter[str] = field(default_factory=Counter)
    malformed: list[dict[str, str]] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _changed: set[str] = field(default_factory=set)
    _late: dict[tuple[str, str], datetime] = field(default_factory=dict)
    """(case, version) hidden from some listing, and when that version became listable."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.name}:{self.seed}")

    # -- per call --------------------------------------------------------------------------------
    def outage_at(self, now: datetime) -> Outage | None:
        return next((o for o in self.outages if o.covers(now)), None)

    def pick(self, *, now: datetime, write: bool, case_id: str | None) -> Fault | None:
        """The fault for this call, or None to serve it normally."""
        with self._lock:
            outage = self.outage_at(now)
            if outage is not None:
                self.injected[f"outage_{outage.mode}"] += 1
                if outage.mode == "503":
                    return Fault("http_status", {"status": 503})
                return Fault("reset")
            fault = self._draw(write=write)
            if fault is None and write and case_id and self._buyer_changes(case_id):
                fault = Fault("change_before")
            if fault is not None:
                self.injected[fault.kind] += 1
            return fault

    def _draw(self, *, write: bool) -> Fault | None:
        r, rng, rates = self._rng.random(), self._rng, self.rates
        if (r := r - rates.http_5xx) < 0:
            if rng.random() < 0.5:
                return Fault("http_status", {"status": 503, "retry_after_s": rng.randint(1, 2)})
            return Fault("http_status", {"status": rng.choice((500, 502, 504))})
        if (r := r - rates.ban) < 0:
            return Fault("platform_error", {**self.ban_error, "ban_s": rng.randint(1, 3)})
        if (r := r - rates.hang) < 0:
            return Fault("hang", {"seconds": self.hang_s})
        if (r := r - rates.reset) < 0:
            return Fault("reset")
        if write and rng.random() < rates.write_drop:
            return Fault("apply_then_drop")
        return None

    def _buyer_changes(self, case_id: str) -> bool:
        chosen = _unit(self.seed, "buyer", case_id) < self.rates.buyer_change
        if not chosen or case_id in self._changed:
            return False
        self._changed.add(case_id)
        return True

    # -- listings --------------------------------------------------------------------------------
    def hidden(self, case_id: str, version: str, modified: datetime, now: datetime) -> bool:
        """Is this version of the case still invisible to list queries (late visibility)?"""
        if _unit(self.seed, "late", case_id, version) >= self.rates.late_visibility:
            return False
        delay = _unit(self.seed, "delay", case_id, version) * self.rates.late_visibility_max_s
        if now >= modified + timedelta(seconds=delay):
            return False
        with self._lock:
            if (case_id, version) not in self._late:
                self._late[(case_id, version)] = modified + timedelta(seconds=delay)
                self.injected["late_visibility"] += 1
        return True

    def break_item(self, shop_id: str, case_id: str) -> bool:
        """Should this listed item go out with a broken field? Remembered for the checker."""
        with self._lock:
            if self._rng.random() >= self.rates.malformed_item:
                return False
            self.injected["malformed_item"] += 1
            self.malformed.append({"shop_id": shop_id, "case_id": case_id})
            return True

    def churn_victim(self, candidates: Sequence[str]) -> str | None:
        """An open case further down the listing that changes before the next page is read."""
        with self._lock:
            if not candidates or self._rng.random() >= self.rates.page_churn:
                return None
            self.injected["page_churn"] += 1
            return self._rng.choice(list(candidates))

    def view(self) -> dict[str, Any]:
        with self._lock:
            return {
                "name": self.name,
                "seed": self.seed,
                "started": self.started.isoformat(),
                "hang_s": self.hang_s,
                "outages": [o.view() for o in self.outages],
                "injected": dict(sorted(self.injected.items())),
                "malformed": list(self.malformed),
                "buyer_changed": sorted(self._changed),
                "late": [
                    {"case_id": case_id, "version": version, "listed_from": at.isoformat()}
                    for (case_id, version), at in sorted(self._late.items())
                ],
            }


def _outages(raw: object, now: datetime, rates: ProfileRates, rng: random.Random) -> list[Outage]:
    """Explicit ``[{"start_s", "duration_s", "mode"}]``, or the profile's own seeded schedule."""
    if raw is None:
        horizon = 300.0
        slots = [horizon * (i + 0.5) / max(rates.outages, 1) for i in range(rates.outages)]
        return [
            Outage(
                now + timedelta(seconds=max(slot + rng.uniform(-20, 20), 0)),
                rates.outage_s,
                "503" if i % 2 == 0 else "reset",
            )
            for i, slot in enumerate(slots)
        ]
    if not isinstance(raw, list):
        msg = "outages must be a list of {start_s, duration_s, mode}"
        raise ValueError(msg)
    outages = []
    for index, item in enumerate(raw):
        where = f"outages[{index}]"
        if not isinstance(item, dict) or set(item) - {"start_s", "duration_s", "mode"}:
            msg = f"{where} must be an object with start_s, duration_s and mode"
            raise ValueError(msg)
        start, duration = item.get("start_s"), item.get("duration_s", rates.outage_s)
        mode = str(item.get("mode", "503"))
        for name, value in (("start_s", start), ("duration_s", duration)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                msg = f"{where}.{name} must be seconds >= 0, got {value!r}"
                raise ValueError(msg)
        if mode not in OUTAGE_MODES:
            msg = f"{where}.mode must be one of {sorted(OUTAGE_MODES)}, got {mode!r}"
            raise ValueError(msg)
        offset = timedelta(seconds=float(start))  # type: ignore[arg-type]  # checked above
        outages.append(Outage(now + offset, float(duration), mode))
    return outages


def parse_profile(
    body: dict[str, Any], now: datetime, *, ban_error: Mapping[str, Any] | None = None
) -> FaultProfile:
    """``{"name": "F10", "seed": 7, "outages": [...], "hang_s": 8, "scale": 1.0}`` -> profile.

    ``scale`` multiplies every per-call and per-case share (not the outages); ``ban_error`` is
    the fake's own ban envelope (``FaultProfile.ban_error``).
    """
    known = {"name", "seed", "outages", "hang_s", "scale"}
    if set(body) - known:
        msg = f"profile body has unknown keys {sorted(set(body) - known)}; known: {sorted(known)}"
        raise ValueError(msg)
    name = body.get("name")
    if name not in PROFILES:
        msg = f"name must be one of {sorted(PROFILES)}, got {name!r}"
        raise ValueError(msg)
    seed = body.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        msg = f"seed must be an integer, got {seed!r}"
        raise ValueError(msg)
    rates = PROFILES[str(name)]
    for key in ("hang_s", "scale"):
        value = body.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            msg = f"{key} must be a number > 0, got {value!r}"
            raise ValueError(msg)
    scale = float(body.get("scale", 1.0))
    if scale != 1.0:
        scaled = {name_: min(getattr(rates, name_) * scale, 1.0) for name_ in SCALED_SHARES}
        rates = replace(rates, **scaled)
    rng = random.Random(f"outages:{name}:{seed}")
    return FaultProfile(
        name=str(name),
        seed=seed,
        rates=rates,
        started=now,
        outages=_outages(body.get("outages"), now, rates, rng),
        hang_s=float(body.get("hang_s", 15.0)),
        ban_error=dict(ban_error or {}),
    )


class ProfiledFake(ABC):
    """What every fake (platform or warehouse) shares about faults: the rule plan, the seeded
    profile slot behind ``/__mock/faults/profile``, and which fault hits the next call.

    A subclass sets ``self.faults`` and ``self.profile`` in its ``__init__``, says its own ban
    envelope in ``ban_error`` and serves the faults ``next_fault`` picks in its own wire shapes.
    """

    faults: FaultPlan
    profile: FaultProfile | None
    ban_error: ClassVar[Mapping[str, Any]] = {}
    """``platform_error`` params of the platform's own ban (the profile adds ``ban_s``)."""

    @abstractmethod
    def now(self) -> datetime: ...

    def next_fault(
        self,
        method: str | None,
        shop_id: str | None,
        *,
        write: bool,
        case_of: Callable[[], str | None] = lambda: None,
    ) -> Fault | None:
        """The fault for this call: a matching plan rule wins, else the profile's draw.

        ``case_of`` names the case a write is about (asked only for writes under a profile),
        so the profile can have the buyer change it first.
        """
        fault = self.faults.take(method, shop_id)
        profile = self.profile
        if fault is None and profile is not None:
            fault = profile.pick(now=self.now(), write=write, case_id=case_of() if write else None)
        return fault

    def start_profile(self, body: dict[str, Any]) -> dict[str, Any]:
        """Switch a seeded fault profile on from now (replacing any running one)."""
        profile = parse_profile(body, self.now(), ban_error=self.ban_error)
        self.profile = profile
        return profile.view()

    def stop_profile(self) -> dict[str, Any]:
        """Switch the profile off; answers what it injected (the checker's record)."""
        profile, self.profile = self.profile, None
        return {"active": False} if profile is None else {"active": False, **profile.view()}

    def profile_view(self) -> dict[str, Any]:
        profile = self.profile
        return {"active": False} if profile is None else {"active": True, **profile.view()}
