"""The platform-neutral half of every fake: clock, lock, ledger, request log, faults, timers loop.

A concrete fake (Taobao, JD, warehouse) subclasses ``FakePlatform`` and implements the abstract
case methods in its own words; ``mocks.kit.control`` serves the shared ``/__mock`` routes on top.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Iterable, MutableMapping, Sequence
from datetime import datetime
from typing import Any

from mocks.kit.casespec import CaseSpec, parse_specs
from mocks.kit.clock import ClockLike, MockClock, apply_clock_change
from mocks.kit.faults import BROKEN, FaultPlan
from mocks.kit.journal import Journal, JsonDict
from mocks.kit.profile import FaultProfile, ProfiledFake
from mocks.kit.scenario import generate_cases


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class FakePlatform(ProfiledFake):
    """Shared state plumbing. All mutation happens under ``self.lock`` (one re-entrant lock)."""

    platform: str = "fake"

    def __init__(self, clock: ClockLike | None = None) -> None:
        self.clock = MockClock(clock)
        self.lock = threading.RLock()
        self.ledger = Journal()
        self.requests = Journal()
        self.faults = FaultPlan()
        self.profile: FaultProfile | None = None
        """A seeded nemesis (F10, F15) hitting a share of every call; None = off."""
        self._ticker: threading.Thread | None = None
        self._ticker_stop = threading.Event()

    # -- what each platform implements -------------------------------------------------------
    @abstractmethod
    def run_timers(self) -> list[JsonDict]:
        """Apply every platform timer due at ``clock.now()``; return the ledger entries made."""

    @abstractmethod
    def add_specs(self, specs: list[CaseSpec]) -> list[str]:
        """Create cases; return their case ids."""

    @abstractmethod
    def case_views(self, shop: str | None) -> list[JsonDict]: ...

    @abstractmethod
    def case_view(self, case_id: str) -> JsonDict:
        """Raise KeyError for an unknown case."""

    @abstractmethod
    def buyer_action(self, case_id: str, body: JsonDict) -> JsonDict: ...

    @abstractmethod
    def buyer_touch(self, case_id: str) -> None:
        """The buyer edits an open case just now (its version moves; ledger ``buyer_modify``, or
        the platform's nearest buyer change): the ``change_before`` fault and page churn."""

    @abstractmethod
    def reset_state(self) -> None: ...

    @abstractmethod
    def default_shops(self) -> list[str]: ...

    def tmall_like_shops(self, shops: list[str]) -> list[str]:
        """Shops given the stricter flavour in generated scenarios (none by default)."""
        return []

    # -- shared behaviour ----------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock.now()

    def clock_view(self) -> JsonDict:
        return {"now": iso(self.now()), "frozen": self.clock.frozen}

    def change_clock(self, body: JsonDict) -> JsonDict:
        apply_clock_change(self.clock, body)
        with self.lock:
            acts = self.run_timers()
        return {"now": iso(self.now()), "auto_acts": acts}

    def add_cases(self, raw: object) -> list[str]:
        specs = parse_specs(raw)
        with self.lock:
            self.run_timers()
            return self.add_specs(specs)

    def add_scenario(self, body: JsonDict) -> JsonDict:
        known = {"seed", "count", "shops", "deadline_min_s", "deadline_max_s"}
        if set(body) - known:
            msg = f"scenario body has unknown keys {sorted(set(body) - known)}"
            raise ValueError(msg)
        seed = body.get("seed", 0)
        count = body.get("count", 100)
        if not isinstance(seed, int) or not isinstance(count, int) or count < 0:
            msg = "seed and count must be integers (count >= 0)"
            raise ValueError(msg)
        shops = body.get("shops") or self.default_shops()
        if not isinstance(shops, list) or not all(isinstance(s, str) and s for s in shops):
            msg = "shops must be a list of shop ids"
            raise ValueError(msg)
        low, high = body.get("deadline_min_s"), body.get("deadline_max_s")
        deadline_range: tuple[float, float] | None = None
        if low is not None or high is not None:
            if not isinstance(low, int | float) or not isinstance(high, int | float):
                msg = "deadline_min_s and deadline_max_s go together, both in seconds"
                raise ValueError(msg)
            deadline_range = (float(low), float(high))
        specs = generate_cases(
            seed=seed,
            count=count,
            shops=shops,
            now=self.now(),
            deadline_range=deadline_range,
            tmall_shops=self.tmall_like_shops(shops),
        )
        with self.lock:
            self.run_timers()
            ids = self.add_specs(specs)
        return {"case_ids": ids, "seed": seed}

    def record_effect(
        self,
        *,
        at: datetime,
        shop_id: str,
        case_id: str,
        order_id: str,
        effect: str,
        actor: str,
        amount: int | None = None,
        version_before: str | None = None,
        version_after: str | None = None,
        request_id: str | None = None,
        key: str | None = None,
    ) -> JsonDict:
        """Append one applied change of platform state to the ledger (see docs/mocks.md)."""
        return self.ledger.append(
            {
                "at": iso(at),
                "platform": self.platform,
                "shop_id": shop_id,
                "case_id": case_id,
                "order_id": order_id,
                "effect": effect,
                "actor": actor,
                "amount": amount,
                "version_before": version_before,
                "version_after": version_after,
                "request_id": request_id,
                "key": key,
            }
        )

    def record_request(
        self, *, method: str | None, shop_id: str | None, outcome: str, ms: float, **extra: Any
    ) -> JsonDict:
        entry: JsonDict = {
            "at": iso(self.now()),
            "method": method,
            "shop_id": shop_id,
            "outcome": outcome,
            "ms": round(ms, 2),
        }
        entry.update(extra)
        return self.requests.append(entry)

    def reset(self) -> None:
        with self.lock:
            self.reset_state()
            self.ledger.clear()
            self.requests.clear()
            self.faults.clear()
            self.profile = None

    # -- fault profile in listings -------------------------------------------------------------
    def hidden_from_listing(self, case_id: str, version: str, modified: datetime) -> bool:
        """Late visibility: a modified case the profile keeps out of list queries for now."""
        profile = self.profile
        return profile is not None and profile.hidden(case_id, version, modified, self.now())

    def churn_below(self, open_below: Sequence[str]) -> None:
        """Page churn: the buyer changes one of the open cases listed after this page (if the
        profile says so), so the pages after it shift before the client reads them."""
        profile = self.profile
        victim = None if profile is None else profile.churn_victim(open_below)
        if victim is not None:
            self.buyer_touch(victim)

    def break_listed(
        self,
        items: Iterable[MutableMapping[str, Any]],
        shop_id: str | None,
        *,
        id_field: str,
        field: str,
    ) -> None:
        """Malformed list items: each listed item may go out with ``field`` broken; the profile
        remembers which (``FaultProfile.malformed``) for the checker."""
        profile = self.profile
        if profile is None or not shop_id:
            return
        for item in items:
            if profile.break_item(shop_id, str(item.get(id_field, ""))):
                item[field] = BROKEN

    # -- timers on wall time (server mode) -----------------------------------------------------
    def start_background_timers(self, interval_s: float = 0.5) -> None:
        """Check timers every ``interval_s`` of wall time, so deadlines fire with no traffic."""
        if self._ticker is not None:
            return
        self._ticker_stop.clear()

        def _tick() -> None:
            while not self._ticker_stop.wait(interval_s):
                with self.lock:
                    self.run_timers()

        self._ticker = threading.Thread(target=_tick, name=f"{self.platform}-timers", daemon=True)
        self._ticker.start()

    def stop_background_timers(self) -> None:
        if self._ticker is not None:
            self._ticker_stop.set()
            self._ticker.join(timeout=5)
            self._ticker = None
