"""Builders for state-directory tests: a served state with history, damaged in the ways an
operator meets (issue 14), and the CLI run in-process through ``main`` (imported by name)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ops_helpers import decide

from connector.cli import main
from connector.effects import EffectKind
from connector.startup import mark_clean_stop
from connector.store.sqlite import SqliteStore

EMPTY_CONFIG = "[daemon]\npoll_interval_s = 5\n"
"""A config with no shops: `once` and `run` serve the state without any platform."""


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def call(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """``refund-connector ARGV`` in this process; any exception escaping ``main`` fails the test."""
    capsys.readouterr()
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def build_served_state(state_dir: Path, cases: int = 60) -> Path:
    """A state dir with cases, decisions, effects and audit entries, stopped cleanly."""
    store = SqliteStore.open(state_dir)
    try:
        for n in range(cases):
            decide(store, f"C{n:05d}", EffectKind.agree_refund)
    finally:
        store.close()
    mark_clean_stop(state_dir)
    (state_dir / "connector.lock").touch(mode=0o600)
    return state_dir / "connector.db"


def damage_middle(path: Path, size: int = 8192) -> None:
    """Overwrite ``size`` bytes in the middle of the file (the issue's 8 KB of garbage)."""
    length = path.stat().st_size
    offset = (length // 2) // 4096 * 4096
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(size))


def newer_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
        "VALUES ('refund_connector', '0099_from_the_future', '2030-01-01')"
    )
    conn.commit()
    conn.close()


def copy_state(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


@contextlib.contextmanager
def read_only_mount(folder: Path) -> Iterator[Path]:
    """``folder`` seen through a read-only mount (root), or made read-only (others)."""
    view = folder.parent / f"{folder.name}-ro"
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o700)
        return
    view.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        ro = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(view)], capture_output=True, check=False
        )
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only: {ro.stderr.decode().strip()}")
        yield view
    finally:
        if subprocess.run(["umount", str(view)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(view)], check=False)  # busy: detach lazily
