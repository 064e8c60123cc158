"""The life of a `refund-connector mock <platform>` process, shared by every fake's command.

A fake's command builds its platform from flags; this module seeds it (a scenario file and/or
generated cases), prints what it accepts, checks timers on wall time, and serves it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from mocks.kit.platform import FakePlatform

SCENARIO_KEYS = frozenset({"shops", "cases", "scenario"})


def read_scenario_file(path: Path) -> dict[str, Any]:
    """``{"shops": [...], "cases": [CaseSpec...], "scenario": {...}}``; a bare list is cases."""
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = json.loads(text)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"scenario file {path} is unreadable: {exc}") from exc
    if isinstance(data, list):
        return {"cases": data}
    if not isinstance(data, dict) or set(data) - SCENARIO_KEYS:
        msg = f"{path}: expected a list of cases or an object with {sorted(SCENARIO_KEYS)}"
        raise ValueError(msg)
    return data


def seed_platform(
    platform: FakePlatform,
    *,
    scenario_file: Path | None,
    add_shop: Callable[[dict[str, Any]], object],
    seed: int,
    generate: int,
) -> int:
    """Load the file's shops and cases, then ``generate`` cases from ``seed``; answer the count.

    Raises ``typer.BadParameter`` naming what is wrong, so the command exits with a clear message.
    """
    made = 0
    try:
        if scenario_file is not None:
            data = read_scenario_file(scenario_file)
            for index, shop in enumerate(data.get("shops") or []):
                try:
                    add_shop(shop)
                except TypeError as exc:
                    msg = f"{scenario_file}: shops[{index}] is not a shop: {exc}"
                    raise ValueError(msg) from exc
            made += len(platform.add_cases(data.get("cases") or []))
            if data.get("scenario"):
                made += len(platform.add_scenario(data["scenario"])["case_ids"])
        if generate:
            made += len(platform.add_scenario({"seed": seed, "count": generate})["case_ids"])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    return made


def run_platform(
    platform: FakePlatform,
    app: object,
    *,
    port: int,
    serve: Callable[[object, int], None],
    banner: list[str],
) -> None:
    """Print ``banner``, then serve until stopped, checking timers on wall time."""
    platform.start_background_timers(0.5)
    for line in banner:
        typer.echo(line)
    try:
        serve(app, port)
    finally:
        platform.stop_background_timers()
