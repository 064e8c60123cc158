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

from connector.clock import SystemClock
from connector.daemon.runtime import build_daemon
from connector.daemon.service import Service
from connector.paths import default_state_dir, ensure_state_dir
from connector.policy.loader import default_policy_text
from connector.settings import ConnectorSettings
from connector.store import CaseState, Store, open_store
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
    after_summary: Callable[..., None] | None = None
    """Runs with the fakes and the daemon still up (``--serve``: the console until Ctrl-C);
    called as ``(summary, store, clock, adapters=...)`` (the daemon's, for the reveal)."""


@dataclass
class DemoRun:
    state_dir: Path
    taobao_url: str = ""
    jd_url: str = ""
    warehouse_url: str = ""
    started: float = field(default_factory=time.monotonic)


def demo_policy_text(escalate_s: int, fallback_s: int) -> str:
    """The default policy, its deadline guard scaled to the demo's minutes-away deadlines."""
    text = default_policy_text()
    text = re.sub(r'(?m)^deadline_escalate\s*=.*$', f'deadline_escalate = "{escalate_s}s"', text)
    text = re.sub(r'(?m)^deadline_fallback\s*=.*$', f'deadline_fallback = "{fallback_s}s"', text)
    return text.replace('name = "default"', 'name = "demo"', 1)


def _fresh_state_dir(options: DemoOptions) -> Path:
    if options.state_dir is not None:
        path = options.state_dir
        if (path / "connector.db").exists():
            msg = f"{path} already holds a connector.db; give the demo a new --state-dir"
            raise FileExistsError(msg)
        return ensure_state_dir(path)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return ensure_state_dir(default_state_dir() / f"demo-{stamp}")


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


