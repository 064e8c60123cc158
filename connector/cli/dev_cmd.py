"""`refund-connector dev`: the fakes and the real service with its console, in one command."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mocks.kit.ports import DEFAULT_CASES


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)


def dev(
    cases: Annotated[
        int, typer.Option(min=0, max=5000, help="Cases each fake platform generates.")
    ] = DEFAULT_CASES,
    seed: Annotated[int, typer.Option(help="Seed of the generated cases.")] = 7,
    free_ports: Annotated[
        bool,
        typer.Option(
            "--free-ports",
            help="Pick free ports instead of 8701-8703 (fakes), 8780 (console), 8781 (ops).",
        ),
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", file_okay=False, help="Database folder (default: a new one)."),
    ] = None,
    stop_after: Annotated[
        float | None,
        typer.Option("--stop-after", min=0, help="Stop after this many seconds (for scripts)."),
    ] = None,
) -> None:
    """Start fake Taobao/Tmall, JD and warehouse servers and run the real service against them
    with the web console and ops endpoints; prints every URL and the console logins.

    The configuration it writes (and prints) runs again with `run --config`; the same file for
    the default ports is examples/local.toml.
    """
    from connector.console.serving import wait_for_interrupt
    from connector.devsetup import DevOptions, Ports, run_dev
    from connector.errors import ConfigError

    console = Console()

    def wait() -> None:
        if stop_after is None:
            wait_for_interrupt()
        else:
            threading.Event().wait(stop_after)

    options = DevOptions(
        cases=cases,
        seed=seed,
        ports=Ports.free() if free_ports else Ports(),
        state_dir=state_dir,
    )
    try:
        run_dev(options, console, wait)
    except ConfigError as exc:
        Console(stderr=True).print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(2) from None
