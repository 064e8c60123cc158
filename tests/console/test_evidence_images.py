"""Evidence images come from the console's own server: fetched only from the hosts the case's
adapter declares, size- and type-checked, cached in the store; the CSP allows no other host."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from console_helpers import add_user, login, queue_case
from starlette.applications import Starlette
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from connector.clock import FakeClock
from connector.console import create_console_app
from connector.console.evidence_images import MAX_IMAGE_BYTES, http_fetch
from connector.serving import LoopbackServer
from connector.store import Store

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
IMAGE = "/cases/taobao/s1/R1/evidence/0"


class _Platform:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.asked: list[str] = []

    def __call__(self, url: str) -> bytes | None:
        self.asked.append(url)
        return self.body


def _client(store: Store, clock: FakeClock, platform: _Platform) -> TestClient:
    app = create_console_app(store, clock=clock, image_hosts={"taobao": {".example"}},
                             fetch_image=platform)
    return TestClient(app, base_url="http://127.0.0.1")


def test_an_image_from_a_declared_host_is_fetched_once_and_served(
    store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    platform = _Platform(PNG)
    with _client(store, clock, platform) as client:
        login(client, "ann")
        first = client.get(IMAGE)
        assert first.status_code == 200
        assert first.headers["content-type"] == "image/png"
        assert first.content == PNG
        assert client.get(IMAGE).content == PNG
    assert platform.asked == ["https://img.example/1.png"]  # cached in the store after that


@pytest.mark.parametrize("body", [b"<html>not an image</html>", PNG + b"0" * MAX_IMAGE_BYTES])
def test_what_is_not_an_image_within_the_limit_is_not_served(
    store: Store, clock: FakeClock, body: bytes
) -> None:
    queue_case(store, timedelta(hours=5))
    add_user(store, "ann", "reviewer")
    with _client(store, clock, _Platform(body)) as client:
        login(client, "ann")
        refused = client.get(IMAGE)
    assert refused.status_code == 404
    assert "图片暂不可用" in refused.text
    assert store.cached_evidence_image("https://img.example/1.png") is None


def test_a_host_the_adapter_did_not_declare_is_never_asked(
    store: Store, clock: FakeClock
) -> None:
    queue_case(store, timedelta(hours=5),
               evidence=[{"kind": "photo", "url": "http://169.254.169.254/latest"}])
    add_user(store, "ann", "reviewer")
    platform = _Platform(PNG)
    with _client(store, clock, platform) as client:
        login(client, "ann")
        assert client.get(IMAGE).status_code == 404
        page = client.get("/cases/taobao/s1/R1")
    assert platform.asked == []
    assert "img-src 'self' data:;" in page.headers["content-security-policy"]


@pytest.fixture
def image_host() -> Iterator[str]:
    async def png(_request: object) -> Response:
        return Response(PNG, media_type="image/png")

    async def away(_request: object) -> Response:
        return RedirectResponse("http://169.254.169.254/", status_code=302)

    app = Starlette(routes=[Route("/1.png", png), Route("/away.png", away)])
    with LoopbackServer(app) as url:
        yield url


def test_the_real_fetch_reads_bytes_and_follows_no_redirect(image_host: str) -> None:
    assert http_fetch(f"{image_host}/1.png") == PNG
    assert http_fetch(f"{image_host}/away.png") is None
    assert http_fetch(f"{image_host}/missing.png") is None
