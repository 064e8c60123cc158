"""Signing over sorted parameters, the scheme TOP and JOS share, as an ``httpx.Auth``.

The auth owns the request body: callers hand it the application parameters (and file parts)
through request extensions, and it builds a form or multipart body carrying those, the system
parameters and the signature. Credentials therefore never appear in the URL, so the URL that
httpx logs, and that any exception carries, holds no session token. The signature covers every
text parameter except itself; file parts are never signed.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
from collections.abc import Generator, Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx

SignMethod = Literal["md5", "hmac", "hmac-sha256"]
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
PARAMS_EXTENSION = "rpc.params"
FILES_EXTENSION = "rpc.files"

FileParts = Mapping[str, tuple[str, bytes, str]]
"""name -> (file name, content, media type)"""


def concat_sorted(params: Mapping[str, str], *, exclude: frozenset[str] = frozenset()) -> str:
    """``k1v1k2v2...`` over keys in ASCII order; empty values are skipped, never signed."""
    return "".join(
        f"{key}{params[key]}" for key in sorted(params) if key not in exclude and params[key] != ""
    )


def sign_concat(concat: str, secret: str, method: SignMethod) -> str:
    """Uppercase hex digest: md5 wraps the text in the secret; the hmac forms key with it."""
    data = concat.encode("utf-8")
    key = secret.encode("utf-8")
    if method == "md5":
        return hashlib.md5(key + data + key).hexdigest().upper()
    digest = {"hmac": hashlib.md5, "hmac-sha256": hashlib.sha256}.get(method)
    if digest is None:
        msg = f"unknown sign method {method!r} (expected md5, hmac or hmac-sha256)"
        raise ValueError(msg)
    return hmac.new(key, data, digest).hexdigest().upper()


def gateway_extensions(params: Mapping[str, str], files: FileParts | None = None) -> dict[str, Any]:
    """Request extensions carrying the application parameters to a ``SignedParamsAuth``."""
    return {PARAMS_EXTENSION: dict(params), FILES_EXTENSION: dict(files or {})}


def _form_params(request: httpx.Request) -> dict[str, str]:
    if request.headers.get("content-type", "").startswith(FORM_CONTENT_TYPE):
        return dict(parse_qsl(request.content.decode("utf-8"), keep_blank_values=True))
    return {}


class SignedParamsAuth(httpx.Auth, abc.ABC):
    """Adds system parameters and the signature, then builds the body of each request.

    Subclasses say which system parameters to add and how to sign; the secret stays inside the
    subclass and never reaches a repr, a log line or an exception.
    """

    requires_request_body = True
    sign_param: str = "sign"

    @abc.abstractmethod
    def system_params(self) -> dict[str, str]:
        """Parameters added to every call (app key, timestamp, version, ...)."""

    @abc.abstractmethod
    def signature(self, params: Mapping[str, str]) -> str:
        """The signature over ``params`` (which never include ``sign_param``)."""

    def signed_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """``params`` plus the system parameters and the signature; empty values are dropped."""
        merged = {k: v for k, v in {**params, **self.system_params()}.items() if v != ""}
        merged.pop(self.sign_param, None)
        merged[self.sign_param] = self.signature(merged)
        return merged

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        extensions = dict(request.extensions)
        app_params: dict[str, str] = dict(extensions.pop(PARAMS_EXTENSION, {}))
        files: dict[str, tuple[str, bytes, str]] = dict(extensions.pop(FILES_EXTENSION, {}))
        query = dict(request.url.params.multi_items())
        body = {**_form_params(request), **app_params}
        signed = self.signed_params({**query, **body})
        body_params = {k: v for k, v in signed.items() if k not in query}
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() not in {"content-type", "content-length", "transfer-encoding"}
        }
        yield httpx.Request(
            request.method,
            request.url,
            headers=headers,
            data=body_params,
            files=files or None,
            extensions=extensions,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<credentials hidden>)"
