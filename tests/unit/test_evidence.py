"""Refusal evidence is rendered deterministically, stays under the proof limit, and carries the
buyer's own chat record where a rule asks for it; never buyer personal data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from connector.effects import EffectKind
from connector.evidence import PROOF_MAX_BYTES, EvidenceBuilder, record_lines, render_record
from connector.models import RefundCase

CASES = Path(__file__).resolve().parents[1] / "data" / "public.jsonl"


def _case(case_id: str) -> RefundCase:
    for line in CASES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"] == case_id:
            return RefundCase.model_validate(row["case"])
    raise KeyError(case_id)


def test_same_facts_same_picture_and_hash() -> None:
    case = _case("P013")
    first, second = (
        render_record(case, ["delivery_record"]),
        render_record(case, ["delivery_record"]),
    )
    assert first == second
    assert first.startswith(b"\x89PNG")
    assert len(first) <= PROOF_MAX_BYTES
    params = EvidenceBuilder().attach(EffectKind.refuse_refund, {"evidence_kinds": []}, case)
    assert params["proof_image_sha256"] == hashlib.sha256(first).hexdigest()


def test_chat_record_lists_the_buyers_own_messages() -> None:
    data = _case("P013").model_dump(mode="json")
    data["evidence"] = [{"kind": "chat", "url": "chat://msg/1"}]
    case = RefundCase.model_validate(data)
    lines = record_lines(case, ["delivery_record", "chat_record"], chinese=False)
    assert "Buyer's chat record: chat://msg/1" in lines
    assert all(case.buyer.id not in line for line in lines)
