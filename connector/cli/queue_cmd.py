"""`queue list|show|decide`: the reviewers' desk on the command line (the console has the same)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connector.cli import ops_cmd
from connector.clock import BEIJING
from connector.errors import ConnectorError
from connector.paths import StateDirOption
from connector.review import (
    CaseChangedError,
    ReviewAction,
    Reviewer,
    claim,
    complete_task_with_code,
    decide_by_person,
    find_case,
    review_queue,
)

queue_app = typer.Typer(name="queue", help="Cases waiting for a person.", no_args_is_help=True)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app, name="queue")
    ops_cmd.tasks_app.command("complete")(tasks_complete)


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "no deadline"
    if seconds < 0:
        return f"overdue {int(-seconds // 60)}m"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _bj(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(BEIJING).strftime("%m-%d %H:%M")


@queue_app.command("list")
def list_queue(state_dir: StateDirOption = None) -> None:
    """Queued cases, most urgent first, with why each was queued (times in Beijing time)."""
    with ops_cmd._store(state_dir) as store:
        items = review_queue(store, ops_cmd.CLOCK.now())
    table = Table(title=f"review queue: {len(items)} case(s)", header_style="bold")
    for column in (
        "case",
        "shop",
        "type / reason",
        "asks (fen)",
        "deadline UTC+8",
        "left",
        "why queued",
        "claimed by",
    ):
        table.add_column(column, overflow="fold")
    for item in items:
        r = item.record
        table.add_row(
            r.case_id,
            f"{r.platform}/{r.shop_id}",
            f"{r.case.type.value} / {r.case.reason.value}",
            str(r.case.refund_amount),
            _bj(r.deadline_at),
            _left(item.seconds_left),
            item.reason,
            r.claimed_by or "",
        )
    console.print(table)


@queue_app.command("show")
def show(
    case_id: str,
    as_: Annotated[
        str | None, typer.Option("--as", help="Claim the case as this reviewer.")
    ] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Facts, buyer evidence, logistics, the policy's trace and the audit history of a case."""
    with ops_cmd._store(state_dir, write=as_ is not None) as store:
        try:
            record = find_case(store, case_id)
            if as_ is not None:
                claim(store, record, Reviewer.current(as_), ops_cmd.CLOCK.now())
        except ConnectorError as exc:
            raise ops_cmd._fail(str(exc)) from exc
        case = record.case
        console.print(
            f"[bold]case {record.platform}/{record.shop_id}/{record.case_id}[/bold]"
            f"  order {record.order_id}  version {record.version}"
        )
        console.print(f"  {case.type.value} / {case.reason.value}  {case.reason_text!r}")
        console.print(
            f"  status {case.status.value}, order {case.order_status.value}, "
            f"asks {case.refund_amount} of {case.paid_amount} fen"
        )
        console.print(
            f"  deadline {_bj(record.deadline_at)} UTC+8, connector state {record.state.value}"
        )
        console.print(f"  item {case.item.sku} {case.item.title} x{case.item.quantity}")
        evidence = ", ".join(f"{e.kind.value}:{e.url}" for e in case.evidence) or "none"
        console.print(f"  buyer evidence: {evidence}")
        for name, parcel in (("parcel", case.logistics), ("return", case.return_logistics)):
            if parcel is not None:
                console.print(f"  {name}: {parcel.carrier} {parcel.waybill} {parcel.status.value}")
        if case.inspection is not None:
            console.print(
                f"  inspection: resellable={case.inspection.resellable} {case.inspection.note}"
            )
        decision = store.latest_decision(record.key)
        if decision is not None:
            console.print(
                f"[bold]policy[/bold] {decision.action} by {decision.rule_id} "
                f"(policy {decision.policy_version})"
            )
            for step in decision.trace:
                if isinstance(step, dict):
                    console.print(f"    {step.get('text_en') or step}")
                else:
                    console.print(f"    {step}")
        console.print("[bold]audit history[/bold]")
        for entry in store.audit_entries(case_id=record.case_id):
            console.print(f"  #{entry.seq} {entry.at} {entry.actor} {entry.event}")


def decide(
    case_id: str,
    action: Annotated[ReviewAction, typer.Argument(help="What to do.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown to the buyer on reject).")],
    as_: Annotated[str, typer.Option("--as", help="Your reviewer name.")],
    amount: Annotated[int | None, typer.Option("--amount", help="Refund in fen.")] = None,
    evidence: Annotated[
        Path | None, typer.Option("--evidence", help="PNG/JPEG/GIF proof for a rejection.")
    ] = None,
    seen_version: Annotated[
        str | None, typer.Option("--seen-version", help="The version you looked at.")
    ] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Decide a queued case; it goes through the outbox with the version you saw."""
    data = evidence.read_bytes() if evidence is not None else None
    reviewer = Reviewer.current(as_)
    with ops_cmd._store(state_dir, write=True) as store:
        try:
            record = find_case(store, case_id)
            decision_id = decide_by_person(
                store,
                record,
                action,
                reviewer=reviewer,
                reason=reason,
                now=ops_cmd.CLOCK.now(),
                amount=amount,
                evidence=data,
                seen_version=seen_version,
            )
        except CaseChangedError as exc:
            raise ops_cmd._fail(str(exc), 3) from exc
        except ConnectorError as exc:
            raise ops_cmd._fail(str(exc)) from exc
    console.print(
        f"decision {decision_id} recorded for {case_id}: {action.value} by "
        f"{reviewer.name} (os user {reviewer.os_user}); the daemon sends it"
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
