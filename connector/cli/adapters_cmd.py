"""`refund-connector adapters`: which platform adapters are installed and what each can do.

Adapters are found through the ``refund_connector.adapters`` entry-point group
(``connector.registry.discover``), built-ins and separately installed packages alike. A plugin
that fails to load is listed with its error (exit code 1), never shown as a traceback.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connector.adapter import Capability
from connector.registry import ENTRY_POINT_GROUP, AdapterInfo, discover


def register(app: typer.Typer) -> None:
    app.command("adapters")(adapters)


def describe(info: AdapterInfo) -> dict[str, Any]:
    """One installed adapter as plain data (what `--json` prints)."""
    if info.adapter is None:
        return {"platform": info.platform, "target": info.target, "error": info.error}
    cls = info.adapter
    return {
        "platform": info.platform,
        "target": info.target,
        "capabilities": sorted(str(c) for c in cls.capabilities),
        "missing": {str(c): reason for c, reason in sorted(cls.missing_capabilities.items())},
        "undeclared": sorted(
            str(c) for c in Capability if c not in cls.capabilities | set(cls.missing_capabilities)
        ),
    }


def adapters(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List installed platform adapters with their capabilities and what they lack (and why)."""
    found = [describe(info) for _, info in sorted(discover().items())]
    broken = [entry for entry in found if "error" in entry]
    if as_json:
        typer.echo(json.dumps({"group": ENTRY_POINT_GROUP, "adapters": found}, ensure_ascii=False))
    else:
        _print(found)
    if broken:
        raise typer.Exit(code=1)


def _print(found: list[dict[str, Any]]) -> None:
    console = Console(soft_wrap=False, width=max(Console().width, 120), highlight=False)
    if not found:
        console.print(f"No adapters installed (entry-point group {ENTRY_POINT_GROUP}).")
        return
    table = Table(title=f"Installed adapters ({ENTRY_POINT_GROUP})", show_lines=True)
    table.add_column("platform", no_wrap=True)
    table.add_column("can")
    table.add_column("cannot (why)")
    for entry in found:
        if "error" in entry:
            table.add_row(
                entry["platform"], f"[red]cannot load {entry['target']}[/red]", entry["error"]
            )
            continue
        missing = [f"{cap}: {why}" for cap, why in entry["missing"].items()]
        missing += [f"{cap}: (not declared)" for cap in entry["undeclared"]]
        table.add_row(entry["platform"], ", ".join(entry["capabilities"]), "\n".join(missing))
    console.print(table)
