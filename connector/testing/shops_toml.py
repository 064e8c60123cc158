"""The ``[[shops]]`` tables of a connector.toml for the Taobao fake's shops (real-process tests)."""

from __future__ import annotations

from typing import Protocol


class _Shop(Protocol):
    shop_id: str
    session: str
    tmall: bool


class _Config(Protocol):
    app_key: str
    app_secret: str

    @property
    def shops(self) -> list[_Shop]: ...


def taobao_shops_toml(
    config: _Config,
    base_url: str,
    *,
    app_secret: str | None = None,
    calls_per_second: float = 200,
    page_size: int | None = None,
) -> str:
    """One table per shop of the fake; ``app_secret`` may be an ``env:NAME`` reference."""
    secret = app_secret if app_secret is not None else config.app_secret
    paging = "" if page_size is None else f"page_size = {page_size}\n"
    return "".join(
        f"""
[[shops]]
shop_id = "{shop.shop_id}"
platform = "taobao"
quota = {{ calls_per_second = {calls_per_second} }}
[shops.settings]
base_url = "{base_url}"
app_key = "{config.app_key}"
app_secret = "{secret}"
session = "{shop.session}"
tmall = {"true" if shop.tmall else "false"}
{paging}return_address_id = "{shop.shop_id}-return-1"
"""
        for shop in config.shops
    )
