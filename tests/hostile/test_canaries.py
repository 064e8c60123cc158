"""Planted canaries never leak: buyer names, phones and addresses in the fakes' data, and app
secrets, session tokens and the warehouse key in the credentials.

The Taobao fake legitimately carries buyer_nick and receiver fields on the wire; the connector
must never store or print them. Checked in logs (text and JSON, DEBUG), stdout/stderr of real
processes (one of them crashing hard mid-relay), the audit log, a dump of the whole SQLite
database, and the web console's HTML as a reviewer sees it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from connector import logs
from connector.clock import FakeClock
from connector.console import create_console_app
from connector.console.accounts import add_account
from connector.daemon.runtime import build_daemon
from connector.paths import DB_FILE_NAME
from connector.settings import ConnectorSettings
from connector.store import Store, open_read_only_store, open_store
from connector.testing.mock_control import MockControl
from connector.testing.shops_toml import taobao_shops_toml
from mocks.kit.server import BackgroundServer
from mocks.taobao import TaobaoConfig, TaobaoMock, create_app
from mocks.taobao.config import ShopConfig
from mocks.warehouse import API_KEY_HEADER
from mocks.warehouse import create_app as create_warehouse_app

MARK = "Qz9"
"""Every word canary carries this marker: finding it anywhere is a leak."""
APP_SECRET = f"{MARK}AppSecret-5e1d"
SESSION = f"{MARK}Session-b07c"
TMALL_SESSION = f"{MARK}TmallSession-2f4a"
WAREHOUSE_KEY = f"{MARK}WarehouseKey-91aa"
PHONE_BASE = 13977000000
REVIEWER_PASSWORD = "reviewer-pass-not-a-canary"
START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def canary_phone(index: int) -> str:
    return str(PHONE_BASE + index)


def canary_person(index: int) -> dict[str, str]:
    return {
        "buyer_name": f"{MARK}Name{index}张",
        "buyer_phone": canary_phone(index),
        "buyer_address": f"{MARK}Addr{index} 西湖区文三路 {index} 号",
    }


def canary_config() -> TaobaoConfig:
    return TaobaoConfig(
        app_secret=APP_SECRET,
        session=SESSION,
        shops=[
            ShopConfig("taobao-shop", SESSION, tmall=False),
            ShopConfig("tmall-shop", TMALL_SESSION, tmall=True),
        ],
    )


def _ago(now: datetime, days: float) -> str:
    return (now - timedelta(days=days)).isoformat()


def canary_specs(now: datetime, count: int) -> list[dict[str, Any]]:
    """Cases across the casebook's main paths, each with its own canary buyer."""
    shapes: list[dict[str, Any]] = [
        {"type": "refund_only", "reason": "changed_mind", "order_status": "not_shipped"},
        {
            "type": "return_and_refund",
            "reason": "quality",
            "status": "awaiting_seller_receipt",
            "order_status": "delivered",
            "evidence": ["photo"],
            "shipped_at": _ago(now, 9),
            "delivered_at": _ago(now, 7),
            "logistics_status": "delivered",
            "return_logistics_status": "delivered",
        },
        {
            "type": "refund_only",
            "reason": "damaged",
            "order_status": "delivered",
            "paid_amount": 59900,
            "shipped_at": _ago(now, 4),
            "delivered_at": _ago(now, 2),
            "logistics_status": "delivered",
            "deadline_s": 63 * 60,
        },
        {
            "type": "return_and_refund",
            "reason": "no_reason_7d",
            "order_status": "delivered",
            "shipped_at": _ago(now, 5),
            "delivered_at": _ago(now, 3),
            "logistics_status": "delivered",
        },
        {
            "type": "refund_only",
            "reason": "not_received",
            "order_status": "shipped",
            "shipped_at": _ago(now, 6),
            "logistics_status": "lost",
        },
        {"type": "exchange", "reason": "wrong_item_sent", "order_status": "delivered"},
    ]
    specs = []
    for index in range(count):
        shape = dict(shapes[index % len(shapes)])
        shape.setdefault("deadline_s", 20 * 3600)
        person = canary_person(index)
        specs.append(
            {
                "shop_id": "tmall-shop" if index % 3 == 2 else "taobao-shop",
                **shape,
                **person,
                # A buyer writing their phone into the reason is realistic too (masked as a
                # number; a name in free text cannot be told from other words, so none here).
                "reason_text": f"请联系我 {person['buyer_phone']} 谢谢",
            }
        )
    return specs


def assert_no_canary(where: str, text: str, people: int) -> None:
    found = [MARK] if MARK in text else []
    found += [canary_phone(i) for i in range(people) if canary_phone(i) in text]
    assert not found, f"canaries {found[:5]} leaked into {where}: ...{_around(text, found[0])}..."


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(at - 200, 0) : at + 200]


