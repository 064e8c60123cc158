"""Find platform adapters through the ``refund_connector.adapters`` entry-point group.

Built-in adapters register the same way as third-party packages, so the core never imports a
concrete adapter: it asks the registry for the class behind a platform key.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

from connector.adapter import PlatformAdapter
from connector.errors import ConfigError

ENTRY_POINT_GROUP = "refund_connector.adapters"


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    platform: str
    target: str
    adapter: type[PlatformAdapter] | None
    error: str | None = None


def discover() -> dict[str, AdapterInfo]:
    """Every installed adapter by platform key; one that fails to import is listed with why."""
    found: dict[str, AdapterInfo] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the others
            found[ep.name] = AdapterInfo(ep.name, ep.value, None, f"{type(exc).__name__}: {exc}")
            continue
        if not (isinstance(cls, type) and issubclass(cls, PlatformAdapter)):
            found[ep.name] = AdapterInfo(ep.name, ep.value, None, "not a PlatformAdapter subclass")
            continue
        if cls.platform != ep.name:
            error = f"entry point {ep.name!r} loads an adapter for {cls.platform!r}"
            found[ep.name] = AdapterInfo(ep.name, ep.value, None, error)
            continue
        found[ep.name] = AdapterInfo(ep.name, ep.value, cls)
    return found


def adapter_class(platform: str) -> type[PlatformAdapter]:
    info = discover().get(platform)
    if info is None:
        known = ", ".join(sorted(discover())) or "none"
        msg = f"no adapter installed for platform {platform!r} (installed: {known})"
        raise ConfigError(msg, field="platform")
    if info.adapter is None:
        msg = f"the adapter for {platform!r} cannot be loaded: {info.error}"
        raise ConfigError(msg, field="platform")
    return info.adapter
