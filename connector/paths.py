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
    """Create the directory (owner-only) if missing; it holds case data and the audit log."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return state_dir


def db_path(state_dir: Path) -> Path:
    return state_dir / DB_FILE_NAME
