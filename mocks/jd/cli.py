"""The `mock jd` subcommand: build a JdMock from flags (and a scenario file) and serve it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mocks.jd.app import create_app
from mocks.jd.config import JdConfig, JdShop
from mocks.jd.state import JdMock


def load_file(mock: JdMock, path: Path) -> int:
    """JSON ``{"shops": [JdShop fields], "cases": [CaseSpec], "scenario": {...}}`` or a list."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read scenario file {path}: {exc}"
        raise ValueError(msg) from exc
    data = {"cases": data} if isinstance(data, list) else data
    if not isinstance(data, dict) or set(data) - {"shops", "cases", "scenario"}:
        msg = f"{path}: expected a list of cases or an object with shops, cases, scenario"
        raise ValueError(msg)
    for position, fields in enumerate(data.get("shops") or []):
        try:
            mock.add_shop(JdShop(**fields))
        except TypeError as exc:
            msg = f"{path}: shops[{position}] is not a JD shop: {exc}"
            raise ValueError(msg) from exc
    made = len(mock.add_cases(data.get("cases") or []))
    if data.get("scenario"):
        made += len(mock.add_scenario(data["scenario"])["case_ids"])
    return made


def register(mock_app: typer.Typer, serve: Callable[[object, int], None]) -> None:
    @mock_app.command("jd")
    def jd(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8702,
        test_mode: Annotated[bool, typer.Option(help="Serve the /__mock control API.")] = False,
        seed: Annotated[int, typer.Option(help="Seed of the generated cases.")] = 7,
        cases: Annotated[int, typer.Option(help="How many cases to generate.")] = 0,
        scenario: Annotated[Path | None, typer.Option(help="JSON scenario file.")] = None,
        app_key: Annotated[str, typer.Option(help="Accepted app_key.")] = "jd-app-key",
        app_secret: Annotated[str, typer.Option(help="Accepted app secret.")] = "jd-app-secret",  # noqa: S107
        token: Annotated[
            str, typer.Option(help="access_token of the default shop.")
        ] = "jd-test-token",  # noqa: S107
        daily_quota: Annotated[int | None, typer.Option(help="Calls per GMT+8 day.")] = None,
        app_qps: Annotated[float | None, typer.Option(help="Calls/s per app.")] = None,
        method_qps: Annotated[float | None, typer.Option(help="Calls/s per app+method.")] = None,
    ) -> None:
        """Fake JD JOS gateway at http://127.0.0.1:PORT/routerjson."""
        config = JdConfig(
            app_key=app_key,
            app_secret=app_secret,
            access_token=token,
            seed=seed,
            daily_quota=daily_quota,
            app_qps=app_qps,
            method_qps=method_qps,
        )
        mock = JdMock(config)
        try:
            made = load_file(mock, scenario) if scenario else 0
            if cases:
                made += len(mock.add_scenario({"seed": seed, "count": cases})["case_ids"])
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        mock.start_background_timers(0.5)
        mode = "on" if test_mode else "off"
        typer.echo(f"jd fake: http://127.0.0.1:{port}/routerjson  cases={made}  test_mode={mode}")
        typer.echo(f"  app_key={config.app_key} app_secret={config.app_secret}")
        for shop in mock.shops.values():
            typer.echo(f"  shop={shop.shop_id} access_token={shop.access_token} buId={shop.bu_id}")
        try:
            serve(create_app(mock, test_mode=test_mode), port)
        finally:
            mock.stop_background_timers()
