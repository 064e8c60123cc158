"""JOS request signing as an ``httpx.Auth`` (platform-apis.md §2.1).

Business parameters travel as one JSON string, ``360buy_param_json``, with sorted keys; the sign
is ``UPPER(MD5(secret + k1v1k2v2... + secret))`` over every parameter except ``sign`` (the
system parameters and ``360buy_param_json``), the scheme ``adapters._rpc.signing`` implements.
There is no ``sign_method`` parameter on JOS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from adapters._rpc.signing import SignedParamsAuth, concat_sorted, sign_concat
from adapters._rpc.values import format_local_time
from adapters.jd.settings import JdSettings
from connector.clock import Clock, SystemClock

PARAM_JSON = "360buy_param_json"
API_VERSION = "2.0"


def param_json(business: Mapping[str, Any]) -> str:
    """The business parameters as JOS wants them: compact JSON, keys sorted, None left out."""
    kept = {k: v for k, v in business.items() if v is not None}
    return json.dumps(
        kept, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_value
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return format_local_time(value)
    if isinstance(value, date):
        return value.isoformat()
    msg = f"cannot send {type(value).__name__} to JOS"
    raise TypeError(msg)


def jos_sign(params: Mapping[str, str], secret: str) -> str:
    """The JOS signature of ``params`` (``sign`` itself excluded)."""
    return sign_concat(concat_sorted(params, exclude=frozenset({"sign"})), secret, "md5")


class JosAuth(SignedParamsAuth):
    """Adds app_key, access_token, timestamp (GMT+8), v=2.0 and the MD5 signature."""

    def __init__(
        self, *, app_key: str, app_secret: str, access_token: str, clock: Clock | None = None
    ) -> None:
        self._identity = {"app_key": app_key, "access_token": access_token, "v": API_VERSION}
        self._secret = app_secret
        self._clock = clock or SystemClock()

    def system_params(self) -> dict[str, str]:
        return {**self._identity, "timestamp": format_local_time(self._clock.now())}

    def signature(self, params: Mapping[str, str]) -> str:
        return jos_sign(params, self._secret)


def jos_auth(settings: JdSettings, clock: Clock | None = None) -> JosAuth:
    """The signing auth for one shop's settings."""
    return JosAuth(
        app_key=settings.app_key,
        app_secret=settings.app_secret.get_secret_value(),
        access_token=settings.access_token.get_secret_value(),
        clock=clock,
    )
