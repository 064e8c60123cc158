"""Case upserts tell a real change from a version bump; personal data never reaches the file."""

from __future__ import annotations

from datetime import timedelta

from store_helpers import START, hours_after_start, make_case

from connector.clock import FakeClock
from connector.errors import FieldProblem
from connector.models import QuarantinedCase
from connector.store import CaseState, ChangeKind, StoredVersion
from connector.store.sqlite import SqliteStore

KEY = ("taobao", "s1", "R1")


def test_first_sight_is_new_and_audited(store: SqliteStore) -> None:
    change = store.upsert_case(make_case(), raw={"refund_id": "R1"})
    assert change.kind is ChangeKind.new
    assert change.needs_decision
    record = change.record
    assert record.key == KEY
    assert record.state is CaseState.new
    assert record.deadline_at == START + timedelta(hours=48)
    assert record.guard_at == START + timedelta(hours=47)
    [entry] = list(store.audit_entries(case_id="R1"))
    assert entry.event == "case_seen"
    assert entry.actor == "platform"
    assert entry.details["version"] == "v1"


def test_same_payload_again_is_unchanged_and_not_audited(store: SqliteStore) -> None:
    store.upsert_case(make_case())
    change = store.upsert_case(make_case())
    assert change.kind is ChangeKind.unchanged
    assert not change.needs_decision
    assert len(list(store.audit_entries())) == 1


def test_version_bump_without_fact_change_is_version_only(store: SqliteStore) -> None:
    store.upsert_case(make_case())
    store.set_case_state(KEY, CaseState.decided)
    change = store.upsert_case(make_case(version="v2", updated_at="2026-11-12T09:05:00+08:00"))
    assert change.kind is ChangeKind.version_only
    assert change.previous_version == "v1"
    assert not change.needs_decision
    assert change.record.version == "v2"
    assert change.record.state is CaseState.decided  # not reopened by our own write
    last = list(store.audit_entries())[-1]
    assert last.event == "case_changed"
    assert last.details["facts_changed"] is False


def test_fact_change_reopens_the_case_and_names_fields(store: SqliteStore) -> None:
    store.upsert_case(make_case())
    store.set_case_state(KEY, CaseState.waiting)
    change = store.upsert_case(
        make_case(
            version="v2",
            updated_at="2026-11-12T10:00:00+08:00",
            type="return_and_refund",
            deadline_at=hours_after_start(72),
        )
    )
    assert change.kind is ChangeKind.facts_changed
    assert change.needs_decision
    assert change.changed_fields == ("deadline_at", "type")
    assert change.record.state is CaseState.new
    assert change.record.guard_at == START + timedelta(hours=71)


def test_older_snapshot_from_a_lagging_list_is_ignored(store: SqliteStore) -> None:
    store.upsert_case(make_case(version="v2", updated_at="2026-11-12T10:00:00+08:00"))
    change = store.upsert_case(
        make_case(version="v1", updated_at="2026-11-12T09:00:00+08:00", reason="quality")
    )
    assert change.kind is ChangeKind.stale
    assert change.record.version == "v2"
    assert change.record.case.reason == "no_reason_7d"


def test_terminal_case_is_stored_done(store: SqliteStore) -> None:
    assert store.upsert_case(make_case(status="refunded")).record.state is CaseState.done


def test_buyer_personal_data_is_scrubbed_from_raw_and_text(store: SqliteStore) -> None:
    raw = {
        "refund_id": "R1",
        "buyer_nick": "张三",
        "receiver": {"name": "张三", "mobile": "13812345678"},
        "receiverAddress": "某市某路1号",
        "reason": "call me 138 1234 5678",
    }
    store.upsert_case(make_case(reason_text="请联系13812345678"), raw=raw)
    record = store.get_case(KEY)
    assert record is not None
    assert record.raw["buyer_nick"] == "[redacted]"
    assert record.raw["receiver"] == "[redacted]"
    assert record.raw["receiverAddress"] == "[redacted]"
    assert record.raw["reason"] == "call me [redacted]"
    assert record.case.reason_text == "请联系[redacted]"
    data = store.path.read_bytes() + store.path.with_name("connector.db-wal").read_bytes()
    for secret in ("张三", "13812345678", "某市某路"):
        assert secret.encode() not in data


