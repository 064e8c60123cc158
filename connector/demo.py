"""The demo: fake platforms + the daemon + a live progress view, on loopback, in about 2 minutes.

It starts the Taobao/Tmall, JD and warehouse fakes on free 127.0.0.1 ports, generates a few
hundred cases over two Taobao shops and a JD shop with deadlines a minute or two away, runs the
real service (APScheduler ticker, SQLite store, outbox relay, deadline sweeper) against them side
by side on wall time, and ends with a summary. The policy is the default one with its deadline
guard scaled from an hour to seconds, so the guard's escalation and fallback happen while you
watch.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from connector.activity import WindowCounts
from connector.clock import Clock, SystemClock
from connector.daemon.planner import FORBIDDEN_REFUSAL_NOTE
from connector.daemon.runtime import build_daemon
from connector.daemon.service import Service
from connector.paths import default_state_dir, ensure_state_dir
from connector.policy.loader import default_policy_text
from connector.settings import ConnectorSettings
from connector.startup import open_for_service
from connector.statelock import StateLock
from connector.statelock import acquire as acquire_state
from connector.store import CaseRecord, CaseState, Store
from mocks.jd import JdConfig, JdMock, JdShop
from mocks.jd import create_app as create_jd_app
from mocks.kit.casespec import CaseSpec
from mocks.kit.platform import FakePlatform
from mocks.kit.scenario import generate_cases
from mocks.kit.server import BackgroundServer
from mocks.taobao import ShopConfig, TaobaoConfig, TaobaoMock, create_app
from mocks.warehouse import API_KEY_HEADER, WarehouseMock
from mocks.warehouse import create_app as create_warehouse_app

WAREHOUSE_KEY = "demo-warehouse-key"
SHOPS = (("shoe-flagship", False), ("tmall-home", True))
JD_SHOP = "jd-pop-store"
JD_SHARE = 3
"""One case in this many is generated on the JD shop."""
JD_AUDIT_SLA_H = 48.0
"""JD's refund-application audit rule: the adapter derives those deadlines from it."""
SELLER_TIMEOUT_EFFECTS = frozenset(
    {"agree_refund", "agree_return", "confirm_return_and_refund", "register_receipt"}
)
"""What a platform does when the *seller* misses a deadline (buyer timeouts close cases).
JD's ``register_receipt`` is its receipt timeout on an exchange or repair."""


@dataclass(frozen=True)
class DemoOptions:
    cases: int = 300
    seed: int = 7
    deadline_min_s: float = 60.0
    deadline_max_s: float = 105.0
    guard_escalate_s: int = 40
    guard_fallback_s: int = 20
    state_dir: Path | None = None
    quiet: bool = False
    max_wall_s: float = 150.0
    progress_every_s: float = 10.0
    """Without a terminal: a plain progress line this often (a terminal gets the live view)."""
    after_summary: Callable[[dict[str, Any], Store, Clock, Any], None] | None = None
    """Runs with the fakes and the daemon still up (``--serve``: the console until Ctrl-C)."""


@dataclass
class Totals:
    """Running totals read from the audit log as it grows: they only ever go up."""

    counts: WindowCounts = field(default_factory=WindowCounts)
    last_seq: int = 0

    def read(self, store: Store) -> WindowCounts:
        for entry in store.audit_entries(after_seq=self.last_seq):
            self.last_seq = entry.seq
            self.counts.count(entry)
        return self.counts


@dataclass
class DemoRun:
    state_dir: Path
    requested: int = 0
    totals: Totals = field(default_factory=Totals)
    taobao_url: str = ""
    jd_url: str = ""
    warehouse_url: str = ""
    started: float = field(default_factory=time.monotonic)


def demo_policy_text(escalate_s: int, fallback_s: int) -> str:
    """The default policy, its deadline guard scaled to the demo's minutes-away deadlines."""
    text = default_policy_text()
    text = re.sub(r"(?m)^deadline_escalate\s*=.*$", f'deadline_escalate = "{escalate_s}s"', text)
    text = re.sub(r"(?m)^deadline_fallback\s*=.*$", f'deadline_fallback = "{fallback_s}s"', text)
    return text.replace('name = "default"', 'name = "demo"', 1)


