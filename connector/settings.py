"""Daemon configuration: one TOML file, environment overrides, refused with the field named.

Environment variables ``REFUND_CONNECTOR_<SECTION>__<FIELD>`` override the file (pydantic-settings,
``__`` nests). Secrets are best kept out of the file: any string value written ``env:NAME`` is
read from the environment variable NAME at load time.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connector.errors import ConfigError

ENV_PREFIX = "REFUND_CONNECTOR_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DaemonSettings(_Section):
    """How often and how hard the daemon works."""

    poll_interval_s: float = Field(default=5.0, gt=0, description="incremental poll per shop")
    lookback_s: float = Field(default=120.0, ge=0, description="overlap of each poll window")
    reconcile_interval_s: float = Field(default=900.0, gt=0, description="full re-listing")
    sweep_interval_s: float = Field(default=15.0, gt=0, le=30, description="deadline sweeper")
    relay_interval_s: float = Field(default=1.0, gt=0, description="outbox relay tick")
    intake_concurrency: int = Field(
        default=16, ge=1, le=64, description="case fetches at once in total (quota still applies)"
    )
    relay_concurrency: int = Field(default=16, ge=1, le=64, description="sends at once in total")
    per_shop_concurrency: int = Field(default=8, ge=1, le=16, description="sends at once per shop")
    http_timeout_s: float = Field(default=10.0, gt=0, description="per platform call")
    retry_attempts: int = Field(default=3, ge=1, le=10, description="in-call attempts")
    retry_max_wait_s: float = Field(default=8.0, gt=0, description="longest in-call backoff")
    retry_schedule_s: tuple[float, ...] = Field(
        default=(5, 15, 60, 300, 900),
        min_length=1,
        description="durable backoff after in-call retries fail",
    )
    max_attempts: int = Field(default=12, ge=1, description="then the effect goes to a person")
    json_logs: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("retry_schedule_s")
    @classmethod
    def _positive_waits(cls, waits: tuple[float, ...]) -> tuple[float, ...]:
        """Issue 14: ``[-5, -1]`` was accepted and 12 retries went out in 10 s."""
        bad = [w for w in waits if not w > 0]
        if bad:
            msg = f"every wait must be more than 0 seconds (got {', '.join(map(str, bad))})"
            raise ValueError(msg)
        return waits


class QuotaSettings(_Section):
    """The platform quota the connector keeps to, per application key."""

    calls_per_second: float = Field(default=20.0, gt=0)


class WarehouseSettings(_Section):
    base_url: str
    api_key: str = Field(min_length=1)


class ShopSettings(_Section):
    """One shop: which platform, its adapter settings (validated by the adapter), its policy."""

    shop_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    platform: str = Field(min_length=1)
    policy: Path | None = None
    enabled: bool = True
    quota: QuotaSettings = QuotaSettings()
    settings: dict[str, Any] = Field(default_factory=dict)
    templates: dict[str, str] = Field(
        default_factory=dict,
        description="this shop's own buyer-facing texts by template name (connector/messages.py)",
    )
    refusal_reason_ids: dict[str, str] = Field(
        default_factory=dict,
        description="template name -> the platform's refusal reason id, where it has them",
    )

    @field_validator("templates")
    @classmethod
    def _known_templates(cls, templates: dict[str, str]) -> dict[str, str]:
        from connector.messages import DEFAULT_TEMPLATES

        unknown = sorted(set(templates) - set(DEFAULT_TEMPLATES))
        if unknown:
            msg = f"unknown template names {unknown}; known: {sorted(DEFAULT_TEMPLATES)}"
            raise ValueError(msg)
        return templates


class ConsoleSettings(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8780, ge=1, le=65535)

    # The reviewer's desk behind a TLS proxy, and who may approve how much (issue 19).
    cookie_secure: bool = Field(
        default=False, description="set the cookies' Secure flag (behind the TLS proxy)"
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=("127.0.0.1", "localhost", "::1", "[::1]"),
        min_length=1,
        description="Host header values the console answers to (others get 400)",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="proxy addresses whose X-Forwarded-For/-Proto are believed"
    )
    approval_limits_yuan: dict[Literal["reviewer", "ops", "admin"], Decimal] = Field(
        default_factory=dict,
        description="largest refund (yuan) a role approves alone; above it a second person "
        "approves. A role not named has no limit",
    )


class OpsSettings(_Section):
    """Loopback port for /healthz, /readyz and /metrics while ``run`` serves (off by default)."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", pattern=r"^(127\.\d+\.\d+\.\d+|localhost|::1)$")
    port: int = Field(default=8781, ge=1, le=65535)
    stuck_after_s: float = Field(
        default=600.0, gt=0, description="an effect in flight or overdue this long is stuck"
    )


NoticeEventName = Literal[
    "escalated", "deadline_fallback", "deadline_at_risk", "cap_crossed", "breaker_tripped"
]


