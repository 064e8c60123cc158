"""A local setup from the docs (issue 17, point 3): `refund-connector dev`, and
examples/local.toml for the fakes started by hand, both in step with the fakes' defaults."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from connector.devsetup import DevOptions, Ports, render_local_toml, run_dev
from connector.registry import adapter_class
from connector.settings import load_settings, validate_shop_settings
from connector.store import CaseState, open_read_only_store
from mocks.jd import JdConfig
from mocks.kit.ports import JD_PORT, TAOBAO_PORT, WAREHOUSE_PORT
from mocks.taobao import TaobaoConfig
from mocks.warehouse.app import DEFAULT_API_KEY

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "local.toml"


def test_the_example_is_what_dev_runs_for_the_default_ports() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == render_local_toml(Ports(), "local-state")


def test_the_example_points_at_each_fake_with_its_default_credentials() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.console.enabled
    assert settings.ops.enabled
    assert settings.warehouse is not None
    assert settings.warehouse.base_url == f"http://127.0.0.1:{WAREHOUSE_PORT}"
    assert settings.warehouse.api_key == DEFAULT_API_KEY
    taobao, jd = TaobaoConfig(), JdConfig()
    sessions = {shop.shop_id: shop.session for shop in taobao.shops}
    for index, shop in enumerate(settings.shops):
        validated = validate_shop_settings(shop, index, adapter_class(shop.platform).settings_model)
        raw = shop.settings
        if shop.platform == "taobao":
            assert raw["base_url"] == f"http://127.0.0.1:{TAOBAO_PORT}"  # no path: see README
            assert (raw["app_key"], raw["app_secret"]) == (taobao.app_key, taobao.app_secret)
            assert raw["session"] == sessions[shop.shop_id]
        else:
            assert raw["base_url"] == f"http://127.0.0.1:{JD_PORT}"
            assert (raw["app_key"], raw["app_secret"]) == (jd.app_key, jd.app_secret)
            assert raw["access_token"] == jd.shops[0].access_token
            assert shop.shop_id == jd.shops[0].shop_id
        assert validated.shop_id == shop.shop_id
    assert {s.shop_id for s in settings.shops} == {*sessions, jd.shops[0].shop_id}


def test_no_two_listeners_share_a_port() -> None:
    ports = vars(Ports())
    assert len(set(ports.values())) == len(ports), ports
    operating = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    warehouse = re.search(r'\[warehouse\]\nbase_url = "http://127\.0\.0\.1:(\d+)"', operating)
    assert warehouse is not None
    assert int(warehouse.group(1)) == WAREHOUSE_PORT


def test_dev_refuses_a_busy_port_and_names_it(tmp_path: Path) -> None:
    import socket

    from connector.errors import ConfigError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = Ports.free()
        ports = Ports(port, ports.jd, ports.warehouse, ports.console, ports.ops)
        with pytest.raises(ConfigError, match=rf"port {port} \(taobao\) is in use.*--free-ports"):
            run_dev(DevOptions(ports=ports, state_dir=tmp_path), Console(), lambda: None)


@pytest.mark.slow
def test_dev_runs_the_service_with_console_and_ops_and_prints_the_logins(
    tmp_path: Path,
) -> None:
    out = Console(record=True, width=300)
    seen: dict[str, object] = {}

    def wait() -> None:
        text = out.export_text(clear=False)
        console = re.search(r"web console +(http://127\.0\.0\.1:\d+)/", text)
        login = re.search(r"login reviewer / (\S+)", text)
        ops = re.search(r"ops +(http://127\.0\.0\.1:\d+)/healthz", text)
        assert console, text
        assert login, text
        assert ops, text
        seen["ops"] = httpx.get(ops.group(1) + "/healthz").status_code
        seen["console"] = httpx.get(console.group(1) + "/login").status_code
        pause = threading.Event()
        for _ in range(100):  # the real service on wall time: up to 20 s to decide the cases
            with open_read_only_store(tmp_path / "state") as store:
                counts = store.count_cases_by_state()
                # both fakes' cases listed (4 each), and none left undecided
                if counts.get(CaseState.new, 0) == 0 and sum(counts.values()) >= 8:
                    break
            pause.wait(0.2)

    options = DevOptions(cases=4, ports=Ports.free(), state_dir=tmp_path / "state")
    config = run_dev(options, out, wait)
    assert seen == {"ops": 200, "console": 200}
    assert load_settings(config).console.enabled
    store = open_read_only_store(tmp_path / "state")
    try:
        states = store.count_cases_by_state()
    finally:
        store.close()
    assert sum(states.values()) >= 8  # both fakes' cases arrived
    assert states.get(CaseState.new, 0) == 0


def test_operating_md_documents_every_config_section_and_field() -> None:
    from pydantic import BaseModel

    from connector.settings import ConnectorSettings

    operating = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    missing = []
    for name, info in ConnectorSettings.model_fields.items():
        heading = f"`[[{name}]]`" if name == "shops" else f"`[{name}]`"
        model = info.annotation
        args = getattr(model, "__args__", (model,))
        section = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if section is None:
            if f"`{name}`" not in operating:
                missing.append(name)
            continue
        if heading not in operating:
            missing.append(heading)
        missing += [f"{name}.{field}" for field in section.model_fields if field not in operating]
    assert not missing, missing


def test_a_base_url_with_the_gateway_path_is_refused_with_a_hint(tmp_path: Path) -> None:
    from connector.errors import ConfigError

    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'base_url = "http://127.0.0.1:8701"', 'base_url = "http://127.0.0.1:8701/router/rest"', 1
    )
    config = tmp_path / "local.toml"
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config)
    shop = settings.shops[0]
    with pytest.raises(ConfigError, match=r"server only.*'http://127\.0\.0\.1:8701'.*router/rest"):
        validate_shop_settings(shop, 0, adapter_class(shop.platform).settings_model)
