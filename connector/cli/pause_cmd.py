"""`refund-connector pause` / `resume`: the kill switch for automatic pushes (audited).

While paused, cases are still decided and queued for people; automatic writes already queued
are held by the relay; deadline fallbacks still go out unless ``--hold-fallbacks``. When the
database cannot be reached, a file named PAUSE in the state directory does the same.
"""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.policy_cmd import person, state_store
from connector.paths import StateDirOption
from connector.pause import PAUSE_FILE, pause, resume, state_for

NameOption = Annotated[
    str, typer.Option("--as", help="Your name for the audit log (recorded as human:<NAME>).")
]
ShopOption = Annotated[str | None, typer.Option("--shop", help="One shop (default: every shop).")]


def pause_command(
    name: NameOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
    shop: ShopOption = None,
    hold_fallbacks: Annotated[
        bool,
        typer.Option(
            "--hold-fallbacks",
            help="Hold deadline fallbacks too (the platform's own timeout outcome then applies).",
        ),
    ] = False,
    state_dir: StateDirOption = None,
) -> None:
    """Stop automatic pushes now (every shop or one): decisions go to people instead."""
    actor = person(name)
    if not reason.strip():
        typer.echo("error: --reason must say why", err=True)
        raise typer.Exit(1)
    with state_store(state_dir, write=True) as store:
        record = pause(
            store, shop_id=shop, actor=actor, why=reason.strip(), hold_fallbacks=hold_fallbacks
        )
    fallbacks = "held too" if hold_fallbacks else "still go out"
    typer.echo(
        f"paused automatic pushes for {shop or 'every shop'} (pause #{record.id}, audited as"
        f" {actor}); deadline fallbacks {fallbacks}. Undo: refund-connector resume"
        + (f" --shop {shop}" if shop else "")
        + f" --as {name}"
    )


def resume_command(
    name: NameOption,
    shop: ShopOption = None,
    reason_code: Annotated[
        str | None,
        typer.Option("--reason-code", help="Resume automatic approval the breaker paused."),
    ] = None,
    why: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")] = "",
    state_dir: StateDirOption = None,
) -> None:
    """End a pause of the same scope (audited); held writes become due at once."""
    actor = person(name)
    with state_store(state_dir, write=True) as store:
        resumed = resume(store, shop_id=shop, reason_code=reason_code, actor=actor, why=why)
        state = state_for(store, shop or "*")
    scope = (shop or "every shop") + (f", reason {reason_code}" if reason_code else "")
    if not resumed:
        typer.echo(f"nothing was paused for {scope}", err=True)
        raise typer.Exit(1)
    typer.echo(f"resumed {len(resumed)} pause(s) for {scope} (audited as {actor})")
    if state.paused:
        typer.echo(f"warning: still paused: {state.why} (a {PAUSE_FILE} file or a wider pause)")


def register(app: typer.Typer) -> None:
    app.command("pause")(pause_command)
    app.command("resume")(resume_command)
