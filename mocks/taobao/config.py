"""What a Taobao fake accepts and how it behaves: credentials, shops, timers, quotas, step-up."""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR = 3600.0
DAY = 24 * HOUR

# Platform timers in seconds; defaults are the "newer" column of platform-apis.md §3.1 / §5.2.
DEFAULT_TIMERS: dict[str, float] = {
    "unshipped_refund": 24 * HOUR,  # WAIT_SELLER_AGREE, not shipped -> SUCCESS
    "shipped_refund_only": 36 * HOUR,  # WAIT_SELLER_AGREE, shipped, refund only -> SUCCESS
    "return_request": 5 * DAY,  # WAIT_SELLER_AGREE with return -> WAIT_BUYER_RETURN_GOODS
    "buyer_return": 7 * DAY,  # WAIT_BUYER_RETURN_GOODS -> CLOSED
    "seller_confirm": 10 * DAY,  # WAIT_SELLER_CONFIRM_GOODS -> SUCCESS
    "buyer_after_refusal": 5 * DAY,  # SELLER_REFUSE_BUYER, not escalated -> CLOSED
    "evidence_period": 3 * DAY,  # escalated -> the dispute's outcome (SUCCESS or CLOSED)
}


@dataclass
class ShopConfig:
    """One seller shop: its session token (the OAuth access token) and its flavour."""

    shop_id: str
    session: str
    tmall: bool = False
    seller_nick: str = ""
    sub_account: bool = True  # rp.refunds.agree is for sub-accounts only
    session_valid: bool = True

    def __post_init__(self) -> None:
        if not self.seller_nick:
            self.seller_nick = f"{self.shop_id}旗舰店" if self.tmall else f"{self.shop_id}小铺"


@dataclass
class TaobaoConfig:
    app_key: str = "12345678"
    app_secret: str = "testsecret"  # noqa: S105 - the fake's published test credential
    session: str = "test-session"
    shops: list[ShopConfig] = field(default_factory=list)
    timers: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMERS))
    app_qps: float | None = None  # calls/s per app (None = unlimited)
    method_qps: float | None = None  # calls/s per (app, method)
    method_qps_overrides: dict[str, float] = field(default_factory=dict)
    daily_quota: int | None = None  # calls per GMT+8 day per app (None = off)
    sms_threshold_fen: int | None = 100_000  # rp.refunds.agree above this asks for an SMS code
    timestamp_skew_s: float = 600.0
    denied_methods: frozenset[str] = frozenset()  # methods the app has no permission for (11)
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.shops:
            self.shops = [
                ShopConfig("taobao-shop", self.session, tmall=False),
                ShopConfig("tmall-shop", f"{self.session}-tmall", tmall=True),
            ]
        unknown = set(self.timers) - set(DEFAULT_TIMERS)
        if unknown:
            msg = f"unknown timer names {sorted(unknown)}; known: {sorted(DEFAULT_TIMERS)}"
            raise ValueError(msg)
        self.timers = {**DEFAULT_TIMERS, **self.timers}
