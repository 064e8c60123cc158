"""Reveal a buyer's contact details to one reviewer: fetched live, audited, never kept.

The connector stores no names, phones or addresses. When a reviewer needs to reach a buyer, the
details are read from the platform for that one case and handed back to the caller to show; the
audit log records who looked, when and at which case, and which kinds of detail were shown, never
the details themselves. If the audit entry cannot be written, nothing is revealed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from connector import audit_events
from connector.adapter import Capability
from connector.errors import NotFoundError, UnsupportedEffectError

if TYPE_CHECKING:
    from connector.adapter import PlatformAdapter
    from connector.review import Reviewer
    from connector.store import CaseKey, Store

REVEAL_EVENT = "buyer_contact_revealed"


def reveal_contact(
    store: Store, adapter: PlatformAdapter, key: CaseKey, reviewer: Reviewer
) -> dict[str, str]:
    """The buyer's contact for case ``key``, read now from ``adapter``; the reveal is audited.

    Raises ``NotFoundError`` for a case the connector does not know (reveals are for cases under
    review, not lookups), ``UnsupportedEffectError`` where the platform gives no contact.
    """
    platform, shop_id, case_id = key
    if adapter.platform != platform or adapter.settings.shop_id != shop_id:
        serves = f"{adapter.platform}:{adapter.settings.shop_id}"
        msg = f"the adapter serves {serves}, not {platform}:{shop_id}"
        raise ValueError(msg)
    if store.get_case(key) is None:
        raise NotFoundError(
            "the connector does not know this case", platform=platform, case_id=case_id
        )
    if Capability.buyer_contact not in adapter.capabilities:
        reason = adapter.missing_capabilities.get(Capability.buyer_contact)
        raise UnsupportedEffectError(
            reason or f"{platform} does not give sellers buyer contact details",
            platform=platform,
            operation="reveal_buyer_contact",
            case_id=case_id,
        )
    contact = adapter.reveal_buyer_contact(case_id)
    with store.unit_of_work():
        audit_events.buyer_contact_revealed(
            store,
            key=key,
            actor=reviewer.actor,
            os_user=reviewer.os_user,
            via=reviewer.via,
            shown=sorted(contact),
        )
    return contact
