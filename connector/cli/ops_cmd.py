"""`refund-connector backup | effects | claims | tasks`: the operator's desk beside the daemon.

Listings open the store read-only. Every change (retry, cancel, marking claims exported) runs in
one store unit of work, which holds SQLite's write lock from ``BEGIN IMMEDIATE`` to commit, so
the daemon and the command line never interleave inside one audit-chained change. Changes name
the person (``--as``, audited as ``human:<NAME>``) and record the operating-system user too.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connector.audit import check_actor
from connector.backup import BackupError, backup_database
from connector.cli.audit_cmd import parse_since
from connector.cli.voice import CaseRefError, UtcOption, split_case_ref, when
from connector.clock import BEIJING, Clock, SystemClock
from connector.effects import EffectStatus
from connector.errors import StoreError
from connector.formatting import time_left, yuan
from connector.paths import StateDirOption, db_path, resolve_state_dir
from connector.store import (
    CarrierClaimRecord,
    EffectRecord,
    Store,
    TaskRecord,
    open_read_only_store,
    open_store,
)

CLOCK: Clock = SystemClock()
"""The commands' notion of now (time left, audit times); tests put a FakeClock here."""

effects_app = typer.Typer(
    help="The outbox of external writes: list, retry or cancel effects.", no_args_is_help=True
)
claims_app = typer.Typer(
    help="Claims against carriers for lost parcels: list and export for the desk.",
    no_args_is_help=True,
)
tasks_app = typer.Typer(
    help="Work waiting for a person, such as an SMS code the platform asks for.",
    no_args_is_help=True,
)

AsOption = Annotated[
    str,
    typer.Option("--as", help="Your name for the audit log (recorded as human:<NAME>)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON instead.")]
TABLE_EFFECTS = 100
"""A table shows this many effects unless --limit says otherwise."""
ALL_EFFECTS = 1_000_000
"""--json without --limit: every effect (the outbox is bounded by the cases it serves)."""


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.add_typer(effects_app, name="effects")
    app.add_typer(claims_app, name="claims")
    app.add_typer(tasks_app, name="tasks")


# plumbing --------------------------------------------------------------------------------------
def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _store(state_dir: Path | None, *, write: bool = False) -> Iterator[Store]:
    """The state directory's store; a missing database is an error, never silently created."""
    folder = resolve_state_dir(state_dir)
    try:
        if write:
            if not db_path(folder).is_file():
                msg = f"no connector database at {db_path(folder)} (wrong --state-dir?)"
                raise StoreError(msg)
            store = open_store(folder, clock=CLOCK)
        else:
            store = open_read_only_store(folder)
    except StoreError as exc:
        raise _fail(str(exc), 2) from exc
    try:
        yield store
    finally:
        store.close()


def os_user() -> str:
    """Who is logged in on this machine (recorded beside the name given with --as)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def human_actor(name: str) -> str:
    actor = f"human:{name.strip()}"
    try:
        return check_actor(actor)
    except StoreError as exc:
        msg = f"--as {name!r}: use letters, digits, '.', '_', '@' or '-' (up to 64 characters)"
        raise _fail(msg, 2) from exc


def _console() -> Console:
    return Console(soft_wrap=False, highlight=False)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A rich table that never squeezes a column away: on a narrow terminal lines run long.

    Free-text columns (``FLEXIBLE_COLUMNS``) are cut at 40 characters; ``--json`` has it all.
    """
    table = Table(title=title)
    for name in columns:
        if name in FLEXIBLE_COLUMNS:
            table.add_column(name, max_width=40, no_wrap=True, overflow="ellipsis")
        else:
            table.add_column(name, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console = _console()
    natural = console.measure(table, options=console.options.update_width(10_000)).maximum
    if natural > console.width:
        console = Console(soft_wrap=False, highlight=False, width=natural)
    console.print(table)


FLEXIBLE_COLUMNS = frozenset({"last error", "item", "details", "title"})


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True))


# time and money in the desk's terms (connector/formatting.py, via connector/cli/voice.py) -------
def plain_yuan(fen: int) -> str:
    """``1500.00``: the claim form's exact decimal text, no thousands separator (spreadsheets)."""
    return yuan(fen).replace(",", "")


