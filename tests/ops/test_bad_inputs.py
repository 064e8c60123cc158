"""No command prints a traceback for a bad state dir, config or database (issue 14): every
command runs in-process through ``main`` against every bad input and ends with one error line
and a non-zero exit. In-process, so the whole matrix costs seconds of CI."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from state_helpers import (
    EMPTY_CONFIG,
    Outcome,
    build_served_state,
    call,
    copy_state,
    damage_middle,
    newer_schema,
    read_only_mount,
)

from connector.paths import db_path

NOISE = ("warning:", "Usage:", "Try '", "╭", "╰")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ")
"""Log records of the service at info/warning level: context, not the error."""


def error_lines(outcome: Outcome) -> list[str]:
    """The lines of stderr that state the error (warnings and click's usage frame aside)."""
    return [
        line
        for line in outcome.err.splitlines()
        if line.strip() and not line.lstrip().startswith(NOISE) and not LOG_LINE.match(line)
    ]


def assert_one_line_refusal(outcome: Outcome, argv: tuple[str, ...]) -> None:
    assert "Traceback" not in outcome.text, argv
    assert outcome.code != 0, (argv, outcome.text)
    lines = error_lines(outcome)
    assert len(lines) == 1, (argv, outcome.err)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("template") / "state"
    build_served_state(folder, cases=120)
    return folder


def _file(state: Path) -> None:
    shutil.rmtree(state)
    state.write_text("not a directory", encoding="utf-8")


def _zero(state: Path) -> None:
    db_path(state).write_bytes(b"")


def _not_sqlite(state: Path) -> None:
    db_path(state).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)


def _newer(state: Path) -> None:
    newer_schema(db_path(state))


def _missing(state: Path) -> None:
    db_path(state).unlink()


def _parent_is_file(state: Path) -> None:
    shutil.rmtree(state)
    state.write_text("a file", encoding="utf-8")


BAD_STATES: dict[str, Callable[[Path], None]] = {
    "state dir is a file": _file,
    "database is 0 bytes": _zero,
    "database is not SQLite": _not_sqlite,
    "database schema is newer": _newer,
    "database missing beside other state": _missing,
}

STATE_COMMANDS: list[tuple[str, ...]] = [
    ("audit", "verify"),
    ("audit", "show", "C00001"),
    ("audit", "tail"),
    ("audit", "export", "-o", "{out}/audit.jsonl"),
    ("effects", "list"),
    ("effects", "retry", "1", "--as", "ops"),
    ("effects", "cancel", "1", "--as", "ops", "--reason", "drill"),
    ("claims", "list"),
    ("claims", "export", "--as", "ops", "-o", "{out}/claims.csv"),
    ("tasks", "list"),
    ("tasks", "complete", "1", "--code", "123456", "--as", "ops"),
    ("queue", "list"),
    ("queue", "show", "C00001"),
    ("queue", "decide", "C00001", "reject", "--reason", "r", "--as", "rev"),
    ("users", "list"),
    ("check",),
    ("backup", "{out}/backup.db"),
    ("restore", "{backup}"),
    ("once", "-c", "{config}"),
    ("run", "-c", "{config}"),
]


@pytest.fixture
def places(tmp_path: Path, template: Path) -> dict[str, str]:
    out = tmp_path / "out"
    out.mkdir()
    config = tmp_path / "connector.toml"
    config.write_text(EMPTY_CONFIG, encoding="utf-8")
    backup = tmp_path / "good-backup.db"
    shutil.copy(db_path(template), backup)
    return {"out": str(out), "config": str(config), "backup": str(backup)}


@pytest.mark.parametrize("bad", list(BAD_STATES))
def test_every_command_refuses_a_bad_state_in_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    template: Path,
    places: dict[str, str],
    bad: str,
) -> None:
    for argv in STATE_COMMANDS:
        if argv[0] == "restore" and bad != "state dir is a file":
            continue  # restore is the remedy for a bad database (tests/ops/test_restore.py)
        state = tmp_path / f"state-{argv[0]}-{argv[1] if len(argv) > 1 else ''}"
        copy_state(template, state)
        BAD_STATES[bad](state)
        args = tuple(a.format(**places) for a in argv)
        outcome = call(capsys, *args, "--state-dir", str(state))
        assert_one_line_refusal(outcome, args)
        if bad != "state dir is a file":
            assert (
                not (state / "connector.db").exists()
                or bad != "database missing beside other state"
            ), args


def test_every_command_on_a_damaged_database_ends_without_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, template: Path, places: dict[str, str]
) -> None:
    """Damage in the middle may miss the pages a listing reads; it must never crash one."""
    for argv in STATE_COMMANDS:
        state = tmp_path / f"state-{'-'.join(argv[:2])}"
        copy_state(template, state)
        damage_middle(db_path(state))
        args = tuple(a.format(**places) for a in argv)
        outcome = call(capsys, *args, "--state-dir", str(state))
        assert "Traceback" not in outcome.text, args
        if outcome.code != 0:
            assert len(error_lines(outcome)) == 1, (args, outcome.err)
        if argv[0] in {"once", "run", "check"}:
            assert outcome.code != 0, (args, outcome.text)


def test_serving_commands_refuse_a_read_only_state_dir_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, template: Path, places: dict[str, str]
) -> None:
    state = copy_state(template, tmp_path / "state")
    with read_only_mount(state) as view:
        for argv in (
            ("once", "-c", "{config}"),
            ("run", "-c", "{config}"),
            ("restore", "{backup}"),
        ):
            args = tuple(a.format(**places) for a in argv)
            outcome = call(capsys, *args, "--state-dir", str(view))
            assert_one_line_refusal(outcome, args)
        demo = call(capsys, "demo", "--cases", "1", "--state-dir", str(view / "demo"))
        assert_one_line_refusal(demo, ("demo",))
    (tmp_path / "file").write_text("x", encoding="utf-8")
    demo = call(capsys, "demo", "--cases", "1", "--state-dir", str(tmp_path / "file"))
    assert_one_line_refusal(demo, ("demo", "file"))


BAD_CONFIGS: dict[str, bytes] = {
    "not UTF-8": "[daemon]\npoll_interval_s = 5 # 五秒\n".encode("gb18030"),
    "empty secret": (
        b'[[shops]]\nshop_id = "s1"\nplatform = "taobao"\n[shops.settings]\n'
        b'base_url = "http://127.0.0.1:1"\napp_key = "k"\napp_secret = "env:I14_EMPTY_SECRET"\n'
        b'session = "sess"\nreturn_address_id = "a"\n'
    ),
    "negative retry waits": b"[daemon]\nretry_schedule_s = [-5, -1]\n",
    "unknown platform": b'[[shops]]\nshop_id = "s1"\nplatform = "paipai"\n',
    "not TOML": b"[daemon\n",
    "a directory": b"",
    "missing": b"",
}


@pytest.mark.parametrize("bad", list(BAD_CONFIGS))
@pytest.mark.parametrize("command", ["run", "once"])
def test_serving_commands_refuse_a_bad_config_before_touching_the_state(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    bad: str,
    command: str,
) -> None:
    monkeypatch.setenv("I14_EMPTY_SECRET", "")
    config = tmp_path / "connector.toml"
    if bad == "a directory":
        config.mkdir()
    elif bad != "missing":
        config.write_bytes(BAD_CONFIGS[bad])
    state = tmp_path / "state"
    outcome = call(capsys, command, "-c", str(config), "--state-dir", str(state))
    assert_one_line_refusal(outcome, (command, bad))
    assert not state.exists(), "the state dir (and database) must not be created"
