"""`quarantine list|resolve`: payloads the connector kept aside because they are not valid cases.

An item a platform cannot serve (bytes that are not UTF-8, JSON nested too deep, a field that
breaks the protocol) is kept here with what is wrong and where it was listed, and the rest of
its shop goes on; ops read this list, chase the platform, and mark each one resolved.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from connector.cli import ops_cmd
from connector.cli.voice import UtcOption, when
from connector.errors import StoreError
from connector.paths import StateDirOption
from connector.store import QuarantineRecord

quarantine_app = typer.Typer(
    name="quarantine",
    help="Platform payloads kept aside because they are not valid cases.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")


def quarantine_row(record: QuarantineRecord) -> dict[str, Any]:
    row: dict[str, Any] = record.model_dump(mode="json")
    return row


@quarantine_app.command("list")
def quarantine_list(
    include_resolved: Annotated[bool, typer.Option("--all", help="Resolved items too.")] = False,
    as_json: ops_cmd.JsonOption = False,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Quarantined items, oldest first: which shop, which case (when its id could be read),
    what is wrong and where it was listed, how often it was seen (Beijing time, or --utc)."""
    with ops_cmd._store(state_dir) as store:
        records = store.list_quarantine(include_resolved=include_resolved)
    if as_json:
        ops_cmd._print_json([quarantine_row(r) for r in records])
        return
    if not records:
        typer.echo("nothing in quarantine", err=True)
        return
    ops_cmd.print_table(
        f"quarantine ({len(records)}; --json for the payloads)",
        ("id", "shop", "case", "details", "seen", "last seen", "resolved"),
        [
            (
                str(r.id),
                f"{r.platform or '-'}/{r.shop_id or '-'}",
                r.case_id or "(id unreadable)",
                "; ".join(f"{p.get('field')}: {p.get('reason')}" for p in r.problems) or "-",
                str(r.seen_count),
                when(r.last_seen_at, utc),
                "yes" if r.resolved else "no",
            )
            for r in records
        ],
    )


@quarantine_app.command("resolve")
def quarantine_resolve(
    quarantine_id: Annotated[int, typer.Argument(help="The id from `quarantine list`.")],
    name: ops_cmd.AsOption,
    state_dir: StateDirOption = None,
) -> None:
    """Mark an item dealt with (audited); it comes back if the platform lists it broken again."""
    actor = ops_cmd.human_actor(name)
    with ops_cmd._store(state_dir, write=True) as store:
        try:
            record = store.resolve_quarantine(quarantine_id, actor=actor)
        except StoreError as exc:
            raise ops_cmd._fail(str(exc)) from exc
    typer.echo(f"quarantined item {record.id} resolved by {actor}")
