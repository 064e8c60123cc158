"""CPU by pipeline stage in /metrics (issue 15's throughput benchmark reads it)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from daemon_world import World
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.parser import text_string_to_metric_families

from connector.observability import Metrics, StageTimer, ops_app
from mocks.kit.server import BackgroundServer

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
STAGE = "refund_connector_stage_cpu_seconds_total"


def _burn(units: int) -> int:
    total = 0
    for i in range(units):
        total += i * i % 7
    return total


def _charged(counter: Counter, stage: str) -> float:
    return float(counter.labels(stage)._value.get())


def test_nested_stage_is_charged_to_itself_only() -> None:
    counter = Counter("t_stage_cpu", "t", ["stage"], registry=CollectorRegistry())
    timer = StageTimer(counter)
    inner = timer.wrap("store", lambda: _burn(400_000))

    def outer_body() -> int:
        return _burn(400_000) + int(inner()) + int(inner())

    outer = timer.wrap("decide", outer_body)
    outer()
    decide, store = _charged(counter, "decide"), _charged(counter, "store")
    assert store > 0
    assert decide > 0
    # The outer call did a third of the work: charged well under the whole.
    assert decide < 0.8 * (decide + store)


def _stages(world: World) -> dict[str, float]:
    app = ops_app(lambda: world.store, world.daemon, clock=world.clock, metrics=Metrics())
    with BackgroundServer(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        http.get("/healthz").raise_for_status()  # the app is built: stages are timed now
        now = world.clock.now()
        human = world.seed(
            type="refund_only",
            reason="not_received",
            order_status="shipped",
            paid_amount=8800,
            shipped_at=(now - 3 * 24 * HOUR).isoformat(),
            logistics_status="delivered",
            deadline_s=4 * 3600,
        )
        approved = world.seed(
            type="refund_only",
            reason="changed_mind",
            order_status="not_shipped",
            paid_amount=29900,
            deadline_s=20 * 3600,
        )
        world.warehouse_order(world.order_of(approved), "not_printed")
        assert human
        world.daemon.run_once(full=True)
        text = http.get("/metrics").text
    return {
        sample.labels["stage"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == STAGE
    }


def test_metrics_show_cpu_of_every_stage_a_cycle_runs(world: World) -> None:
    stages = _stages(world)
    for stage in ("list", "fetch", "enrich", "decide", "store", "send"):
        assert stages.get(stage, 0.0) > 0, f"no CPU charged to {stage}: {stages}"
