"""Effects: every external write the connector makes, as data that lives in the outbox.

A decision produces effects; each is sent by the relay with the platform version it was decided
on, under a stable key derived from the case, that version and the kind, never from the policy
version, so editing the policy never produces a second write for the same decision point.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EffectKind(StrEnum):
    """One kind of external write. Order in a decision matters: a void precedes its approval."""

    void_warehouse_order = "void_warehouse_order"
    agree_refund = "agree_refund"
    agree_return = "agree_return"
    confirm_return_and_refund = "confirm_return_and_refund"
    refuse_refund = "refuse_refund"
    message_buyer = "message_buyer"
    open_carrier_claim = "open_carrier_claim"
    write_order_memo = "write_order_memo"
    notify_webhook = "notify_webhook"
    """The connector's own notice (escalation, deadline at risk) POSTed to the ops webhook."""


PLATFORM_EFFECTS = frozenset(
    {
        EffectKind.agree_refund,
        EffectKind.agree_return,
        EffectKind.confirm_return_and_refund,
        EffectKind.refuse_refund,
        EffectKind.message_buyer,
        EffectKind.write_order_memo,
    }
)
"""Effects an adapter performs; the others go to the warehouse or stay local."""

MONEY_EFFECTS = frozenset({EffectKind.agree_refund, EffectKind.confirm_return_and_refund})

NOTICE_EFFECTS = frozenset({EffectKind.notify_webhook})
"""Notices about a case, not writes to it: they neither wait for nor hold up the case's own
effects, are not superseded when the case is decided again, and never send the case to a person
when they fail."""


class EffectStatus(StrEnum):
    """Outbox row lifecycle. ``unknown`` means sent with no answer: re-read before any resend."""

    pending = "pending"
    in_flight = "in_flight"
    unknown = "unknown"
    done = "done"
    failed = "failed"
    superseded = "superseded"
    cancelled = "cancelled"


OPEN_EFFECT_STATUSES = frozenset(
    {EffectStatus.pending, EffectStatus.in_flight, EffectStatus.unknown}
)


def effect_key(
    platform: str,
    shop_id: str,
    case_id: str,
    decided_version: str | None,
    kind: EffectKind | str,
    discriminator: str = "",
) -> str:
    """Stable identity of one write at one decision point (the same across retries and restarts).

    ``discriminator`` tells apart effects of one kind that may occur more than once at the same
    version (one notice per event); empty for every platform write, so their keys never change.
    """
    parts = [platform, shop_id, case_id, decided_version or "-", str(EffectKind(kind))]
    if discriminator:
        parts.append(discriminator)
    material = "\x1f".join(parts)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]


class EffectRequest(BaseModel):
    """What an adapter receives to perform one write: the case, the version, the parameters.

    ``params`` per kind (amounts in fen):
      agree_refund / confirm_return_and_refund: ``amount``; optional ``verify_code`` (SMS step-up)
      agree_return: ``return_shipping_paid_by`` (buyer|seller), optional ``address_id``, ``remark``
      refuse_refund: ``message``, optional ``reason_id``, ``proof_image`` (bytes, base64 in JSON)
      message_buyer: ``content``, optional ``image``
      write_order_memo: ``memo``
    """

    model_config = ConfigDict(frozen=True)

    key: str
    kind: EffectKind
    platform: str
    shop_id: str
    case_id: str
    order_id: str
    version: str | None = Field(description="the platform version the decision was made on")
    platform_fields: dict[str, str] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)


class SubmitOutcome(StrEnum):
    applied = "applied"
    already_done = "already_done"
    """The platform says the case is already in the target state: treat as done, write nothing."""


class SubmitResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: SubmitOutcome
    new_version: str | None = None
    platform_code: str | None = None
    detail: str = ""
