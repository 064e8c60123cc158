"""`refund-connector dev`: the fakes on fixed loopback ports and the real service with its web
console and ops endpoints, from one command, printing every URL and login.

The configuration it runs is ``LOCAL_TOML`` rendered with the ports; ``examples/local.toml`` is
the same text for the default ports, for running the fakes and ``run --config`` by hand.
Guarded by tests/unit/test_local_setup.py.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console

from connector.clock import SystemClock
from connector.errors import ConfigError
from connector.paths import default_state_dir, ensure_state_dir
from connector.serving import free_port
from mocks.kit.ports import DEFAULT_CASES, JD_PORT, TAOBAO_PORT, WAREHOUSE_PORT

CONSOLE_PORT = 8780
OPS_PORT = 8781

LOCAL_TOML = """# Run the real connector against the fake platforms on this machine.
#
# Either one command (starts the fakes and this service, prints the URLs and logins):
#   refund-connector dev
# or by hand, each in its own terminal:
#   refund-connector mock taobao --test-mode          # 127.0.0.1:{taobao_port}, 30 cases
#   refund-connector mock jd --test-mode              # 127.0.0.1:{jd_port}, 30 cases
#   refund-connector mock warehouse --test-mode       # 127.0.0.1:{warehouse_port}
#   refund-connector run --config examples/local.toml
#
# The credentials below are the fakes' defaults (their start-up banners print them).
# base_url is the server only: each adapter adds its own gateway path (/router/rest,
# /routerjson). Kept in step with the fakes by tests/unit/test_local_setup.py.

state_dir = "{state_dir}"

[daemon]
poll_interval_s = 2
log_level = "info"

[console]                      # the web console: http://127.0.0.1:{console_port}/
enabled = true
port = {console_port}

[ops]                          # /healthz, /readyz, /metrics
enabled = true
port = {ops_port}

[warehouse]
base_url = "http://127.0.0.1:{warehouse_port}"
api_key = "warehouse-dev-key"

[[shops]]
shop_id = "taobao-shop"
platform = "taobao"
[shops.settings]
base_url = "http://127.0.0.1:{taobao_port}"
app_key = "12345678"
app_secret = "testsecret"
session = "test-session"
tmall = false
return_address_id = "taobao-shop-return-1"

[[shops]]
shop_id = "tmall-shop"
platform = "taobao"
[shops.settings]
base_url = "http://127.0.0.1:{taobao_port}"
app_key = "12345678"
app_secret = "testsecret"
session = "test-session-tmall"
tmall = true
return_address_id = "tmall-shop-return-1"

