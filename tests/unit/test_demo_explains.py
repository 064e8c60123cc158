"""The demo explains itself (issue 17, points 1 and 2): figures that add up and say how, passed
deadlines explained case by case, forbidden refusals counted, next steps printed whole, a plain
progress line without a terminal, and `demo --serve` answering the ops endpoints."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from connector import demo
from connector.clock import FakeClock
from connector.demo_serve import serve_hook
from connector.store import open_store


def _summary(**overrides: Any) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "cases": 309,
        "cases_requested": 300,
        "cases_at_platform": 309,
        "cases_by_platform": {"jd": 109, "taobao": 200},
        "case_states": {"done": 256, "left_to_platform": 49, "queued_for_human": 4},
        "outcomes": {
            "approve_refund": {"done": 120},
            "human": {"done": 12, "left_to_platform": 19, "queued_for_human": 4},
            "none": {"done": 119},
            "reject": {"done": 5, "left_to_platform": 30},
        },
        "totals": {
            "seen": 309,
            "decisions_made": 520,
            "writes_applied": 180,
            "escalated": 40,
            "deadline_fallbacks": 20,
            "attempts_retried": 3,
            "effects_failed": 0,
        },
        "refusals_forbidden": {"isv.refuse-forbidden:no-reason-7d": 7},
        "refusal_forbidden_examples": {
            "isv.refuse-forbidden:no-reason-7d": "taobao/tmall-home/9001"
        },
        "deadlines_passed": [
            {
                "case": "jd/jd-pop-store/77",
                "kind": "left_to_platform",
                "rule_id": "receipt-timeout",
                "why": "left to the platform by rule receipt-timeout: the policy lets the "
                "platform act here",
            }
        ],
        "left_to_platform": 49,
        "auto_acts_on_cases_left_to_platform": 45,
        "auto_acts": 0,
        "missed_cases": [],
        "queued_for_people": 4,
        "wall_s": 101.0,
        "state_dir": "/home/someone/.local/state/refund-connector/demo-20261204-101010",
    }
    summary.update(overrides)
    return summary


def _sums(line: str) -> tuple[list[int], int]:
    left, total = line.rsplit("=", 1)
    return [int(n) for n in re.findall(r"\b(\d+)\b", left.split(":", 1)[1])], int(
        re.findall(r"\d+", total)[0]
    )


def test_every_figure_adds_up_and_says_how() -> None:
    lines = demo.summary_lines(_summary())
    text = "\n".join(lines)
    assert lines[0] == (
        "309 cases seen of 309 at the fakes: 300 requested + 9 more because JD opens one "
        "service order per returned unit."
    )
    states = next(line for line in lines if line.startswith("Where they stand now"))
    parts, total = _sums(states)
    assert sum(parts) == total == 309
    outcomes = next(line for line in lines if line.startswith("Each case's latest decision"))
    assert outcomes.endswith("(adds up to the cases seen: 120 + 35 + 119 + 35 = 309):")
    assert "  human 35: done 12, left_to_platform 19, queued_for_human 4" in lines
    assert "520 decisions made (cases are decided again when they change)" in text
    assert "Refusals the platform forbids: 7 case(s)" in text
    assert "isv.refuse-forbidden:no-reason-7d 7 (e.g. taobao/tmall-home/9001)" in text


def test_each_passed_deadline_is_explained_or_none_is_said() -> None:
    lines = demo.summary_lines(_summary())
    assert "Deadlines passed while a case awaited the seller: 1:" in lines
    assert any(
        line.startswith("  jd/jd-pop-store/77: left to the platform by rule receipt-timeout")
        for line in lines
    )
    none = demo.summary_lines(_summary(deadlines_passed=[]))
    assert "Deadlines passed while a case awaited the seller: none." in none


def test_next_steps_name_the_queue_the_console_and_a_real_run_printed_whole() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    demo.print_summary(_summary(), console)
    printed = out.getvalue().splitlines()
    state = _summary()["state_dir"]
    for command in (
        f"refund-connector queue list --state-dir {state}",
        f"refund-connector audit show PLATFORM/SHOP/CASE_ID --state-dir {state}",
        "refund-connector demo --serve",
        "refund-connector dev",
        "refund-connector run --config connector.toml",
    ):
        assert any(line.strip() == command for line in printed), command  # one line, unwrapped
    assert "4 case(s) wait for a person; list them:" in out.getvalue()
    assert printed[0] == ""  # the summary's title never runs into the progress output


def test_the_live_view_keeps_running_totals_apart_from_current_states() -> None:
    table = demo._progress(_summary(), (3, 1, []), 40)
    out = io.StringIO()
    Console(file=out, width=160).print(table)
    text = out.getvalue()
    assert "running totals (only grow)" in text
    assert "now (current states)" in text
    assert "decisions made" in text
    assert "they move as cases progress" in text  # the legend


@pytest.mark.slow
def test_without_a_terminal_a_short_demo_prints_progress_lines_and_adds_up(
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    options = demo.DemoOptions(
        cases=12,
        seed=3,
        deadline_min_s=8,
        deadline_max_s=12,
        guard_escalate_s=6,
        guard_fallback_s=3,
        state_dir=tmp_path / "state",
        max_wall_s=60,
        progress_every_s=2,
    )
    summary = demo.run_demo(options, console=console)
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if line.startswith("demo ") and " s: seen " in line]
    assert len(progress) >= 3, lines
    assert sum(summary["case_states"].values()) == summary["cases"]
    assert sum(sum(r.values()) for r in summary["outcomes"].values()) == summary["cases"]
    assert summary["totals"]["seen"] >= summary["cases"]
    assert summary["auto_acts"] == 0
    for passed in summary["deadlines_passed"]:
        assert passed["kind"] != "missed", passed


def test_demo_serve_answers_health_readiness_metrics_and_the_console(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 12, 2, 0, tzinfo=UTC))
    store = open_store(tmp_path / "state", clock=clock)
    out = Console(record=True, width=200)
    seen: dict[str, int] = {}

    def while_serving() -> None:
        text = out.export_text(clear=False)
        url = re.search(r"console: (http://127\.0\.0\.1:\d+)/", text)
        assert url, text
        assert re.search(r"ops: +http://127\.0\.0\.1:\d+/healthz", text), text
        with httpx.Client(base_url=url.group(1)) as http:
            for path in ("/healthz", "/readyz", "/metrics", "/login"):
                seen[path] = http.get(path).status_code
            assert "refund_connector" in http.get("/metrics").text

    try:
        hook = serve_hook(out, lambda _s, _c: None, None, wait=while_serving)
        hook({}, store, clock, None)
    finally:
        store.close()
    assert seen == {"/healthz": 200, "/readyz": 200, "/metrics": 200, "/login": 200}


def test_the_summary_counts_each_forbidden_refusal_once_per_case(tmp_path: Path) -> None:
    from connector.daemon.planner import FORBIDDEN_REFUSAL_NOTE
    from connector.models import RefundCase

    clock = FakeClock(datetime(2026, 11, 12, 2, 0, tzinfo=UTC))
    store = open_store(tmp_path / "state", clock=clock)
    note = {
        "kind": "note",
        "text_en": f"{FORBIDDEN_REFUSAL_NOTE} (isv.refuse-forbidden:no-reason-7d 七天无理由): x",
        "text_zh": "平台不允许拒绝",
    }
    try:
        for case_id, decisions in (("A", 2), ("B", 1), ("C", 0)):
            case = RefundCase.model_validate(
                {
                    "platform": "taobao",
                    "shop_id": "s1",
                    "case_id": case_id,
                    "order_id": f"O{case_id}",
                    "item": {"sku": "K", "title": "t", "price": 100},
                    "type": "return_and_refund",
                    "reason": "no_reason_7d",
                    "status": "awaiting_seller",
                    "order_status": "delivered",
                    "paid_amount": 100,
                    "refund_amount": 100,
                    "created_at": "2026-11-12T09:00:00+08:00",
                    "updated_at": "2026-11-12T09:00:00+08:00",
                    "buyer": {"id": "b"},
                    "version": "v1",
                }
            )
            store.upsert_case(case)
            for _ in range(decisions):  # decided again by the guard: still one case
                store.record_decision(
                    case.key,
                    decided_version="v1",
                    policy_version="p",
                    rule_id="7-no-reason-too-late",
                    action="human",
                    trace=[note],
                )
        outcomes = demo._outcomes(store, demo._all_cases(store, 10))
    finally:
        store.close()
    assert outcomes["refusals_forbidden"] == {"isv.refuse-forbidden:no-reason-7d": 2}
    assert outcomes["outcomes"]["human"] == {"new": 2}
