"""The planner plans only what the shop's adapter can do (JD: no memo, no proof image)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from connector.adapter import Capability
from connector.audit import canonical_json
from connector.daemon.planner import EVERY_CAPABILITY, plan
from connector.effects import EffectKind
from connector.evidence import EvidenceBuilder
from connector.messages import MessageTemplates
from connector.models import RefundCase
from connector.policy import Action, Decision, DecisionParameters, load_default_policy

NOW = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)
TEXT_ONLY = EVERY_CAPABILITY - {
    Capability.write_order_memo,
    Capability.message_buyer,
    Capability.refuse_with_proof_image,
}


def _case(**fields: Any) -> RefundCase:
    base: dict[str, Any] = {
        "platform": "jd",
        "shop_id": "jd-shop",
        "case_id": "1900000001",
        "order_id": "290000000001",
        "item": {"sku": "SH-1", "title": "loafer", "quantity": 1, "price": 29900},
        "type": "refund_only",
        "reason": "damaged",
        "status": "awaiting_seller",
        "order_status": "delivered",
        "paid_amount": 29900,
        "refund_amount": 29900,
        "created_at": "2026-11-11T09:00:00+08:00",
        "updated_at": "2026-11-11T09:00:00+08:00",
        "deadline_at": "2026-11-14T09:00:00+08:00",
        "delivered_at": "2026-11-09T15:00:00+08:00",
        "buyer": {"id": "b-1"},
    }
    return RefundCase.model_validate({**base, **fields})


def _decision(action: Action, **params: Any) -> Decision:
    return Decision(
        action=action,
        parameters=DecisionParameters(**params),
        rule_id="test",
        policy_version="v",
        decided_at=NOW,
    )


def _kinds(capabilities: frozenset[Capability], decision: Decision) -> list[EffectKind]:
    steps = plan(_case(), decision, load_default_policy(), NOW, MessageTemplates(), capabilities)
    return [spec.kind for spec in steps.effects]


def test_a_refund_goes_without_the_memo_the_adapter_cannot_write() -> None:
    approve = _decision(Action.approve_refund, refund_amount=29900)
    assert _kinds(EVERY_CAPABILITY, approve) == [
        EffectKind.agree_refund,
        EffectKind.write_order_memo,
    ]
    steps = plan(_case(), approve, load_default_policy(), NOW, MessageTemplates(), TEXT_ONLY)
    assert [spec.kind for spec in steps.effects] == [EffectKind.agree_refund]
    assert steps.not_planned == (EffectKind.write_order_memo,)


def test_an_answer_the_adapter_lacks_is_still_planned_so_it_fails_loudly() -> None:
    # Only courtesies are dropped; the daemon sends such actions to a person before planning.
    lacking = EVERY_CAPABILITY - {Capability.agree_refund}
    approve = _decision(Action.approve_refund, refund_amount=29900)
    assert EffectKind.agree_refund in _kinds(lacking, approve)


def test_a_text_only_refusal_claims_no_upload() -> None:
    reject = _decision(Action.reject, evidence_kinds=("delivery_record",))
    with_image = plan(_case(), reject, load_default_policy(), NOW, MessageTemplates())
    text_only = plan(
        _case(), reject, load_default_policy(), NOW, MessageTemplates(), TEXT_ONLY
    )
    assert "上传" in with_image.effects[0].params["message"]
    assert "上传" not in text_only.effects[0].params["message"]
    assert text_only.effects[0].params["evidence_kinds"] == ["delivery_record"]


def test_no_proof_image_is_built_where_the_platform_takes_none() -> None:
    params = {"message": "m", "evidence_kinds": ["delivery_record"]}
    built = EvidenceBuilder().attach(EffectKind.refuse_refund, params, _case())
    skipped = EvidenceBuilder().attach(
        EffectKind.refuse_refund, params, _case(), no_proof_image="text only on JD"
    )
    assert len(built["proof_image_sha256"]) == 64
    assert skipped == {**params, "proof_image_not_sent": "text only on JD"}


def test_exact_wire_money_is_kept_exact_in_stored_json() -> None:
    assert canonical_json({"actualPayPrice": Decimal("88.10")}) == '{"actualPayPrice":"88.10"}'
