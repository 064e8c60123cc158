"""What the pages look like to a person: a statistics palette told apart by colour-blind
readers, audit details in the page's language with Beijing times."""

from __future__ import annotations

import itertools
from datetime import timedelta

from console_helpers import add_user, login, queue_case
from starlette.testclient import TestClient

from connector.console.stats import PALETTE, REASON_COLOURS
from connector.models import Reason
from connector.store import Store


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _deuteranope(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """Machado et al. (2009) deuteranopia simulation, severity 1, on linear-ish RGB."""
    r, g, b = (c / 255 for c in rgb)
    return (0.367 * r + 0.861 * g - 0.228 * b, 0.280 * r + 0.673 * g + 0.047 * b,
            -0.012 * r + 0.043 * g + 0.969 * b)


def _protanope(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    r, g, b = (c / 255 for c in rgb)
    return (0.152 * r + 1.053 * g - 0.205 * b, 0.115 * r + 0.786 * g + 0.099 * b,
            -0.004 * r - 0.048 * g + 1.052 * b)


def _apart(one: tuple[float, ...], other: tuple[float, ...]) -> float:
    return float(sum((a - b) ** 2 for a, b in zip(one, other, strict=True)) ** 0.5)


def test_every_reason_has_its_own_colour_and_no_two_are_near_twins() -> None:
    assert len(set(REASON_COLOURS.values())) == len(Reason)
    for one, other in itertools.combinations(PALETTE, 2):
        assert _apart(_rgb(one), _rgb(other)) > 55, (one, other)
        assert _apart(_deuteranope(_rgb(one)), _deuteranope(_rgb(other))) > 0.05, (one, other)
        assert _apart(_protanope(_rgb(one)), _protanope(_rgb(other))) > 0.05, (one, other)


def test_audit_details_read_in_chinese_with_beijing_times(
    client: TestClient, store: Store
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    login(client, "ann")
    page = client.get("/cases/taobao/s1/R1").text
    history = page.split('id="audit"')[1]
    assert "状态：等待人工" in history
    assert "previous_state" not in history
    assert "T0" not in history  # no ISO UTC times