def _fresh_state_dir(options: DemoOptions) -> tuple[Path, StateLock]:
    """A new state dir, owned by this demo (a second demo or a `run` on it is refused)."""
    if options.state_dir is not None:
        path = ensure_state_dir(options.state_dir)
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        path = ensure_state_dir(default_state_dir() / f"demo-{stamp}")
    lock = acquire_state(path, "demo")
    if (path / "connector.db").exists():
        lock.release()
        msg = f"{path} already holds a connector.db; give the demo a new --state-dir"
        raise FileExistsError(msg)
    return path, lock


def _jd_shop_settings(run: DemoRun, jd: JdConfig, policy_file: Path) -> dict[str, Any]:
    shop = jd.shops[0]
    return {
        "shop_id": shop.shop_id,
        "platform": "jd",
        "policy": str(policy_file),
        "quota": {"calls_per_second": 150},
        "settings": {
            "base_url": run.jd_url,
            "app_key": jd.app_key,
            "app_secret": jd.app_secret,
            "access_token": shop.access_token,
            "bu_id": shop.bu_id,
            "operate_pin": "demo_ops",
            "operate_nick": "售后机器人",
            "refund_audit_sla_hours": JD_AUDIT_SLA_H,
            "return_contact_name": "Demo Returns",
            "return_contact_tel": "010-00000000",
            "return_province": 1,
            "return_city": 72,
            "return_county": 2819,
            "return_address_detail": "1 Demo Warehouse Rd",
        },
    }


def _settings(
    run: DemoRun, taobao: TaobaoConfig, jd: JdConfig, policy_file: Path
) -> ConnectorSettings:
    shops = [
        {
            "shop_id": shop.shop_id,
            "platform": "taobao",
            "policy": str(policy_file),
            "quota": {"calls_per_second": 150},
            "settings": {
                "base_url": run.taobao_url,
                "app_key": taobao.app_key,
                "app_secret": taobao.app_secret,
                "session": shop.session,
                "tmall": shop.tmall,
                "return_address_id": f"{shop.shop_id}-return-1",
            },
        }
        for shop in taobao.shops
    ]
    shops.append(_jd_shop_settings(run, jd, policy_file))
    return ConnectorSettings(
        state_dir=run.state_dir,
        daemon={
            "poll_interval_s": 1.0,
            "lookback_s": 10.0,
            "reconcile_interval_s": 20.0,
            "sweep_interval_s": 1.0,
            "relay_interval_s": 0.5,
            "relay_concurrency": 8,
            "per_shop_concurrency": 4,
            "http_timeout_s": 5.0,
            "retry_schedule_s": (1, 2, 5, 10),
        },
        warehouse={"base_url": run.warehouse_url, "api_key": WAREHOUSE_KEY},
        shops=shops,
    )


def _awaiting_receipt(view: dict[str, Any]) -> bool:
    return (
        view.get("platform_status") == "WAIT_SELLER_CONFIRM_GOODS"
        or view.get("status") == "awaiting_seller_receipt"
    )


def seed_warehouse(
    mock: FakePlatform, warehouse: httpx.Client, views: list[dict[str, Any]] | None = None
) -> None:
    """Mirror the generated orders into the warehouse fake (its states and return receipts).

    One row per order: a JD order returned in several units has one service order per unit.
    ``views`` mirrors only those cases (cases that arrive later must not reset earlier orders).
    """
    orders: dict[str, dict[str, Any]] = {}
    returns: dict[str, dict[str, Any]] = {}
    for view in mock.case_views(None) if views is None else views:
        state = view.get("warehouse_state")
        order = {"order_id": view["order_id"], "shop_id": view["shop_id"]}
        if state:
            orders[view["order_id"]] = {**order, "state": state}
        if _awaiting_receipt(view):
            orders[view["order_id"]] = {**order, "state": "shipped"}
            returns.setdefault(view["order_id"], view)
    if orders:
        rows = {"orders": list(orders.values())}
        warehouse.post("/__mock/orders", json=rows).raise_for_status()
    for index, view in enumerate(returns.values()):
        body = {"resellable": index % 4 != 0, "note": "demo inspection", "case_id": view["case_id"]}
        warehouse.post(f"/__mock/returns/{view['order_id']}", json=body).raise_for_status()


