"""The `mock taobao` subcommand: build a TaobaoMock from flags and a scenario file; serve it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from mocks.kit.ports import DEFAULT_CASES, TAOBAO_PORT
from mocks.taobao.app import create_app
from mocks.taobao.config import ShopConfig, TaobaoConfig
from mocks.taobao.state import TaobaoMock


def load_scenario_file(mock: TaobaoMock, path: Path) -> int:
    """A JSON file: ``{"shops": [ShopConfig...], "cases": [CaseSpec...], "scenario": {...}}``."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"cannot read scenario file {path}: {exc}"
        raise ValueError(msg) from exc
    if isinstance(data, list):
        data = {"cases": data}
    if not isinstance(data, dict) or set(data) - {"shops", "cases", "scenario"}:
        msg = f"{path}: expected an object with shops, cases and/or scenario"
        raise ValueError(msg)
    for index, raw in enumerate(data.get("shops") or []):
        try:
            mock.add_shop(ShopConfig(**raw))
        except TypeError as exc:
            msg = f"{path}: shops[{index}] is not a shop: {exc}"
            raise ValueError(msg) from exc
    created = len(mock.add_cases(data.get("cases") or []))
    if data.get("scenario"):
        created += len(mock.add_scenario(data["scenario"])["case_ids"])
    return created


def register(mock_app: typer.Typer, serve: Callable[[object, int], None]) -> None:
    @mock_app.command("taobao")
    def taobao(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = TAOBAO_PORT,
        scenario: Annotated[Path | None, typer.Option(help="JSON scenario file.")] = None,
        seed: Annotated[int, typer.Option(help="Seed of the generated cases.")] = 7,
        cases: Annotated[
            int, typer.Option(min=0, help="How many cases to generate (0: none).")
        ] = DEFAULT_CASES,
        app_key: Annotated[str, typer.Option(help="Accepted app_key.")] = "12345678",
        app_secret: Annotated[str, typer.Option(help="Accepted app secret.")] = "testsecret",  # noqa: S107
        session: Annotated[str, typer.Option(help="Session of the Taobao shop.")] = "test-session",
        test_mode: Annotated[bool, typer.Option(help="Serve the /__mock control API.")] = False,
        app_qps: Annotated[float | None, typer.Option(help="Calls/s per app.")] = None,
        method_qps: Annotated[float | None, typer.Option(help="Calls/s per app+method.")] = None,
        daily_quota: Annotated[int | None, typer.Option(help="Calls per GMT+8 day.")] = None,
    ) -> None:
        """Fake Taobao/Tmall TOP gateway at http://127.0.0.1:PORT/router/rest."""
        config = TaobaoConfig(
            app_key=app_key,
            app_secret=app_secret,
            session=session,
            seed=seed,
            app_qps=app_qps,
            method_qps=method_qps,
            daily_quota=daily_quota,
        )
        mock = TaobaoMock(config)
        try:
            loaded = load_scenario_file(mock, scenario) if scenario else 0
            if cases:
                loaded += len(mock.add_scenario({"seed": seed, "count": cases})["case_ids"])
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        mock.start_background_timers(0.5)
        typer.echo(
            f"taobao fake: http://127.0.0.1:{port}/router/rest  cases={loaded}  "
            f"test_mode={'on' if test_mode else 'off'}"
        )
        typer.echo(f"  app_key={config.app_key} app_secret={config.app_secret}")
        for shop in mock.shops.values():
            typer.echo(
                f"  shop={shop.shop_id} session={shop.session} "
                f"{'tmall' if shop.tmall else 'taobao'}"
            )
        try:
            serve(create_app(mock, test_mode=test_mode), port)
        finally:
            mock.stop_background_timers()
