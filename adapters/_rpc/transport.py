"""One gateway call over httpx, with every transport failure mapped onto ``connector.errors``.

Modelled on httpx's own ``map_httpcore_exceptions``: failures before the request left are
``UnavailableError``; a write that may have reached the platform (timeout or connection lost
after sending) is ``OutcomeUnknownError`` so the core re-reads before any resend. HTTP 5xx is
``UnavailableError`` and 429 ``RateLimitedError``, both honouring ``Retry-After``. A body that is
not a JSON object is ``MalformedPayloadError``; one that cannot be read at all (not UTF-8 JSON,
larger than the shop's ``max_body_bytes``, nested deeper than ``MAX_JSON_DEPTH``) is its
subclass ``UnreadableBodyError``, which keeps the body's head so a caller can name the item.
Nothing here retries or sleeps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from adapters._rpc.errors import scrub
from adapters._rpc.signing import FileParts, gateway_extensions
from connector.errors import (
    ConfigError,
    InvalidRequestError,
    MalformedPayloadError,
    OutcomeUnknownError,
    RateLimitedError,
    RetryableError,
    UnavailableError,
)
from connector.wire_json import MAX_JSON_DEPTH, JsonTooDeepError, loads_limited

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest answer read when the caller names no limit (a shop sets ``max_body_bytes``)."""
BODY_HEAD_BYTES = 64 * 1024
"""How much of an unreadable body is kept on the error, to find the item's ids in."""


class UnreadableBodyError(MalformedPayloadError):
    """The answer cannot be read as JSON at all: bad UTF-8, too large, too deep, cut short.

    ``head`` is the start of the body as received, for finding ids in; ``body_bytes`` its size
    so far and ``sha256`` the digest of the bytes read.
    """

    def __init__(
        self, message: str, *, head: bytes, body_bytes: int, sha256: str, **kw: str | None
    ) -> None:
        self.reason = message
        self.head = head
        self.body_bytes = body_bytes
        self.sha256 = sha256
        super().__init__(message, **kw)


@dataclass(frozen=True, slots=True)
class Operation:
    """Which platform call this is, and whether it changes platform state."""

    platform: str
    name: str
    is_write: bool = False
    case_id: str | None = None

    def context(self) -> dict[str, str | None]:
        return {"platform": self.platform, "operation": self.name, "case_id": self.case_id}

    def retryable(
        self,
        cls: type[RetryableError],
        message: str,
        *,
        retry_after: float | None = None,
        platform_code: str | None = None,
    ) -> RetryableError:
        """A transient error about this call."""
        return cls(
            message,
            retry_after=retry_after,
            platform=self.platform,
            operation=self.name,
            case_id=self.case_id,
            platform_code=platform_code,
        )


def retry_after_from_header(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds, or an HTTP date given ``now``)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    if now is None:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max((when - now).total_seconds(), 0.0)


@contextmanager
def map_transport_errors(op: Operation, *, secrets: Iterable[str] = ()) -> Iterator[None]:
    """Translate httpx exceptions raised inside the block; the cause is chained, never shown."""
    try:
        yield
    except _NOT_SENT as exc:
        msg = f"cannot reach the platform ({type(exc).__name__})"
        raise op.retryable(UnavailableError, msg) from exc
    except httpx.UnsupportedProtocol as exc:
        msg = f"base_url is not an http(s) URL ({scrub(str(exc), secrets)})"
        raise ConfigError(msg, field="base_url") from exc
    except httpx.TimeoutException as exc:
        if op.is_write:
            msg = f"no answer in time; the write may have been applied ({type(exc).__name__})"
            raise op.retryable(OutcomeUnknownError, msg) from exc
        raise op.retryable(UnavailableError, f"no answer in time ({type(exc).__name__})") from exc
    except httpx.DecodingError as exc:
        raise MalformedPayloadError("the body cannot be decoded", **op.context()) from exc
    except httpx.TransportError as exc:
        if op.is_write:
            msg = f"connection lost; the write may have been applied ({type(exc).__name__})"
            raise op.retryable(OutcomeUnknownError, msg) from exc
        raise op.retryable(UnavailableError, f"connection lost ({type(exc).__name__})") from exc