_seed_warehouse = seed_warehouse  # the chaos world's older name


def _jd_specs(options: DemoOptions, count: int, now: datetime) -> list[CaseSpec]:
    """The JD shop's share, from the same scenario generator, made true to JD's deadlines.

    A refund application carries no deadline: the adapter derives applyTime + the audit rule,
    so each one is dated that rule before its deadline. A return on its way back has no
    deadline the adapter can read, so it keeps JD's own receipt timer (days, not the demo's
    minute) rather than being auto-received unseen.
    """
    specs = generate_cases(
        seed=options.seed + 1,
        count=count,
        shops=[JD_SHOP],
        now=now,
        deadline_range=(options.deadline_min_s, options.deadline_max_s),
    )
    aligned: list[CaseSpec] = []
    for spec in specs:
        if spec.order_status == "not_shipped" and spec.deadline_s is not None:
            applied = now + timedelta(seconds=spec.deadline_s) - timedelta(hours=JD_AUDIT_SLA_H)
            spec = spec.model_copy(update={"created_at": applied})
        elif spec.status == "awaiting_seller_receipt":
            spec = spec.model_copy(update={"deadline_s": None})
        aligned.append(spec)
    return aligned


AWAITING_SELLER = frozenset({"awaiting_seller", "awaiting_seller_receipt"})


def _ledger(mock: FakePlatform) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = mock.ledger.since(0)[0]
    return entries


def _all_cases(store: Store, total: int) -> list[CaseRecord]:
    records: list[CaseRecord] = []
    for state in CaseState:
        records.extend(store.cases_in_state(state, limit=max(total, 1)))
    return records


