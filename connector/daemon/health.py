"""Per-shop health: log a failure once when it starts and once when it recovers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connector.errors import AdapterError, ReauthRequiredError

logger = logging.getLogger("connector.health")


@dataclass
class ShopHealth:
    platform: str
    shop_id: str
    state: str = "ok"  # ok | degraded | auth_failed
    failures: int = 0
    last_error: str = ""

    def failed(self, exc: AdapterError) -> None:
        new_state = "auth_failed" if isinstance(exc, ReauthRequiredError) else "degraded"
        self.failures += 1
        self.last_error = type(exc).__name__
        if self.state != new_state:
            logger.warning(
                "shop unavailable",
                extra={
                    "platform": self.platform,
                    "shop_id": self.shop_id,
                    "state": new_state,
                    "error": type(exc).__name__,
                    "platform_code": exc.platform_code,
                },
            )
            self.state = new_state

    def ok(self) -> None:
        if self.state != "ok":
            logger.warning(
                "shop recovered",
                extra={
                    "platform": self.platform,
                    "shop_id": self.shop_id,
                    "after_failures": self.failures,
                },
            )
            self.state = "ok"
            self.failures = 0
