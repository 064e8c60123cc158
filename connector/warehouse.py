"""Client for the seller's warehouse (WMS): order state, void before shipping, return inspection.

The daemon voids the warehouse order before approving a refund on an unshipped order, so the
parcel never leaves. Like an adapter, this client neither retries nor sleeps; it turns every
failure into ``connector.errors``: unreachable or 5xx -> ``UnavailableError``; a void whose
answer was lost (timeout, dropped connection, unreadable 200) -> ``OutcomeUnknownError`` (re-read
the order before voiding again); a refused void (printed or shipped) -> ``ActionForbiddenError``;
an unknown order -> ``NotFoundError``. Voiding an already voided order is reported as done.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr, ValidationError

from connector.effects import SubmitOutcome, SubmitResult
from connector.errors import (
    ActionForbiddenError,
    InvalidRequestError,
    MalformedPayloadError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ReauthRequiredError,
    UnavailableError,
)
from connector.models import Inspection, WarehouseState
from connector.wire_json import loads_limited

M = TypeVar("M", bound=BaseModel)

API_KEY_HEADER = "X-Api-Key"
PLATFORM = "warehouse"


class WarehouseOrder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: str
    state: WarehouseState
    updated_at: AwareDatetime | None = None


class ReturnInspection(BaseModel):
    """Whether the returned parcel arrived, and what the warehouse found when it opened it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: str
    received: bool
    received_at: AwareDatetime | None = None
    inspection: Inspection | None = None


class _VoidAnswer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: str
    state: WarehouseState
    result: str


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


MAX_ANSWER_BYTES = 1024 * 1024
"""The warehouse answers a few hundred bytes; anything over this is refused unread as JSON."""


def _answer_json(response: httpx.Response) -> Any:
    """The answer's JSON, with a size and a depth limit (``ValueError`` past either)."""
    if len(response.content) > MAX_ANSWER_BYTES:
        msg = f"the answer is {len(response.content)} bytes, more than {MAX_ANSWER_BYTES}"
        raise ValueError(msg)
    return loads_limited(response.content)


def _error_code(response: httpx.Response) -> tuple[str | None, str]:
    try:
        body = _answer_json(response)
    except ValueError:
        return None, response.reason_phrase or f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        return (str(code) if code else None), str(message or code or response.status_code)
    return None, f"HTTP {response.status_code}"


class WarehouseClient:
    """One warehouse endpoint. ``http`` is owned by the caller (timeouts, pooling, transport)."""

    def __init__(self, base_url: str, api_key: str | SecretStr, http: httpx.Client) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._http = http

    def __repr__(self) -> str:
        return f"WarehouseClient({self._base!r})"

    # operations ----------------------------------------------------------------------------
    def get_order_state(self, order_id: str) -> WarehouseOrder:
        body = self._call("GET", f"/api/orders/{order_id}", "get_order", order_id, write=False)
        return self._parse(WarehouseOrder, body, "get_order", order_id)

    def void_order(self, order_id: str, *, request_id: str | None = None) -> SubmitResult:
        """Void before printing. ``already_done`` when it was voided before (e.g. our lost try)."""
        payload = {"request_id": request_id} if request_id else {}
        body = self._call(
            "POST",
            f"/api/orders/{order_id}/void",
            "void_order",
            order_id,
            write=True,
            json=payload,
        )
        try:
            answer = _VoidAnswer.model_validate(body)
        except ValidationError as exc:
            msg = f"void answer unreadable ({exc.error_count()} problems); re-read the order"
            raise OutcomeUnknownError(
                msg, platform=PLATFORM, operation="void_order", case_id=order_id
            ) from exc
        if answer.state is not WarehouseState.voided or answer.result not in {
            "voided",
            "already_voided",
        }:
            msg = f"void answered state {answer.state} / result {answer.result!r}; re-read"
            raise OutcomeUnknownError(msg, platform=PLATFORM, operation="void_order")
        outcome = (
            SubmitOutcome.already_done
            if answer.result == "already_voided"
            else SubmitOutcome.applied
        )
        return SubmitResult(outcome=outcome, platform_code=answer.result)

    def get_return_inspection(self, order_id: str) -> ReturnInspection:
        body = self._call(
            "GET", f"/api/orders/{order_id}/return", "get_return", order_id, write=False
        )
        return self._parse(ReturnInspection, body, "get_return", order_id)

    # plumbing ------------------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        operation: str,
        order_id: str,
        *,
        write: bool,
        json: dict[str, Any] | None = None,
    ) -> Any:
        where = {"platform": PLATFORM, "operation": operation, "case_id": order_id}
        try:
            response = self._http.request(
                method,
                self._base + path,
                json=json,
                headers={API_KEY_HEADER: self._key.get_secret_value()},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            msg = f"warehouse unreachable: {type(exc).__name__}"
            raise UnavailableError(msg, retry_after=None, **where) from exc
        except httpx.TransportError as exc:
            # The request may have reached the warehouse; for a write we cannot know.
            msg = f"no answer ({type(exc).__name__})"
            if write:
                msg += "; re-read before voiding again"
                raise OutcomeUnknownError(msg, retry_after=None, **where) from exc
            raise UnavailableError(msg, retry_after=None, **where) from exc
        if response.status_code >= 400:
            self._raise_for(response, where)
        try:
            return _answer_json(response)
        except ValueError as exc:
            if write:
                msg = "the answer is not JSON; re-read the order"
                raise OutcomeUnknownError(msg, retry_after=None, **where) from exc
            raise MalformedPayloadError("the answer is not JSON", **where) from exc

    def _raise_for(self, response: httpx.Response, where: dict[str, str]) -> NoReturn:
        status = response.status_code
        code, message = _error_code(response)
        kw = {**where, "platform_code": code or str(status)}
        if status >= 500:
            raise UnavailableError(message, retry_after=_retry_after(response), **kw)
        if status == 429:
            raise RateLimitedError(message, retry_after=_retry_after(response), **kw)
        if status in {401, 403}:
            raise ReauthRequiredError(message, **kw)
        if status == 404:
            raise NotFoundError(message, **kw)
        if status == 409:
            raise ActionForbiddenError(message, **kw)
        raise InvalidRequestError(message, **kw)

    @staticmethod
    def _parse(model: type[M], body: Any, operation: str, order_id: str) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ())) or "(body)"
            raise MalformedPayloadError(
                first.get("msg", "invalid"),
                field=field,
                platform=PLATFORM,
                operation=operation,
                case_id=order_id,
            ) from exc