class NotificationSettings(_Section):
    """The connector's own events POSTed, signed, to one webhook (``secret`` may be env:NAME)."""

    webhook_url: str = Field(pattern=r"^https?://")
    secret: SecretStr = Field(min_length=16)
    events: tuple[NoticeEventName, ...] = (
        "escalated", "deadline_fallback", "deadline_at_risk", "cap_crossed", "breaker_tripped"
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60)


class ConnectorSettings(BaseSettings):
    """The whole configuration file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    state_dir: Path | None = None
    policy: Path | None = Field(default=None, description="default policy file for every shop")
    daemon: DaemonSettings = DaemonSettings()
    warehouse: WarehouseSettings | None = None
    console: ConsoleSettings = ConsoleSettings()
    ops: OpsSettings = OpsSettings()
    notifications: NotificationSettings | None = None
    shops: list[ShopSettings] = Field(default_factory=list)

    @field_validator("shops")
    @classmethod
    def _unique_shops(cls, shops: list[ShopSettings]) -> list[ShopSettings]:
        seen: set[tuple[str, str]] = set()
        for shop in shops:
            key = (shop.platform, shop.shop_id)
            if key in seen:
                msg = f"shop {shop.shop_id!r} on {shop.platform!r} is listed twice"
                raise ValueError(msg)
            seen.add(key)
        return shops

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the file, which arrives as init kwargs.
        return (env_settings, init_settings)


def _expand_env(value: Any, path: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            msg = f"environment variable {name} is not set"
            raise ConfigError(msg, field=path)
        return os.environ[name]
    return value


SECRET_WORDS = ("secret", "token", "session", "password", "api_key", "app_key")
"""Field names that hold credentials: an empty one is a mistake (``TOP_APP_SECRET=``)."""


def _refuse_empty_secrets(value: Any, path: str) -> None:
    """An empty credential was accepted and every call then failed at the platform (issue 14)."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            lowered = str(key).lower()
            if (
                isinstance(item, str)
                and not item.strip()
                and any(word in lowered for word in SECRET_WORDS)
            ):
                msg = "is empty (an unset or blank secret; env:NAME reads it from NAME)"
                raise ConfigError(msg, field=where)
            _refuse_empty_secrets(item, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_empty_secrets(item, f"{path}[{index}]")


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_settings(path: Path | str) -> ConnectorSettings:
    """Read and validate a config file; any problem raises ConfigError naming the field."""
    source = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except UnicodeDecodeError as exc:
        msg = f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        raise ConfigError(msg, source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror or exc}", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from None
    raw = _expand_env(raw, "")
    _refuse_empty_secrets(raw, "")
    try:
        settings = ConnectorSettings(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = _field_path(tuple(first["loc"]))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(first["msg"] + more, field=field, source=source) from None
    base = Path(path).resolve().parent
    update: dict[str, Any] = {"shops": [_resolve(s, base) for s in settings.shops]}
    if settings.policy is not None and not settings.policy.is_absolute():
        update["policy"] = base / settings.policy  # relative to the file, like a shop's policy
    return settings.model_copy(update=update)


def _resolve(shop: ShopSettings, base: Path) -> ShopSettings:
    if shop.policy is not None and not shop.policy.is_absolute():
        return shop.model_copy(update={"policy": base / shop.policy})
    return shop


def validate_shop_settings(shop: ShopSettings, index: int, settings_model: type[BaseModel]) -> Any:
    """Validate one shop's adapter section with that adapter's own model."""
    data = {"shop_id": shop.shop_id, **shop.settings}
    try:
        validated = settings_model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = f"shops[{index}].settings." + _field_path(tuple(first["loc"]))
        raise ConfigError(first["msg"], field=field) from None
    _check_server_only(validated, index)
    return validated


def _check_server_only(validated: Any, index: int) -> None:
    """``base_url`` names the server; an adapter with a ``gateway_path`` adds its own path.

    With the path written twice the platform answers ``HTTP 404``, which says nothing about why
    (found by a newcomer pointing the connector at the fakes). Guarded by
    tests/unit/test_local_setup.py::test_a_base_url_with_the_gateway_path_is_refused_with_a_hint.
    """
    gateway = getattr(validated, "gateway_path", None)
    base_url = getattr(validated, "base_url", None)
    if not isinstance(gateway, str) or not isinstance(base_url, str):
        return
    path = urlsplit(base_url).path
    if path not in ("", "/"):
        msg = (
            f"base_url {base_url!r} has a path ({path}); give the server only, e.g. "
            f"{base_url[: len(base_url) - len(path)]!r}: the adapter adds {gateway} itself"
        )
        raise ConfigError(msg, field=f"shops[{index}].settings.base_url")


LogFormat = Literal["text", "json"]
