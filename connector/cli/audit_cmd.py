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


# rendering ------------------------------------------------------------------------------------
def _yuan(fen: Any) -> str:
    if not isinstance(fen, int):
        return "?"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _when(text: Any) -> str:
    if not isinstance(text, str):
        return "-"
    try:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return text


def _pairs(details: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{k}={v}" for k, v in details.items() if k not in skip and v is not None)


def _attempt_line(d: dict[str, Any]) -> str:
    parts = [f"{d.get('kind', 'effect')} #{d.get('effect_id', '?')}"]
    parts.append(f"attempt {d.get('attempt', '?')}: {d.get('outcome', '?')}")
    if d.get("platform_code"):
        parts.append(f"code {d['platform_code']}")
    if d.get("latency_ms") is not None:
        parts.append(f"{d['latency_ms']} ms")
    if d.get("error"):
        parts.append(f"error: {d['error']}")
    if d.get("next_attempt_at"):
        parts.append(f"next try {_when(d['next_attempt_at'])}")
    return ", ".join(parts)


def describe(entry: AuditEntry) -> list[str]:
    """One entry in plain words: a summary line, then indented detail lines (e.g. the trace)."""
    d = entry.details
    event = entry.event
    if event == "case_seen":
        return [
            f"first seen: {d.get('type')} / {d.get('reason')}, status {d.get('status')}, "
            f"version {d.get('version')}, asks {_yuan(d.get('refund_amount'))} of "
            f"{_yuan(d.get('paid_amount'))} CNY, deadline {_when(d.get('deadline_at'))}"
        ]
    if event == "case_changed":
        if not d.get("facts_changed"):
            return [f"version {d.get('previous_version')} -> {d.get('version')} (no fact changed)"]
        fields = ", ".join(d.get("changed_fields") or []) or "-"
        status = (
            f"status {d.get('previous_status')} -> {d.get('status')}"
            if d.get("previous_status") != d.get("status")
            else f"status {d.get('status')}"
        )
        return [
            f"changed at version {d.get('version')} (was {d.get('previous_version')}): {fields}; "
            f"{status}, deadline {_when(d.get('deadline_at'))}"
        ]
    if event == "decided":
        lines = [
            f"decided {d.get('action')} by rule {d.get('rule_id')} "
            f"(policy {d.get('policy_version')}, on version {d.get('decided_version')})"
        ]
        if d.get("params"):
            lines.append(f"  params: {_pairs(d['params'])}")
        if d.get("effects"):
            lines.append(f"  effects: {', '.join(d['effects'])}")
        lines.extend(f"  trace: {line}" for line in _trace_lines(d.get("trace")))
        return lines
    if event in {"effect_attempt", "effect_done", "effect_failed"}:
        return [_attempt_line(d)]
    if event in {"effect_superseded", "effect_cancelled", "effect_requeued"}:
        verb = event.removeprefix("effect_")
        return [f"{d.get('kind')} #{d.get('effect_id')} {verb}: {_pairs(d, ('kind', 'effect_id'))}"]
    if event == "quarantined":
        problems = d.get("problems") or []
        return ["quarantined:"] + [f"  {p.get('field')}: {p.get('reason')}" for p in problems]
    if event == "case_state":
        return [
            f"state {d.get('previous_state')} -> {d.get('state')}"
            + (f": {d['reason']}" if d.get("reason") else "")
        ]
    return [_pairs(d) or "-"]


def _trace_step(step: Any) -> str:
    """A policy trace step (plain text, or the policy engine's structured step) as one line."""
    if isinstance(step, str):
        return step
    if not isinstance(step, dict):
        return json.dumps(step, ensure_ascii=False)
    kind = step.get("kind")
    if kind == "condition":
        verdict = "passed" if step.get("passed") else "failed"
        return (
            f"{step.get('rule_id')}: {step.get('field')} {step.get('op')} {step.get('expected')}"
            f" (actual {step.get('actual')}) {verdict}"
        )
    if kind == "rule":
        return f"rule {step.get('rule_id')} matched: {step.get('description', '')}"
    if kind == "guard":
        return (
            f"deadline guard {step.get('step')}: {step.get('seconds_left')} s left, "
            f"{step.get('before')} -> {step.get('after')}"
        )
    if kind == "no_match":
        return f"no rule matched ({step.get('rules_checked')} checked)"
    return json.dumps(step, ensure_ascii=False, sort_keys=True)


def _trace_lines(trace: Any) -> list[str]:
    if not trace:
        return []
    steps = trace if isinstance(trace, list) else [trace]
    return [_trace_step(step) for step in steps]


def format_entry(entry: AuditEntry) -> str:
    head, *rest = describe(entry)
    first = f"{_when(entry.at)}  #{entry.seq:<6} {entry.actor:<14} {entry.event:<18} {head}"
    where = ""
    if entry.case_id:
        where = f"  [{entry.platform}/{entry.shop_id}/{entry.case_id}]"
    return "\n".join([first + where, *(" " * 24 + line for line in rest)])


def _case_header(record: CaseRecord) -> list[str]:
    case = record.case
    return [
        f"case {record.platform}/{record.shop_id}/{record.case_id} (order {record.order_id})",
        f"  now: platform status {record.status}, connector state {record.state}, "
        f"version {record.version}",
        f"  {case.type} / {case.reason}, asks {_yuan(case.refund_amount)} of "
        f"{_yuan(case.paid_amount)} CNY",
        f"  deadline {_when(record.deadline_at and record.deadline_at.isoformat())}, "
        f"guard {_when(record.guard_at and record.guard_at.isoformat())}",
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
    case_id: Annotated[str, typer.Argument(help="The platform's case (refund) id.")],
    state_dir: StateDirOption = None,
) -> None:
    """The whole story of one case: seen, changes, decisions with trace, effects, escalations."""
    store = _open(state_dir)
    try:
        records = store.find_cases(case_id)
        entries = list(store.audit_entries(case_id=case_id))
    finally:
        store.close()
    if not records and not entries:
        typer.echo(f"no case {case_id!r} in the audit log", err=True)
        raise typer.Exit(1)
    for record in records:
        typer.echo("\n".join(_case_header(record)))
    typer.echo("")
    for entry in entries:
        typer.echo(format_entry(entry))


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
    state_dir: StateDirOption = None,
) -> None:
    """The last entries of the log, optionally following new ones."""
    store = _open(state_dir)
    try:
        head = store.audit_head()
        last = head.seq if head else 0
        for entry in store.audit_entries(after_seq=max(0, last - lines)):
            typer.echo(format_entry(entry))
            last = entry.seq
        if follow:
            stop = threading.Event()
            try:
                for entry in follow_entries(store, last, wait=stop.wait, interval=interval):
                    typer.echo(format_entry(entry))
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