[[shops]]
shop_id = "jd-shop"
platform = "jd"
[shops.settings]
base_url = "http://127.0.0.1:{jd_port}"
app_key = "jd-app-key"
app_secret = "jd-app-secret"
access_token = "jd-test-token"
bu_id = "10001"
operate_pin = "local_ops"
operate_nick = "售后机器人"
return_contact_name = "Local Returns"
return_contact_tel = "010-00000000"
return_province = 1
return_city = 72
return_county = 2819
return_address_detail = "1 Local Warehouse Rd"
"""


@dataclass(frozen=True)
class Ports:
    taobao: int = TAOBAO_PORT
    jd: int = JD_PORT
    warehouse: int = WAREHOUSE_PORT
    console: int = CONSOLE_PORT
    ops: int = OPS_PORT

    @classmethod
    def free(cls) -> Ports:
        return cls(*(free_port() for _ in range(5)))


def render_local_toml(ports: Ports, state_dir: str | Path) -> str:
    return LOCAL_TOML.format(
        state_dir=str(state_dir).replace("\\", "/"),
        taobao_port=ports.taobao,
        jd_port=ports.jd,
        warehouse_port=ports.warehouse,
        console_port=ports.console,
        ops_port=ports.ops,
    )


@dataclass
class DevOptions:
    cases: int = DEFAULT_CASES
    seed: int = 7
    ports: Ports = field(default_factory=Ports)
    state_dir: Path | None = None


def _check_free(ports: Ports) -> None:
    for name, port in vars(ports).items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                msg = (
                    f"port {port} ({name}) is in use on 127.0.0.1: stop what listens there, "
                    "or start with --free-ports"
                )
                raise ConfigError(msg) from None


def _state_dir(options: DevOptions) -> Path:
    if options.state_dir is not None:
        return ensure_state_dir(options.state_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return ensure_state_dir(default_state_dir() / f"dev-{stamp}")


def run_dev(options: DevOptions, console: Console, wait: Callable[[], None]) -> Path:
    """Start everything, print where it is, run until ``wait`` returns; the config's path."""
    from connector import logs
    from connector.console.serving import console_server, create_demo_accounts
    from connector.daemon.runtime import build_daemon
    from connector.daemon.service import Service
    from connector.demo import seed_warehouse
    from connector.observability import ops_app
    from connector.serving import LoopbackServer
    from connector.settings import load_settings
    from connector.store import open_store
    from mocks.jd import JdConfig, JdMock
    from mocks.jd import create_app as create_jd_app
    from mocks.kit.platform import FakePlatform
    from mocks.kit.server import BackgroundServer
    from mocks.taobao import TaobaoConfig, TaobaoMock
    from mocks.taobao import create_app as create_taobao_app
    from mocks.warehouse import API_KEY_HEADER, WarehouseMock
    from mocks.warehouse import create_app as create_warehouse_app
    from mocks.warehouse.app import DEFAULT_API_KEY

    ports = options.ports
    _check_free(ports)
    state = _state_dir(options)
    config_path = state / "local.toml"
    config_path.write_text(render_local_toml(ports, state), encoding="utf-8")
    settings = load_settings(config_path)
    logs.configure(level=20)
    taobao, jd = TaobaoMock(TaobaoConfig(seed=options.seed)), JdMock(JdConfig(seed=options.seed))
    fakes: list[FakePlatform] = [taobao, jd]
    for fake in fakes:
        fake.add_scenario({"seed": options.seed, "count": options.cases})
    clock = SystemClock()
    with ExitStack() as stack:
        taobao_url = stack.enter_context(
            BackgroundServer(create_taobao_app(taobao, test_mode=True), port=ports.taobao)
        )
        jd_url = stack.enter_context(
            BackgroundServer(create_jd_app(jd, test_mode=True), port=ports.jd)
        )
        warehouse_app = create_warehouse_app(
            api_key=DEFAULT_API_KEY, test_mode=True, mock=WarehouseMock(None)
        )
        warehouse_url = stack.enter_context(BackgroundServer(warehouse_app, port=ports.warehouse))
        for fake in fakes:
            fake.start_background_timers(0.5)
            stack.callback(fake.stop_background_timers)
        with httpx.Client(
            base_url=warehouse_url, headers={API_KEY_HEADER: DEFAULT_API_KEY}, timeout=10
        ) as warehouse:
            for fake in fakes:
                seed_warehouse(fake, warehouse)
        store = open_store(state, clock=clock)
        stack.callback(store.close)
        daemon = build_daemon(settings, store=store, clock=clock)
        logins = create_demo_accounts(store)
        service = Service(daemon)
        service.start()
        stack.callback(service.stop)
        ops_url = stack.enter_context(
            LoopbackServer(
                ops_app(
                    lambda: store,
                    daemon,
                    clock=clock,
                    stuck_after=timedelta(seconds=settings.ops.stuck_after_s),
                ),
                port=ports.ops,
                name="ops",
            )
        )
        console_url = stack.enter_context(
            console_server(store, clock, host="127.0.0.1", port=ports.console)
        )
        lines = [
            "refund-connector dev: the real service against the fakes (Ctrl-C stops all)",
            f"  web console  {console_url}/",
            *(f"    login {name} / {password}  ({role})" for name, role, password in logins),
            f"  ops          {ops_url}/healthz  {ops_url}/readyz  {ops_url}/metrics",
            f"  taobao fake  {taobao_url}/router/rest  ({options.cases} cases, "
            "shops taobao-shop and tmall-shop)",
            f"  jd fake      {jd_url}/routerjson  ({options.cases} cases, shop jd-shop)",
            f"  warehouse    {warehouse_url}/api/orders",
            f"  config       {config_path}",
            f"  state        {state}",
            "In another terminal:",
            f"  refund-connector queue list --state-dir {state}",
            f"  refund-connector audit tail -n 20 --state-dir {state}",
            "The service alone, once the fakes run (refund-connector mock ...):",
            f"  refund-connector run --config {config_path}",
        ]
        for line in lines:
            console.print(line, soft_wrap=True, highlight=False, markup=False)
        wait()
    return config_path
