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
