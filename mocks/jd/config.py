"""What the JD fake accepts and how it behaves: app credentials, shops, timers, quotas.

Every timer is configurable because no public rule text gives JD's numbers (platform-apis.md
§3.2); the defaults are the fake's own choices, marked [I] in docs/mocks.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MINUTE = 60.0
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# name -> seconds. What each does when it fires is in mocks/jd/state.py (_fire).
DEFAULT_TIMERS: dict[str, float] = {
    "refund_audit": 48 * HOUR,  # refund application status 0 -> auto approve (1)
    "refund_settle": 5 * MINUTE,  # approved (1) -> finance approved, refund success (3)
    "service_audit": 48 * HOUR,  # service order pending audit -> auto approve (= auditOvertime)
    "buyer_return": 7 * DAY,  # approved, the customer has not sent the goods -> cancelled
    "seller_receipt": 10 * DAY,  # goods on the way back, no receipt registered -> auto receive
    "seller_process": 2 * DAY,  # registered, not processed -> auto processed (refund for returns)
    "intervention": 3 * DAY,  # under JD intervention -> the dispute's outcome
}


@dataclass
class JdShop:
    """One seller: its OAuth access token and its merchant id (``buId`` on every asc call)."""

    shop_id: str
    access_token: str
    bu_id: str
    vender_name: str = ""
    token_valid: bool = True

    def __post_init__(self) -> None:
        if not self.vender_name:
            self.vender_name = f"{self.shop_id}京东自营旗舰店"


@dataclass
class JdConfig:
    app_key: str = "jd-app-key"
    app_secret: str = "jd-app-secret"  # noqa: S105 - the fake's published test credential
    access_token: str = "jd-test-token"  # noqa: S105
    shops: list[JdShop] = field(default_factory=list)
    timers: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMERS))
    daily_quota: int | None = None  # calls per GMT+8 day per app (test apps get 500 [S])
    app_qps: float | None = None  # calls/s per app
    method_qps: float | None = None  # calls/s per (app, method)
    timestamp_skew_s: float = 360.0  # ±6 min [C]
    timeout_warning_s: float = 12 * HOUR  # timeoutFlag=1 when a deadline is this close [I]
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.shops:
            self.shops = [JdShop("jd-shop", self.access_token, "10001")]
        unknown = set(self.timers) - set(DEFAULT_TIMERS)
        if unknown:
            msg = f"unknown timer names {sorted(unknown)}; known: {sorted(DEFAULT_TIMERS)}"
            raise ValueError(msg)
        self.timers = {**DEFAULT_TIMERS, **self.timers}
        for name, seconds in self.timers.items():
            if seconds <= 0:
                msg = f"timer {name} must be > 0 seconds, got {seconds}"
                raise ValueError(msg)
