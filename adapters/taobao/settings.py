"""One Taobao/Tmall shop's connection settings; secrets are ``SecretStr`` and never shown."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from connector.adapter import AdapterSettings

DEFAULT_GATEWAY = "https://gw.api.taobao.com"


class TaobaoSettings(AdapterSettings):
    """The TOP application, the seller's session, and what the shop answers with."""

    base_url: str = DEFAULT_GATEWAY
    gateway_path: str = "/router/rest"
    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    session: SecretStr = Field(description="the seller's OAuth session (a sub-account's)")
    sign_method: Literal["md5", "hmac", "hmac-sha256"] = "hmac-sha256"
    tmall: bool = Field(default=False, description="Tmall shop: writes carry phase and version")
    page_size: int = Field(default=100, ge=1, le=100)
    # The seller's return address for taobao.rp.returngoods.agree (a shop's, not a buyer's).
    return_address_id: str | None = Field(default=None, description="seller_address_id")
    return_contact_name: str | None = None
    return_address: str | None = None
    return_post_code: str | None = None
    return_tel: str | None = None
    return_mobile: str | None = None

    @property
    def gateway_url(self) -> str:
        return self.base_url.rstrip("/") + "/" + self.gateway_path.lstrip("/")