def test_guard_sweep_returns_open_cases_by_nearest_deadline(
    store: SqliteStore, clock: FakeClock
) -> None:
    store.upsert_case(make_case(case_id="far", deadline_at=hours_after_start(5)))
    store.upsert_case(make_case(case_id="near", deadline_at=hours_after_start(2)))
    store.upsert_case(make_case(case_id="closed", deadline_at=hours_after_start(1)))
    store.set_case_state(("taobao", "s1", "closed"), CaseState.left_to_platform)
    store.upsert_case(make_case(case_id="none", deadline_at=None))
    assert store.cases_due_for_guard(clock.now()) == []
    later = START + timedelta(hours=4, minutes=30)
    assert [c.case_id for c in store.cases_due_for_guard(later)] == ["near", "far"]


def test_review_times_and_state_counts(store: SqliteStore) -> None:
    store.upsert_case(make_case())
    store.set_case_state(KEY, CaseState.waiting, next_review_at=START + timedelta(minutes=10))
    assert store.cases_due_for_review(START) == []
    assert [c.case_id for c in store.cases_due_for_review(START + timedelta(minutes=10))] == ["R1"]
    assert store.count_cases_by_state()[CaseState.waiting] == 1
    assert [c.case_id for c in store.cases_in_state(CaseState.waiting)] == ["R1"]
    assert [c.key for c in store.find_cases("R1")] == [KEY]


def test_claims_are_exclusive_until_they_expire(store: SqliteStore, clock: FakeClock) -> None:
    store.upsert_case(make_case())
    assert store.claim_case(KEY, "human:ann", until=START + timedelta(minutes=5))
    assert not store.claim_case(KEY, "human:bob", until=START + timedelta(minutes=5))
    clock.advance(timedelta(minutes=6))
    assert store.claim_case(KEY, "human:bob", until=START + timedelta(minutes=20))
    store.release_case(KEY, "human:bob")
    assert store.claim_case(KEY, "human:ann", until=START + timedelta(minutes=20))


def test_quarantine_keeps_item_once_and_audits_problems(store: SqliteStore) -> None:
    bad = QuarantinedCase(
        platform="taobao",
        shop_id="s1",
        case_id="R9",
        problems=(FieldProblem("refund_fee", "must be a whole number"),),
        raw={"refund_fee": "x", "buyer_nick": "李四"},
    )
    first = store.quarantine(bad)
    again = store.quarantine(bad)
    assert first.id == again.id
    assert again.seen_count == 2
    assert again.raw["buyer_nick"] == "[redacted]"
    assert [q.id for q in store.list_quarantine()] == [first.id]
    entries = [e for e in store.audit_entries() if e.event == "quarantined"]
    assert len(entries) == 1
    assert entries[0].details["problems"] == [
        {"field": "refund_fee", "reason": "must be a whole number"}
    ]
    store.resolve_quarantine(first.id, actor="human:ann")
    assert store.list_quarantine() == []
    assert store.list_quarantine(include_resolved=True)[0].resolved


def test_quarantine_without_case_id_is_keyed_by_payload(store: SqliteStore) -> None:
    problem = (FieldProblem("(case)", "must be a JSON object (got list)"),)
    a = store.quarantine(QuarantinedCase(problems=problem, raw=[1]))
    b = store.quarantine(QuarantinedCase(problems=problem, raw=[2]))
    assert a.id != b.id
    assert store.quarantine(QuarantinedCase(problems=problem, raw=[1])).id == a.id


def test_stored_versions_answers_a_listed_page_in_one_call(store: SqliteStore) -> None:
    store.upsert_case(make_case())
    store.upsert_case(make_case(case_id="R2", order_id="O2", version="v7"))
    store.set_case_state(("taobao", "s1", "R2"), CaseState.done)
    store.upsert_case(make_case(shop_id="s2", case_id="R3", order_id="O3"))
    keys = [KEY, ("taobao", "s1", "R2"), ("taobao", "s1", "missing"), ("taobao", "s2", "R3"), KEY]
    assert store.stored_versions(keys) == {
        KEY: StoredVersion(version="v1", state=CaseState.new),
        ("taobao", "s1", "R2"): StoredVersion(version="v7", state=CaseState.done),
        ("taobao", "s2", "R3"): StoredVersion(version="v1", state=CaseState.new),
    }
    assert store.stored_versions([]) == {}
    many = [("taobao", "s1", f"X{i}") for i in range(40_000)] + [KEY]  # past any IN-list bound
    assert store.stored_versions(many) == {KEY: StoredVersion(version="v1", state=CaseState.new)}