def database_dump(state_dir: Path) -> str:
    """Every row of every table (iterdump), the WAL checkpointed in first by a read."""
    connection = sqlite3.connect(state_dir / DB_FILE_NAME)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def audit_export(store: Store) -> str:
    return "\n".join(entry.model_dump_json() for entry in store.audit_entries())


def reviewer_pages(store: Store, clock: FakeClock) -> dict[str, str]:
    """The console's HTML as a signed-in reviewer: queue, audit search, stats, every case."""
    add_account(store, "rita", "reviewer", REVIEWER_PASSWORD, actor="system", via="test")
    pages: dict[str, str] = {}
    app = create_console_app(store, clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        form = client.get("/login").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        signed_in = client.post(
            "/login",
            data={"account": "rita", "password": REVIEWER_PASSWORD, "csrf": csrf, "next": "/queue"},
            follow_redirects=True,
        )
        assert signed_in.status_code == 200, signed_in.text
        for path in ("/queue", "/audit", "/stats", "/stats.csv"):
            response = client.get(path)
            if response.status_code == 200:
                pages[path] = response.text
        assert "/queue" in pages
        for platform, shop_id, case_id in _case_keys(store):
            path = f"/cases/{platform}/{shop_id}/{case_id}"
            response = client.get(path)
            assert response.status_code == 200, path
            pages[path] = response.text
            pages[path + "?audit"] = client.get("/audit", params={"case_id": case_id}).text
    return pages


def _case_keys(store: Store) -> list[tuple[str, str, str]]:
    keys: set[tuple[str, str, str]] = set()
    for entry in store.audit_entries():
        if entry.platform and entry.shop_id and entry.case_id:
            keys.add((entry.platform, entry.shop_id, entry.case_id))
    return sorted(keys)


# ---- the in-process world ---------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore", "apscheduler")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, old in quiet.items():
        logging.getLogger(name).setLevel(old)


def _shop_entries(url: str, cfg: TaobaoConfig) -> list[dict[str, Any]]:
    return [
        {
            "shop_id": shop.shop_id,
            "platform": "taobao",
            "quota": {"calls_per_second": 1000},
            "settings": {
                "base_url": url,
                "app_key": cfg.app_key,
                "app_secret": cfg.app_secret,
                "session": shop.session,
                "tmall": shop.tmall,
                "page_size": 20,
                "return_address_id": "addr-1",
            },
        }
        for shop in cfg.shops
    ]


@pytest.mark.integration
def test_in_process_daemon_leaks_no_canary(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    people = 30
    clock = FakeClock(START)
    cfg = canary_config()
    taobao = TaobaoMock(cfg, clock=clock)
    # Logs at DEBUG, as text and as JSON lines, both to the captured stderr.
    logs.configure(json_lines=False, level=logging.DEBUG)
    json_handler = logging.StreamHandler(sys.stderr)
    json_handler.setFormatter(logs.JsonFormatter())
    json_handler.addFilter(logs.RedactingFilter())
    logging.getLogger().addHandler(json_handler)
    with ExitStack() as stack:
        taobao_url = stack.enter_context(BackgroundServer(create_app(taobao, test_mode=True)))
        warehouse_url = stack.enter_context(
            BackgroundServer(
                create_warehouse_app(api_key=WAREHOUSE_KEY, test_mode=True, clock=clock)
            )
        )
        control = stack.enter_context(MockControl(taobao_url))
        warehouse = stack.enter_context(
            httpx.Client(
                base_url=warehouse_url, headers={API_KEY_HEADER: WAREHOUSE_KEY}, timeout=10
            )
        )
        store = open_store(tmp_path / "state", clock=clock)
        stack.callback(store.close)
        config = ConnectorSettings(
            daemon={"retry_attempts": 2, "relay_concurrency": 4, "http_timeout_s": 5},
            warehouse={"base_url": warehouse_url, "api_key": WAREHOUSE_KEY},
            shops=_shop_entries(taobao_url, cfg),
        )
        daemon = build_daemon(config, store=store, clock=clock, sleep=lambda _s: None)
        stack.callback(daemon.close)
        case_ids = control.seed(canary_specs(clock.now(), people))
        for case_id in case_ids[:6]:
            order = control.case(case_id)["order_id"]
            warehouse.post(
                "/__mock/orders",
                json={
                    "orders": [
                        {"order_id": order, "shop_id": "taobao-shop", "state": "not_printed"}
                    ]
                },
            ).raise_for_status()
        # The fake does carry the canaries on the wire (so the check below means something).
        refund = taobao.refunds[case_ids[0]]
        assert MARK in refund.buyer_nick
        assert MARK in repr(taobao.trades[refund.tid])

        totals = daemon.run_once(full=True)
        assert totals.decided >= people // 2, totals
        for _ in range(4):  # past guard times: the sweeper decides, fallbacks are sent
            clock.advance(timedelta(hours=6))
            daemon.run_once()
        logging.getLogger("connector.test").debug("done", extra={"cases": len(case_ids)})

        entries, _ = control.ledger()
        assert any(e.get("actor") == "seller" for e in entries), "no effect reached the fake"
        assert store.latest_action_counts(), "nothing was decided"

        captured = capsys.readouterr()
        assert '"level": "debug"' in captured.err  # DEBUG lines were emitted, as JSON too
        assert_no_canary("logs (stderr)", captured.err, people)
        assert_no_canary("stdout", captured.out, people)
        assert_no_canary("the audit log", audit_export(store), people)
        for path, html in reviewer_pages(store, clock).items():
            assert_no_canary(f"the console page {path} (reviewer)", html, people)
        store.close()
        assert_no_canary("the SQLite database", database_dump(tmp_path / "state"), people)


# ---- real processes ---------------------------------------------------------------------------


def _write_config(path: Path, taobao_url: str, warehouse_url: str, cfg: TaobaoConfig) -> Path:
    shops = taobao_shops_toml(cfg, taobao_url)
    path.write_text(
        f"""
[daemon]
retry_attempts = 1
retry_schedule_s = [0.01]  # at the next relay tick (a wait must be > 0)
http_timeout_s = 5
log_level = "debug"

[warehouse]
base_url = "{warehouse_url}"
api_key = "{WAREHOUSE_KEY}"
{shops}""",
        encoding="utf-8",
    )
    return path


def _connector(
    *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFUND_CONNECTOR_")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=180,
        check=False,
    )


@pytest.mark.integration
@pytest.mark.slow
def test_real_process_output_and_crash_leak_no_canary(tmp_path: Path) -> None:
    people = 8
    cfg = canary_config()
    with ExitStack() as stack:
        taobao_url = stack.enter_context(
            BackgroundServer(create_app(TaobaoMock(cfg), test_mode=True))
        )
        warehouse_url = stack.enter_context(
            BackgroundServer(create_warehouse_app(api_key=WAREHOUSE_KEY, test_mode=True))
        )
        control = stack.enter_context(MockControl(taobao_url))
        case_ids = control.seed(canary_specs(datetime.now(UTC), people))
        with httpx.Client(
            base_url=warehouse_url, headers={API_KEY_HEADER: WAREHOUSE_KEY}, timeout=10
        ) as warehouse:
            for case_id in case_ids:
                order = control.case(case_id)["order_id"]
                orders = [{"order_id": order, "shop_id": "taobao-shop", "state": "not_printed"}]
                warehouse.post("/__mock/orders", json={"orders": orders}).raise_for_status()
        config = _write_config(tmp_path / "connector.toml", taobao_url, warehouse_url, cfg)
        state = tmp_path / "state"
        # A listing window ends at the last whole second: let the seeding second pass (wall time
        # by design in this real-process test), or one 'once' pass may see none of the cases.
        threading.Event().wait(1.2)
        outputs: list[tuple[str, subprocess.CompletedProcess[str]]] = []

        crashed = _connector(
            "once",
            "--config",
            str(config),
            "--state-dir",
            str(state),
            env_extra={"REFUND_CONNECTOR_CRASH_AT": "relay.sent"},
        )
        assert crashed.returncode == 137, crashed.stdout + crashed.stderr[-2000:]
        assert "crash point relay.sent reached" in crashed.stderr
        outputs.append(("the crashed run", crashed))
        for json_logs in ("false", "true"):
            done = _connector(
                "once",
                "--config",
                str(config),
                "--state-dir",
                str(state),
                env_extra={"REFUND_CONNECTOR_DAEMON__JSON_LOGS": json_logs},
            )
            assert done.returncode in (0, 1), done.stderr[-2000:]
            outputs.append((f"once (json_logs={json_logs})", done))
        assert any('"level": "debug"' in run.stderr for _, run in outputs), "no DEBUG JSON line"
        verify = _connector("audit", "verify", "--state-dir", str(state))
        assert verify.returncode == 0, verify.stdout + verify.stderr
        outputs.append(("audit verify", verify))
        exported = _connector("audit", "export", "--state-dir", str(state))
        assert exported.returncode == 0, exported.stderr
        assert exported.stdout.count("\n") > people, "audit export printed too little"
        outputs.append(("audit export", exported))
        reader = open_read_only_store(state)
        try:
            keys = _case_keys(reader)
            assert_no_canary("the audit log", audit_export(reader), people)
        finally:
            reader.close()
        assert keys, "the daemon recorded no case"
        for _, _, case_id in keys:
            outputs.append(
                (
                    f"audit show {case_id}",
                    _connector("audit", "show", case_id, "--state-dir", str(state)),
                )
            )
        for what, run in outputs:
            assert_no_canary(f"stdout of {what}", run.stdout, people)
            assert_no_canary(f"stderr of {what}", run.stderr, people)
        assert_no_canary("the SQLite database", database_dump(state), people)
