"""The `mock warehouse` subcommand: serve the fake WMS on loopback, seeded from a file if given."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mocks.kit.ports import WAREHOUSE_PORT
from mocks.warehouse.app import DEFAULT_API_KEY, create_app
from mocks.warehouse.state import WarehouseMock


def load_orders_file(mock: WarehouseMock, path: Path) -> int:
    """A JSON list of orders, or ``{"orders": [...]}`` (the ``POST /__mock/orders`` body)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read orders file {path}: {exc}"
        raise ValueError(msg) from exc
    orders = data.get("orders") if isinstance(data, dict) else data
    try:
        return len(mock.add_orders(orders))
    except ValueError as exc:
        msg = f"{path}: {exc}"
        raise ValueError(msg) from exc


def register(mock_app: typer.Typer, serve: Callable[[object, int], None]) -> None:
    @mock_app.command("warehouse")
    def warehouse(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = WAREHOUSE_PORT,
        api_key: Annotated[str, typer.Option(help="Accepted X-Api-Key.")] = DEFAULT_API_KEY,
        orders: Annotated[Path | None, typer.Option(help="JSON file of orders to seed.")] = None,
        test_mode: Annotated[bool, typer.Option(help="Serve the /__mock control API.")] = False,
    ) -> None:
        """Fake seller warehouse (WMS) at http://127.0.0.1:PORT/api/orders/..."""
        mock = WarehouseMock()
        try:
            loaded = load_orders_file(mock, orders) if orders else 0
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        typer.echo(
            f"warehouse fake: http://127.0.0.1:{port}/api/orders  orders={loaded}  "
            f"test_mode={'on' if test_mode else 'off'}  header X-Api-Key: {api_key}"
        )
        serve(create_app(api_key=api_key, test_mode=test_mode, mock=mock), port)
