"""TOP request signing as an ``httpx.Auth`` (platform-apis.md §1.2)."""

from __future__ import annotations

from collections.abc import Mapping

from adapters._rpc.signing import SignedParamsAuth, SignMethod, concat_sorted, sign_concat
from adapters._rpc.values import format_local_time
from connector.clock import Clock, SystemClock


def top_sign(params: Mapping[str, str], secret: str, method: SignMethod) -> str:
    """The TOP signature of ``params`` (``sign`` itself excluded)."""
    return sign_concat(concat_sorted(params, exclude=frozenset({"sign"})), secret, method)


class TopAuth(SignedParamsAuth):
    """Adds app_key, session, timestamp (GMT+8), v, format, sign_method and the signature."""

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        session: str,
        sign_method: SignMethod = "hmac-sha256",
        clock: Clock | None = None,
    ) -> None:
        self._app_key = app_key
        self._secret = app_secret
        self._session = session
        self._sign_method: SignMethod = sign_method
        self._clock = clock or SystemClock()

    def system_params(self) -> dict[str, str]:
        return {
            "app_key": self._app_key,
            "session": self._session,
            "timestamp": format_local_time(self._clock.now()),
            "v": "2.0",
            "format": "json",
            "sign_method": self._sign_method,
        }

    def signature(self, params: Mapping[str, str]) -> str:
        return top_sign(params, self._secret, self._sign_method)
