"""Long tests report progress past pytest's capture, sparingly (issue 17, point 7)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Progress


class _Reporter:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def ensure_newline(self) -> None:
        self.lines.append("")

    def write_line(self, line: str) -> None:
        self.lines.append(line)


def test_progress_goes_to_the_terminal_reporter_at_most_every_interval() -> None:
    reporter = _Reporter()
    say = Progress("test_long", reporter, every_s=3600)
    say("phase 1 of 3")
    say("phase 2 of 3")  # within the interval: dropped
    say("done", force=True)
    written = [line for line in reporter.lines if line]
    assert len(written) == 2
    assert written[0].startswith("[test_long ")
    assert written[0].endswith("] phase 1 of 3")
    assert written[1].endswith("] done")


def test_without_a_reporter_it_writes_to_the_real_stderr(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    real = io.StringIO()
    monkeypatch.setattr(sys, "__stderr__", real)
    Progress("t", None)("hello")
    assert real.getvalue().endswith("] hello\n")


def test_the_fixture_finds_pytests_terminal_reporter(progress: Any) -> None:
    assert progress.reporter is not None
