"""One voice for every command: money in yuan, times in Beijing (``--utc`` to switch), a case
named by its key ``platform/shop/id`` or by its bare id when only one shop has it.

Money and time come from ``connector/formatting.py`` (the console's too). Guarded by
tests/unit/test_cli_voice.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from connector.errors import ConnectorError
from connector.formatting import person_time
from connector.store import CaseRecord, Store

UtcOption = Annotated[
    bool, typer.Option("--utc", help="Show times in UTC instead of Beijing time (UTC+8).")
]
CaseArgument = Annotated[
    str,
    typer.Argument(
        metavar="CASE",
        help="The case key platform/shop/id (as `audit tail` prints it), or its bare id when "
        "only one shop has it.",
    ),
]


class CaseRefError(ConnectorError):
    """A case reference that names no case, or more than one."""


def when(value: datetime | None, utc: bool, *, seconds: bool = True) -> str:
    return person_time(value, utc=utc, seconds=seconds)


def split_case_ref(text: str) -> tuple[str | None, str | None, str]:
    """``taobao/tmall-home/900…`` → its three parts; a bare id → ``(None, None, id)``."""
    parts = text.strip().split("/")
    if len(parts) == 1 and parts[0]:
        return None, None, parts[0]
    if len(parts) == 3 and all(parts):
        return parts[0], parts[1], parts[2]
    msg = f"{text!r} is not a case: write platform/shop/id (e.g. taobao/tmall-home/9001) or the id"
    raise CaseRefError(msg)


def matching_cases(store: Store, text: str) -> list[CaseRecord]:
    platform, shop_id, case_id = split_case_ref(text)
    found = store.find_cases(case_id)
    if platform is not None:
        found = [r for r in found if (r.platform, r.shop_id) == (platform, shop_id)]
    return found


def resolve_case(store: Store, text: str) -> CaseRecord:
    """The one case ``text`` names; a clear error naming the candidates otherwise."""
    found = matching_cases(store, text)
    if not found:
        msg = f"no case {text!r} in this state directory"
        raise CaseRefError(msg)
    if len(found) > 1:
        keys = ", ".join(f"{r.platform}/{r.shop_id}/{r.case_id}" for r in found)
        msg = f"case id {text!r} exists in several shops; name one: {keys}"
        raise CaseRefError(msg)
    return found[0]
