"""Build a Daemon from configuration: one adapter, HTTP client and policy per shop.

The core finds adapters through the registry (entry points), never by importing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from connector.adapter import PlatformAdapter
from connector.errors import ConfigError, PolicyError
from connector.evidence import EvidenceBuilder
from connector.http import make_client
from connector.messages import MessageTemplates
from connector.notify import WebhookNotifier
from connector.observability import Metrics
from connector.policy import Policy, load_default_policy, load_policy
from connector.ratelimit import QuotaGate
from connector.registry import adapter_class
from connector.settings import ConnectorSettings, ShopSettings, validate_shop_settings
from connector.warehouse import WarehouseClient

from .core import Daemon

if TYPE_CHECKING:
    from collections.abc import Callable

    from connector.clock import Clock
    from connector.store import Store

TransportFactory = "Callable[[ShopSettings], httpx.BaseTransport | None]"


@dataclass
class ShopRuntime:
    """Everything the daemon needs for one shop."""

    settings: ShopSettings
    adapter: PlatformAdapter
    http: httpx.Client
    policy: Policy
    templates: MessageTemplates = field(default_factory=MessageTemplates)
    evidence: EvidenceBuilder = field(default_factory=EvidenceBuilder)
    quota_key: str = ""

    @property
    def platform(self) -> str:
        return self.settings.platform

    @property
    def shop_id(self) -> str:
        return self.settings.shop_id

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.shop_id)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def close(self) -> None:
        self.http.close()


def _policy_for(shop: ShopSettings, default: Policy, cache: dict[Path, Policy]) -> Policy:
    if shop.policy is None:
        return default
    if shop.policy not in cache:
        cache[shop.policy] = load_policy(shop.policy)
    return cache[shop.policy]


def _quota_hook(quota: QuotaGate, key: str) -> Callable[[httpx.Request], None]:
    def take_quota(_request: httpx.Request) -> None:
        quota.acquire(key)

    return take_quota


def build_daemon(
    config: ConnectorSettings,
    *,
    store: Store,
    clock: Clock,
    sleep: Callable[[float], None] | None = None,
) -> Daemon:
    """Validate every shop against its adapter's own settings model, then wire the daemon."""
    try:
        default = load_policy(config.policy) if config.policy else load_default_policy()
    except PolicyError as exc:
        raise ConfigError(str(exc), field="policy") from None
    quota = QuotaGate()
    cache: dict[Path, Policy] = {}
    shops: list[ShopRuntime] = []
    for index, shop in enumerate(config.shops):
        cls = adapter_class(shop.platform)
        adapter_settings = validate_shop_settings(shop, index, cls.settings_model)
        daemon = config.daemon
        http = make_client(
            adapter_settings.base_url,
            timeout_s=daemon.http_timeout_s,
            auth=cls.auth_for(adapter_settings),
            # Enough connections for every intake and relay worker: a worker holding a quota
            # slot should not then queue for a connection.
            max_connections=max(daemon.intake_concurrency + daemon.per_shop_concurrency, 4),
        )
        app_key = str(getattr(adapter_settings, "app_key", shop.shop_id))
        quota_key = f"{shop.platform}:{app_key}"
        quota.configure(quota_key, shop.quota.calls_per_second)
        # The quota counts HTTP requests, so it is taken per request (retries included), not
        # per adapter operation: get_case alone makes several platform calls.
        http.event_hooks = {"request": [_quota_hook(quota, quota_key)]}
        try:
            policy = _policy_for(shop, default, cache)
        except PolicyError as exc:
            raise ConfigError(str(exc), field=f"shops[{index}].policy") from None
        shops.append(
            ShopRuntime(
                settings=shop,
                adapter=cls(adapter_settings, http=http, clock=clock),
                http=http,
                policy=policy,
                templates=MessageTemplates(
                    overrides=dict(shop.templates), reason_ids=dict(shop.refusal_reason_ids)
                ),
                quota_key=quota_key,
            )
        )
    warehouse = None
    if config.warehouse is not None:
        warehouse = WarehouseClient(
            config.warehouse.base_url,
            config.warehouse.api_key,
            http=make_client(config.warehouse.base_url, timeout_s=config.daemon.http_timeout_s),
        )
    kwargs = {} if sleep is None else {"sleep": sleep}
    notifier = (
        None
        if config.notifications is None
        else WebhookNotifier.from_settings(config.notifications, clock=clock)
    )
    return Daemon(
        store=store,
        clock=clock,
        settings=config.daemon,
        shops=shops,
        quota=quota,
        warehouse=warehouse,
        notifier=notifier,
        metrics=Metrics(),
        **kwargs,
    )
