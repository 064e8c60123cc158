"""`run` (the foreground service) and `once` (one full sweep, then exit)."""

from __future__ import annotations

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from connector import logs
from connector.clock import SystemClock
from connector.errors import ConfigError, PolicyError, StoreError
from connector.paths import StateDirOption, ensure_state_dir, resolve_state_dir
from connector.settings import ConnectorSettings, load_settings

CLOCK_OFFSET_ENV = "REFUND_CONNECTOR_CLOCK_OFFSET_S"

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Connector TOML file.", dir_okay=False)
]


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("once")(once)


def _load(config: Path, state_dir: Path | None) -> tuple[ConnectorSettings, Path]:
    err = Console(stderr=True)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        err.print(f"[red]configuration refused:[/red] {exc}")
        raise typer.Exit(2) from None
    chosen = state_dir if state_dir is not None else settings.state_dir
    return settings, ensure_state_dir(resolve_state_dir(chosen))


def _configure_logs(settings: ConnectorSettings) -> None:
    daemon = settings.daemon
    logs.configure(
        json_lines=daemon.json_logs, level=logging.getLevelName(daemon.log_level.upper())
    )


def _build(settings: ConnectorSettings, state: Path):  # type: ignore[no-untyped-def]
    from connector.daemon.runtime import build_daemon
    from connector.store import open_store

    clock = SystemClock(offset_s=float(os.environ.get(CLOCK_OFFSET_ENV, "0") or 0))
    err = Console(stderr=True)
    try:
        store = open_store(state, clock=clock)
        return build_daemon(settings, store=store, clock=clock)
    except (ConfigError, PolicyError, StoreError) as exc:
        err.print(f"[red]refusing to start:[/red] {exc}")
        raise typer.Exit(2) from None


def run(config: ConfigOption, state_dir: StateDirOption = None) -> None:
    """Run the connector in the foreground until SIGTERM/SIGINT."""
    from connector.daemon.service import Service

    settings, state = _load(config, state_dir)
    _configure_logs(settings)
    daemon = _build(settings, state)
    with ExitStack() as stack:
        if settings.ops.enabled:
            stack.enter_context(_ops_server(settings, daemon))
        if settings.console.enabled:
            stack.enter_context(_console_server(settings, daemon))
        Service(daemon).run_forever()


def _ops_server(settings: ConnectorSettings, daemon: Any) -> Any:
    """/healthz, /readyz, /metrics on the configured loopback port while the service runs."""
    from datetime import timedelta

    from connector.observability import ops_app
    from connector.serving import LoopbackServer

    ops = settings.ops
    app = ops_app(
        lambda: daemon.store,
        daemon,
        clock=daemon.clock,
        stuck_after=timedelta(seconds=ops.stuck_after_s),
    )
    server = LoopbackServer(app, host=ops.host, port=ops.port, name="ops")
    Console(stderr=True).print(f"ops endpoints on {server.url}/metrics")
    return server


def _console_server(settings: ConnectorSettings, daemon: Any) -> Any:
    """The web console on the configured loopback host/port, over the daemon's store."""
    from connector.console.serving import console_server

    server = console_server(
        daemon.store, daemon.clock, host=settings.console.host, port=settings.console.port,
        settings=settings.console, adapters={k: s.adapter for k, s in daemon.shops.items()},
    )
    Console(stderr=True).print(f"web console on {server.url}/")
    return server


def once(
    config: ConfigOption,
    state_dir: StateDirOption = None,
    full: Annotated[
        bool, typer.Option("--full/--no-full", help="List every case, or only changes.")
    ] = True,
) -> None:
    """One full sweep (poll, decide, push, deadlines), then exit."""
    settings, state = _load(config, state_dir)
    _configure_logs(settings)
    daemon = _build(settings, state)
    daemon.store.recover_in_flight()
    try:
        counts = daemon.run_once(full=full)
    finally:
        daemon.close()
    Console().print(
        f"seen {counts.seen}, changed {counts.changed}, quarantined {counts.quarantined}, "
        f"decided {counts.decided}, effects sent {counts.sent}, failed {counts.failed}"
    )
    for line in counts.errors:
        Console(stderr=True).print(f"[yellow]{line}[/yellow]")
    if counts.errors:
        raise typer.Exit(1)
