"""`refund-connector policy …`: check, test and explain a policy; install it, keep its history,
backtest and shadow a candidate before it goes live (docs/policy.md, "Changing the policy safely").

The commands are thin: loading, deciding and comparing live in ``connector.policy``. Bad input
(a broken policy, an unreadable casebook line, a malformed case) is reported in plain words with
exit code 1, never as a traceback. Only this CLI may read the wall clock (``explain`` without
``--now``); ``decide`` itself never does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.cli.voice import UtcOption, when
from connector.clock import Clock, SystemClock
from connector.errors import PolicyError, StoreError
from connector.models import QuarantinedCase, parse_case
from connector.paths import StateDirOption, db_path, resolve_state_dir
from connector.policy import (
    Decision,
    Policy,
    decide,
    decide_quarantined,
    find_unreachable_rules,
    history,
    load_policy,
)
from connector.policy.casebook import (
    CaseResult,
    compare,
    load_casebook,
    read_casebook,
    run_casebook,
)

policy_app = typer.Typer(
    name="policy",
    help="Check, test and explain refund policies.",
    no_args_is_help=True,
)

PolicyOption = Annotated[
    Path | None,
    typer.Option("--policy", "-p", help="Policy TOML file (default: the bundled default policy)."),
]


def _console() -> Console:
    return Console(soft_wrap=False, width=max(Console().width, 120), highlight=False)


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code=1)


def _load(path: Path | None) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


@policy_app.command("check")
def check(
    policy_file: Annotated[
        Path | None,
        typer.Argument(metavar="[POLICY]", help="Policy TOML file (default: the bundled one)."),
    ] = None,
) -> None:
    """Validate a policy; warn about rules that can never match. Exit 1 on errors."""
    policy = _load(policy_file)
    warnings = [str(w) for w in find_unreachable_rules(policy)]
    warnings += [
        f"threshold {name!r} is defined but no rule uses it" for name in policy.unused_thresholds
    ]
    for warning in warnings:
        typer.echo(f"warning: {warning}")
    typer.echo(
        f"OK: policy {policy.name!r} from {policy.source}: {len(policy.rules)} rules,"
        f" version {policy.version}, {len(warnings)} warning(s)"
    )


def _compact(view: dict[str, Any] | None, keys: list[str] | None = None) -> str:
    """A decision view on one line, showing only ``keys`` (default: those that are set)."""
    if view is None:
        return "-"
    shown = keys if keys is not None else [k for k, v in view.items() if v not in (None, False, [])]
    parts = [str(view.get("action", "?"))] if "action" in shown else []
    for key in shown:
        if key == "action":
            continue
        value = view.get(key)
        rendered = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        parts.append(f"{key}={rendered}")
    return " ".join(parts)


def _table(results: tuple[CaseResult, ...]) -> Table:
    table = Table(title="casebook results", show_lines=False)
    for name in ("id", "expected", "got", "rule", "ok"):
        table.add_column(name, overflow="fold")
    for result in results:
        keys = list(result.expected) if result.expected else None
        got = _compact(result.got, keys) if result.got is not None else "(unreadable)"
        table.add_row(
            Text(result.id),
            Text(_compact(result.expected)),
            Text(got),
            Text(result.rule or ("(quarantine)" if result.decision else "-")),
            Text("ok", style="green") if result.ok else Text("FAIL", style="bold red"),
        )
    return table


@policy_app.command("test")
def run_policy_test(
    casebook: Annotated[
        Path | None,
        typer.Argument(
            metavar="[CASEBOOK.jsonl]", help="Casebook JSON lines (default: the bundled one)."
        ),
    ] = None,
    policy_file: PolicyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Decide every casebook line at its `now`, compare with its `expect`; exit 0 if all match."""
    policy = _load(policy_file)
    try:
        label, text = load_casebook(casebook)
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read casebook {casebook}: {exc}") from None
    report = run_casebook(read_casebook(text), policy)
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False) + "\n")
    else:
        console = _console()
        console.print(f"casebook {label}, policy {policy.name!r} ({policy.version})")
        console.print(_table(report.results))
        notes = [r for r in report.results if r.problem or r.mismatches]
        if notes:
            console.print("details:")
        for r in notes:
            for line in ([r.problem] if r.problem else []) + [
                f"line {r.line} ({r.id}): {m}" for m in r.mismatches
            ]:
                console.print(Text(f"  {line}"), soft_wrap=True)
        typer.echo(f"{report.passed}/{report.total} cases match")
    if report.passed != report.total or report.total == 0:
        raise typer.Exit(code=1)


