"""`refund-connector audit …`: check the hash chain, tell one case's story, tail and export.

Every command opens the store read-only: inspecting the log never writes to it.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, TextIO

import typer

from connector.audit import AuditEntry, verify_chain
from connector.audit_render import format_entry, money
from connector.cli.voice import (
    CaseArgument,
    CaseRefError,
    UtcOption,
    matching_cases,
    split_case_ref,
    when,
)
from connector.errors import StoreError
from connector.paths import StateDirOption, resolve_state_dir
from connector.store import CaseRecord, Store, open_read_only_store

audit_app = typer.Typer(
    help="Inspect the append-only, hash-chained audit log.", no_args_is_help=True
)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "event",
    "platform",
    "shop_id",
    "case_id",
    "details",
    "prev_hash",
    "hash",
)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")


def _open(state_dir: Any) -> Store:
    try:
        return open_read_only_store(resolve_state_dir(state_dir))
    except StoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


# rendering: one renderer for the CLI and the console (connector/audit_render.py) -----------------
def _case_header(record: CaseRecord, *, utc: bool) -> list[str]:
    case = record.case
    return [
        f"case {record.platform}/{record.shop_id}/{record.case_id} (order {record.order_id})",
        f"  now: platform status {record.status}, connector state {record.state}, "
        f"version {record.version}",
        f"  {case.type} / {case.reason}, asks {money(case.refund_amount)} of "
        f"{money(case.paid_amount)} paid",
        f"  deadline {when(record.deadline_at, utc)}, guard {when(record.guard_at, utc)}",
    ]


# commands -------------------------------------------------------------------------------------
@audit_app.command("verify")
def verify(state_dir: StateDirOption = None) -> None:
    """Recompute the hash chain; exit 1 naming the first broken entry."""
    store = _open(state_dir)
    try:
        report = verify_chain(store.audit_entries(), store.audit_head())
    finally:
        store.close()
    if report.intact:
        typer.echo(report.describe())
        return
    typer.echo(report.describe(), err=True)
    raise typer.Exit(1)


@audit_app.command("show")
def show(
    case: CaseArgument,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """The whole story of one case: seen, changes, decisions with trace, effects, escalations."""
    store = _open(state_dir)
    try:
        try:
            platform, shop_id, case_id = split_case_ref(case)
        except CaseRefError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        records = matching_cases(store, case)
        entries = [
            e
            for e in store.audit_entries(case_id=case_id)
            if platform is None or (e.platform, e.shop_id) == (platform, shop_id)
        ]
    finally:
        store.close()
    if not records and not entries:
        typer.echo(f"no case {case!r} in the audit log", err=True)
        raise typer.Exit(1)
    shops = {(e.platform, e.shop_id) for e in entries} | {(r.platform, r.shop_id) for r in records}
    if len(shops) > 1:
        keys = ", ".join(f"{p}/{s}/{case_id}" for p, s in sorted(shops, key=str))
        typer.echo(f"case id {case!r} exists in several shops; showing all: {keys}", err=True)
    for record in records:
        typer.echo("\n".join(_case_header(record, utc=utc)))
    typer.echo("")
    for entry in entries:
        typer.echo(format_entry(entry, utc=utc))


def follow_entries(
    store: Store,
    after_seq: int,
    *,
    wait: Callable[[float], bool],
    interval: float = 1.0,
) -> Iterator[AuditEntry]:
    """New entries as they are committed; polls every ``interval`` until ``wait`` returns true."""
    last = after_seq
    while True:
        for entry in store.audit_entries(after_seq=last):
            last = entry.seq
            yield entry
        if wait(interval):
            return


@audit_app.command("tail")
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=0, help="Entries to show.")] = 20,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new entries (Ctrl-C stops).")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between polls with --follow.")
    ] = 1.0,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """The last entries of the log, optionally following new ones."""
    store = _open(state_dir)
    try:
        head = store.audit_head()
        last = head.seq if head else 0
        for entry in store.audit_entries(after_seq=max(0, last - lines)):
            typer.echo(format_entry(entry, utc=utc))
            last = entry.seq
        if follow:
            stop = threading.Event()
            try:
                for entry in follow_entries(store, last, wait=stop.wait, interval=interval):
                    typer.echo(format_entry(entry, utc=utc))
            except KeyboardInterrupt:
                stop.set()
    finally:
        store.close()


def parse_since(text: str) -> datetime:
    """An ISO date (UTC midnight) or a date-time with offset; a naive time is refused."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"--since {text!r} is not an ISO date or date-time"
        raise typer.BadParameter(msg) from exc
    if value.tzinfo is None:
        msg = f"--since {text!r} needs a UTC offset, e.g. {text}+08:00 or {text}Z"
        raise typer.BadParameter(msg)
    return value


def write_export(entries: Iterator[AuditEntry], fmt: ExportFormat, out: TextIO) -> int:
    count = 0
    if fmt is ExportFormat.jsonl:
        for entry in entries:
            out.write(entry.model_dump_json() + "\n")
            count += 1
        return count
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for entry in entries:
        row = entry.model_dump()
        row["details"] = json.dumps(entry.details, ensure_ascii=False, sort_keys=True)
        writer.writerow([row[c] for c in EXPORT_COLUMNS])
        count += 1
    return count


@audit_app.command("export")
def export(
    since: Annotated[
        str | None, typer.Option("--since", help="ISO date or date-time with offset.")
    ] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv.")] = (
        ExportFormat.jsonl
    ),
    output: Annotated[
        typer.FileTextWrite | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Entries at or after a time, as JSON lines or CSV (details as a JSON column)."""
    start = parse_since(since) if since else None
    if output is not None and getattr(output, "name", "-") not in ("-", "<stdout>"):
        output.write("")  # opens click's lazy file, so it can be made owner-only before any data
        if os.path.isfile(output.name):  # buyer data: 0600 whatever the umask (issue 14)
            os.chmod(output.name, 0o600)
    store = _open(state_dir)
    try:
        count = write_export(store.audit_entries(since=start), fmt, output or sys.stdout)
    finally:
        store.close()
    typer.echo(f"{count} entries exported", err=True)
