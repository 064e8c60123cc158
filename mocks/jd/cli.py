"""The `mock jd` subcommand: a JdMock from flags (plus a scenario file), served on loopback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from mocks.jd.app import create_app
from mocks.jd.config import JdConfig, JdShop
from mocks.jd.state import JdMock
from mocks.kit.cli import run_platform, seed_platform
from mocks.kit.ports import DEFAULT_CASES, JD_PORT


def register(mock_app: typer.Typer, serve: Callable[[object, int], None]) -> None:
    @mock_app.command("jd")
    def jd(
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = JD_PORT,
        test_mode: Annotated[bool, typer.Option(help="Serve the /__mock control API.")] = False,
        seed: Annotated[int, typer.Option(help="Seed of the generated cases.")] = 7,
        cases: Annotated[
            int, typer.Option(min=0, help="How many cases to generate (0: none).")
        ] = DEFAULT_CASES,
        scenario: Annotated[
            Path | None, typer.Option(help="JSON file: shops, cases, scenario.")
        ] = None,
        app_key: Annotated[str, typer.Option(help="The app_key JOS accepts.")] = "jd-app-key",
        app_secret: Annotated[str, typer.Option(help="The app secret.")] = "jd-app-secret",  # noqa: S107
        token: Annotated[str, typer.Option(help="access_token of shop jd-shop.")] = "jd-test-token",  # noqa: S107
        daily_quota: Annotated[
            int | None, typer.Option(help="JOS calls a day (test apps: 500).")
        ] = None,
        app_qps: Annotated[
            float | None, typer.Option(help="JOS calls a second, whole app.")
        ] = None,
        method_qps: Annotated[
            float | None, typer.Option(help="JOS calls a second, per method.")
        ] = None,
    ) -> None:
        """Fake JD JOS gateway at http://127.0.0.1:PORT/routerjson."""
        config = JdConfig(app_key=app_key, app_secret=app_secret, access_token=token, seed=seed)
        config.daily_quota, config.app_qps, config.method_qps = daily_quota, app_qps, method_qps
        mock = JdMock(config)
        made = seed_platform(
            mock,
            scenario_file=scenario,
            add_shop=lambda fields: mock.add_shop(JdShop(**fields)),
            seed=seed,
            generate=cases,
        )
        banner = [
            f"jd fake: http://127.0.0.1:{port}/routerjson  cases={made}  "
            f"test_mode={'on' if test_mode else 'off'}",
            f"  app_key={config.app_key} app_secret={config.app_secret}",
        ]
        banner += [
            f"  shop={s.shop_id} access_token={s.access_token} buId={s.bu_id}"
            for s in mock.shops.values()
        ]
        run_platform(
            mock, create_app(mock, test_mode=test_mode), port=port, serve=serve, banner=banner
        )
