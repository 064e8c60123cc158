"""Started by hand, each fake listens on its own port and serves cases (issue 17, point 3)."""

from __future__ import annotations

import inspect

from connector.cli.mock_cmd import mock_app


def _defaults(name: str) -> dict[str, object]:
    command = next(c for c in mock_app.registered_commands if c.name == name)
    assert command.callback is not None
    return {p.name: p.default for p in inspect.signature(command.callback).parameters.values()}


def test_each_fake_has_its_own_default_port() -> None:
    ports = {name: _defaults(name)["port"] for name in ("taobao", "jd", "warehouse")}
    assert len(set(ports.values())) == 3, ports
    assert not {8780, 8781} & set(ports.values())  # the console's and the ops port


def test_a_fake_started_without_flags_serves_cases() -> None:
    for name in ("taobao", "jd"):
        cases = _defaults(name)["cases"]
        assert isinstance(cases, int), name
        assert cases > 0, (name, cases)