def check_http_status(response: httpx.Response, op: Operation, *, now: datetime | None) -> None:
    """Non-2xx answers: 429 throttled, 5xx unavailable, anything else a request problem."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = retry_after_from_header(response.headers.get("retry-after"), now=now)
    code = str(status)
    if status == 429:
        raise op.retryable(
            RateLimitedError, "HTTP 429", retry_after=retry_after, platform_code=code
        )
    if status >= 500:
        raise op.retryable(
            UnavailableError, f"HTTP {status}", retry_after=retry_after, platform_code=code
        )
    raise InvalidRequestError(f"HTTP {status}", platform_code=code, **op.context())


def parse_json_body(
    content: bytes | bytearray,
    op: Operation,
    *,
    exact_decimals: bool = False,
    max_depth: int = MAX_JSON_DEPTH,
) -> Mapping[str, Any]:
    """The body as a JSON object; ``UnreadableBodyError`` when it cannot be read at all.

    With ``exact_decimals`` JSON fractions become ``Decimal`` (money sent as numbers stays exact).
    """

    def unreadable(message: str) -> UnreadableBodyError:
        return UnreadableBodyError(
            message,
            head=bytes(content[:BODY_HEAD_BYTES]),
            body_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            field="(body)",
            **op.context(),
        )

    try:
        body = loads_limited(
            content, max_depth=max_depth, parse_float=Decimal if exact_decimals else float
        )
    except UnicodeDecodeError as exc:
        raise unreadable(f"the body is not UTF-8 (byte {exc.start})") from exc
    except JsonTooDeepError as exc:
        raise unreadable(f"the body nests deeper than {max_depth} levels") from exc
    except ValueError as exc:
        raise unreadable("the body is not JSON") from exc
    if not isinstance(body, dict):
        msg = f"the body is JSON {type(body).__name__}, not an object"
        raise MalformedPayloadError(msg, field="(body)", **op.context())
    return body


def parse_json_object(
    response: httpx.Response, op: Operation, *, exact_decimals: bool = False
) -> Mapping[str, Any]:
    """The body of a read response as a JSON object, else ``MalformedPayloadError``."""
    return parse_json_body(response.content, op, exact_decimals=exact_decimals)


def read_capped(response: httpx.Response, op: Operation, max_bytes: int) -> bytearray:
    """The (decoded) body of a streamed response, refusing more than ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before reading; otherwise reading
    stops at the first chunk past it, so a huge or endless answer never fills memory.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        head = bytearray()  # only the head is read, to find the item's ids in
        for chunk in response.iter_bytes():
            head += chunk
            if len(head) >= BODY_HEAD_BYTES:
                break
        raise UnreadableBodyError(
            f"the body is {int(declared)} bytes, more than the {max_bytes} allowed",
            head=bytes(head[:BODY_HEAD_BYTES]),
            body_bytes=int(declared),
            sha256="",
            field="(body)",
            **op.context(),
        )
    body = bytearray()  # one growing buffer: a list of chunks and its join held two copies
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise UnreadableBodyError(
                f"the body is more than the {max_bytes} bytes allowed",
                head=bytes(body[:BODY_HEAD_BYTES]),
                body_bytes=len(body),
                sha256=hashlib.sha256(body).hexdigest(),
                field="(body)",
                **op.context(),
            )
    return body


def post_gateway(
    http: httpx.Client,
    url: str,
    op: Operation,
    params: Mapping[str, object | None],
    *,
    auth: httpx.Auth,
    files: FileParts | None = None,
    now: datetime | None = None,
    secrets: Iterable[str] = (),
    exact_decimals: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Mapping[str, Any]:
    """POST one signed gateway call and return its JSON object; never retries.

    ``None`` and empty values are dropped (a gateway must never see an empty parameter); the
    remaining values are sent as text, files as multipart parts. The answer is read up to
    ``max_body_bytes`` and parsed with a depth limit (``parse_json_body``).
    """
    text = {k: _as_text(v) for k, v in params.items() if v is not None}
    text = {k: v for k, v in text.items() if v != ""}
    extensions = gateway_extensions(text, files)
    with (
        map_transport_errors(op, secrets=secrets),
        http.stream("POST", url, auth=auth, extensions=extensions) as response,
    ):
        check_http_status(response, op, now=now)
        content = read_capped(response, op, max_body_bytes)
    return parse_json_body(content, op, exact_decimals=exact_decimals)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
