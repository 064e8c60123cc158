"""The chaos world: the Taobao and warehouse fakes on loopback, the config, the daemon process.

The fakes serve from threads of the runner (their ledgers are read in-process by the checker);
the daemon is a separate ``python -m connector run`` process the runner kills with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from connector.demo import _seed_warehouse, demo_policy_text
from mocks.kit.server import BackgroundServer
from mocks.taobao import ShopConfig, TaobaoConfig, TaobaoMock, create_app
from mocks.warehouse import API_KEY_HEADER, WarehouseMock
from mocks.warehouse import create_app as create_warehouse_app
from tests.chaos.profiles import ChaosProfile

WAREHOUSE_KEY = "chaos-warehouse-key"
SECRET_ENV = "CHAOS_TAOBAO_APP_SECRET"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Fakes:
    taobao: TaobaoMock
    config: TaobaoConfig
    warehouse: WarehouseMock
    taobao_url: str
    warehouse_url: str


def shop_ids(count: int) -> list[str]:
    return [f"shop-{index:03d}" for index in range(count)]


def start_fakes(stack: ExitStack, profile: ChaosProfile) -> Fakes:
    """Both fakes on free loopback ports (wall time), every second shop a Tmall one."""
    config = TaobaoConfig(
        shops=[
            ShopConfig(shop, f"chaos-session-{shop}", tmall=index % 2 == 1)
            for index, shop in enumerate(shop_ids(profile.shops))
        ],
        sms_threshold_fen=None,
    )
    taobao = TaobaoMock(config)
    taobao_url = stack.enter_context(BackgroundServer(create_app(taobao, test_mode=True)))
    warehouse = WarehouseMock(None)
    warehouse_app = create_warehouse_app(api_key=WAREHOUSE_KEY, test_mode=True, mock=warehouse)
    warehouse_url = stack.enter_context(BackgroundServer(warehouse_app))
    taobao.start_background_timers(0.5)
    stack.callback(taobao.stop_background_timers)
    return Fakes(taobao, config, warehouse, taobao_url, warehouse_url)


def seed_cases(
    fakes: Fakes, profile: ChaosProfile, seed: int, *, batch: int = 0, count: int | None = None
) -> list[dict[str, Any]]:
    """One batch of the generated mix (deadlines from now), mirrored into the warehouse.

    Batch 0 with the whole count is the run's seed itself (every profile but the soak);
    later batches draw from their own seed and start on the next shops in turn.
    """
    shops = shop_ids(profile.shops)
    count = profile.cases if count is None else count
    offset = (batch * count) % len(shops)
    made = fakes.taobao.add_scenario(
        {
            "seed": seed if batch == 0 else seed * 1_000 + batch,
            "count": count,
            "shops": shops[offset:] + shops[:offset],
            "deadline_min_s": profile.deadline_min_s,
            "deadline_max_s": profile.deadline_max_s,
        }
    )
    with fakes.taobao.lock:
        views = [fakes.taobao.case_view(case_id) for case_id in made["case_ids"]]
    headers = {API_KEY_HEADER: WAREHOUSE_KEY}
    with httpx.Client(base_url=fakes.warehouse_url, headers=headers, timeout=30) as client:
        _seed_warehouse(fakes.taobao, client, views)
    return views


def write_config(directory: Path, fakes: Fakes, profile: ChaosProfile) -> Path:
    """The policy (guard scaled to seconds) and the connector TOML, one [[shops]] per shop."""
    policy = directory / "chaos-policy.toml"
    policy.write_text(demo_policy_text(profile.guard_s, profile.fallback_s), encoding="utf-8")
    lines = [
        f'policy = "{policy.name}"',
        "",
        "[daemon]",
        f"poll_interval_s = {profile.poll_s}",
        f"lookback_s = {profile.lookback_s}",
        f"reconcile_interval_s = {profile.reconcile_s}",
        "sweep_interval_s = 1.0",
        "relay_interval_s = 0.5",
        f"intake_concurrency = {profile.intake_workers}",
        "relay_concurrency = 32",
        "per_shop_concurrency = 4",
        f"http_timeout_s = {profile.http_timeout_s}",
        "retry_max_wait_s = 4.0",
        "retry_schedule_s = [1, 2, 4, 8]",
        "",
        "[warehouse]",
        f'base_url = "{fakes.warehouse_url}"',
        f'api_key = "{WAREHOUSE_KEY}"',
    ]
    for shop in fakes.config.shops:
        lines += [
            "",
            "[[shops]]",
            f'shop_id = "{shop.shop_id}"',
            'platform = "taobao"',
            "[shops.quota]",
            f"calls_per_second = {profile.quota_per_s}",
            "[shops.settings]",
            f'base_url = "{fakes.taobao_url}"',
            f'app_key = "{fakes.config.app_key}"',
            f'app_secret = "env:{SECRET_ENV}"',
            f'session = "{shop.session}"',
            f"tmall = {'true' if shop.tmall else 'false'}",
            f"page_size = {profile.page_size}",
            f'return_address_id = "{shop.shop_id}-return-1"',
        ]
    config = directory / "connector.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@dataclass
class DaemonProcess:
    """``python -m connector run`` started, killed with SIGKILL and restarted by the runner."""

    config: Path
    state_dir: Path
    log: Path
    secret: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    unexpected_exits: list[int] = field(default_factory=list)
    downtimes: list[list[str]] = field(default_factory=list)
    """[killed or started at, serving again at] (UTC ISO): when the sweeper could not run."""
    _down_since: datetime | None = None
    _log_offset: int = 0

    def start(self) -> None:
        command = [
            sys.executable, "-m", "connector", "run",
            "--config", str(self.config), "--state-dir", str(self.state_dir),
        ]  # fmt: skip
        env = {**os.environ, SECRET_ENV: self.secret}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO
            )
        self.starts += 1
        if self._down_since is None:
            self._down_since = datetime.now(UTC)

    def watch(self) -> None:
        """Note when a (re)started daemon serves again (its "service started" log line)."""
        if self._down_since is None or not self.log.exists():
            return
        with self.log.open("rb") as log:
            log.seek(self._log_offset)
            fresh = log.read()
        if b"service started" in fresh:
            self.downtimes.append([self._down_since.isoformat(), datetime.now(UTC).isoformat()])
            self._down_since = None
        self._log_offset += len(fresh)

    def exited(self) -> int | None:
        """The exit code if the daemon died on its own since the last start (then forgotten)."""
        if self.process is None or self.process.poll() is None:
            return None
        code = self.process.returncode
        self.unexpected_exits.append(code)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None:
            self._down_since = self._down_since or datetime.now(UTC)
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
            self.process = None

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM and wait (the service finishes in-flight work); SIGKILL if it hangs."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=30)
        self.process = None
        return code
