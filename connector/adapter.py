"""The contract every platform adapter implements, and the values that cross it.

An adapter only speaks its platform's protocol: signing, endpoints, one page at a time, mapping
wire <-> canonical, translating errors into ``connector.errors``. It receives its HTTP client and
clock, never retries and never sleeps; the core does both. One adapter instance serves one shop.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from connector.effects import EffectKind, EffectRequest, SubmitResult
from connector.errors import UnsupportedEffectError
from connector.facts import ALL_FACTS, Fact
from connector.models import QuarantinedCase, RefundCase

if TYPE_CHECKING:
    import httpx

    from connector.clock import Clock


class Capability(StrEnum):
    """What an adapter can do; a missing one is declared with a reason, never skipped silently."""

    list_cases = "list_cases"
    get_case = "get_case"
    agree_refund = "agree_refund"
    agree_return = "agree_return"
    confirm_return_and_refund = "confirm_return_and_refund"
    refuse_refund = "refuse_refund"
    refuse_with_proof_image = "refuse_with_proof_image"
    message_buyer = "message_buyer"
    write_order_memo = "write_order_memo"
    logistics_trace = "logistics_trace"
    buyer_contact = "buyer_contact"


EFFECT_CAPABILITY: dict[EffectKind, Capability] = {
    EffectKind.agree_refund: Capability.agree_refund,
    EffectKind.agree_return: Capability.agree_return,
    EffectKind.confirm_return_and_refund: Capability.confirm_return_and_refund,
    EffectKind.refuse_refund: Capability.refuse_refund,
    EffectKind.message_buyer: Capability.message_buyer,
    EffectKind.write_order_memo: Capability.write_order_memo,
}


class AdapterSettings(BaseModel):
    """Base of each adapter's settings (one shop's connection); secrets are ``SecretStr``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    shop_id: str
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=64 * 1024)
    """The largest platform answer read; a larger one is refused as unreadable (its page is then
    read again in smaller pages, so only the item that makes it large is quarantined)."""


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """Cases modified in [start, end), aware UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class CasePage:
    """One page: valid cases, quarantined items (never dropped), and the token for the next page."""

    cases: list[RefundCase]
    quarantined: list[QuarantinedCase] = field(default_factory=list)
    next_page: str | None = None
    raw: list[dict[str, Any]] = field(default_factory=list)
    """Original wire items, index-aligned with ``cases``, for the audit log."""


@dataclass(frozen=True, slots=True)
class ForbiddenRefusal:
    """A refusal the platform's rules forbid for a case: the platform would answer ``code``.

    Declared by the adapter (``PlatformAdapter.refusal_forbidden``) so the core hands the case to
    a person with the platform's reason instead of spending a call that must fail.
    """

    code: str
    """The platform's own error code for it (e.g. ``isv.refuse-forbidden:no-reason-7d``)."""
    platform_words: str
    """What the platform itself says when refused (its own language), shown to the reviewer."""
    reason_en: str
    reason_zh: str


_PLATFORM_KEY = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


class PlatformAdapter(abc.ABC):
    """One shop on one platform. Subclasses set the class attributes and implement the methods."""

    platform: ClassVar[str]
    settings_model: ClassVar[type[AdapterSettings]]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    missing_capabilities: ClassVar[dict[Capability, str]] = {}
    """Capabilities the platform lacks, each with its reason (`refund-connector adapters`)."""
    costly_facts: ClassVar[frozenset[Fact]] = frozenset()
    """Facts that cost this platform extra calls; ``get_case`` fetches them only when asked
    (the others come with the case record). Checked by the conformance kit."""
    image_hosts: ClassVar[frozenset[str]] = frozenset()
    """Hosts the platform serves buyers' evidence images from (a leading dot: any subdomain);
    the console fetches evidence server-side from these hosts only."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "__abstractmethods__", None):
            return
        if not _PLATFORM_KEY.match(getattr(cls, "platform", "")):
            msg = f"{cls.__name__}.platform must be a lowercase key"
            raise TypeError(msg)
        for cap, reason in cls.missing_capabilities.items():
            if not reason.strip():
                msg = f"{cls.__name__}: missing capability {cap} needs a reason"
                raise TypeError(msg)

    def __init__(self, settings: AdapterSettings, *, http: httpx.Client, clock: Clock) -> None:
        self.settings = settings
        self.http = http
        self.clock = clock

    @classmethod
    def auth_for(cls, settings: AdapterSettings) -> httpx.Auth | None:
        """Signing as an ``httpx.Auth``; no I/O."""
        return None

    @abc.abstractmethod
    def check(self) -> None:
        """One cheap authenticated call; raises ReauthRequiredError / RetryableError."""

    @abc.abstractmethod
    def list_cases(
        self, window: SyncWindow, page: str | None = None, *, page_size: int | None = None
    ) -> CasePage:
        """One page of cases modified in the window; the core drives the loop.

        ``page_size`` is a hint: read at most that many listing positions from where ``page``
        stands (the adapter's own page size when None), and let the returned ``next_page``
        carry on at the adapter's own size again. When the platform's answer for a page cannot
        be read at all, raise ``UnreadablePageError`` naming how many positions the read asked
        for and the token past them; the core then reads the same listing in smaller pages,
        down to one item, so one poisoned item is quarantined and the rest of the page is
        taken (docs/adding-a-platform.md, "Poisoned pages"; checked by the conformance kit).
        An adapter that cannot size its pages ignores the hint and raises only
        ``MalformedPayloadError``; its whole page then fails, as it would without the hint.
        """

    @abc.abstractmethod
    def get_case(self, case_id: str, facts: frozenset[Fact] = ALL_FACTS) -> RefundCase:
        """The current case (deadline, version, ...) with the ``facts`` asked for.

        A fact outside ``facts`` that costs a platform call is not fetched: its fields stay
        empty (``None`` / ``()``). One the platform sends with the case record anyway may be
        filled. Asking for a fact never changes the other fields. NotFoundError if unknown.
        The daemon asks only for what the shop's policy or the review desk can read
        (``connector.policy.reads``); conformance rule ``get-fetches-only-asked-facts``.
        """

    @abc.abstractmethod
    def submit(self, effect: EffectRequest) -> SubmitResult:
        """Perform one write with the decided version. ConflictError when the version is stale."""

    def reveal_buyer_contact(self, case_id: str) -> dict[str, str]:
        """The buyer's contact (name, phone, address as the platform gives them), read live.

        Optional (``Capability.buyer_contact``). The caller shows it to one person and never
        stores or logs it; adapters return it and keep nothing either.
        """
        reason = self.missing_capabilities.get(Capability.buyer_contact)
        raise UnsupportedEffectError(
            reason or f"{self.platform} does not give sellers buyer contact details",
            platform=self.platform,
            operation="reveal_buyer_contact",
            case_id=case_id,
        )

    def refusal_forbidden(self, case: RefundCase) -> ForbiddenRefusal | None:
        """A refusal of ``case`` this platform is known to forbid, or None (the default).

        Pure and offline: it reads only the case. Guarded by
        tests/unit/test_forbidden_refusals.py.
        """
        return None

    def require(self, effect: EffectRequest) -> None:
        """Refuse an effect the adapter cannot perform, before any network call."""
        cap = EFFECT_CAPABILITY.get(effect.kind)
        if cap is None or cap not in self.capabilities:
            reason = self.missing_capabilities.get(cap) if cap else None
            raise UnsupportedEffectError(
                reason or f"{self.platform} cannot perform {effect.kind}",
                platform=self.platform,
                operation=str(effect.kind),
                case_id=effect.case_id,
            )
