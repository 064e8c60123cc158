"""`refund-connector check` and `restore`: is the state fit to serve, and putting a backup back.

``check`` is read-only and works beside a running daemon; ``restore`` takes the state lock, so it
refuses while a daemon serves the directory (issue 14). Guarded by tests/ops/test_restore.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from connector.errors import StoreError
from connector.paths import StateDirOption, db_path, resolve_state_dir, state_dir_warning


def register(app: typer.Typer) -> None:
    app.command("check")(check)
    app.command("restore")(restore)


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def check(state_dir: StateDirOption = None) -> None:
    """The full check of connector.db: integrity, foreign keys, the whole audit chain.

    Exit 0 when it is fit to serve, 1 naming each problem (and the restore command), 2 when there
    is no database to check. Read-only: safe while the daemon runs.
    """
    from connector.startup import unclean_reason
    from connector.statelock import current_holder
    from connector.store.checks import full_check

    folder = resolve_state_dir(state_dir)
    path = db_path(folder)
    if not path.is_file():
        raise _fail(f"no connector database at {path} (wrong --state-dir?)", 2)
    try:
        holder = current_holder(folder)
    except StoreError:
        holder = None
    report = full_check(path)
    typer.echo(f"database: {path} ({path.stat().st_size} bytes)")
    typer.echo(f"served by: {holder.describe() if holder else 'nobody (stopped)'}")
    if holder is None:
        reason = unclean_reason(folder)
        typer.echo(f"last stop: {reason or 'clean'}")
    for line in report.lines:
        typer.echo(line)
    warning = state_dir_warning(folder)
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    if report.ok:
        typer.echo("fit to serve")
        return
    for problem in report.problems:
        typer.echo(f"problem: {problem}")
    first = report.problems[0].split("; run `refund-connector check`")[0]
    more = f" (and {len(report.problems) - 1} more above)" if len(report.problems) > 1 else ""
    typer.echo(
        f"error: NOT fit to serve: {first}{more}; to go back to a backup: "
        "`refund-connector restore BACKUP` (docs/operating.md, Restoring a backup)",
        err=True,
    )
    raise typer.Exit(1)


def restore(
    backup: Annotated[
        Path, typer.Argument(help="A file written by `refund-connector backup`.", dir_okay=False)
    ],
    state_dir: StateDirOption = None,
) -> None:
    """Verify BACKUP, then make it connector.db, keeping the current database aside.

    Refused while a daemon serves the state dir. Prints what the next start will do.
    """
    from connector.restore import restore_database

    folder = resolve_state_dir(state_dir)
    try:
        report = restore_database(backup, folder)
    except StoreError as exc:
        raise _fail(f"restore refused, nothing changed: {exc}", 2) from None
    except OSError as exc:
        raise _fail(f"restore failed: {exc}", 1) from None
    typer.echo(report.describe())
