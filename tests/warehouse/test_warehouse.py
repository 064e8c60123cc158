"""The warehouse fake and its client, over real loopback HTTP (the clock is advanced, not slept)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.clock import FakeClock
from connector.effects import SubmitOutcome
from connector.errors import (
    ActionForbiddenError,
    MalformedPayloadError,
    NotFoundError,
    OutcomeUnknownError,
    ReauthRequiredError,
    UnavailableError,
)
from connector.models import WarehouseState
from connector.warehouse import WarehouseClient
from mocks.kit.server import BackgroundServer, free_port
from mocks.warehouse import DEFAULT_API_KEY, create_app

START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="module")
def base_url(clock: FakeClock) -> Iterator[str]:
    with BackgroundServer(create_app(test_mode=True, clock=clock)) as url:
        yield url


@pytest.fixture
def control(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=5) as client:
        client.post("/__mock/reset").raise_for_status()
        client.post(
            "/__mock/orders",
            json={
                "orders": [
                    {"order_id": "O1", "shop_id": "s1", "case_id": "R1"},
                    {"order_id": "O2", "shop_id": "s1", "state": "printed"},
                    {"order_id": "O3", "shop_id": "s2", "state": "shipped"},
                ]
            },
        ).raise_for_status()
        yield client


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=httpx.Timeout(2.0, read=0.3)) as client:
        yield client


@pytest.fixture
def warehouse(base_url: str, http: httpx.Client) -> WarehouseClient:
    return WarehouseClient(base_url, DEFAULT_API_KEY, http)


def fault(control: httpx.Client, operation: str, spec: dict[str, Any], count: int = 1) -> None:
    control.post(
        "/__mock/faults",
        json={"rules": [{"match": {"method": operation}, "count": count, "fault": spec}]},
    ).raise_for_status()


def ledger(control: httpx.Client) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = control.get("/__mock/ledger").json()["entries"]
    return entries


def test_order_state(control: httpx.Client, warehouse: WarehouseClient) -> None:
    order = warehouse.get_order_state("O2")
    assert order.order_id == "O2"
    assert order.state is WarehouseState.printed
    assert order.updated_at == START


def test_void_then_void_again_is_done_once(
    control: httpx.Client, warehouse: WarehouseClient, clock: FakeClock
) -> None:
    first = warehouse.void_order("O1", request_id="effect-key-1")
    assert first.outcome is SubmitOutcome.applied
    assert first.platform_code == "voided"
    again = warehouse.void_order("O1", request_id="effect-key-1")
    assert again.outcome is SubmitOutcome.already_done
    assert again.platform_code == "already_voided"
    assert warehouse.get_order_state("O1").state is WarehouseState.voided
    [entry] = ledger(control)
    assert entry["effect"] == "void_order"
    assert entry["key"] == "effect-key-1"
    assert entry["case_id"] == "R1"
    assert entry["at"] == clock.now().isoformat()


@pytest.mark.parametrize(("order_id", "state"), [("O2", "printed"), ("O3", "shipped")])
def test_void_after_printing_is_refused(
    control: httpx.Client, warehouse: WarehouseClient, order_id: str, state: str
) -> None:
    with pytest.raises(ActionForbiddenError) as caught:
        warehouse.void_order(order_id)
    assert caught.value.platform_code == f"order_{state}"
    assert state in str(caught.value)
    assert ledger(control) == []


def test_unknown_order(control: httpx.Client, warehouse: WarehouseClient) -> None:
    with pytest.raises(NotFoundError):
        warehouse.get_order_state("nope")
    with pytest.raises(NotFoundError):
        warehouse.void_order("nope")
    with pytest.raises(NotFoundError):
        warehouse.get_return_inspection("nope")


def test_wrong_api_key(control: httpx.Client, base_url: str, http: httpx.Client) -> None:
    client = WarehouseClient(base_url, "wrong", http)
    with pytest.raises(ReauthRequiredError):
        client.void_order("O1")
    assert ledger(control) == []
    assert "wrong" not in repr(client)


def test_return_inspection(
    control: httpx.Client, warehouse: WarehouseClient, clock: FakeClock
) -> None:
    waiting = warehouse.get_return_inspection("O3")
    assert not waiting.received
    assert waiting.inspection is None
    clock.advance(timedelta(hours=2))
    control.post(
        "/__mock/returns/O3", json={"resellable": False, "note": "screen cracked"}
    ).raise_for_status()
    got = warehouse.get_return_inspection("O3")
    assert got.received
    assert got.received_at == clock.now()
    assert got.inspection is not None
    assert got.inspection.resellable is False
    assert got.inspection.note == "screen cracked"


def test_server_error_is_unavailable_with_retry_after(
    control: httpx.Client, warehouse: WarehouseClient
) -> None:
    fault(control, "void_order", {"kind": "http_status", "status": 503, "retry_after_s": 7})
    with pytest.raises(UnavailableError) as caught:
        warehouse.void_order("O1")
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert caught.value.retry_after == 7
    assert ledger(control) == []
    assert warehouse.void_order("O1").outcome is SubmitOutcome.applied


def test_void_timeout_is_outcome_unknown(control: httpx.Client, warehouse: WarehouseClient) -> None:
    fault(control, "void_order", {"kind": "hang", "seconds": 0.6})
    with pytest.raises(OutcomeUnknownError):
        warehouse.void_order("O1")


def test_read_timeout_is_unavailable(control: httpx.Client, warehouse: WarehouseClient) -> None:
    fault(control, "get_order", {"kind": "hang", "seconds": 0.6})
    with pytest.raises(UnavailableError) as caught:
        warehouse.get_order_state("O1")
    assert not isinstance(caught.value, OutcomeUnknownError)


def test_applied_then_dropped_resolves_by_re_reading(
    control: httpx.Client, warehouse: WarehouseClient
) -> None:
    fault(control, "void_order", {"kind": "apply_then_drop"})
    with pytest.raises(OutcomeUnknownError):
        warehouse.void_order("O1", request_id="k")
    assert warehouse.get_order_state("O1").state is WarehouseState.voided
    assert warehouse.void_order("O1", request_id="k").outcome is SubmitOutcome.already_done
    assert len(ledger(control)) == 1


def test_reset_before_reading_is_unavailable(
    control: httpx.Client, warehouse: WarehouseClient
) -> None:
    fault(control, "get_return", {"kind": "reset"})
    with pytest.raises(UnavailableError):
        warehouse.get_return_inspection("O1")


def test_malformed_bodies(control: httpx.Client, warehouse: WarehouseClient) -> None:
    fault(control, "get_order", {"kind": "malformed_body"})
    with pytest.raises(MalformedPayloadError):
        warehouse.get_order_state("O1")
    fault(control, "void_order", {"kind": "malformed_body"})
    with pytest.raises(OutcomeUnknownError):
        warehouse.void_order("O1")


def test_nothing_listening_is_unavailable(http: httpx.Client) -> None:
    client = WarehouseClient(f"http://127.0.0.1:{free_port()}", DEFAULT_API_KEY, http)
    with pytest.raises(UnavailableError) as caught:
        client.void_order("O1")
    assert not isinstance(caught.value, OutcomeUnknownError)


def test_request_log_and_control_validation(
    control: httpx.Client, warehouse: WarehouseClient
) -> None:
    warehouse.get_order_state("O1")
    with pytest.raises(ActionForbiddenError):
        warehouse.void_order("O2")
    requests = control.get("/__mock/requests").json()["requests"]
    assert [(r["method"], r["shop_id"], r["outcome"]) for r in requests] == [
        ("get_order", "s1", "ok"),
        ("void_order", "s1", "error:order_printed"),
    ]
    bad = control.post("/__mock/faults", json={"rules": [{"fault": {"kind": "change_before"}}]})
    assert bad.status_code == 400
    assert "does not apply to the warehouse" in bad.json()["error"]
    bad = control.post("/__mock/orders", json={"orders": [{"order_id": "X", "state": "lost"}]})
    assert bad.status_code == 400
    assert "orders[0]" in bad.json()["error"]
    moved = control.post("/__mock/orders/O1", json={"state": "printed"})
    assert moved.json()["state"] == "printed"
    back = control.post("/__mock/orders/O1", json={"state": "not_printed"})
    assert back.status_code == 400


def test_control_clock_moves_the_shared_clock(control: httpx.Client, clock: FakeClock) -> None:
    before = clock.now()
    answer = control.post("/__mock/clock", json={"advance_s": 60}).json()
    assert clock.now() == before + timedelta(seconds=60)
    assert answer["now"] == clock.now().isoformat()
    assert control.get("/__mock/clock").json()["frozen"] is True


def test_control_api_is_absent_without_test_mode() -> None:
    with BackgroundServer(create_app()) as url, httpx.Client(base_url=url) as client:
        assert client.post("/__mock/reset").status_code == 404
        answer = client.get("/api/orders/O1", headers={"X-Api-Key": DEFAULT_API_KEY})
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "order_not_found"


def test_mock_warehouse_command_seeds_and_serves(tmp_path: Path) -> None:
    import json

    import typer
    from typer.testing import CliRunner

    from mocks.warehouse import cli

    served: list[tuple[object, int]] = []
    app = typer.Typer()
    cli.register(app, lambda asgi, port: served.append((asgi, port)))
    app.command("noop")(lambda: None)
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps([{"order_id": "O9", "shop_id": "s1", "state": "printed"}]))
    result = CliRunner().invoke(
        app, ["warehouse", "--port", "9999", "--orders", str(orders), "--test-mode"]
    )
    assert result.exit_code == 0, result.output
    assert "orders=1" in result.stdout
    [(asgi, port)] = served
    assert port == 9999
    with BackgroundServer(asgi) as url, httpx.Client(base_url=url) as client:
        assert client.get("/__mock/orders").json()["orders"][0]["state"] == "printed"
    orders.write_text(json.dumps([{"order_id": "O9"}]))
    bad = CliRunner().invoke(app, ["warehouse", "--orders", str(orders)])
    assert bad.exit_code == 2
    assert "orders[0].shop_id" in bad.output
