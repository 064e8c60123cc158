"""`queue list|show|decide`: the reviewers' desk on the command line (the console has the same)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connector.audit_render import format_entry, money, trace_lines
from connector.cli import ops_cmd
from connector.cli.voice import CaseArgument, UtcOption, resolve_case, when
from connector.errors import AmountError, ConnectorError
from connector.formatting import parse_yuan, time_left, yuan
from connector.paths import StateDirOption
from connector.review import (
    CaseChangedError,
    QueueItem,
    ReviewAction,
    Reviewer,
    claim,
    complete_task_with_code,
    decide_by_person,
    review_queue,
)

queue_app = typer.Typer(name="queue", help="Cases waiting for a person.", no_args_is_help=True)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
    ops_cmd.tasks_app.command("complete")(tasks_complete)


def _row_json(item: QueueItem) -> dict[str, Any]:
    r = item.record
    return {
        "case": f"{r.platform}/{r.shop_id}/{r.case_id}",
        "platform": r.platform,
        "shop_id": r.shop_id,
        "case_id": r.case_id,
        "type": r.case.type.value,
        "reason": r.case.reason.value,
        "refund_amount_fen": r.case.refund_amount,
        "paid_amount_fen": r.case.paid_amount,
        "deadline_at": r.deadline_at.isoformat() if r.deadline_at else None,
        "seconds_left": item.seconds_left,
        "why_queued": item.reason,
        "claimed_by": r.claimed_by,
    }


@queue_app.command("list")
def list_queue(
    utc: UtcOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every queued case as JSON (amounts in fen).")
    ] = False,
    state_dir: StateDirOption = None,
) -> None:
    """Queued cases, most urgent first, with why each was queued (Beijing time; --utc)."""
    with ops_cmd._store(state_dir) as store:
        now = ops_cmd.CLOCK.now()
        items = review_queue(store, now)
    if as_json:
        typer.echo(json.dumps([_row_json(i) for i in items], ensure_ascii=False, indent=2))
        return
    zone = "UTC" if utc else "Beijing"
    table = Table(title=f"review queue: {len(items)} case(s)", header_style="bold")
    for column in (
        "case",
        "type / reason",
        "asks (yuan)",
        f"deadline ({zone})",
        "left",
        "why queued",
        "claimed by",
    ):
        table.add_column(column, overflow="fold")
    for item in items:
        r = item.record
        table.add_row(
            f"{r.platform}/{r.shop_id}/{r.case_id}",
            f"{r.case.type.value} / {r.case.reason.value}",
            yuan(r.case.refund_amount),
            when(r.deadline_at, utc, seconds=False),
            time_left(r.deadline_at, now) if r.deadline_at else "no deadline",
            item.reason,
            r.claimed_by or "",
        )
    console.print(table)
    if items:
        console.print(
            "Open one with: refund-connector queue show CASE (the key in the first column)",
            soft_wrap=True,
            highlight=False,
        )


@queue_app.command("show")
def show(
    case: CaseArgument,
    as_: Annotated[
        str | None, typer.Option("--as", help="Claim the case as this reviewer.")
    ] = None,
    utc: UtcOption = False,
    state_dir: StateDirOption = None,
) -> None:
    """Facts, buyer evidence, logistics with its tracking steps, the chat record, the policy's
    trace and the audit history of a case."""
    with ops_cmd._store(state_dir, write=as_ is not None) as store:
        try:
            record = resolve_case(store, case)
            if as_ is not None:
                claim(store, record, Reviewer.current(as_), ops_cmd.CLOCK.now())
        except ConnectorError as exc:
            raise ops_cmd._fail(str(exc)) from exc
        c = record.case
        out = Console(highlight=False, soft_wrap=True)
        out.print(
            f"[bold]case {record.platform}/{record.shop_id}/{record.case_id}[/bold]"
            f"  order {record.order_id}  version {record.version}"
        )
        out.print(f"  {c.type.value} / {c.reason.value}  {c.reason_text!r}", markup=False)
        out.print(
            f"  status {c.status.value}, order {c.order_status.value}, "
            f"asks {money(c.refund_amount)} of {money(c.paid_amount)} paid"
        )
        left = time_left(record.deadline_at, ops_cmd.CLOCK.now())
        out.print(
            f"  deadline {when(record.deadline_at, utc)} ({left}), "
            f"connector state {record.state.value}"
        )
        out.print(f"  item {c.item.sku} {c.item.title} x{c.item.quantity}", markup=False)
        evidence = ", ".join(f"{e.kind.value}:{e.url}" for e in c.evidence) or "none"
        out.print(f"  buyer evidence: {evidence}", markup=False)
        parcels = (
            ("parcel", c.logistics, c.logistics_steps),
            ("return", c.return_logistics, c.return_logistics_steps),
        )
        for name, parcel, steps in parcels:
            if parcel is not None:
                out.print(f"  {name}: {parcel.carrier} {parcel.waybill} {parcel.status.value}")
                for step in steps:
                    out.print(f"    {when(step.at, utc)}  {step.description}", markup=False)
        if c.chat:
            out.print("  chat:")
        for message in c.chat:
            pictures = f" [{message.pictures} picture(s)]" if message.pictures else ""
            out.print(
                f"    {when(message.at, utc)}  {message.role.value}: {message.text}{pictures}",
                markup=False,
            )
        if c.inspection is not None:
            out.print(f"  inspection: resellable={c.inspection.resellable} {c.inspection.note}")
        decision = store.latest_decision(record.key)
        if decision is not None:
            out.print(
                f"[bold]policy[/bold] {decision.action} by {decision.rule_id} "
                f"(policy {decision.policy_version})"
            )
            for line in trace_lines(decision.trace):
                out.print(f"    {line}", markup=False)
        out.print("[bold]audit history[/bold]")
        for entry in store.audit_entries(case_id=record.case_id):
            if (entry.platform, entry.shop_id) == (record.platform, record.shop_id):
                out.print(format_entry(entry, utc=utc), markup=False)


def decide(
    case: CaseArgument,
    action: Annotated[ReviewAction, typer.Argument(help="What to do.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the buyer on reject).")],
    as_: Annotated[str, typer.Option("--as", help="Your reviewer name.")],
    amount: Annotated[
        str | None,
        typer.Option("--amount", help="Refund in yuan, e.g. 59 or 1,299.50 (default: asked)."),
    ] = None,
    evidence: Annotated[
        Path | None, typer.Option("--evidence", help="PNG/JPEG/GIF proof for a rejection.")
    ] = None,
    seen_version: Annotated[
        str | None, typer.Option("--seen-version", help="The version you looked at.")
    ] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Decide a queued case; it goes through the outbox with the version you saw."""
    try:
        amount_fen = parse_yuan(amount) if amount is not None else None
    except AmountError as exc:
        raise ops_cmd._fail(f"--amount: {exc}", 2) from exc
    data = evidence.read_bytes() if evidence is not None else None
    reviewer = Reviewer.current(as_)
    with ops_cmd._store(state_dir, write=True) as store:
        try:
            record = resolve_case(store, case)
            decision_id = decide_by_person(
                store,
                record,
                action,
                reviewer=reviewer,
                reason=reason,
                now=ops_cmd.CLOCK.now(),
                amount=amount_fen,
                evidence=data,
                seen_version=seen_version,
            )
        except CaseChangedError as exc:
            raise ops_cmd._fail(str(exc), 3) from exc
        except ConnectorError as exc:
            raise ops_cmd._fail(str(exc)) from exc
    console.print(
        f"decision {decision_id} recorded for {record.platform}/{record.shop_id}/"
        f"{record.case_id}: {action.value}"
        + (f" {money(amount_fen)}" if amount_fen is not None else "")
        + f" by {reviewer.name} (os user {reviewer.os_user}); the daemon sends it",
        soft_wrap=True,
        highlight=False,
    )


queue_app.command("decide")(decide)


def tasks_complete(
    task_id: int,
    code: Annotated[str, typer.Option("--code", help="The SMS code the platform sent.")],
    as_: Annotated[str, typer.Option("--as", help="Your name.")],
    state_dir: StateDirOption = None,
) -> None:
    """Enter the platform's SMS code: the original write is sent again with it, once."""
    with ops_cmd._store(state_dir, write=True) as store:
        try:
            effect_id = complete_task_with_code(
                store, task_id, code, reviewer=Reviewer.current(as_)
            )
        except ConnectorError as exc:
            raise ops_cmd._fail(str(exc)) from exc
    console.print(f"task {task_id} done; effect {effect_id} goes again with the code")
