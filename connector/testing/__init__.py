"""Reusable test kits: the adapter conformance suite and a client for the fakes' control API.

Importable by any adapter's tests; nothing here is collected by pytest on its own.
"""

from connector.testing.conformance import AdapterConformanceSuite, FakeEndpoint
from connector.testing.mock_control import MockControl

__all__ = ["AdapterConformanceSuite", "FakeEndpoint", "MockControl"]
