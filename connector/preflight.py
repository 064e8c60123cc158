"""Every configuration check that can fail, run before the database is touched.

Issue 14: an unknown platform created and migrated ``connector.db`` before it was refused. So
``run`` and ``once`` validate each shop against its adapter's settings model and load every
policy first; ``build_daemon`` repeats this when it wires the daemon, and by then it cannot fail
on configuration. Guarded by tests/ops/test_bad_inputs.py.
"""

from __future__ import annotations

from pathlib import Path

from connector.errors import ConfigError, PolicyError
from connector.policy import load_default_policy, load_policy
from connector.registry import adapter_class
from connector.settings import ConnectorSettings, validate_shop_settings


def check_settings(settings: ConnectorSettings) -> list[str]:
    """Raise ``ConfigError`` naming the field; return warnings (zero shops) to show."""
    try:
        if settings.policy is not None:
            load_policy(settings.policy)
        else:
            load_default_policy()
    except PolicyError as exc:
        raise ConfigError(str(exc), field="policy") from None
    loaded: set[Path] = set()
    for index, shop in enumerate(settings.shops):
        try:
            cls = adapter_class(shop.platform)
        except ConfigError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise ConfigError(reason, field=f"shops[{index}].platform") from None
        validate_shop_settings(shop, index, cls.settings_model)
        if shop.policy is not None and shop.policy not in loaded:
            try:
                load_policy(shop.policy)
            except PolicyError as exc:
                raise ConfigError(str(exc), field=f"shops[{index}].policy") from None
            loaded.add(shop.policy)
    warnings = []
    if not settings.shops:
        warnings.append("no shops are configured: the connector will poll nothing")
    elif not any(shop.enabled for shop in settings.shops):
        warnings.append("every shop is disabled: the connector will poll nothing")
    return warnings
