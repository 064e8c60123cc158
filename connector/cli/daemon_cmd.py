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
from connector.paths import (
    StateDirOption,
    ensure_state_dir,
    resolve_state_dir,
    state_dir_warning,
)
from connector.settings import ConnectorSettings, load_settings

CLOCK_OFFSET_ENV = "REFUND_CONNECTOR_CLOCK_OFFSET_S"

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Connector TOML file.", dir_okay=False)
]


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("once")(once)


InitOption = Annotated[
    bool,
    typer.Option(
        "--init",
        help="Start a new, empty database where connector.db is missing or 0 bytes "
        "(refused otherwise, so a lost history is never silently replaced).",
    ),
]


def _refuse(prefix: str, exc: Exception, code: int = 2) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"[red]{prefix}:[/red] {exc}", soft_wrap=True)
    return typer.Exit(code)


def _load(config: Path, state_dir: Path | None) -> tuple[ConnectorSettings, Path]:
    """Config, then every check that can fail, then the state dir: nothing touched on refusal."""
    from connector.preflight import check_settings

    err = Console(stderr=True, highlight=False)
    try:
        settings = load_settings(config)
        warnings = check_settings(settings)
    except ConfigError as exc:
        raise _refuse("configuration refused", exc) from None
    for line in warnings:
        err.print(f"[yellow]warning:[/yellow] {line}", soft_wrap=True)
    chosen = state_dir if state_dir is not None else settings.state_dir
    try:
        state = ensure_state_dir(resolve_state_dir(chosen))
    except StoreError as exc:
        raise _refuse("refusing to start", exc) from None
    warning = state_dir_warning(state)
    if warning:
        err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    return settings, state


def _configure_logs(settings: ConnectorSettings) -> None:
    daemon = settings.daemon
    logs.configure(
        json_lines=daemon.json_logs, level=logging.getLevelName(daemon.log_level.upper())
    )


def _build(settings: ConnectorSettings, state: Path, *, init: bool, purpose: str):  # type: ignore[no-untyped-def]
    """Own the state dir, check and open its database, wire the daemon (issue 14)."""
    from connector.daemon.runtime import build_daemon
    from connector.startup import open_for_service

    clock = SystemClock(offset_s=float(os.environ.get(CLOCK_OFFSET_ENV, "0") or 0))
    try:
        serving = open_for_service(state, purpose=purpose, clock=clock, init=init)
    except StoreError as exc:
        raise _refuse("refusing to start", exc) from None
    try:
        return serving, build_daemon(settings, store=serving.store, clock=clock)
    except (ConfigError, PolicyError, StoreError) as exc:
        serving.close(clean=True)
        raise _refuse("refusing to start", exc) from None


def run(config: ConfigOption, state_dir: StateDirOption = None, init: InitOption = False) -> None:
    """Run the connector in the foreground until SIGTERM/SIGINT."""
    from connector.daemon.service import Service

    settings, state = _load(config, state_dir)
    _configure_logs(settings)
    serving, daemon = _build(settings, state, init=init, purpose="run")
    clean = False
    try:
        with ExitStack() as stack:
            if settings.ops.enabled:
                stack.enter_context(_ops_server(settings, daemon))
            if settings.console.enabled:
                stack.enter_context(_console_server(settings, daemon))
            Service(daemon).run_forever()
        clean = True
    finally:
        serving.close(clean=clean)


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
    init: InitOption = False,
) -> None:
    """One full sweep (poll, decide, push, deadlines), then exit."""
    settings, state = _load(config, state_dir)
    _configure_logs(settings)
    serving, daemon = _build(settings, state, init=init, purpose="once")
    clean = False
    try:
        daemon.store.recover_in_flight()
        try:
            counts = daemon.run_once(full=full)
        finally:
            daemon.close()
        clean = True
    finally:
        serving.close(clean=clean)
    Console().print(
        f"seen {counts.seen}, changed {counts.changed}, quarantined {counts.quarantined}, "
        f"decided {counts.decided}, effects sent {counts.sent}, failed {counts.failed}"
    )
    for line in counts.errors:
        Console(stderr=True).print(f"[yellow]{line}[/yellow]")
    if counts.errors:
        raise typer.Exit(1)
