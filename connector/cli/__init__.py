"""Command line: one Typer app; each command group lives in its own module of this package."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="refund-connector",
    help="Decide marketplace refund cases by the seller's policy and answer before every deadline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: a flag reads `--json`, never `--json <bool>`
)

# Each module defines ``register(app)``. Order is the order of `--help`.
_COMMAND_MODULES = (
    "connector.cli.policy_cmd",
    "connector.cli.mock_cmd",
    "connector.cli.audit_cmd",
    "connector.cli.adapters_cmd",
    "connector.cli.daemon_cmd",
    "connector.cli.demo_cmd",
    "connector.cli.dev_cmd",
    "connector.cli.ops_cmd",
    "connector.cli.queue_cmd",
    "connector.cli.quarantine_cmd",
    "connector.cli.users_cmd",
    "connector.cli.state_cmd",
    "connector.cli.pause_cmd",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """The console script. A bad state dir, config or database ends in one line naming it and
    a non-zero exit, never a traceback (issue 14; tests/ops/test_bad_inputs.py): commands catch
    what they expect, this catches what slipped past them, and a wrong option is one line too
    (not click's framed box, which wraps a long path over several lines)."""
    import sqlite3
    import sys

    from connector.errors import ConnectorError

    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except typer.TyperException as exc:  # click's usage errors (typer carries its own click)
        exit_code = int(getattr(exc, "exit_code", 2))
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(message, err=True)  # the help text, as without arguments before
            sys.exit(exit_code)
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"error: {' '.join(message.split())}{where}", err=True)
        sys.exit(exit_code)
    except (ConnectorError, OSError, sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        typer.echo(f"error: {text}", err=True)
        sys.exit(1)  # not 2: a failure while serving is restartable, a refusal (2) is not
    sys.exit(code if isinstance(code, int) else 0)