def _parse_now(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(f"--now {text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        raise _fail(f"--now {text!r} needs a UTC offset, e.g. 2026-11-12T10:00:00+08:00")
    return value


def _print_decision(decision: Decision, expect: dict[str, Any] | None, utc: bool = False) -> None:
    console = _console()
    console.print(Text(f"decision: {decision.summary('en')}"))
    console.print(Text(f"决定：{decision.summary('zh')}"))
    console.print(
        Text(
            f"rule: {decision.rule_id or '-'}   guard: {decision.guard or '-'}"
            f"   now: {when(decision.decided_at, utc)}   policy: {decision.policy_version}"
        )
    )
    typer.echo("trace (English):")
    for line in decision.trace_lines("en"):
        typer.echo(f"  {line}")
    typer.echo("过程（中文）：")
    for line in decision.trace_lines("zh"):
        typer.echo(f"  {line}")
    if expect is not None:
        mismatches = compare(expect, decision.expect_view())
        verdict = "matches" if not mismatches else "DOES NOT match: " + "; ".join(mismatches)
        console.print(Text(f"casebook expect {json.dumps(expect, ensure_ascii=False)} {verdict}"))


@policy_app.command("explain")
def explain(
    case_file: Annotated[
        Path, typer.Argument(metavar="CASE.json", help="A bare case or a casebook line.")
    ],
    now: Annotated[
        str | None,
        typer.Option(
            help="Decision time, ISO 8601 with offset (default: the line's now, else now)."
        ),
    ] = None,
    policy_file: PolicyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Decision as JSON.")] = False,
    utc: UtcOption = False,
) -> None:
    """Decide one case and print the decision with its full trace, in English and Chinese."""
    policy = _load(policy_file)
    try:
        data = json.loads(case_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"cannot read {case_file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _fail(f"{case_file} is not JSON: {exc.msg} (line {exc.lineno})") from None
    expect: dict[str, Any] | None = None
    line_now: str | None = None
    raw_case: Any = data
    if isinstance(data, dict) and "case" in data:
        raw_case = data["case"]
        expect = data.get("expect") if isinstance(data.get("expect"), dict) else None
        line_now = data.get("now") if isinstance(data.get("now"), str) else None
    moment_text = now or line_now
    moment = _parse_now(moment_text) if moment_text else datetime.now(UTC)
    parsed = parse_case(raw_case)
    if isinstance(parsed, QuarantinedCase):
        decision = decide_quarantined(parsed, policy, moment)
    else:
        decision = decide(parsed, policy, moment)
    if as_json:
        sys.stdout.write(decision.model_dump_json(indent=2) + "\n")
        return
    _print_decision(decision, expect, utc)


# history and installs (issue 20) --------------------------------------------------------------
CLOCK: Clock = SystemClock()

AsOption = Annotated[
    str, typer.Option("--as", help="Your name for the audit log (recorded as human:<NAME>).")
]
ShopOption = Annotated[
    str | None, typer.Option("--shop", help="One shop id (default: every shop).")
]


@contextmanager
def state_store(state_dir: Path | None, *, write: bool = False) -> Iterator[Any]:
    """The state directory's store; a missing database is an error, never silently created."""
    from connector.store import open_read_only_store, open_store

    folder = resolve_state_dir(state_dir)
    if not db_path(folder).is_file():
        raise _fail(f"error: no connector database at {db_path(folder)} (wrong --state-dir?)")
    try:
        store = open_store(folder, clock=CLOCK) if write else open_read_only_store(folder)
    except StoreError as exc:
        raise _fail(f"error: {exc}") from None
    try:
        yield store
    finally:
        store.close()


def person(name: str) -> str:
    """``--as NAME`` as an audit actor, or a clear error."""
    from connector.audit import check_actor

    try:
        return check_actor(f"human:{name.strip()}")
    except StoreError:
        raise _fail(
            f"error: --as {name!r}: use letters, digits, '.', '_', '@' or '-' (up to 64)"
        ) from None


def checked_policy(policy_file: Path) -> Policy:
    """Load and check like ``policy check``; print its warnings; exit 1 on errors."""
    policy = _load(policy_file)
    for warning in find_unreachable_rules(policy):
        typer.echo(f"warning: {warning}")
    for name in policy.unused_thresholds:
        typer.echo(f"warning: threshold {name!r} is defined but no rule uses it")
    return policy


@policy_app.command("install")
def install_policy(
    policy_file: Annotated[Path, typer.Argument(metavar="POLICY.toml")],
    name: AsOption,
    shop: ShopOption = None,
    note: Annotated[str, typer.Option("--note", help="Why (kept in the audit log).")] = "",
    state_dir: StateDirOption = None,
) -> None:
    """Check a policy and make it live (for one shop or every shop); the daemon takes it at
    its next decision, no restart. Audited as policy_installed."""
    actor = person(name)
    policy = checked_policy(policy_file)
    with state_store(state_dir, write=True) as store:
        record = history.install(store, policy, shop_id=shop, actor=actor, note=note)
    typer.echo(
        f"installed {policy.name!r} {policy.version} for {shop or 'every shop'}"
        f" (install #{record.id}, audited as {actor})"
    )


@policy_app.command("history")
def policy_history(
    shop: ShopOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    state_dir: StateDirOption = None,
) -> None:
    """Every policy version kept and every install, newest first."""
    from connector.formatting import person_time
    from connector.store import PolicyRole

    with state_store(state_dir) as store:
        installs = store.policy_installs(shop_id=shop)
        versions = {v.version: v for v in store.policy_versions()}
        live = store.current_policy_install(shop, PolicyRole.live) if shop else None
    if as_json:
        doc = {
            "installs": [i.model_dump(mode="json") for i in installs],
            "versions": [v.model_dump(mode="json", exclude={"text"}) for v in versions.values()],
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"policy installs ({shop or 'all shops'})")
    for column in ("#", "when", "who", "shop", "role", "version", "name", "note"):
        table.add_column(column, overflow="fold")
    for item in installs:
        known = versions.get(item.version or "")
        table.add_row(
            str(item.id),
            person_time(item.installed_at),
            item.installed_by,
            item.shop_id or "(every shop)",
            str(item.role) if item.version else f"{item.role} stopped",
            item.version or "-",
            known.name if known else "-",
            item.note,
        )
    console = _console()
    console.print(table)
    if live is not None:
        console.print(f"live for {shop}: {live.version} (install #{live.id})")
    typer.echo("versions kept:")
    for version in versions.values():
        typer.echo(
            f"  {version.version}  {version.name}  first seen {person_time(version.first_seen_at)}"
            f" by {version.first_seen_by}"
        )


@policy_app.command("show")
def policy_show(
    version: Annotated[str, typer.Argument(help="A version hash (a unique prefix will do).")],
    state_dir: StateDirOption = None,
) -> None:
    """Print the exact TOML text of a stored policy version."""
    with state_store(state_dir) as store:
        try:
            record = store.get_policy_version(history.resolve_version(store, version))
        except PolicyError as exc:
            raise _fail(str(exc)) from None
    assert record is not None
    typer.echo(
        f"# {record.version} {record.name} (first seen {record.first_seen_at.isoformat()}"
        f" by {record.first_seen_by})"
    )
    typer.echo(record.text, nl=False)


@policy_app.command("diff")
def policy_diff(
    before: Annotated[str, typer.Argument(help="Version hash (prefix) or a policy file.")],
    after: Annotated[str, typer.Argument(help="Version hash (prefix) or a policy file.")],
    state_dir: StateDirOption = None,
) -> None:
    """What changed between two policies, rule by rule (matched by id), then thresholds."""

    def resolve(item: str, store: Any) -> Policy:
        if Path(item).is_file():
            return _load(Path(item))
        try:
            return history.stored_policy(store, history.resolve_version(store, item))
        except PolicyError as exc:
            raise _fail(str(exc)) from None

    both_files = Path(before).is_file() and Path(after).is_file()
    if both_files:
        old, new = _load(Path(before)), _load(Path(after))
    else:
        with state_store(state_dir) as store:
            old, new = resolve(before, store), resolve(after, store)
    changes = history.diff_policies(old, new)
    typer.echo(f"--- {old.name} {old.version}\n+++ {new.name} {new.version}")
    for change in changes:
        for line in change.lines():
            typer.echo(line)
    typer.echo(f"{len(changes)} change(s)")


def parse_window(text: str, now: datetime) -> datetime:
    """``30d``, ``12h``, ``90m`` back from now, or an ISO date / date-time with offset."""
    from datetime import timedelta

    units = {"d": "days", "h": "hours", "m": "minutes"}
    number, unit = text[:-1], text[-1:]
    if unit in units and number.isdigit():
        return now - timedelta(**{units[unit]: int(number)})
    from connector.cli.audit_cmd import parse_since

    return parse_since(text)


def run_backtest(store: Any, candidate: Policy, *, since: datetime | None, shop: str | None) -> Any:
    from connector.policy.backtest import backtest

    def recorded(version: str) -> Policy | None:
        try:
            return history.stored_policy(store, version)
        except PolicyError:
            return None

    rows = store.decisions_to_replay(since=since, shop_id=shop)
    return backtest(rows, candidate, recorded)


@policy_app.command("backtest")
def policy_backtest(
    candidate_file: Annotated[Path, typer.Argument(metavar="CANDIDATE.toml")],
    since: Annotated[
        str, typer.Option("--since", help="How far back: 30d, 12h, or an ISO date.")
    ] = "30d",
    shop: ShopOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write an HTML report with a chart.")
    ] = None,
    state_dir: StateDirOption = None,
) -> None:
    """Replay each case's latest decision in range through CANDIDATE, on the facts and at the
    time it was decided; show what changes, the money at stake and agreement with people."""
    from connector.formatting import yuan, yuan_with_sign
    from connector.policy.backtest_html import render_html

    candidate = checked_policy(candidate_file) if not as_json else _load(candidate_file)
    start = parse_window(since, CLOCK.now())
    with state_store(state_dir) as store:
        report = run_backtest(store, candidate, since=start, shop=shop)
    scope = f"decisions since {start.isoformat()} for {shop or 'every shop'}"
    if html is not None:
        try:
            html.write_text(render_html(report, scope=scope), encoding="utf-8")
        except OSError as exc:
            raise _fail(f"error: cannot write {html}: {exc.strerror or exc}") from None
    if as_json:
        doc = report.as_json() | {"since": start.isoformat(), "shop": shop}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    money, agreement = report.money(), report.agreement()
    typer.echo(f"backtest of {candidate.name!r} {candidate.version}: {scope}")
    typer.echo(f"replayed {report.replayed} decision(s); {report.changed} decided differently")
    typer.echo(
        f"automatic refunds: +{money['added_cases']} case(s) {yuan(money['added_fen'])} yuan,"
        f" -{money['removed_cases']} case(s) {yuan(money['removed_fen'])} yuan;"
        f" money moved differently {yuan_with_sign(money['delta_fen'])} yuan"
    )
    if report.changed:
        table = Table(title="changed decisions by rule")
        for column in (
            "recorded rule",
            "action",
            "candidate rule",
            "action",
            "cases",
            "yuan",
            "ids",
        ):
            table.add_column(column, overflow="fold")
        for group in report.by_rule():
            table.add_row(
                group["from_rule"],
                group["from_action"],
                group["to_rule"],
                group["to_action"],
                str(group["count"]),
                yuan_with_sign(int(group["money_delta_fen"])),
                ", ".join(group["case_ids"][:10]) + (" …" if group["count"] > 10 else ""),
            )
        _console().print(table)
    rate = agreement["rate"]
    typer.echo(
        f"agreement with people: {agreement['agreed']}/{agreement['cases']}"
        + ("" if rate is None else f" ({rate:.1%})")
    )
    for action, cells in agreement["matrix"].items():
        for person_action, ids in cells.items():
            mark = "=" if action == person_action else "≠"
            typer.echo(f"  candidate {action} {mark} person {person_action}: {', '.join(ids)}")
    if html is not None:
        typer.echo(f"HTML report written to {html}")


@policy_app.command("shadow")
def policy_shadow(
    what: Annotated[
        str,
        typer.Argument(
            metavar="CANDIDATE.toml|stop|report",
            help="A candidate policy to run beside the live one, 'stop', or 'report'.",
        ),
    ],
    shop: Annotated[str, typer.Option("--shop", help="The shop to shadow.")],
    name: Annotated[
        str | None, typer.Option("--as", help="Your name for the audit log (start/stop).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="report: print JSON.")] = False,
    state_dir: StateDirOption = None,
) -> None:
    """Shadow mode: the candidate decides every case of SHOP beside the live policy; its
    decisions are recorded (audited shadow_decided) and never pushed."""
    from connector.policy import shadow

    if what == "report":
        with state_store(state_dir) as store:
            doc = shadow.shadow_report(store, shop).as_json()
        if as_json:
            sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        else:
            print_shadow_report(doc)
        return
    if name is None:
        raise _fail("error: --as NAME is required to start or stop a shadow (it is audited)")
    actor = person(name)
    with state_store(state_dir, write=True) as store:
        if what == "stop":
            try:
                shadow.stop(store, shop_id=shop, actor=actor)
            except PolicyError as exc:
                raise _fail(str(exc)) from None
            typer.echo(f"shadow stopped for {shop} (audited as {actor})")
            return
        candidate = checked_policy(Path(what))
        shadow.start(store, candidate, shop_id=shop, actor=actor)
    typer.echo(
        f"shadow {candidate.name!r} {candidate.version} runs beside the live policy of {shop};"
        f" see `policy shadow report --shop {shop}` (audited as {actor})"
    )


def print_shadow_report(doc: dict[str, Any]) -> None:
    from connector.formatting import yuan_with_sign

    typer.echo(f"shadow {doc['shadow_version'] or '(none)'} for {doc['shop_id']}:")
    typer.echo(
        f"  {doc['decisions']} case(s) decided twice; shadow agrees with live on"
        f" {doc['agree_with_live']}, differs on {doc['disagree_with_live']}"
    )
    for pair in doc["live_vs_shadow"]:
        if pair["live"] != pair["shadow"]:
            ids = ", ".join(pair["case_ids"][:10])
            typer.echo(
                f"    live {pair['live']} -> shadow {pair['shadow']}: {pair['count']} ({ids})"
            )
    typer.echo(
        f"  automatic refunds, shadow minus live: {yuan_with_sign(doc['money_delta_fen'])} yuan"
    )
    people = doc["people"]
    typer.echo(
        f"  cases a person decided: {people['cases']}; shadow agreed with the person on"
        f" {people['shadow_agreed']}, live on {people['live_agreed']}"
    )


@policy_app.command("promote")
def policy_promote(
    shop: Annotated[str, typer.Option("--shop", help="The shop whose shadow goes live.")],
    name: AsOption,
    note: Annotated[str, typer.Option("--note", help="Why (kept in the audit log).")] = "",
    state_dir: StateDirOption = None,
) -> None:
    """Make the shop's shadow policy live (audited policy_promoted) and end the shadow."""
    from connector.policy import shadow

    actor = person(name)
    with state_store(state_dir, write=True) as store:
        try:
            record = shadow.promote(store, shop_id=shop, actor=actor, note=note)
        except PolicyError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"promoted {record.version} to live for {shop} (audited as {actor})")


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
