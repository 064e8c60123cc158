"""The audit event catalogue (issue 17, point 8): one model per event, one writer per event, the
docs table generated from the models, every event the code writes catalogued."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from connector import audit_events
from connector.audit import AuditEvent
from connector.clock import FakeClock
from connector.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def test_the_docs_table_is_generated_from_the_models() -> None:
    operating = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- audit-events:begin -->\n(.*?)<!-- audit-events:end -->", operating, re.S
    )
    assert block is not None
    assert block.group(1) == audit_events.catalogue_markdown()


def test_every_event_has_a_model_a_writer_and_words() -> None:
    assert {str(e) for e in AuditEvent} <= set(audit_events.CATALOGUE)
    for name, model in audit_events.CATALOGUE.items():
        assert callable(getattr(audit_events, name)), name
        assert model.when.strip(), name


def test_every_event_name_written_in_the_code_is_catalogued() -> None:
    written: set[str] = set()
    pattern = re.compile(r"""append_audit\(\s*\n?\s*["']([a-z_]+)["']""")
    audit_call = re.compile(r"""\.audit\(\s*\n?\s*["']([a-z_]+)["']""")
    for path in (ROOT / "connector").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        written |= set(pattern.findall(text)) | set(audit_call.findall(text))
        written |= set(re.findall(r"""_EVENT = ["']([a-z_]+)["']""", text))
    assert written, "the scan found no audit writes"
    assert written <= set(audit_events.CATALOGUE), written - set(audit_events.CATALOGUE)


def test_a_writer_validates_its_details_and_chains_the_entry(tmp_path: Path) -> None:
    store = SqliteStore.open(tmp_path / "state", clock=FakeClock(START))
    try:
        with store.unit_of_work():
            entry = audit_events.escalated(
                store, key=("taobao", "s1", "R1"), rule_id="r9", deadline_at=START
            )
            with pytest.raises(ValidationError, match="rul_id"):
                audit_events.escalated(store, key=("taobao", "s1", "R1"), rul_id="typo")
        assert entry.event == "escalated"
        assert entry.actor == "policy"
        assert entry.details == {"rule_id": "r9", "deadline_at": START.isoformat()}
    finally:
        store.close()


def test_every_event_a_store_method_writes_under_a_chosen_name_is_catalogued() -> None:
    """Events named by the caller (approvals by status, account changes, policy installs,
    pauses) escape the scan above: each name the code passes has a catalogued writer."""
    from connector import pause
    from connector.policy import history, shadow
    from connector.store import sqlite
    from connector.store.api import ApprovalStatus

    closing = {s for s in ApprovalStatus if s is not ApprovalStatus.pending}
    assert set(sqlite._APPROVAL_WRITERS) == closing
    account_events = set(
        re.findall(r'"(console_[a-z_]+)"', (ROOT / "connector/console/accounts.py").read_text())
    )
    assert account_events
    assert account_events <= set(sqlite._ACCOUNT_WRITERS)
    installs = {history.POLICY_INSTALLED, history.POLICY_PROMOTED}
    installs |= {shadow.SHADOW_STARTED, shadow.SHADOW_STOPPED}
    assert installs == set(sqlite._INSTALL_WRITERS)
    assert {pause.PAUSED, pause.BREAKER_TRIPPED} == set(sqlite._PAUSE_WRITERS)
    assert pause.RESUMED in audit_events.CATALOGUE
    for status, writer in sqlite._APPROVAL_WRITERS.items():
        assert writer is getattr(audit_events, f"approval_{status}")
    for writers in (sqlite._ACCOUNT_WRITERS, sqlite._INSTALL_WRITERS, sqlite._PAUSE_WRITERS):
        for name, writer in writers.items():
            assert name in audit_events.CATALOGUE
            assert writer is getattr(audit_events, name)


def test_a_pause_is_audited_with_its_scope_in_the_details_and_an_unknown_name_is_refused(
    tmp_path: Path,
) -> None:
    from connector import pause
    from connector.errors import StoreError

    store = SqliteStore.open(tmp_path / "state", clock=FakeClock(START))
    try:
        record = pause.pause(store, shop_id="s1", actor="human:li", why="fraud wave")
        pause.resume(store, shop_id="s1", actor="human:li")
        entries = {e.event: e for e in store.audit_entries()}
        assert entries["paused"].shop_id == "s1"
        assert entries["paused"].details == {
            "pause_id": record.id, "shop_id": "s1", "reason_code": None,
            "hold_fallbacks": False, "why": "fraud wave",
        }
        assert entries["resumed"].details == {
            "pause_ids": [record.id], "shop_id": "s1", "reason_code": None, "why": None,
        }
        with pytest.raises(StoreError, match="'paused_by_typo' cannot be written here"):
            store.add_pause(shop_id="s1", reason_code=None, hold_fallbacks=False, why="x",
                            actor="human:li", event="paused_by_typo")
    finally:
        store.close()