def _seed_warehouse(
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


def _ledger(mock: FakePlatform) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = mock.ledger.since(0)[0]
    return entries


def _cases_by_platform(store: Store, total: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in CaseState:
        for record in store.cases_in_state(state, limit=max(total, 1)):
            counts[record.platform] = counts.get(record.platform, 0) + 1
    return dict(sorted(counts.items()))


def summarise(store: Store, mocks: list[FakePlatform], run: DemoRun) -> dict[str, Any]:
    states = store.count_cases_by_state()
    left = store.cases_left_to_platform()
    ledgers = [(mock.platform, entry) for mock in mocks for entry in _ledger(mock)]
    auto = [
        (platform, e)
        for platform, e in ledgers
        if e.get("actor") == "platform_auto" and e.get("effect") in SELLER_TIMEOUT_EFFECTS
    ]
    missed = [p for p, e in auto if (p, e["shop_id"], e["case_id"]) not in left]
    seller = [e for _, e in ledgers if e.get("actor") == "seller"]
    effects = store.effect_status_counts()
    by_platform = _cases_by_platform(store, sum(states.values()))
    return {
        "cases": sum(states.values()),
        "cases_at_platform": len(_views(mocks)),
        "cases_by_platform": by_platform,
        "auto_acts_by_platform": {mock.platform: missed.count(mock.platform) for mock in mocks},
        "decisions": dict(sorted(store.latest_action_counts().items())),
        "case_states": {str(k): v for k, v in states.items() if v},
        "effects_applied": effects.get("done", 0),
        "effects": dict(sorted(effects.items())),
        "seller_writes_at_platform": len(seller),
        "queued_for_people": states.get(CaseState.queued_for_human, 0),
        "left_to_platform": len(left),
        "auto_acts": len(missed),
        "auto_acts_on_cases_left_to_platform": len(auto) - len(missed),
        "quarantined": len(store.list_quarantine()),
        "wall_s": round(time.monotonic() - run.started, 1),
        "state_dir": str(run.state_dir),
    }


def _progress(summary: dict[str, Any], deadlines: tuple[int, int, int]) -> Table:
    table = Table(title="refund-connector demo", show_header=True, header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("cases seen", f"{summary['cases']} / {summary['cases_at_platform']}")
    for platform, count in summary["cases_by_platform"].items():
        table.add_row(f"  on {platform}", str(count))
    for action, count in summary["decisions"].items():
        table.add_row(f"  decided {action}", str(count))
    table.add_row("effects applied", str(summary["effects_applied"]))
    table.add_row("queued for people", str(summary["queued_for_people"]))
    open_, at_risk, passed = deadlines
    table.add_row("deadlines ahead / at risk / passed", f"{open_} / {at_risk} / {passed}")
    table.add_row("platform auto-acts (missed)", str(summary["auto_acts"]))
    table.add_row("elapsed", f"{summary['wall_s']} s")
    return table


def _views(mocks: list[FakePlatform]) -> list[dict[str, Any]]:
    views: list[dict[str, Any]] = []
    for mock in mocks:
        with mock.lock:
            views.extend(mock.case_views(None))
    return views


def _deadline_figures(
    mocks: list[FakePlatform], now: datetime, guard_s: int
) -> tuple[int, int, int]:
    ahead = at_risk = passed = 0
    for view in _views(mocks):
        deadline = view.get("deadline_at")
        if view.get("status") not in {"awaiting_seller", "awaiting_seller_receipt"}:
            continue
        if not deadline:
            continue
        left = (datetime.fromisoformat(deadline) - now).total_seconds()
        if left <= 0:
            passed += 1
        elif left <= guard_s:
            at_risk += 1
        else:
            ahead += 1
    return ahead, at_risk, passed


def _quiet(store: Store) -> bool:
    effects = store.effect_status_counts()
    open_effects = sum(effects.get(s, 0) for s in ("pending", "in_flight", "unknown"))
    return open_effects == 0 and not store.cases_in_state(CaseState.new, limit=1)


def run_demo(options: DemoOptions, console: Console | None = None) -> dict[str, Any]:
    """Run the whole demo; returns the final summary (also what ``--json`` prints)."""
    console = console or Console(stderr=True)
    run = DemoRun(state_dir=_fresh_state_dir(options))
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
                _seed_warehouse(fake, warehouse)
        store = open_store(run.state_dir, clock=clock)
        stack.callback(store.close)
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
        with Live(console=console, refresh_per_second=4, transient=options.quiet) as live:
            while True:
                now = clock.now()
                summary = summarise(store, mocks, run)
                figures = _deadline_figures(mocks, now, options.guard_escalate_s)
                if not options.quiet:
                    live.update(Group(_progress(summary, figures)))
                done = now >= finish_after and _quiet(store)
                if done or time.monotonic() - run.started > options.max_wall_s:
                    break
                time.sleep(0.5)  # noqa: TID251 - the demo runs on wall time by design
        summary = summarise(store, mocks, run)
        if options.after_summary is not None:
            options.after_summary(
                summary, store, clock, adapters={k: s.adapter for k, s in daemon.shops.items()}
            )
        service.stop()
        return summary


def print_summary(summary: dict[str, Any], console: Console) -> None:
    table = Table(title="demo summary", header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_row("cases", str(summary["cases"]))
    for platform, count in summary["cases_by_platform"].items():
        table.add_row(f"  on {platform}", str(count))
    for action, count in summary["decisions"].items():
        table.add_row(f"  {action}", str(count))
    table.add_row("effects applied", str(summary["effects_applied"]))
    table.add_row("queued for people", str(summary["queued_for_people"]))
    table.add_row("left to the platform by rule", str(summary["left_to_platform"]))
    table.add_row("platform auto-acts on cases we should answer", str(summary["auto_acts"]))
    for platform, count in summary["auto_acts_by_platform"].items():
        table.add_row(f"  on {platform}", str(count))
    table.add_row("quarantined payloads", str(summary["quarantined"]))
    table.add_row("wall time", f"{summary['wall_s']} s")
    console.print(table)
    state = summary["state_dir"]
    console.print(
        "\nThe audit log stays behind. Inspect it with:\n"
        f"  refund-connector audit verify --state-dir {state}\n"
        f"  refund-connector audit tail -n 20 --state-dir {state}\n"
        f"  refund-connector audit show CASE_ID --state-dir {state}\n"
        f"  refund-connector effects list --state-dir {state}"
    )


def summary_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, sort_keys=True)
