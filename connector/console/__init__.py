"""The web console: review queue, case pages, audit search, refund-reason report, accounts."""

from __future__ import annotations

from connector.console.app import ConsoleConfig, RevealHook, create_console_app
from connector.console.server import ConsoleServer

__all__ = ["ConsoleConfig", "ConsoleServer", "RevealHook", "create_console_app"]
