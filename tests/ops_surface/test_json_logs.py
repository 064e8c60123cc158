"""``logs.configure(json_lines=True)``: one JSON object per line, secrets and phones masked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from connector import logs

SECRET = "s3cr3t-value-that-must-not-leak"
PHONE = "13912345678"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_are_one_object_per_line_without_secrets(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure(json_lines=True)
    log = logging.getLogger("connector.test")
    log.info("service started", extra={"shops": 2, "ready": True})
    log.warning("call failed: app_secret=%s&session=%s", SECRET, SECRET)
    log.warning("buyer wrote from %s\nsecond line of the message", PHONE)
    log.info("context", extra={"detail": f"sign={SECRET}", "case_id": "R1"})
    try:
        raise RuntimeError(f"password={SECRET}")
    except RuntimeError:
        log.exception("step crashed", extra={"step": "relay"})

    lines = capsys.readouterr().err.splitlines()
    docs = [json.loads(line) for line in lines]

    assert len(docs) == 5
    assert all(isinstance(d, dict) for d in docs)
    assert docs[0]["msg"] == "service started"
    assert (docs[0]["shops"], docs[0]["ready"], docs[0]["level"]) == (2, True, "info")
    assert docs[0]["logger"] == "connector.test"
    assert "app_secret=[redacted]" in docs[1]["msg"]
    assert "[phone]" in docs[2]["msg"]
    assert docs[3]["case_id"] == "R1"
    assert docs[4]["step"] == "relay"
    assert "RuntimeError" in docs[4]["error"]
    text = "\n".join(lines)
    assert SECRET not in text
    assert PHONE not in text
