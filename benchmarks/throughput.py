"""Throughput: the highest arrival rate the daemon keeps up with, and how close to raw transport.

    python -m benchmarks.throughput [--json] [--quick]

Fixed set-up (issue 15; not tunable): the Taobao fake (``refund-connector mock taobao``) as its
own process on loopback with 20 shops (every second one Tmall), no faults, no added latency,
no quota; the daemon (``refund-connector run`` with its default worker count) as a subprocess
against a generated config: the default policy, a 2 s poll interval, a client quota far above
the load, the ops port on for /metrics. Cases come from the fake's own scenario generator (the
mix the demo uses: some approve with a platform write, some refuse, some go to people).

For each arrival rate R (10, 25, 50, 75, 100, then doubling while the previous one held), a
fresh fake and daemon, R cases a second spread over the shops, 10 s of warm-up, then 60 s
measured. R *holds* when, for the cases that arrived in the measured minute, p99
visible->applied <= 4 s for those whose decision writes to the platform and p99
visible->decided <= 4 s for the rest (a case unfinished 4 s after the minute ends counts as
late), and the backlog at the end of the minute (listed but undecided cases plus due but
unapplied effects) is <= 2 R. Per R it reports those figures, CPU ms per case by stage (from
/metrics, summed over the daemon's processes; ``other`` is the processes' remaining CPU),
platform calls per case (the fake's request log) and the daemon's summed RSS.

The raw-transport ceiling: a bare httpx client, 32 threads, signing its own requests, making
the same calls per case (the method mix of the last measured rate; writes and lists are made as
``taobao.refund.get`` reads) against a fresh fake, no store, no policy.

``--quick`` (rates 10 and 25, 3 s warm-up, 10 s measured, a small raw run) is the smoke test.
Figures, not a test: it prints and exits 0.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from adapters.taobao.auth import TopAuth
from connector.testing.mock_control import MockControl
from mocks.kit.server import free_port

SHOPS = 20
APP_KEY, APP_SECRET = "12345678", "testsecret"  # the fake's published test credential
SECRET_ENV = "THROUGHPUT_TAOBAO_APP_SECRET"  # noqa: S105 - a variable name
POLL_INTERVAL_S = 2.0
HOLD_P99_S = 4.0
RATES = (10, 25, 50, 75, 100)
WARMUP_S, MEASURE_S = 10.0, 60.0
QUICK_RATES = (10, 25)
QUICK_WARMUP_S, QUICK_MEASURE_S = 3.0, 10.0
RAW_THREADS = 32
TICK_S = 0.25
STAGES = ("list", "fetch", "enrich", "decide", "store", "send")
PLATFORM_WRITES = frozenset(
    {
        "agree_refund",
        "agree_return",
        "confirm_return_and_refund",
        "refuse_refund",
        "message_buyer",
        "write_order_memo",
    }
)
RAW_READS = frozenset(
    {
        "taobao.refund.get",
        "taobao.refund.messages.get",
        "taobao.logistics.trace.search",
        "taobao.item.seller.get",
    }
)
STAGE_METRIC = "refund_connector_stage_cpu_seconds_total"


def shop_ids() -> list[str]:
    return [f"shop-{index:02d}" for index in range(SHOPS)]


def _session(shop: str) -> str:
    return f"bench-session-{shop}"


# -- processes ------------------------------------------------------------------------------------


def _wait_http(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
            msg = f"{what} exited at start-up (code {process.returncode}): {tail}"
            raise RuntimeError(msg)
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # noqa: TID251 - a benchmark on wall time


@contextmanager
def _process(command: list[str], log: Path, ready_url: str, what: str) -> Iterator[int]:
    env = {**os.environ, SECRET_ENV: APP_SECRET}
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_http(ready_url, process, what, log)
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def taobao_fake(directory: Path) -> Iterator[tuple[str, int]]:
    scenario = directory / "shops.json"
    shops = [
        {"shop_id": shop, "session": _session(shop), "tmall": index % 2 == 1}
        for index, shop in enumerate(shop_ids())
    ]
    scenario.write_text(json.dumps({"shops": shops}), encoding="utf-8")
    port = free_port()
    command = [
        sys.executable, "-m", "connector", "mock", "taobao", "--port", str(port),
        "--test-mode", "--scenario", str(scenario),
        "--app-key", APP_KEY, "--app-secret", APP_SECRET,
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with _process(command, directory / "fake.log", url + "/__mock/clock", "the fake") as pid:
        yield url, pid


def write_config(directory: Path, fake_url: str, ops_port: int | None) -> Path:
    """20 shops on the fake; the ops port (for /metrics) when one is given."""
    lines = ["[daemon]", f"poll_interval_s = {POLL_INTERVAL_S}", 'log_level = "warning"']
    if ops_port is not None:
        lines += ["", "[ops]", "enabled = true", f"port = {ops_port}"]
    for index, shop in enumerate(shop_ids()):
        lines += [
            "",
            "[[shops]]",
            f'shop_id = "{shop}"',
            'platform = "taobao"',
            "[shops.quota]",
            "calls_per_second = 100000",
            "[shops.settings]",
            f'base_url = "{fake_url}"',
            f'app_key = "{APP_KEY}"',
            f'app_secret = "env:{SECRET_ENV}"',
            f'session = "{_session(shop)}"',
            f"tmall = {'true' if index % 2 == 1 else 'false'}",
            f'return_address_id = "{shop}-return-1"',
        ]
    config = directory / "connector.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


@contextmanager
def daemon(directory: Path, config: Path, ops_port: int) -> Iterator[int]:
    command = [
        sys.executable, "-m", "connector", "run",
        "--config", str(config), "--state-dir", str(directory / "state"),
    ]  # fmt: skip
    ready = f"http://127.0.0.1:{ops_port}/healthz"
    with _process(command, directory / "daemon.log", ready, "the daemon") as pid:
        yield pid


def _tree(pid: int) -> list[int]:
    """``pid`` and every descendant (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process tree so far."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for member in _tree(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / ticks
    return total


def rss_mb(pid: int) -> float:
    total = 0
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def stage_cpu_s(ops_port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{ops_port}/metrics", timeout=30).text
    found = dict.fromkeys(STAGES, 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == STAGE_METRIC:
                stage = sample.labels.get("stage", "")
                found[stage] = found.get(stage, 0.0) + sample.value
    return found


# -- arrivals --------------------------------------------------------------------------------------


@dataclass
class Feeder:
    """Adds R cases a second through the fake's scenario generator; notes when each appeared."""

    control: MockControl
    rate: float
    seed: int
    visible: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        shops = shop_ids()
        owed, batch = 0.0, 0
        started = time.monotonic()
        while not self._stop.is_set():
            owed += self.rate * TICK_S
            count = int(owed)
            owed -= count
            if count:
                offset = batch % len(shops)
                try:
                    made = self.control._call(
                        "POST",
                        "/__mock/scenario",
                        {
                            "seed": self.seed * 100_000 + batch,
                            "count": count,
                            "shops": shops[offset:] + shops[:offset],
                        },
                    )
                except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                    self.errors.append(str(exc)[:200])
                else:
                    at = time.time()
                    for case_id in made["case_ids"]:
                        self.visible[str(case_id)] = at
                batch += 1
            started += TICK_S
            self._stop.wait(max(0.0, started - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()


# -- reading the outcome ---------------------------------------------------------------------------


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _db(state: Path) -> sqlite3.Connection:
    path = next(state.glob("*.db"), None) or next(state.glob("*.sqlite*"), None)
    if path is None:
        msg = f"no database under {state}"
        raise RuntimeError(msg)
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    return db


def backlog(state: Path, now: float) -> int:
    db = _db(state)
    try:
        new = db.execute("SELECT count(*) FROM cases WHERE state = 'new'").fetchone()[0]
        effects = db.execute(
            "SELECT next_attempt_at, status FROM effects "
            "WHERE status IN ('pending', 'unknown', 'in_flight')"
        ).fetchall()
    finally:
        db.close()
    due = sum(
        1
        for row in effects
        if row["status"] == "in_flight" or (_epoch(row["next_attempt_at"]) or 0.0) <= now
    )
    return int(new) + due


SETTLED_UNSENT = frozenset({"failed", "superseded", "cancelled"})
"""An effect that ended without being applied: the platform refused it (then a person has the
case) or a later decision replaced it. Its case counts as settled when the effect ended."""


@dataclass
class Outcome:
    applied: list[float] = field(default_factory=list)
    """visible -> applied (or settled unsent) of the cases whose first decision writes"""
    decided: list[float] = field(default_factory=list)
    """visible -> decided of the rest"""
    unfinished: Counter[str] = field(default_factory=Counter)
    """why a case is not finished: ``undecided`` or its unfinished effects' kind/status"""
    unsent: Counter[str] = field(default_factory=Counter)
    """effects that ended unsent, by kind/status (and platform code)"""
    settled_on_intake: Counter[str] = field(default_factory=Counter)
    """cases closed when they arrived (stored settled) or quarantined: never decided"""


def latencies(state: Path, visible: dict[str, float]) -> Outcome:
    db = _db(state)
    try:
        decisions = db.execute(
            "SELECT id, case_id, decided_at FROM decisions ORDER BY id"
        ).fetchall()
        effects = db.execute(
            "SELECT decision_id, kind, status, done_at, updated_at, last_platform_code FROM effects"
        ).fetchall()
        settled = {
            str(row["case_id"]): (str(row["state"]), _epoch(row["first_seen_at"]) or math.inf)
            for row in db.execute(
                "SELECT case_id, state, first_seen_at FROM cases "
                "WHERE state IN ('done', 'left_to_platform')"
            )
        }
        for row in db.execute("SELECT case_id, first_seen_at FROM quarantine"):
            seen_at = _epoch(row["first_seen_at"]) or math.inf
            settled[str(row["case_id"])] = ("quarantined", seen_at)
    finally:
        db.close()
    first: dict[str, tuple[int, float]] = {}
    for row in decisions:
        if row["case_id"] in visible and row["case_id"] not in first:
            first[row["case_id"]] = (int(row["id"]), _epoch(row["decided_at"]) or math.inf)
    writes: dict[int, list[tuple[float, str]]] = {}
    for row in effects:
        if row["kind"] not in PLATFORM_WRITES:
            continue
        label = f"{row['kind']}/{row['status']}"
        if row["status"] == "done":
            at = _epoch(row["done_at"]) or math.inf
        elif row["status"] in SETTLED_UNSENT:
            at = _epoch(row["updated_at"]) or math.inf
            label += f"/{row['last_platform_code'] or '-'}"
        else:
            at = math.inf
        writes.setdefault(int(row["decision_id"]), []).append((at, label))
    outcome = Outcome()
    for case_id, seen in visible.items():
        if case_id not in first and case_id in settled:
            # Closed when it arrived, or quarantined: settled on intake, nothing to decide.
            how, at = settled[case_id]
            outcome.decided.append(at - seen)
            outcome.settled_on_intake[how] += 1
            continue
        if case_id not in first:
            outcome.decided.append(math.inf)
            outcome.unfinished["undecided"] += 1
            continue
        decision_id, at = first[case_id]
        if decision_id not in writes:
            outcome.decided.append(at - seen)
            continue
        ends = writes[decision_id]
        outcome.applied.append(max(end for end, _ in ends) - seen)
        for end, label in ends:
            if math.isinf(end):
                outcome.unfinished[label] += 1
            elif not label.endswith("/done"):
                outcome.unsent[label] += 1
    return outcome


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    value = ordered[index]
    return None if math.isinf(value) else round(value, 3)


def _ok(p99: float | None, count: int) -> bool:
    return count == 0 or (p99 is not None and p99 <= HOLD_P99_S)


# -- one rate --------------------------------------------------------------------------------------


def run_rate(rate: int, warmup_s: float, measure_s: float, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"throughput-{rate}-") as tmp, ExitStack() as stack:
        directory = Path(tmp)
        fake_url, _fake_pid = stack.enter_context(taobao_fake(directory))
        ops_port = free_port()
        config = write_config(directory, fake_url, ops_port)
        pid = stack.enter_context(daemon(directory, config, ops_port))
        control = stack.enter_context(MockControl(fake_url, timeout_s=60))
        feeder = Feeder(control, float(rate), seed)
        thread = threading.Thread(target=feeder.run, name="feeder", daemon=True)
        thread.start()
        time.sleep(warmup_s)  # noqa: TID251 - a benchmark on wall time
        start_cases = set(feeder.visible)
        _, start_request = control.requests()
        start_cpu, start_stages = cpu_s(pid), stage_cpu_s(ops_port)
        started = time.time()
        time.sleep(measure_s)  # noqa: TID251
        ended = time.time()
        end_cpu, end_stages = cpu_s(pid), stage_cpu_s(ops_port)
        requests, _ = control.requests(start_request)
        memory = rss_mb(pid)
        left = backlog(directory / "state", ended)
        measured = {c: t for c, t in dict(feeder.visible).items() if c not in start_cases}
        measured = {c: t for c, t in measured.items() if started <= t < ended}
        feeder.stop()
        thread.join(timeout=30)
        time.sleep(HOLD_P99_S + 0.5)  # noqa: TID251 - a case late by then is late
        outcome = latencies(directory / "state", measured)
        applied, decided = outcome.applied, outcome.decided
    cases = max(len(measured), 1)
    methods = Counter(str(r.get("method")) for r in requests)
    stage_ms = {
        stage: round((end_stages.get(stage, 0.0) - start_stages.get(stage, 0.0)) * 1000 / cases, 3)
        for stage in STAGES
    }
    total_ms = round((end_cpu - start_cpu) * 1000 / cases, 3)
    stage_ms["other"] = round(max(total_ms - sum(stage_ms.values()), 0.0), 3)
    # Arrived cases worked off by the end. Past the rate the daemon keeps up with, the
    # per-case figures are per *arrived* case, most of them never read.
    finished = sum(1 for v in [*applied, *decided] if not math.isinf(v))
    p99_applied, p99_decided = percentile(applied, 0.99), percentile(decided, 0.99)
    held = _ok(p99_applied, len(applied)) and _ok(p99_decided, len(decided)) and left <= 2 * rate
    return {
        "rate": rate,
        "held": held,
        "arrived": len(measured),
        "write_cases": len(applied),
        "other_cases": len(decided),
        "unfinished": dict(outcome.unfinished),
        "ended_unsent": dict(outcome.unsent),
        "settled_on_intake": dict(outcome.settled_on_intake),
        "p50_visible_to_applied_s": percentile(applied, 0.5),
        "p99_visible_to_applied_s": p99_applied,
        "p50_visible_to_decided_s": percentile(decided, 0.5),
        "p99_visible_to_decided_s": p99_decided,
        "backlog": left,
        "finished": finished,
        "cpu_ms_per_case": {"total": total_ms, **stage_ms},
        "platform_calls_per_case": round(len(requests) / cases, 3),
        "platform_calls_by_method_per_case": {
            m: round(n / cases, 3) for m, n in sorted(methods.items())
        },
        "rss_mb": memory,
        "feeder_errors": feeder.errors[:3],
    }


# -- raw transport -------------------------------------------------------------------------------


def raw_transport(mix: dict[str, float], cases: int, seed: int) -> dict[str, Any]:
    """Cases/s a bare signed httpx client reaches making ``mix`` calls per case, 32 threads."""
    reads: dict[str, float] = {m: n for m, n in mix.items() if m in RAW_READS}
    others = sum(n for m, n in mix.items() if m not in RAW_READS)
    reads["taobao.refund.get"] = reads.get("taobao.refund.get", 0.0) + others
    with tempfile.TemporaryDirectory(prefix="throughput-raw-") as tmp, ExitStack() as stack:
        fake_url, _ = stack.enter_context(taobao_fake(Path(tmp)))
        control = stack.enter_context(MockControl(fake_url, timeout_s=120))
        body = {"seed": seed, "count": cases, "shops": shop_ids()}
        made = control._call("POST", "/__mock/scenario", body)
        ids = [str(c) for c in made["case_ids"]]
        views = {str(v["case_id"]): v for v in control.cases()}
        auths = {
            shop: TopAuth(app_key=APP_KEY, app_secret=APP_SECRET, session=_session(shop))
            for shop in shop_ids()
        }
        local = threading.local()
        url = fake_url + "/router/rest"
        errors: Counter[str] = Counter()

        def client() -> httpx.Client:
            if not hasattr(local, "http"):
                local.http = httpx.Client(timeout=30)
            return local.http  # type: ignore[no-any-return]

        def one_case(index: int) -> int:
            case_id = ids[index]
            auth = auths[str(views[case_id]["shop_id"])]
            refund: dict[str, Any] = {}
            calls = 0
            for method, per_case in sorted(
                reads.items(), key=lambda m: m[0] != "taobao.refund.get"
            ):
                times = int((index + 1) * per_case) - int(index * per_case)
                for _ in range(times):
                    params = {"method": method, **_raw_params(method, case_id, refund)}
                    answer = client().post(url, data=params, auth=auth)
                    calls += 1
                    if answer.status_code != 200 or "error_response" in answer.text[:40]:
                        errors[method] += 1
                    elif method == "taobao.refund.get" and not refund:
                        refund = dict(answer.json()["refund_get_response"]["refund"])
            return calls

        started = time.perf_counter()
        with ThreadPoolExecutor(RAW_THREADS) as pool:
            calls = sum(pool.map(one_case, range(len(ids))))
        elapsed = time.perf_counter() - started
    return {
        "cases": len(ids),
        "calls": calls,
        "seconds": round(elapsed, 2),
        "rate": round(len(ids) / elapsed, 1),
        "error_answers": dict(errors),
    }


def _raw_params(method: str, case_id: str, refund: dict[str, Any]) -> dict[str, str]:
    """What the adapter sends for ``method`` (read from its TOP calls), from the refund read."""
    if method == "taobao.refund.messages.get":
        phase = str(refund.get("refund_phase") or "")
        params = {"refund_id": case_id, "fields": "id,content,created,owner_role,pic_urls"}
        return {**params, "page_no": "1", "page_size": "100", "refund_phase": phase}
    if method == "taobao.logistics.trace.search":
        return {"tid": str(refund.get("tid") or "")}
    if method == "taobao.item.seller.get":
        return {"num_iid": str(refund.get("num_iid") or ""), "fields": "num_iid,no_reason_7d"}
    fields = "refund_id,tid,num_iid,status,refund_phase,modified,refund_fee,sid,order_status"
    return {"refund_id": case_id, "fields": fields}


# -- main ----------------------------------------------------------------------------------------


def run(*, quick: bool, seed: int) -> dict[str, Any]:
    warmup, measure = (QUICK_WARMUP_S, QUICK_MEASURE_S) if quick else (WARMUP_S, MEASURE_S)
    rates: list[dict[str, Any]] = []
    for rate in QUICK_RATES if quick else RATES:
        rates.append(run_rate(rate, warmup, measure, seed))
        print(json.dumps(rates[-1]), file=sys.stderr, flush=True)
    while not quick and rates[-1]["held"]:
        rates.append(run_rate(rates[-1]["rate"] * 2, warmup, measure, seed))
        print(json.dumps(rates[-1]), file=sys.stderr, flush=True)
    held = [r["rate"] for r in rates if r["held"]]
    max_rate = max(held, default=0)
    # The calls a case costs when it is worked off: those of the highest rate that held, else
    # of the lowest rate (a rate that fell behind left most of its cases unread).
    settled = [r for r in rates if r["held"]] or rates[:1]
    mix = settled[-1]["platform_calls_by_method_per_case"]
    raw = raw_transport(mix, 200 if quick else 3000, seed)
    return {
        "rates": rates,
        "max_sustained_rate": max_rate,
        "raw_transport_rate": raw["rate"],
        "raw_transport": raw,
        "ratio_to_raw": round(min(1.0, max_rate / raw["rate"]), 3) if raw["rate"] else 0.0,
        "setup": {
            "shops": SHOPS,
            "poll_interval_s": POLL_INTERVAL_S,
            "warmup_s": warmup,
            "measured_s": measure,
            "cpus": os.cpu_count(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="rates 10 and 25, short windows")
    parser.add_argument("--seed", type=int, default=20261204)
    args = parser.parse_args()
    result = run(quick=args.quick, seed=args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for row in result["rates"]:
        print(
            f"R={row['rate']:4}  {'held' if row['held'] else 'FAILED':6}  "
            f"p99 applied {row['p99_visible_to_applied_s']}  "
            f"p99 decided {row['p99_visible_to_decided_s']}  backlog {row['backlog']}  "
            f"cpu/case {row['cpu_ms_per_case']['total']} ms  "
            f"calls/case {row['platform_calls_per_case']}  rss {row['rss_mb']} MB"
        )
    print(
        f"max sustained {result['max_sustained_rate']}/s, raw transport "
        f"{result['raw_transport_rate']}/s, ratio {result['ratio_to_raw']}"
    )


if __name__ == "__main__":
    main()
