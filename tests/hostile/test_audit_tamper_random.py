"""Goal G11: 1,000 random single-row tamperings (edit, delete, reorder, insert) of copies of a
real database are all detected, and verification names the first tampered entry.

tests/store holds one hand-written case of each kind; this draws them at random (seeded) over a
log written by the store itself, including edits that leave a row unreadable (bad JSON), which
once made ``audit verify`` crash with a traceback instead of naming the entry.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.audit import VerifyReport, verify_chain
from connector.clock import FakeClock
from connector.paths import DB_FILE_NAME
from connector.store import open_read_only_store, open_store

TAMPERINGS = 1000
SEED = 20261112
COLUMNS = ("at", "actor", "event", "platform", "shop_id", "case_id", "details_json",
           "prev_hash", "hash")  # fmt: skip
NULLABLE = frozenset({"platform", "shop_id", "case_id"})


@dataclass(frozen=True)
class Tampering:
    kind: str
    sql: tuple[tuple[str, tuple[object, ...]], ...]
    first_broken: int


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log of 40 entries of several kinds, written through the store's own API."""
    state = tmp_path_factory.mktemp("audit-original")
    clock = FakeClock(datetime(2026, 11, 12, 2, 0, tzinfo=UTC))
    store = open_store(state, clock=clock)
    try:
        for index in range(40):
            clock.advance(timedelta(seconds=7))
            key = ("taobao", f"shop-{index % 3}", f"case-{index % 11}")
            with store.unit_of_work():
                if index % 4 == 0:
                    store.append_audit("human_action", actor="system", details={"n": index})
                else:
                    store.append_audit(
                        "escalated",
                        actor="policy" if index % 2 else "human:rita",
                        key=key,
                        details={"reason": f"理由 {index}", "amount": index * 100, "ok": True},
                    )
    finally:
        store.close()
    return state


def _rows(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    conn.row_factory = sqlite3.Row
    return list(conn.execute("SELECT * FROM audit_log ORDER BY seq"))


def _mutated(rng: random.Random, text: str) -> str:
    """One visible character replaced by another (never whitespace, never the same)."""
    spots = [i for i, ch in enumerate(text) if not ch.isspace()]
    at = rng.choice(spots)
    new = rng.choice([c for c in "Zq#7" if c != text[at]])
    return text[:at] + new + text[at + 1 :]


def _draw(rng: random.Random, rows: list[sqlite3.Row]) -> Tampering:
    count = len(rows)
    kind = rng.choice(("edit", "delete", "reorder", "insert"))
    if kind == "edit":
        row = rng.choice(rows)
        column = rng.choice(COLUMNS)
        old = row[column]
        others = {r[column] for r in rows} - {old}
        choices = (
            ["mutate"]
            + (["other"] if others else [])
            + (["null"] if column in NULLABLE and old is not None else [])
        )
        how = rng.choice(choices)
        if how == "null":
            value: object = None
        elif how == "other":
            value = rng.choice(sorted(others, key=str))
        else:
            value = _mutated(rng, old if old is not None else "x")
        sql = ((f"UPDATE audit_log SET {column} = ? WHERE seq = ?", (value, row["seq"])),)
        return Tampering(f"edit {column} ({how})", sql, row["seq"])
    if kind == "delete":
        seq = rng.randint(1, count)
        return Tampering("delete", (("DELETE FROM audit_log WHERE seq = ?", (seq,)),), seq)
    if kind == "reorder":
        first, second = sorted(rng.sample(range(1, count + 1), 2))
        sql = (
            ("UPDATE audit_log SET seq = -1 WHERE seq = ?", (first,)),
            ("UPDATE audit_log SET seq = ? WHERE seq = ?", (first, second)),
            ("UPDATE audit_log SET seq = ? WHERE seq = -1", (second,)),
        )
        return Tampering("reorder", sql, first)
    position = rng.randint(1, count + 1)
    source = rng.choice(rows)
    chain_prev = rows[position - 2]["hash"] if position > 1 else source["prev_hash"]
    forged_prev = rng.choice([source["prev_hash"], chain_prev])
    sql = (
        ("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= ?", (position,)),
        ("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000", ()),
        (
            "INSERT INTO audit_log (seq, at, actor, event, platform, shop_id, case_id, "
            "details_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (position, source["at"], source["actor"], "human_action", source["platform"],
             source["shop_id"], source["case_id"], source["details_json"], forged_prev,
             source["hash"]),
        ),
    )  # fmt: skip
    inserted = sql[-1][1][1:]
    displaced = rows[position - 1] if position <= count else None
    if displaced is not None and inserted == tuple(displaced[c] for c in COLUMNS):
        # An exact copy of the entry it was put before: the two cannot be told apart, so the
        # first that breaks is the second of them.
        return Tampering("insert", sql, position + 1)
    return Tampering("insert", sql, position)


def _verify_copy(original: Path, copy: Path, tampering: Tampering) -> VerifyReport:
    copy.mkdir()
    source = sqlite3.connect(original / DB_FILE_NAME)
    target = sqlite3.connect(copy / DB_FILE_NAME)
    source.backup(target)
    source.close()
    target.execute("DROP TRIGGER audit_log_no_update")
    target.execute("DROP TRIGGER audit_log_no_delete")
    for statement, params in tampering.sql:
        target.execute(statement, params)
    target.commit()
    target.close()
    store = open_read_only_store(copy)
    try:
        return verify_chain(store.audit_entries(), store.audit_head())
    finally:
        store.close()


def test_every_random_single_row_tampering_is_detected_and_named(
    original: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    conn = sqlite3.connect(original / DB_FILE_NAME)
    rows = _rows(conn)
    conn.close()
    assert len(rows) == 40
    intact = _verify_copy(original, tmp_path / "intact", Tampering("none", (), 0))
    assert intact.intact, intact.describe()
    missed: list[str] = []
    misnamed: list[str] = []
    kinds: dict[str, int] = {}
    for number in range(TAMPERINGS):
        tampering = _draw(rng, rows)
        kinds[tampering.kind.split()[0]] = kinds.get(tampering.kind.split()[0], 0) + 1
        report = _verify_copy(original, tmp_path / f"t{number}", tampering)
        if report.intact:
            missed.append(f"#{number} {tampering.kind}: {tampering.sql}")
        elif report.broken_seq != tampering.first_broken:
            misnamed.append(
                f"#{number} {tampering.kind} at seq {tampering.first_broken}: {report.describe()}"
            )
    assert not missed, f"{len(missed)} of {TAMPERINGS} tamperings not detected: {missed[:5]}"
    assert not misnamed, f"{len(misnamed)} named the wrong entry: {misnamed[:5]}"
    assert set(kinds) == {"edit", "delete", "reorder", "insert"}, kinds
