"""`refund-connector mock <platform>`: run a fake platform on loopback for demos and tests.

Each fake contributes its own subcommand from its package (``register(mock_app)``); adding the
JD or warehouse fake is one more module name in ``FAKE_MODULES``.
"""

from __future__ import annotations

import importlib

import typer
import uvicorn

mock_app = typer.Typer(
    name="mock",
    help="Run a faithful fake platform (HTTP on 127.0.0.1) for demos and integration tests.",
    no_args_is_help=True,
)

FAKE_MODULES: tuple[str, ...] = ("mocks.taobao.cli", "mocks.warehouse.cli", "mocks.jd.cli")


def serve(app: object, port: int) -> None:
    """Serve an ASGI app on loopback until interrupted (fakes never bind other interfaces)."""
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]


def register(app: typer.Typer) -> None:
    for name in FAKE_MODULES:
        importlib.import_module(name).register(mock_app, serve)
    app.add_typer(mock_app, name="mock")
