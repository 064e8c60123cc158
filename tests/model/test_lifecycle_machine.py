"""A Hypothesis state machine of the case and outbox lifecycle over the real Daemon and Store.

Cases come from the casebook and live on an in-memory platform. Hypothesis interleaves buyer
edits and cancellations, polls, decisions, relay rounds with scripted outcomes (applied, lost
response, conflict, retryable, permanent, a crash before or after the platform applied the
write), restarts, and clock jumps past guard times. After every step: no write applied twice at
one (case, version, kind), never both an agreement and a refusal at one version, nothing
refunded above what was paid, no effect left in flight, no effect ever sent for a case whose
latest stored version is closed, and the audit chain verifies.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from fake_platform import (
    MONEY,
    PLATFORM,
    SHOP,
    Crash,
    FakeAdapter,
    FakePlatform,
    Outcome,
    templates,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from connector.adapter import AdapterSettings
from connector.audit import verify_chain
from connector.clock import FakeClock
from connector.daemon.core import Daemon
from connector.daemon.runtime import ShopRuntime
from connector.effects import EffectKind, EffectRequest, EffectStatus
from connector.models import CaseStatus
from connector.policy import load_default_policy
from connector.ratelimit import QuotaGate
from connector.settings import DaemonSettings, ShopSettings
from connector.store import Store, open_store

TEMPLATES = templates()
START = datetime.fromisoformat("2026-11-12T10:00:00+08:00")
POLICY = load_default_policy()
AGREEING = frozenset(
    {EffectKind.agree_refund, EffectKind.confirm_return_and_refund, EffectKind.agree_return}
)
outcomes = st.sampled_from(list(Outcome))


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.clock = FakeClock(START)
        self.fake = FakePlatform()
        self.serial = 0
        self.restarts = 0
        self.store: Store = open_store(self.dir / "state", clock=self.clock)
        self.daemon = self._daemon()
        self.sent_while_closed: list[tuple[str, str, str | None, str | None]] = []
        self.fake.on_send = self._note_send_for_closed_case

    def _daemon(self) -> Daemon:
        http = httpx.Client()
        adapter = FakeAdapter(
            AdapterSettings(base_url="http://fake.invalid", shop_id=SHOP),
            http=http,
            clock=self.clock,
        )
        adapter.fake = self.fake
        shop = ShopRuntime(
            settings=ShopSettings(shop_id=SHOP, platform=PLATFORM),
            adapter=adapter,
            http=http,
            policy=POLICY,
        )
        return Daemon(
            store=self.store,
            clock=self.clock,
            # One worker everywhere: the scripted outcomes meet the effects in a fixed order.
            settings=DaemonSettings(
                relay_concurrency=1,
                per_shop_concurrency=1,
                intake_concurrency=1,
                retry_attempts=1,
                max_attempts=4,
                retry_schedule_s=(30, 60),
            ),
            shops=[shop],
            quota=QuotaGate(),
            sleep=lambda _s: None,
        )

    def teardown(self) -> None:
        self.daemon.close()
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- the world moves ------------------------------------------------------------------

    @initialize(chosen=st.lists(st.sampled_from(TEMPLATES), min_size=1, max_size=3))
    def first_cases(self, chosen: list[dict[str, object]]) -> None:
        for template in chosen:
            self.new_case(template)

    @precondition(lambda self: len(self.fake.cases) < 5)
    @rule(template=st.sampled_from(TEMPLATES))
    def new_case(self, template: dict[str, object]) -> None:
        self.serial += 1
        self.fake.add(template, f"C{self.serial}", self.clock.now())

    @precondition(lambda self: bool(self.fake.cases))
    @rule(data=st.data())
    def buyer_edits(self, data: st.DataObject) -> None:
        case_id = data.draw(st.sampled_from(sorted(self.fake.cases)))
        if self.fake.cases[case_id].case["status"] in (
            "awaiting_seller",
            "awaiting_seller_receipt",
        ):
            self.fake.buyer_edits(case_id, self.clock.now())

    @precondition(lambda self: bool(self.fake.cases))
    @rule(data=st.data())
    def buyer_cancels(self, data: st.DataObject) -> None:
        case_id = data.draw(st.sampled_from(sorted(self.fake.cases)))
        if self.fake.cases[case_id].case["status"] == "awaiting_seller":
            self.fake.buyer_cancels(case_id, self.clock.now())

    def _waiting_to_be_written(self) -> list[str]:
        """Open cases at the platform with a write of the connector not yet done."""
        return sorted(
            case_id
            for case_id, held in self.fake.cases.items()
            if held.case["status"] == "awaiting_seller"
            and any(
                e.status in (EffectStatus.pending, EffectStatus.unknown)
                and e.kind is not EffectKind.notify_webhook
                for e in self.store.effects_of_case((PLATFORM, SHOP, case_id))
            )
        )

    @precondition(lambda self: bool(self.fake.cases))
    @rule(data=st.data())
    def buyer_cancels_while_a_write_waits(self, data: st.DataObject) -> None:
        """Issue 22's sequence: a decided write waits (for the relay, or for its retry), the
        buyer cancels and the next poll stores the closed version; whatever the connector does
        next, the write must not go out. (A send between the cancel and the poll is the plain
        ``buyer_cancels`` rule's: the platform answers it with a conflict.)"""
        self.decide()
        waiting = self._waiting_to_be_written()
        if waiting:
            case_id = data.draw(st.sampled_from(waiting))
            self.fake.buyer_cancels(case_id, self.clock.now())
            self.poll(full=False)

    @rule(hours=st.sampled_from([0.25, 1, 6, 20, 30]))
    def time_passes(self, hours: float) -> None:
        self.clock.advance(timedelta(hours=hours))

    # ---- the connector works ----------------------------------------------------------------

    @rule(full=st.booleans())
    def poll(self, full: bool) -> None:
        (shop,) = self.daemon.shops.values()
        self.daemon.poll_shop(shop, full=full)

    @rule()
    def decide(self) -> None:
        self.daemon.decide_pending()

    @rule()
    def sweep(self) -> None:
        self.daemon.sweep_deadlines()

    @rule(script=st.lists(outcomes, max_size=4))
    def relay(self, script: list[Outcome]) -> None:
        self.fake.script = list(script)
        try:
            self.daemon.relay_due()
        except Crash:
            self._restart()
        finally:
            self.fake.script = []

    @rule(script=st.lists(outcomes, max_size=4), full=st.booleans())
    def tick(self, script: list[Outcome], full: bool) -> None:
        """One whole pass, as the service's jobs make it: poll, decide, sweep, relay."""
        self.poll(full)
        self.decide()
        self.sweep()
        self.relay(script)

    @rule()
    def restart(self) -> None:
        self._restart()

    def _restart(self) -> None:
        """The process dies: nothing in memory survives; the store is reopened from disk."""
        self.daemon.close()
        self.store.close()
        self.restarts += 1
        self.store = open_store(self.dir / "state", clock=self.clock)
        self.store.recover_in_flight()
        self.daemon = self._daemon()

    def _note_send_for_closed_case(self, effect: EffectRequest) -> None:
        """As a write reaches the platform: is the case's latest stored version closed?"""
        record = self.store.get_case((effect.platform, effect.shop_id, effect.case_id))
        if record is not None and record.status is CaseStatus.closed:
            self.sent_while_closed.append(
                (effect.case_id, str(effect.kind), effect.version, record.version)
            )

    # ---- what must always hold ----------------------------------------------------------------

    @invariant()
    def nothing_sent_for_a_closed_case(self) -> None:
        """Casebook rule 1: once a closed version is stored, no effect of the case goes out
        (issue 22: a write waiting for its retry was sent after the buyer cancelled)."""
        assert not self.sent_while_closed, (
            f"sent for a case stored closed (case, kind, decided on, stored): "
            f"{self.sent_while_closed}"
        )

    @invariant()
    def no_write_applied_twice(self) -> None:
        counts = Counter((a.case_id, a.version, a.kind) for a in self.fake.ledger)
        twice = [key for key, n in counts.items() if n > 1]
        assert not twice, f"applied more than once at the platform: {twice}"

    @invariant()
    def never_agree_and_refuse_at_one_version(self) -> None:
        kinds: dict[tuple[str, str | None], set[EffectKind]] = {}
        for applied in self.fake.ledger:
            kinds.setdefault((applied.case_id, applied.version), set()).add(applied.kind)
        for key, seen in kinds.items():
            assert not (seen & AGREEING and EffectKind.refuse_refund in seen), (key, seen)

    @invariant()
    def refunds_never_exceed_paid(self) -> None:
        for case_id, held in self.fake.cases.items():
            assert held.refunded <= int(held.case["paid_amount"]), (case_id, held.refunded)
            money = [a for a in self.fake.ledger if a.case_id == case_id and a.kind in MONEY]
            assert len(money) <= 1, f"{case_id} refunded {len(money)} times"

    @invariant()
    def nothing_left_in_flight(self) -> None:
        stuck = self.store.list_effects(EffectStatus.in_flight)
        assert not stuck, f"effects left in flight between steps: {stuck}"

    @invariant()
    def audit_chain_verifies(self) -> None:
        report = verify_chain(self.store.audit_entries(), self.store.audit_head())
        assert report.intact, report.describe()


Lifecycle.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLifecycle = Lifecycle.TestCase
