"""`refund-connector demo`: fakes (Taobao/Tmall, JD, warehouse) + daemon + progress on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from connector.errors import StoreError


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    cases: Annotated[int, typer.Option(min=1, max=5000, help="Cases to generate.")] = 300,
    seed: Annotated[int, typer.Option(help="Seed of the generated cases (replayable).")] = 7,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the final summary as one JSON object.")
    ] = False,
    state_dir: Annotated[
        Path | None,
        typer.Option("--state-dir", file_okay=False, help="Where the demo's database goes."),
    ] = None,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="After the summary keep the fakes, the daemon and the web console running "
            "until Ctrl-C (prints the console URL and demo logins).",
        ),
    ] = False,
    console_port: Annotated[
        int | None,
        typer.Option(
            "--console-port", min=1, max=65535, help="Console port with --serve (default: free)."
        ),
    ] = None,
) -> None:
    """Run fake Taobao/Tmall, JD and warehouse servers and the real daemon against a few
    hundred cases on loopback (about two minutes), then summarise what it did.

    With --serve the web console (and /healthz, /readyz, /metrics) stays open afterwards.
    """
    from connector import logs
    from connector.demo import DemoOptions, print_summary, run_demo, summary_json

    logs.configure(level=40)  # errors only: the progress view is the demo's output
    console = Console(stderr=json_out)
    hook = None
    if serve:
        from connector.demo_serve import serve_hook

        hook = serve_hook(console, print_summary, console_port)
    try:
        summary = run_demo(
            DemoOptions(
                cases=cases, seed=seed, state_dir=state_dir, quiet=json_out, after_summary=hook
            ),
            console=console,
        )
    except (FileExistsError, StoreError) as exc:
        Console(stderr=True).print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    if json_out:
        typer.echo(summary_json(summary))
    elif not serve:  # --serve printed it before serving
        print_summary(summary, console)
    ok = summary["auto_acts"] == 0 and summary["cases"] == summary["cases_at_platform"]
    raise typer.Exit(0 if ok else 1)
