"""Every adapter parse path has a size and a depth limit (issue 14, poison isolation).

Before: a body nested 200,000 deep raised ``RecursionError`` out of ``json.loads`` (a traceback
every poll), and any body was read whole into memory whatever its size.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from adapters._rpc.paging import decode_token, encode_token
from adapters._rpc.signing import SignedParamsAuth
from adapters._rpc.transport import (
    Operation,
    UnreadableBodyError,
    parse_json_body,
    post_gateway,
)
from connector.errors import MalformedPayloadError
from connector.wire_json import MAX_JSON_DEPTH, json_depth_exceeds

OP = Operation("taobao", "taobao.refunds.receive.get")


class _NoSigning(SignedParamsAuth):
    def system_params(self) -> dict[str, str]:
        return {}

    def signature(self, params: object) -> str:
        return "x"


def _post(
    body: bytes,
    *,
    max_body_bytes: int = 1024 * 1024,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
) -> Mapping[str, Any]:
    def answer(request: httpx.Request) -> httpx.Response:
        if chunked:  # no Content-Length: the limit must stop the reading itself
            pieces = (body[i : i + 4096] for i in range(0, len(body), 4096))
            return httpx.Response(200, content=pieces, headers=headers or {})
        return httpx.Response(200, content=body, headers=headers or {})

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        return post_gateway(
            http,
            "http://gateway.invalid/router/rest",
            OP,
            {"method": OP.name},
            auth=_NoSigning(),
            max_body_bytes=max_body_bytes,
        )


def test_a_body_nested_200000_deep_is_refused_without_recursion() -> None:
    deep = b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(UnreadableBodyError, match="nests deeper than") as caught:
        parse_json_body(deep, OP)
    assert caught.value.body_bytes == len(deep)
    assert caught.value.head.startswith(b'{"a":[')
    with pytest.raises(UnreadableBodyError):
        _post(deep)


def test_the_depth_scan_ignores_brackets_inside_strings() -> None:
    text = json.dumps({"reason": "[" * 500 + "{" * 500, "q": 'a\\"[[['}).encode()
    assert not json_depth_exceeds(text)
    assert parse_json_body(text, OP)["reason"].startswith("[[[")
    nested: object = "leaf"
    for _ in range(MAX_JSON_DEPTH):
        nested = [nested]
    assert not json_depth_exceeds(json.dumps(nested).encode())
    assert json_depth_exceeds(json.dumps([nested]).encode())


def test_invalid_utf8_is_an_unreadable_body_naming_the_byte() -> None:
    body = b'{"refund_id":"77","reason":"\xff\xfe"}'
    with pytest.raises(UnreadableBodyError, match="not UTF-8 \\(byte 28\\)") as caught:
        _post(body)
    assert caught.value.head == body


def test_a_body_over_the_limit_is_refused_unread() -> None:
    big = b'{"a":"' + b"x" * 200_000 + b'"}'
    with pytest.raises(UnreadableBodyError, match="more than the 65536 bytes allowed") as caught:
        _post(big, max_body_bytes=65_536, chunked=True)
    assert 65_536 < caught.value.body_bytes <= 65_536 + 4096  # stopped at the first chunk past
    with pytest.raises(UnreadableBodyError, match="200008 bytes, more than the 65536 allowed"):
        _post(big, max_body_bytes=65_536)
    assert _post(big, max_body_bytes=300_000, chunked=True)["a"] == "x" * 200_000


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(UnreadableBodyError, match="is 999999999 bytes"):
        _post(b"{}", max_body_bytes=65_536, headers={"content-length": "999999999"})


def test_json_that_is_not_an_object_stays_a_plain_malformed_payload() -> None:
    with pytest.raises(MalformedPayloadError) as caught:
        parse_json_body(b"[1, 2]", OP)
    assert not isinstance(caught.value, UnreadableBodyError)


def test_a_page_token_has_a_size_limit_too() -> None:
    assert decode_token(encode_token({"page": 2})) == {"page": 2}
    with pytest.raises(ValueError, match="not a page token"):
        decode_token("A" * 2_000_000)


@pytest.mark.parametrize(
    "body",
    [
        b'{"order_id":"O1","state":' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        b'{"order_id":"O1","note":"' + b"x" * (2 * 1024 * 1024) + b'"}',
    ],
    ids=["200000-deep", "2-MB"],
)
def test_the_warehouse_answer_has_the_same_limits(body: bytes) -> None:
    """Before: a deep answer escaped ``get_order_state`` as ``RecursionError``."""
    from connector.warehouse import WarehouseClient

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        client = WarehouseClient("http://warehouse.invalid", "key", http)
        with pytest.raises(MalformedPayloadError, match="not JSON"):
            client.get_order_state("O1")
