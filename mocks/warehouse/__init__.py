"""A fake seller warehouse (WMS): order print/ship/void state and return inspections over HTTP."""

from mocks.warehouse.app import API_KEY_HEADER, DEFAULT_API_KEY, create_app
from mocks.warehouse.state import WarehouseMock

__all__ = ["API_KEY_HEADER", "DEFAULT_API_KEY", "WarehouseMock", "create_app"]
