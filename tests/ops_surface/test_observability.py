"""/healthz, /readyz and /metrics over real loopback HTTP, against the daemon world."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from daemon_world import World
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from connector.errors import StoreError
from connector.observability import Metrics, ops_app, ops_routes
from connector.store import Store
from mocks.kit.server import BackgroundServer

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


@contextmanager
def serve(world: World, store: Any = None) -> Iterator[httpx.Client]:
    chosen = store if store is not None else world.store
    app = ops_app(lambda: chosen, world.daemon, clock=world.clock)
    with BackgroundServer(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        yield http


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def seed_two(world: World) -> tuple[str, str]:
    now = world.clock.now()
    human = world.seed(
        type="refund_only", reason="not_received", order_status="shipped", paid_amount=8800,
        shipped_at=(now - 3 * 24 * HOUR).isoformat(), logistics_status="delivered",
        deadline_s=4 * 3600,
    )
    approved = world.seed(
        type="refund_only", reason="changed_mind", order_status="not_shipped",
        paid_amount=29900, deadline_s=20 * 3600,
    )
    world.warehouse_order(world.order_of(approved), "not_printed")
    return human, approved


def test_healthz_answers_ok(world: World) -> None:
    with serve(world) as http:
        response = http.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


def test_metrics_show_cases_decisions_effects_queue_deadline_and_poll_lag(world: World) -> None:
    human, _ = seed_two(world)
    world.daemon.run_once(full=True)
    with serve(world) as http:
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)

    assert got[("refund_connector_cases", (("state", "queued_for_human"),))] == 1
    assert got[("refund_connector_cases", (("state", "decided"),))] == 1
    assert got[("refund_connector_cases", (("state", "new"),))] == 0
    assert got[("refund_connector_queue_depth", ())] == 1
    decisions = {
        dict(labels)["action"]: value
        for (name, labels), value in got.items()
        if name == "refund_connector_decisions_total"
    }
    assert decisions == {"human": 1, "approve_refund": 1}
    attempts = {
        (dict(labels)["kind"], dict(labels)["outcome"]): value
        for (name, labels), value in got.items()
        if name == "refund_connector_effect_attempts_total"
    }
    assert attempts[("agree_refund", "done")] == 1
    assert attempts[("void_warehouse_order", "done")] == 1
    left = got[("refund_connector_min_seconds_to_deadline", ())]
    assert left == pytest.approx(world.until_deadline(human).total_seconds(), abs=2)
    shop = (("platform", "taobao"), ("shop_id", "taobao-shop"))
    assert ("refund_connector_poll_lag_seconds", shop) in got
    assert got[("refund_connector_seconds_since_poll", shop)] == pytest.approx(0, abs=1)
    assert got[("refund_connector_store_readable", ())] == 1


def test_effect_failures_are_counted_by_platform_code(world: World) -> None:
    _, approved = seed_two(world)
    world.control.faults(
        {"match": {"method": "taobao.rp.refunds.agree"}, "count": -1,
         "fault": {"kind": "http_status", "status": 502}}
    )
    world.daemon.run_once(full=True)
    with serve(world) as http:
        got = samples(http.get("/metrics").text)
    failures = {
        dict(labels)["kind"]: dict(labels)["code"]
        for (name, labels), value in got.items()
        if name == "refund_connector_effect_failures_total" and value > 0
    }
    assert failures["agree_refund"] != "none"
    assert world.store.open_effects(("taobao", "taobao-shop", approved))


def test_readyz_is_ready_on_a_healthy_world(world: World) -> None:
    world.daemon.run_once(full=True)
    with serve(world) as http:
        response = http.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True


def test_readyz_names_a_platform_whose_credentials_were_refused(world: World) -> None:
    world.control.faults(
        {"match": {"method": "taobao.refunds.receive.get", "shop": "taobao-shop"}, "count": -1,
         "fault": {"kind": "platform_error", "code": "27", "msg": "Invalid session"}}
    )
    world.daemon.run_once(full=True)
    with serve(world) as http:
        response = http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["not_ready"] == ["platform taobao:taobao-shop"]
    assert body["checks"]["platforms"]["unhealthy"]["taobao:taobao-shop"]["state"] == (
        "auth_failed"
    )


def test_readyz_names_an_effect_stuck_in_flight(world: World) -> None:
    _, approved = seed_two(world)
    world.control.faults(
        {"match": {"method": "taobao.rp.refunds.agree"}, "count": -1,
         "fault": {"kind": "http_status", "status": 502}}
    )
    world.daemon.run_once(full=True)
    (agree,) = [
        e for e in world.store.open_effects(("taobao", "taobao-shop", approved))
        if e.kind == "agree_refund"
    ]
    world.control.clear_faults()
    world.daemon.poll_shop(world.daemon.shops[("taobao", "taobao-shop")])  # the shop recovers
    world.store.claim_effect(agree.id)  # as if a sender died mid-call
    with serve(world) as http:
        assert http.get("/readyz").status_code == 200
        world.advance(timedelta(minutes=11))
        response = http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["not_ready"] == ["stuck effects"]
    (stuck,) = body["checks"]["effects"]["stuck"]
    assert (stuck["effect_id"], stuck["status"], stuck["case_id"]) == (
        agree.id, "in_flight", approved
    )


class _Unwritable:
    """The real store, except that its write lock cannot be taken."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def unit_of_work(self) -> Any:
        raise StoreError("cannot take the database write lock: database is locked")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_readyz_names_an_unwritable_store(world: World) -> None:
    with serve(world, _Unwritable(world.store)) as http:
        response = http.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["not_ready"] == ["store"]
    assert "database is locked" in body["checks"]["store"]["error"]


def test_the_store_probe_takes_the_real_write_lock(world: World) -> None:
    import sqlite3

    db = next(world.state_dir.glob("*.db"))
    other = sqlite3.connect(db, timeout=0.1)
    try:
        other.execute("BEGIN IMMEDIATE")
        from connector.observability import store_writable

        locked = world.store
        # The daemon's connection waits its busy timeout, then reports the lock.
        problem = store_writable(locked)
    finally:
        other.rollback()
        other.close()
    assert problem is not None
    assert store_writable(world.store) is None


def test_each_metrics_object_has_its_own_registry(world: World) -> None:
    first, second = Metrics(), Metrics()
    first.decision("taobao", "reject", "R1")
    first.effect_attempt("taobao", "agree_refund", "retry", "502")
    assert b'refund_connector_decisions_total{action="reject"' in first.exposition()
    assert b"refund_connector_decisions_total{" not in second.exposition()
    assert b"refund_connector_effect_failures_total{" not in second.exposition()


def test_the_routes_mount_in_another_app_with_the_daemons_metrics(world: World) -> None:
    world.daemon.run_once(full=True)
    app = Starlette(routes=ops_routes(lambda: world.store, world.daemon, clock=world.clock))
    with BackgroundServer(app) as base_url:
        text = httpx.get(f"{base_url}/metrics", timeout=10).text
    assert "refund_connector_cases{" in text