def _when_with_left(value: datetime | None, now: datetime, utc: bool) -> str:
    if value is None:
        return "-"
    return f"{when(value, utc)} ({time_left(value, now)})"


# backup ----------------------------------------------------------------------------------------
def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the copy.", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
    state_dir: StateDirOption = None,
) -> None:
    """A consistent copy of connector.db, safe while the daemon runs, verified before use."""
    source = db_path(resolve_state_dir(state_dir))
    try:
        report = backup_database(source, file, overwrite=force)
    except BackupError as exc:
        raise _fail(f"backup failed: {exc}") from exc
    typer.echo(report.describe())


# effects ---------------------------------------------------------------------------------------
def effect_row(effect: EffectRecord) -> dict[str, Any]:
    """One effect as JSON (the stored record; times in UTC ISO)."""
    row: dict[str, Any] = effect.model_dump(mode="json")
    return row


@effects_app.command("list")
def effects_list(
    status: Annotated[
        EffectStatus | None, typer.Option("--status", help="Only effects in this status.")
    ] = None,
    case: Annotated[
        str | None,
        typer.Option(
            "--case", metavar="CASE", help="Only this case: platform/shop/id, or its bare id."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", min=1, help="At most this many (default: 100; --json: all)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every matching effect as JSON (no limit unless set).")
    ] = False,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Effects, newest first, with their next attempt (Beijing time; --utc) and the time left."""
    shown = limit if limit is not None else (ALL_EFFECTS if as_json else TABLE_EFFECTS)
    with _store(state_dir) as store:
        if case is None:
            effects = store.recent_effects(status=status, limit=shown + 1)
        else:
            try:
                platform, shop_id, case_id = split_case_ref(case)
            except CaseRefError as exc:
                raise _fail(str(exc), 2) from exc
            effects = [
                e
                for e in store.recent_effects(status=status, case_id=case_id, limit=ALL_EFFECTS)
                if platform is None or (e.platform, e.shop_id) == (platform, shop_id)
            ][: shown + 1]
    more = len(effects) > shown
    effects = effects[:shown]
    if as_json:
        _print_json([effect_row(e) for e in effects])
        if more:
            typer.echo(f"more than {shown} effects match; raise --limit to see them", err=True)
        return
    if not effects:
        typer.echo("no effects match", err=True)
        return
    now = CLOCK.now()
    zone = "UTC" if utc else "Beijing"
    print_table(
        f"effects ({len(effects)}{'+' if more else ''}, newest first"
        + ("; more: --limit N or --json for all" if more else "")
        + ")",
        (
            "id",
            "case",
            "kind",
            "status",
            "tries",
            f"next attempt ({zone})",
            "last error",
            "code",
        ),
        [
            (
                str(e.id),
                f"{e.platform}/{e.shop_id}/{e.case_id}",
                str(e.kind),
                str(e.status),
                str(e.attempts),
                _when_with_left(e.next_attempt_at, now, utc),
                e.last_error or "-",
                e.last_platform_code or "-",
            )
            for e in effects
        ],
    )


def _require_effect(store: Store, effect_id: int) -> EffectRecord:
    effect = store.get_effect(effect_id)
    if effect is None:
        raise _fail(f"no effect {effect_id} (see `refund-connector effects list`)")
    return effect


@effects_app.command("retry")
def effects_retry(
    effect_id: Annotated[int, typer.Argument(metavar="ID", help="Effect id.")],
    name: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "",
    state_dir: StateDirOption = None,
) -> None:
    """Send a failed or unknown effect again now (an unknown one is re-read first)."""
    actor = human_actor(name)
    with _store(state_dir, write=True) as store:
        before = _require_effect(store, effect_id)
        try:
            after = store.retry_effect(
                effect_id, actor=actor, reason=reason or None, details={"os_user": os_user()}
            )
        except StoreError as exc:
            raise _fail(str(exc)) from exc
    typer.echo(
        f"effect {after.id} ({after.kind}, case {after.case_id}): {before.status} -> "
        f"{after.status}, due now; audited as {actor}"
    )
    if before.status is EffectStatus.unknown:
        typer.echo("its outcome was unknown: the daemon re-reads the case before any resend")


@effects_app.command("cancel")
def effects_cancel(
    effect_id: Annotated[int, typer.Argument(metavar="ID", help="Effect id.")],
    name: AsOption,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")],
    state_dir: StateDirOption = None,
) -> None:
    """Never send this effect (pending, unknown or failed ones only)."""
    actor = human_actor(name)
    if not reason.strip():
        raise _fail("--reason must say why the effect is cancelled", 2)
    with _store(state_dir, write=True) as store:
        before = _require_effect(store, effect_id)
        try:
            after = store.cancel_effect(
                effect_id, actor=actor, reason=reason.strip(), details={"os_user": os_user()}
            )
        except StoreError as exc:
            raise _fail(str(exc)) from exc
    typer.echo(
        f"effect {after.id} ({after.kind}, case {after.case_id}): {before.status} -> "
        f"{after.status}; audited as {actor}"
    )
    if before.status is EffectStatus.unknown:
        typer.echo(
            "warning: its last attempt had no answer; check on the platform whether it applied",
            err=True,
        )


# carrier claims --------------------------------------------------------------------------------
class ClaimFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


CLAIM_COLUMNS = (
    "claim_id",
    "platform",
    "shop_id",
    "case_id",
    "order_id",
    "sku",
    "item_title",
    "quantity",
    "item_price_yuan",
    "claim_amount_yuan",
    "carrier",
    "waybill",
    "logistics_status",
    "created_at",
)
"""The claim form: amounts in yuan as exact decimal text, times in Beijing time with offset."""


def claim_form(claim: CarrierClaimRecord) -> dict[str, Any]:
    return {
        "claim_id": claim.id,
        "platform": claim.platform,
        "shop_id": claim.shop_id,
        "case_id": claim.case_id,
        "order_id": claim.order_id,
        "sku": claim.sku,
        "item_title": claim.item_title,
        "quantity": claim.quantity,
        "item_price_yuan": plain_yuan(claim.item_price),
        "claim_amount_yuan": plain_yuan(claim.claim_amount),
        "carrier": claim.carrier,
        "waybill": claim.waybill,
        "logistics_status": claim.logistics_status,
        "created_at": claim.created_at.astimezone(BEIJING).isoformat(timespec="seconds"),
    }


def render_claims(claims: Sequence[CarrierClaimRecord], fmt: ClaimFormat) -> str:
    out = io.StringIO()
    if fmt is ClaimFormat.jsonl:
        for claim in claims:
            out.write(json.dumps(claim_form(claim), ensure_ascii=False) + "\n")
        return out.getvalue()
    writer = csv.DictWriter(out, fieldnames=CLAIM_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for claim in claims:
        writer.writerow(claim_form(claim))
    return out.getvalue()


def _write_file(path: Path, text: str, *, encoding: str) -> None:
    """Temp file + rename: the export file is whole or absent."""
    folder = path.parent if str(path.parent) else Path()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _select_claims(
    store: Store, *, since: datetime | None, include_exported: bool
) -> list[CarrierClaimRecord]:
    return [
        c
        for c in store.list_carrier_claims()
        if (include_exported or c.exported_at is None) and (since is None or c.created_at >= since)
    ]


@claims_app.command("list")
def claims_list(
    not_exported: Annotated[
        bool, typer.Option("--not-exported", help="Only claims never exported.")
    ] = False,
    as_json: JsonOption = False,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Every carrier claim with its order, item, waybill and whether it was exported."""
    with _store(state_dir) as store:
        claims = _select_claims(store, since=None, include_exported=not not_exported)
    if as_json:
        _print_json(
            [
                {
                    **claim_form(c),
                    "item_price_fen": c.item_price,
                    "claim_amount_fen": c.claim_amount,
                    "status": c.status,
                    "exported_at": beijing_iso(c.exported_at),
                }
                for c in claims
            ]
        )
        return
    if not claims:
        typer.echo("no carrier claims", err=True)
        return
    print_table(
        f"carrier claims ({len(claims)}; amounts in yuan)",
        (
            "id",
            "case",
            "order",
            "item",
            "price",
            "claim",
            "carrier waybill",
            "logistics",
            f"created ({'UTC' if utc else 'Beijing'})",
            f"exported ({'UTC' if utc else 'Beijing'})",
        ),
        [
            (
                str(c.id),
                f"{c.platform}/{c.shop_id}/{c.case_id}",
                c.order_id,
                f"{c.sku} {c.item_title} x{c.quantity}",
                yuan(c.item_price),
                yuan(c.claim_amount),
                f"{c.carrier or '-'} {c.waybill or '-'}",
                c.logistics_status or "-",
                when(c.created_at, utc),
                when(c.exported_at, utc),
            )
            for c in claims
        ],
    )


def beijing_iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(BEIJING).isoformat(timespec="seconds")


@claims_app.command("export")
def claims_export(
    fmt: Annotated[ClaimFormat, typer.Option("--format", help="csv or jsonl.")] = ClaimFormat.csv,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="File (default stdout)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Claims created at or after: ISO date (UTC) or date-time with offset."
        ),
    ] = None,
    include_exported: Annotated[
        bool, typer.Option("--all", help="Include claims exported before (default: new only).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be exported; mark nothing.")
    ] = False,
    name: Annotated[
        str | None,
        typer.Option("--as", help="Your name for the audit log (default: the OS user)."),
    ] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Claims not yet exported as the desk's claim form; marks them exported (audited).

    The file is written inside the same write transaction that marks the claims, so a failed
    write marks nothing; a crash after the file is written re-exports those claims next time.
    CSV files carry a UTF-8 byte-order mark so spreadsheet programs read the Chinese titles.
    """
    start = parse_since(since) if since else None
    actor = None if dry_run else human_actor(name or os_user())
    encoding = "utf-8-sig" if fmt is ClaimFormat.csv else "utf-8"

    def emit(claims: Sequence[CarrierClaimRecord]) -> None:
        text = render_claims(claims, fmt)
        if output is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            _write_file(output, text, encoding=encoding)

    try:
        if actor is None:
            with _store(state_dir) as store:
                claims = _select_claims(store, since=start, include_exported=include_exported)
                emit(claims)
            typer.echo(f"{len(claims)} claims (dry run: nothing marked)", err=True)
            return
        with _store(state_dir, write=True) as store, store.unit_of_work():
            claims = _select_claims(store, since=start, include_exported=include_exported)
            emit(claims)
            if claims:
                store.mark_claims_exported(
                    [c.id for c in claims],
                    actor=actor,
                    details={
                        "os_user": os_user(),
                        "format": str(fmt),
                        "output": str(output) if output else "stdout",
                    },
                )
    except (StoreError, OSError) as exc:
        raise _fail(f"export failed, nothing marked: {exc}") from exc
    typer.echo(f"{len(claims)} claims exported and marked", err=True)


# tasks -----------------------------------------------------------------------------------------
def task_row(task: TaskRecord, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = task.model_dump(mode="json")
    row["seconds_left"] = (
        None if task.deadline_at is None else int((task.deadline_at - now).total_seconds())
    )
    return row


@tasks_app.command("list")
def tasks_list(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind, e.g. sms_code.")] = (
        None
    ),
    as_json: JsonOption = False,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Open tasks for people, soonest deadline first, with the time left."""
    with _store(state_dir) as store:
        tasks = store.open_tasks(kind)
    now = CLOCK.now()
    if as_json:
        _print_json([task_row(t, now) for t in tasks])
        return
    if not tasks:
        typer.echo("no open tasks", err=True)
        return
    print_table(
        f"open tasks ({len(tasks)})",
        ("id", "kind", "case", f"deadline ({'UTC' if utc else 'Beijing'})", "time left", "details"),
        [
            (
                str(t.id),
                t.kind,
                f"{t.platform}/{t.shop_id}/{t.case_id}",
                when(t.deadline_at, utc),
                time_left(t.deadline_at, now),
                ", ".join(f"{k}={v}" for k, v in sorted(t.details.items())) or "-",
            )
            for t in tasks
        ],
    )
