"""A newcomer's path works from the README alone, and the test run says where its time goes
(issue 17, points 1, 3 and 7)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_readme_shows_the_console_and_a_local_run() -> None:
    assert "## Web console" in README
    assert "refund-connector demo --serve" in README
    assert "## Try it locally" in README
    assert "refund-connector dev" in README
    assert "examples/local.toml" in README
    assert (ROOT / "examples" / "local.toml").exists()


def test_readme_gives_the_quick_loop_and_says_browser_tests_skip_without_chromium() -> None:
    assert 'python3 -m pytest -m "not slow"' in README
    assert re.search(r"browser tests .*skip.*Chromium", README, re.S)


def test_ci_and_the_readme_command_print_the_15_slowest_tests() -> None:
    addopts = PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"]
    assert "--durations=15" in addopts  # in addopts, so README's command and .ci/run agree
    assert "python3 -m pytest\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in [*project["dependencies"], *extras]]


def test_zero_major_dependencies_have_an_upper_bound() -> None:
    unbounded = []
    for req in _requirements():
        lower = [s.version for s in req.specifier if s.operator == ">="]
        if (
            lower
            and lower[0].startswith("0.")
            and not any(s.operator == "<" for s in req.specifier)
        ):
            unbounded.append(str(req))
    assert not unbounded, unbounded


def test_pyrate_limiter_range_is_the_4x_api_the_code_uses() -> None:
    (req,) = [r for r in _requirements() if r.name == "pyrate-limiter"]
    assert not req.specifier.contains("3.9.0")
    assert req.specifier.contains("4.6.0")
    assert not req.specifier.contains("5.0.0")


def test_starlettes_test_client_imports_without_a_deprecation_warning() -> None:
    import importlib
    import sys
    import warnings

    assert any(r.name == "httpx2" for r in _requirements())  # the test extra brings it
    sys.modules.pop("starlette.testclient", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module("starlette.testclient")
