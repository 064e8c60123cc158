"""A wrong config refuses to start and names the field; the environment overrides the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "connector.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_config_loads_with_defaults(tmp_path: Path) -> None:
    cfg = load_settings(
        write(
            tmp_path,
            """
            [[shops]]
            shop_id = "shoe-flagship"
            platform = "taobao"
            policy = "policies/shoes.toml"
            settings = { base_url = "http://127.0.0.1:8701", app_key = "k" }
            """,
        )
    )
    assert cfg.daemon.sweep_interval_s <= 30
    assert cfg.shops[0].policy == tmp_path / "policies" / "shoes.toml"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[daemon]\npoll_interval_s = -1\n", "daemon.poll_interval_s"),
        ("[daemon]\nsweep_interval_s = 60\n", "daemon.sweep_interval_s"),
        ("[daemon]\npoll_intervall_s = 5\n", "daemon.poll_intervall_s"),
        ('[[shops]]\nshop_id = "a"\nplatform = "taobao"\ncolour = 1\n', "shops[0].colour"),
        ('[[shops]]\nplatform = "taobao"\n', "shops[0].shop_id"),
        ('[[shops]]\nshop_id = "a b"\nplatform = "taobao"\n', "shops[0].shop_id"),
        ('[warehouse]\nbase_url = "http://127.0.0.1:1"\n', "warehouse.api_key"),
    ],
)
def test_wrong_config_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert info.value.field == field
    assert field in str(info.value)


def test_duplicate_shop_is_refused(tmp_path: Path) -> None:
    text = '[[shops]]\nshop_id = "a"\nplatform = "t"\n[[shops]]\nshop_id = "a"\nplatform = "t"\n'
    with pytest.raises(ConfigError, match="listed twice"):
        load_settings(write(tmp_path, text))


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "this is = = not toml"))
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "absent.toml")


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REFUND_CONNECTOR_DAEMON__POLL_INTERVAL_S", "3")
    cfg = load_settings(write(tmp_path, "[daemon]\npoll_interval_s = 7\nlookback_s = 9\n"))
    assert cfg.daemon.poll_interval_s == 3
    assert cfg.daemon.lookback_s == 9


def test_secret_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = '[[shops]]\nshop_id = "a"\nplatform = "t"\nsettings = { app_secret = "env:TB_SECRET" }\n'
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert "TB_SECRET" in str(info.value)
    assert info.value.field == "shops[0].settings.app_secret"
    monkeypatch.setenv("TB_SECRET", "s3cret")
    assert load_settings(write(tmp_path, text)).shops[0].settings["app_secret"] == "s3cret"


# issue 14: config holes --------------------------------------------------------------------------
def test_a_config_file_that_is_not_utf8_is_refused_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_bytes("[daemon]\npoll_interval_s = 5  # 每五秒\n".encode("gb18030"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 0x[0-9a-f]{2} at offset \d+\)"):
        load_settings(path)


def test_a_config_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            '[[shops]]\nshop_id = "a"\nplatform = "taobao"\n'
            '[shops.settings]\napp_key = "k"\napp_secret = "env:I14_SECRET"\n',
            "shops[0].settings.app_secret",
        ),
        (
            '[[shops]]\nshop_id = "a"\nplatform = "jd"\n[shops.settings]\naccess_token = "  "\n',
            "shops[0].settings.access_token",
        ),
        ('[warehouse]\nbase_url = "http://127.0.0.1:1"\napi_key = ""\n', "warehouse.api_key"),
    ],
)
def test_an_empty_secret_is_refused_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, field: str
) -> None:
    monkeypatch.setenv("I14_SECRET", "")  # TOP_APP_SECRET= in an environment file
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert info.value.field == field
    assert "is empty" in str(info.value)


@pytest.mark.parametrize("waits", ["[-5, -1]", "[0]", "[5, 0, 60]", "[]"])
def test_retry_waits_must_be_positive(tmp_path: Path, waits: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, f"[daemon]\nretry_schedule_s = {waits}\n"))
    assert info.value.field == "daemon.retry_schedule_s"


def test_zero_shops_loads_and_the_preflight_warns(tmp_path: Path) -> None:
    from connector.preflight import check_settings

    settings = load_settings(write(tmp_path, "[daemon]\npoll_interval_s = 5\n"))
    assert check_settings(settings) == ["no shops are configured: the connector will poll nothing"]


def test_the_preflight_refuses_an_unknown_platform_naming_the_shop(tmp_path: Path) -> None:
    from connector.preflight import check_settings

    settings = load_settings(write(tmp_path, '[[shops]]\nshop_id = "a"\nplatform = "paipai"\n'))
    with pytest.raises(ConfigError) as info:
        check_settings(settings)
    assert info.value.field == "shops[0].platform"
    assert "no adapter installed for platform 'paipai'" in str(info.value)
