"""Suite-wide settings: in CI (``CI=true``) Hypothesis replays fixed examples, so a run is
reproducible; developers' runs keep exploring new ones."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    settings.load_profile("ci")


PROGRESS_EVERY_S = 10.0
"""A long test says where it is at most this often (the last line of a phase always shows)."""


class Progress:
    """Lines on the terminal from inside a long test, past pytest's output capture.

    Written through the terminal reporter (so they land on their own line, not inside the row
    of dots), or to the real stderr when there is none; at most one every ``every_s`` seconds
    unless ``force``. Guarded by tests/unit/test_progress.py.
    """

    def __init__(
        self,
        name: str,
        reporter: Any,
        every_s: float = PROGRESS_EVERY_S,
        uncaptured: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self.name = name
        self.reporter = reporter
        self.uncaptured = uncaptured
        self.every_s = every_s
        self.started = time.monotonic()
        self.last = -every_s
        self.lines: list[str] = []

    def __call__(self, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every_s:
            return
        self.last = now
        line = f"[{self.name} {now - self.started:5.0f}s] {message}"
        self.lines.append(line)
        if self.reporter is not None:
            with self.uncaptured():
                self.reporter.ensure_newline()
                self.reporter.write_line(line)
        elif sys.__stderr__ is not None:
            sys.__stderr__.write(line + "\n")
            sys.__stderr__.flush()


@pytest.fixture
def progress(request: pytest.FixtureRequest) -> Progress:
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    uncaptured = capture.global_and_fixture_disabled if capture is not None else nullcontext
    return Progress(request.node.name, reporter, uncaptured=uncaptured)
