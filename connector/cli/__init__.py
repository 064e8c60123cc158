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
)

# Each module defines ``register(app)``. Order is the order of `--help`.
_COMMAND_MODULES = (
    "connector.cli.policy_cmd",
    "connector.cli.mock_cmd",
    "connector.cli.audit_cmd",
    "connector.cli.adapters_cmd",
    "connector.cli.daemon_cmd",
    "connector.cli.demo_cmd",
    "connector.cli.ops_cmd",
    "connector.cli.queue_cmd",
    "connector.cli.users_cmd",
    "connector.cli.pause_cmd",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:
    app()
