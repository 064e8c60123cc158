"""`refund-connector adapters`: installed adapters with capabilities; a broken plugin is listed."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint, EntryPoints, entry_points

import pytest
from typer.testing import CliRunner

from connector import registry
from connector.cli import app

GROUP = registry.ENTRY_POINT_GROUP


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["adapters", *args])
    return result.exit_code, result.output


def test_lists_taobao_and_jd_with_capabilities_and_reasons() -> None:
    code, out = _run("--json")
    assert code == 0, out
    found = {a["platform"]: a for a in json.loads(out)["adapters"]}
    assert {"taobao", "jd"} <= set(found)
    jd = found["jd"]
    assert jd["target"] == "adapters.jd:JdAdapter"
    assert "agree_refund" in jd["capabilities"]
    assert "message_buyer" not in jd["capabilities"]
    assert "text only" in jd["missing"]["refuse_with_proof_image"]
    assert jd["undeclared"] == []


def test_table_names_each_missing_capability_with_its_reason() -> None:
    code, out = _run()
    assert code == 0, out
    assert "jd" in out
    assert "taobao" in out
    assert "write_order_memo" in out
    assert "seller remark" in " ".join(out.split())


def _with_extra(monkeypatch: pytest.MonkeyPatch, *extra: EntryPoint) -> None:
    def fake(*, group: str) -> EntryPoints:
        return EntryPoints((*entry_points(group=group), *extra))

    monkeypatch.setattr("connector.registry.entry_points", fake)


def test_a_broken_plugin_is_listed_with_its_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_extra(
        monkeypatch,
        EntryPoint("ghost", "no_such_package.adapter:GhostAdapter", GROUP),
        EntryPoint("notadapter", "json:dumps", GROUP),
    )
    code, out = _run("--json")
    assert code == 1
    found = {a["platform"]: a for a in json.loads(out)["adapters"]}
    assert "ModuleNotFoundError" in found["ghost"]["error"]
    assert found["notadapter"]["error"] == "not a PlatformAdapter subclass"
    assert "capabilities" in found["jd"], "the healthy adapters are still listed"

    code, out = _run()
    assert code == 1
    assert "Traceback" not in out
    assert "ghost" in out
    assert "cannot load" in out
    assert "no_such_package" in out


def test_an_entry_point_naming_another_platform_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _with_extra(monkeypatch, EntryPoint("jingdong", "adapters.jd:JdAdapter", GROUP))
    code, out = _run("--json")
    assert code == 1
    found = {a["platform"]: a for a in json.loads(out)["adapters"]}
    assert "loads an adapter for 'jd'" in found["jingdong"]["error"]