def _cases_by_platform(records: list[CaseRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        counts[record.platform] = counts.get(record.platform, 0) + 1
    return dict(sorted(counts.items()))


def _passed_deadlines(
    store: Store, mocks: list[FakePlatform], now: datetime
) -> list[dict[str, Any]]:
    """Each case whose platform deadline has passed while it awaited the seller, and why."""
    passed: list[dict[str, Any]] = []
    for mock in mocks:
        with mock.lock:
            views = mock.case_views(None)
        for view in views:
            deadline = view.get("deadline_at")
            if not deadline or view.get("status") not in AWAITING_SELLER:
                continue
            if datetime.fromisoformat(deadline) > now:
                continue
            key = (mock.platform, str(view["shop_id"]), str(view["case_id"]))
            passed.append(_explain_passed(store, key))
    return passed


def _explain_passed(store: Store, key: tuple[str, str, str]) -> dict[str, Any]:
    record = store.get_case(key)
    decision = store.latest_decision(key)
    rule = decision.rule_id if decision else None
    if record is not None and record.state is CaseState.left_to_platform:
        why = f"left to the platform by rule {rule}: the policy lets the platform act here"
        kind = "left_to_platform"
    elif record is not None and record.state is CaseState.done:
        why = "answered in time; the platform's timer has not closed its side yet"
        kind = "answered"
    else:
        state = record.state if record else "not seen"
        why = f"not answered in time (connector state {state}, rule {rule})"
        kind = "missed"
    return {"case": "/".join(key), "kind": kind, "rule_id": rule, "why": why}


def summarise(
    store: Store, mocks: list[FakePlatform], run: DemoRun, *, final: bool = False
) -> dict[str, Any]:
    """The figures; ``final`` adds those that read every case (the summary, not the live view)."""
    states = store.count_cases_by_state()
    left = store.cases_left_to_platform()
    ledgers = [(mock.platform, entry) for mock in mocks for entry in _ledger(mock)]
    auto = [
        (platform, e)
        for platform, e in ledgers
        if e.get("actor") == "platform_auto" and e.get("effect") in SELLER_TIMEOUT_EFFECTS
    ]
    missed = [(p, e) for p, e in auto if (p, e["shop_id"], e["case_id"]) not in left]
    seller = [e for _, e in ledgers if e.get("actor") == "seller"]
    effects = store.effect_status_counts()
    cases = sum(states.values())
    totals = run.totals.read(store)
    summary: dict[str, Any] = {
        "cases": cases,
        "cases_requested": run.requested,
        "cases_at_platform": len(_views(mocks)),
        "decisions": dict(sorted(store.latest_action_counts().items())),
        "case_states": {str(k): v for k, v in states.items() if v},
        "effects_applied": effects.get("done", 0),
        "effects": dict(sorted(effects.items())),
        "seller_writes_at_platform": len(seller),
        "queued_for_people": states.get(CaseState.queued_for_human, 0),
        "left_to_platform": len(left),
        "auto_acts": len(missed),
        "auto_acts_by_platform": {
            mock.platform: sum(1 for p, _ in missed if p == mock.platform) for mock in mocks
        },
        "auto_acts_on_cases_left_to_platform": len(auto) - len(missed),
        "missed_cases": sorted(f"{p}/{e['shop_id']}/{e['case_id']}" for p, e in missed),
        "totals": {
            "seen": totals.seen,
            "decisions_made": totals.decided,
            "writes_applied": totals.applied,
            "escalated": totals.escalated,
            "deadline_fallbacks": totals.fallbacks,
            "attempts_retried": totals.retried,
            "effects_failed": totals.failed,
        },
        "quarantined": len(store.list_quarantine()),
        "wall_s": round(time.monotonic() - run.started, 1),
        "state_dir": str(run.state_dir),
    }
    if final:
        records = _all_cases(store, cases)
        summary["cases_by_platform"] = _cases_by_platform(records)
        summary.update(_outcomes(store, records))
        summary["deadlines_passed"] = _passed_deadlines(store, mocks, datetime.now(UTC))
    return summary


def _outcomes(store: Store, records: list[CaseRecord]) -> dict[str, Any]:
    """Each case's latest decision against its current state, and the forbidden refusals."""
    table: dict[str, dict[str, int]] = {}
    forbidden: dict[str, int] = {}
    examples: dict[str, str] = {}
    for record in records:
        decision = store.latest_decision(record.key)
        if decision is not None:
            action = decision.action
        elif record.state is CaseState.done:
            action = "(no decision: already closed when first seen)"
        else:
            action = "(not decided yet)"
        row = table.setdefault(action, {})
        row[str(record.state)] = row.get(str(record.state), 0) + 1
        codes = {
            text.split("(", 1)[1].split(" ", 1)[0]
            for earlier in store.decisions_of_case(record.key)
            for step in earlier.trace
            if isinstance(step, dict)
            and (text := str(step.get("text_en", ""))).startswith(FORBIDDEN_REFUSAL_NOTE)
        }
        for code in codes:  # a case counts once per code, however often it was decided
            forbidden[code] = forbidden.get(code, 0) + 1
            examples.setdefault(code, "/".join(record.key))
    return {
        "outcomes": {a: dict(sorted(r.items())) for a, r in sorted(table.items())},
        "refusals_forbidden": dict(sorted(forbidden.items())),
        "refusal_forbidden_examples": examples,
    }


LEGEND = (
    "seen: cases the connector has read; decisions: every decision made, a case changing is "
    "decided again; writes applied: answers the platforms accepted. The 'now' rows are current "
    "states: they move as cases progress. Deadline at risk: within the escalation guard "
    "({guard} s); passed: the platform's deadline went by while it awaited the seller (each is "
    "explained in the summary)."
)


def _progress(
    summary: dict[str, Any], deadlines: tuple[int, int, list[dict[str, Any]]], guard_s: int
) -> Table:
    totals = summary["totals"]
    table = Table(
        title="refund-connector demo",
        show_header=True,
        header_style="bold",
        caption=LEGEND.format(guard=guard_s),
        caption_justify="left",
    )
    table.add_column("running totals (only grow)")
    table.add_column("", justify="right")
    table.add_column("now (current states)")
    table.add_column("", justify="right")
    states = summary["case_states"]
    ahead, at_risk, passed = deadlines
    left = sum(1 for p in passed if p["kind"] == "left_to_platform")
    rows_left = [
        ("cases seen / at fakes", f"{totals['seen']} / {summary['cases_at_platform']}"),
        ("decisions made", str(totals["decisions_made"])),
        ("writes applied", str(totals["writes_applied"])),
        ("escalations", str(totals["escalated"])),
        ("deadline fallbacks", str(totals["deadline_fallbacks"])),
        ("effects failed", str(totals["effects_failed"])),
    ]
    rows_right = [
        (f"{state}", str(states.get(state, 0)))
        for state in ("new", "decided", "waiting", "queued_for_human", "done", "left_to_platform")
    ]
    rows_right += [
        ("deadlines ahead/at risk", f"{ahead} / {at_risk}"),
        ("deadlines passed", str(len(passed))),
        ("  left to platform", str(left)),
    ]
    for index in range(max(len(rows_left), len(rows_right))):
        a, b = rows_left[index] if index < len(rows_left) else ("", "")
        c, d = rows_right[index] if index < len(rows_right) else ("", "")
        table.add_row(a, b, c, d)
    table.add_row("elapsed", f"{summary['wall_s']} s", "", "")
    return table


def progress_line(summary: dict[str, Any], deadlines: tuple[int, int, list[Any]]) -> str:
    """One plain line for a log or a pipe (no terminal): every 10 s."""
    totals = summary["totals"]
    return (
        f"demo {summary['wall_s']:.0f} s: seen {totals['seen']}/{summary['cases_at_platform']}, "
        f"decisions {totals['decisions_made']}, writes applied {totals['writes_applied']}, "
        f"queued for people {summary['queued_for_people']}, deadlines at risk {deadlines[1]}, "
        f"passed {len(deadlines[2])}"
    )


def _views(mocks: list[FakePlatform]) -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = []
    for mock in mocks:
        with mock.lock:
            views.extend(mock.case_views(None))
    return views


def _deadline_figures(
    store: Store, mocks: list[FakePlatform], now: datetime, guard_s: int
) -> tuple[int, int, list[dict[str, Any]]]:
    ahead = at_risk = 0
    for view in _views(mocks):
        deadline = view.get("deadline_at")
        if view.get("status") not in {"awaiting_seller", "awaiting_seller_receipt"}:
            continue
        if not deadline:
            continue
        left = (datetime.fromisoformat(deadline) - now).total_seconds()
        if 0 < left <= guard_s:
            at_risk += 1
        elif left > 0:
            ahead += 1
    return ahead, at_risk, _passed_deadlines(store, mocks, now)


def _quiet(store: Store) -> bool:
    effects = store.effect_status_counts()
    open_effects = sum(effects.get(s, 0) for s in ("pending", "in_flight", "unknown"))
    return open_effects == 0 and not store.cases_in_state(CaseState.new, limit=1)


def run_demo(options: DemoOptions, console: Console | None = None) -> dict[str, Any]:
    """Run the whole demo; returns the final summary (also what ``--json`` prints)."""
    console = console or Console(stderr=True)
    state_dir, lock = _fresh_state_dir(options)
    run = DemoRun(state_dir=state_dir, requested=options.cases)
    clock = SystemClock()
    taobao_cfg = TaobaoConfig(
        shops=[ShopConfig(name, f"demo-session-{name}", tmall=tmall) for name, tmall in SHOPS],
        app_qps=200,
        sms_threshold_fen=None,
    )
    mock = TaobaoMock(taobao_cfg)
    jd_cfg = JdConfig(
        shops=[JdShop(JD_SHOP, f"demo-token-{JD_SHOP}", "10001")],
        timers={"refund_audit": JD_AUDIT_SLA_H * 3600},
    )
    jd_mock = JdMock(jd_cfg)
    mocks: list[FakePlatform] = [mock, jd_mock]
    jd_count = options.cases // JD_SHARE
    policy_file = run.state_dir / "demo-policy.toml"
    policy_file.write_text(
        demo_policy_text(options.guard_escalate_s, options.guard_fallback_s), encoding="utf-8"
    )
    with ExitStack() as stack:
        stack.callback(lock.release)
        run.taobao_url = stack.enter_context(BackgroundServer(create_app(mock, test_mode=True)))
        run.jd_url = stack.enter_context(BackgroundServer(create_jd_app(jd_mock, test_mode=True)))
        warehouse_mock = WarehouseMock(None)
        warehouse_app = create_warehouse_app(
            api_key=WAREHOUSE_KEY, test_mode=True, mock=warehouse_mock
        )
        run.warehouse_url = stack.enter_context(BackgroundServer(warehouse_app))
        mock.add_scenario(
            {
                "seed": options.seed,
                "count": options.cases - jd_count,
                "shops": [name for name, _ in SHOPS],
                "deadline_min_s": options.deadline_min_s,
                "deadline_max_s": options.deadline_max_s,
            }
        )
        with jd_mock.lock:
            jd_mock.add_specs(_jd_specs(options, jd_count, jd_mock.now()))
        for fake in mocks:
            fake.start_background_timers(0.5)
            stack.callback(fake.stop_background_timers)
        with httpx.Client(
            base_url=run.warehouse_url, headers={API_KEY_HEADER: WAREHOUSE_KEY}, timeout=10
        ) as warehouse:
            for fake in mocks:
                seed_warehouse(fake, warehouse)
        serving = open_for_service(run.state_dir, purpose="demo", clock=clock, lock=lock)
        stack.callback(serving.close, clean=True)
        store = serving.store
        config = _settings(run, taobao_cfg, jd_cfg, policy_file)
        daemon = build_daemon(config, store=store, clock=clock)
        service = Service(daemon)
        service.start()
        stack.callback(service.stop)
        # The demo's deadlines are minutes away; JD's own receipt timers (days) are not waited for.
        horizon = clock.now() + timedelta(seconds=options.deadline_max_s + 5)
        last_deadline = max(
            (
                when
                for v in _views(mocks)
                if v.get("deadline_at")
                and (when := datetime.fromisoformat(v["deadline_at"])) <= horizon
            ),
            default=clock.now(),
        )
        finish_after = last_deadline + timedelta(seconds=2)
        live_view = console.is_terminal and not options.quiet
        next_line = time.monotonic()
        with Live(console=console, refresh_per_second=4, transient=not live_view) as live:
            while True:
                now = clock.now()
                summary = summarise(store, mocks, run)
                figures = _deadline_figures(store, mocks, now, options.guard_escalate_s)
                if live_view:
                    live.update(Group(_progress(summary, figures, options.guard_escalate_s)))
                elif not options.quiet and time.monotonic() >= next_line:
                    console.print(progress_line(summary, figures), soft_wrap=True, markup=False)
                    next_line = time.monotonic() + options.progress_every_s
                done = now >= finish_after and _quiet(store)
                if done or time.monotonic() - run.started > options.max_wall_s:
                    break
                time.sleep(0.5)  # noqa: TID251 - the demo runs on wall time by design
        summary = summarise(store, mocks, run, final=True)
        if options.after_summary is not None:
            options.after_summary(summary, store, clock, daemon)
        service.stop()
        return summary


def _say(console: Console, text: str = "") -> None:
    """Plain text, never wrapped mid-command: a copied command must run as printed."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary in words, every figure related to the others (tests read these lines)."""
    lines: list[str] = []
    cases, at_platform, requested = (
        summary["cases"],
        summary["cases_at_platform"],
        summary["cases_requested"],
    )
    extra = at_platform - requested
    lines.append(
        f"{cases} cases seen of {at_platform} at the fakes: {requested} requested"
        + (
            f" + {extra} more because JD opens one service order per returned unit"
            if extra > 0
            else ""
        )
        + "."
    )
    by_platform = ", ".join(f"{p} {n}" for p, n in summary["cases_by_platform"].items())
    lines.append(f"  by platform: {by_platform}.")
    states = summary["case_states"]
    lines.append(
        "Where they stand now (adds up to the cases seen): "
        + " + ".join(f"{s} {n}" for s, n in sorted(states.items()))
        + f" = {sum(states.values())}."
    )
    outcomes = summary["outcomes"]
    lines.append(
        "Each case's latest decision, and where that left it (adds up to the cases seen: "
        + " + ".join(str(sum(row.values())) for row in outcomes.values())
        + f" = {sum(sum(row.values()) for row in outcomes.values())}):"
    )
    for action, row in outcomes.items():
        cells = ", ".join(f"{state} {n}" for state, n in row.items())
        lines.append(f"  {action} {sum(row.values())}: {cells}")
    lines.append(
        "  (a case decided 'human' is queued for a person until the deadline guard escalates "
        "it, then takes its rule's fallback; 'none' means nothing is asked of the seller, "
        "e.g. the buyer withdrew or the platform already acted.)"
    )
    totals = summary["totals"]
    lines.append(
        f"Running totals: {totals['decisions_made']} decisions made (cases are decided again "
        f"when they change), {totals['writes_applied']} writes applied at the platforms, "
        f"{totals['escalated']} escalations, {totals['deadline_fallbacks']} deadline "
        f"fallbacks, {totals['attempts_retried']} attempts retried, "
        f"{totals['effects_failed']} effects failed."
    )
    forbidden = summary["refusals_forbidden"]
    if forbidden:
        count = sum(forbidden.values())
        detail = "; ".join(
            f"{code} {n} (e.g. {summary['refusal_forbidden_examples'][code]})"
            for code, n in forbidden.items()
        )
        lines.append(
            f"Refusals the platform forbids: {count} case(s) the policy would refuse went to a "
            f"person without spending the call, because the platform does not allow that "
            f"refusal: {detail}."
        )
    passed = summary["deadlines_passed"]
    left = summary["left_to_platform"]
    lines.append(
        f"Left to the platform by rule: {left} case(s) where the policy lets the platform's "
        f"own timer act; it already did on {summary['auto_acts_on_cases_left_to_platform']} "
        "(those are now done)."
    )
    if not passed:
        lines.append("Deadlines passed while a case awaited the seller: none.")
    else:
        lines.append(f"Deadlines passed while a case awaited the seller: {len(passed)}:")
        lines.extend(f"  {p['case']}: {p['why']}" for p in passed)
    missed = summary["auto_acts"]
    lines.append(
        f"Platform auto-acts on cases the connector should have answered: {missed}"
        + (f" ({', '.join(summary['missed_cases'])})" if missed else "")
        + "."
    )
    return lines


def next_steps(summary: dict[str, Any]) -> list[str]:
    state = summary["state_dir"]
    lines = ["", "Next steps (each command is one line; copy it whole):"]
    if summary["queued_for_people"]:
        lines.append(f"  {summary['queued_for_people']} case(s) wait for a person; list them:")
    else:
        lines.append("  the review queue (empty now):")
    lines += [
        f"    refund-connector queue list --state-dir {state}",
        "  read one case's story (use a case key from the list or from audit tail):",
        f"    refund-connector audit tail -n 20 --state-dir {state}",
        f"    refund-connector audit show PLATFORM/SHOP/CASE_ID --state-dir {state}",
        f"    refund-connector audit verify --state-dir {state}",
        f"    refund-connector effects list --state-dir {state}",
        "  the same run with the web console (and /healthz, /readyz, /metrics) kept open:",
        "    refund-connector demo --serve",
        "  run the real service against the fakes on fixed ports, with the console:",
        "    refund-connector dev",
        "  run it for real: see 'Running it for real' in README.md and docs/operating.md:",
        "    refund-connector run --config connector.toml",
    ]
    return lines


def print_summary(summary: dict[str, Any], console: Console) -> None:
    _say(console)
    _say(console, f"demo summary ({summary['wall_s']} s)")
    for line in summary_lines(summary):
        _say(console, line)
    for line in next_steps(summary):
        _say(console, line)


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, sort_keys=True)
