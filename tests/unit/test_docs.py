"""The documentation's examples are real: the example config loads and validates per adapter,
and README starts with the two set-up commands that CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.registry import adapter_class
from connector.settings import load_settings, validate_shop_settings

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_in_operating_guide_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", text, re.S)
    assert block is not None
    for name in set(re.findall(r'"env:([A-Z_]+)"', block.group(1))):
        monkeypatch.setenv(name, f"value-of-{name.lower()}")
    config = tmp_path / "connector.toml"
    config.write_text(block.group(1), encoding="utf-8")
    settings = load_settings(config)
    assert [s.platform for s in settings.shops] == ["taobao", "jd"]
    for index, shop in enumerate(settings.shops):
        model = adapter_class(shop.platform).settings_model
        validated = validate_shop_settings(shop, index, model)
        assert "value-of" not in repr(validated)  # secrets are SecretStr


def test_readme_opens_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert first_block is not None
    install_run, install_test = first_block.group(1).strip().splitlines()
    assert install_run == "python3 -m pip install -e . && refund-connector demo"
    assert install_test == "python3 -m pip install -e '.[test]' && python3 -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert install_test in ci
