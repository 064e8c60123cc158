"""Where the connector keeps its state, so several runs never collide.

Precedence: ``--state-dir DIR`` > ``$REFUND_CONNECTOR_STATE_DIR`` >
``$XDG_STATE_HOME/refund-connector`` > ``~/.local/state/refund-connector``.
One directory holds one ``connector.db``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

APP_DIR_NAME = "refund-connector"
STATE_DIR_ENV = "REFUND_CONNECTOR_STATE_DIR"
DB_FILE_NAME = "connector.db"

StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help=(
            "Directory holding connector.db (default: $REFUND_CONNECTOR_STATE_DIR, else "
            "$XDG_STATE_HOME/refund-connector, else ~/.local/state/refund-connector)."
        ),
        file_okay=False,
    ),
]
"""The ``--state-dir`` option every command takes; resolve it with ``resolve_state_dir``."""


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's state directory for the connector when no ``--state-dir`` was given."""
    env = os.environ if env is None else env
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV]).expanduser()
    xdg = env.get("XDG_STATE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / APP_DIR_NAME
    return Path.home() / ".local" / "state" / APP_DIR_NAME


def resolve_state_dir(explicit: Path | str | None, env: Mapping[str, str] | None = None) -> Path:
    """The state directory to use: the explicit one if given, else the default."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    return default_state_dir(env)


def ensure_state_dir(state_dir: Path) -> Path:
    """Create the directory owner-only (0700) if missing; it holds case data and the audit log.

    A path that is a file, cannot be created or is on read-only media raises ``StoreError`` with
    one line naming it (issue 14: these were tracebacks). Guarded by tests/ops/test_bad_inputs.py.
    """
    from connector.errors import StoreError

    if state_dir.exists() and not state_dir.is_dir():
        msg = f"state dir {state_dir} is not a directory"
        raise StoreError(msg)
    try:
        if not state_dir.is_dir():
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            state_dir.chmod(0o700)
    except OSError as exc:
        msg = f"cannot create state dir {state_dir}: {exc.strerror or exc}"
        raise StoreError(msg) from None
    return state_dir


def state_dir_warning(state_dir: Path) -> str | None:
    """A warning when group or others can enter or read the state dir (it holds buyer data)."""
    try:
        mode = state_dir.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o077:
        return (
            f"state dir {state_dir} is accessible to group or others (mode {mode:04o}); it holds "
            f"buyer data: `chmod 700 {state_dir}`"
        )
    return None


def db_path(state_dir: Path) -> Path:
    return state_dir / DB_FILE_NAME
