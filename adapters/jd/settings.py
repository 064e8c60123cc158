"""One JD POP shop's connection settings; secrets are ``SecretStr`` and never shown.

Besides credentials, JD needs the operator every after-sale write is made in the name of
(``buId``, ``operatePin``, ``operateNick``), the shop's return address for approved returns, and
the audit rule for refund applications, which carry no deadline field of their own.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from connector.adapter import AdapterSettings

DEFAULT_GATEWAY = "https://api.jd.com"


class JdSettings(AdapterSettings):
    """The JOS application, the seller's token, the operator and the shop's return address."""

    access_token: SecretStr = Field(description="the seller's OAuth access_token")
    app_secret: SecretStr
    app_key: str = Field(min_length=1)
    base_url: str = DEFAULT_GATEWAY
    gateway_path: str = "/routerjson"

    # Operator fields required on every jingdong.asc.* call (platform-apis.md §2.4).
    bu_id: str = Field(min_length=1, description="the merchant id (buId)")
    operate_pin: str = Field(min_length=1, description="the operator's JD account (operatePin)")
    operate_nick: str = Field(min_length=1, description="the operator's display name")
    check_user_name: str | None = Field(
        default=None, description="checkUserName on refund audits; defaults to operate_nick"
    )

    page_size: int = Field(default=50, ge=1, le=50)

    # Refund applications (jingdong.pop.afs.soa.refundapply.*) have no deadline field: the
    # deadline is derived as applyTime + this SLA (platform-apis.md §3.2, default [I]).
    refund_audit_sla_hours: float = Field(default=48.0, gt=0)
    pending_horizon_days: int = Field(
        default=30,
        ge=1,
        le=90,
        description="unaudited refund applications applied this far back are listed every pass",
    )

    # Refusals: JD wants a reject type on refund applications and a question type on services.
    refuse_reject_type: int = Field(default=5, ge=1, le=6, description="5 = other")
    refuse_question_type_cid1: int | None = Field(
        default=None, description="questionTypeCid1 for jingdong.asc.audit.refuse"
    )

    # The shop's return address for jingdong.asc.audit.send (the shop's, never a buyer's).
    return_contact_name: str | None = None
    return_contact_tel: str | None = None
    return_province: int | None = None
    return_city: int | None = None
    return_county: int | None = None
    return_village: int | None = None
    return_address_detail: str | None = None
    return_address_type: int = Field(default=1, description="returnAddressType")

    @property
    def gateway_url(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.gateway_path.lstrip("/")

    @property
    def auditor(self) -> str:
        return self.check_user_name or self.operate_nick
