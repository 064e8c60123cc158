"""A fake seller warehouse (WMS): order print/ship/void state and return inspections over HTTP."""

from mocks.warehouse.app import API_KEY_HEADER, DEFAULT_API_KEY, create_app
from mocks.warehouse.state import WarehouseMock

__all__ = ["API_KEY_HEADER", "DEFAULT_API_KEY", "WarehouseMock", "create_app", "serve"]


def serve(port: int, *, host: str = "127.0.0.1", test_mode: bool = False,
          api_key: str = DEFAULT_API_KEY) -> None:
    """Run the fake in the foreground on loopback (the ``mock warehouse`` command)."""
    import uvicorn

    if not host.startswith("127.") and host not in {"localhost", "::1"}:
        msg = "mock servers bind to loopback only"
        raise ValueError(msg)
    uvicorn.run(create_app(api_key=api_key, test_mode=test_mode), host=host, port=port,
                log_level="warning", access_log=False)
