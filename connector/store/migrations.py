"""Schema of ``connector.db``, as sqlite-utils migrations: each runs once and is recorded.

Add a new function at the end to change the schema; never edit an applied one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlite_utils.migrations import Migrations

if TYPE_CHECKING:
    from sqlite_utils import Database

MIGRATION_SET = "refund_connector"

migrations = Migrations(MIGRATION_SET)


def _run(db: Database, script: str) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


@migrations(name="0001_initial")
def initial(db: Database) -> None:
    _run(
        db,
        """
CREATE TABLE shops (
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    cursor TEXT,
    high_water_at TEXT,
    last_poll_at TEXT,
    poll_lag_s REAL,
    last_full_reconciliation_at TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (platform, shop_id)
) STRICT;
CREATE TABLE cases (
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    version TEXT,
    status TEXT NOT NULL,
    state TEXT NOT NULL,
    deadline_at TEXT,
    guard_at TEXT,
    facts_hash TEXT NOT NULL,
    case_json TEXT NOT NULL,
    raw_json TEXT,
    buyer_id TEXT NOT NULL,
    platform_updated_at TEXT,
    next_review_at TEXT,
    claimed_by TEXT,
    claim_expires_at TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (platform, shop_id, case_id)
) STRICT;
CREATE INDEX cases_guard ON cases (guard_at) WHERE state NOT IN ('done', 'left_to_platform');
CREATE INDEX cases_review ON cases (next_review_at) WHERE next_review_at IS NOT NULL;
CREATE INDEX cases_state ON cases (state);
CREATE INDEX cases_case_id ON cases (case_id);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    decided_version TEXT,
    policy_version TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    params_json TEXT NOT NULL,
    trace_json TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    actor TEXT NOT NULL,
    FOREIGN KEY (platform, shop_id, case_id) REFERENCES cases (platform, shop_id, case_id)
) STRICT;
CREATE INDEX decisions_case ON decisions (platform, shop_id, case_id);
CREATE TABLE effects (
    id INTEGER PRIMARY KEY,
    effect_key TEXT NOT NULL UNIQUE,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    params_json TEXT NOT NULL,
    decided_version TEXT,
    status TEXT NOT NULL CHECK (status IN
        ('pending', 'in_flight', 'unknown', 'done', 'failed', 'superseded', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    last_platform_code TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    done_at TEXT
) STRICT;
CREATE INDEX effects_due ON effects (next_attempt_at)
    WHERE status IN ('pending', 'unknown');
CREATE INDEX effects_case ON effects (platform, shop_id, case_id);
CREATE INDEX effects_status ON effects (status);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    platform TEXT,
    shop_id TEXT,
    case_id TEXT,
    details_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE INDEX audit_case ON audit_log (case_id);
CREATE INDEX audit_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY,
    identity TEXT NOT NULL UNIQUE,
    platform TEXT,
    shop_id TEXT,
    case_id TEXT,
    problems_json TEXT NOT NULL,
    raw_json TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    seen_count INTEGER NOT NULL DEFAULT 1,
    resolved INTEGER NOT NULL DEFAULT 0,
    resolved_at TEXT,
    resolved_by TEXT
) STRICT;
CREATE TABLE buyer_refunds (
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    buyer_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    refunded_at TEXT NOT NULL,
    PRIMARY KEY (platform, shop_id, case_id)
) STRICT;
CREATE INDEX buyer_refunds_buyer ON buyer_refunds (platform, buyer_id, refunded_at);
CREATE TABLE flagged_buyers (
    platform TEXT NOT NULL,
    buyer_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    flagged_by TEXT NOT NULL,
    flagged_at TEXT NOT NULL,
    PRIMARY KEY (platform, buyer_id)
) STRICT;
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    deadline_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    details_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    closed_at TEXT,
    closed_by TEXT
) STRICT;
CREATE INDEX tasks_open ON tasks (status, deadline_at)
""",
    )


@migrations(name="0002_carrier_claims")
def carrier_claims(db: Database) -> None:
    """Claims against carriers for lost parcels (the desk's claim form), exported by ops."""
    _run(
        db,
        """
CREATE TABLE carrier_claims (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    item_title TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    item_price INTEGER NOT NULL,
    claim_amount INTEGER NOT NULL,
    carrier TEXT,
    waybill TEXT,
    logistics_status TEXT,
    effect_id INTEGER UNIQUE,
    status TEXT NOT NULL DEFAULT 'open',
    created_at TEXT NOT NULL,
    exported_at TEXT
) STRICT;
CREATE INDEX carrier_claims_case ON carrier_claims (platform, shop_id, case_id)
""",
    )


@migrations(name="0003_claimed_version")
def claimed_version(db: Database) -> None:
    """The platform version a reviewer saw when claiming: a later change is shown, never
    silently overridden by the reviewer's decision."""
    _run(db, "ALTER TABLE cases ADD COLUMN claimed_version TEXT")


@migrations(name="0004_console_accounts")
def console_accounts(db: Database) -> None:
    """Web console accounts (scrypt password hashes, never the password) and server-side
    sessions keyed by the SHA-256 of the cookie token, each with its CSRF token and expiry."""
    _run(
        db,
        """
CREATE TABLE console_users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('reviewer', 'ops', 'admin')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES console_users (name),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at)
""",
    )


@migrations(name="0005_effects_by_decision")
def effects_by_decision(db: Database) -> None:
    """The relay asks, for each due effect, whether an earlier effect of its decision is still
    open. Without this index that question scanned every effect ever written, once per due
    effect, under the store lock: with the soak's backlog (6,000 open of 40,000) each relay
    tick took the store for seconds and the daemon stopped making progress."""
    _run(db, "CREATE INDEX effects_decision ON effects (decision_id, position)")


@migrations(name="0006_shop_first_polled")
def shop_first_polled(db: Database) -> None:
    """When the connector first wrote a shop's row (its first poll): the first reconciliation is
    scheduled from it. Without it, a daemon restarted more often than the reconciliation
    interval put the first one off at every start and never reconciled (found by the soak
    chaos run: an item broken in its only listing after the mark had passed it stayed unseen
    for 20 minutes). Existing rows take their oldest known time."""
    _run(db, "ALTER TABLE shops ADD COLUMN first_polled_at TEXT")
    _run(
        db,
        "UPDATE shops SET first_polled_at = "
        "COALESCE(last_full_reconciliation_at, last_poll_at, updated_at)",
    )


@migrations(name="0007_case_state_counts")
def case_state_counts(db: Database) -> None:
    """Cases by state, kept by triggers in the same transaction as each change, so /metrics
    and the console read a handful of rows instead of the whole state index (0.2 s per scrape
    with a million stored cases: ``python -m benchmarks.scale``). Existing rows are counted."""
    _run(
        db,
        """
CREATE TABLE case_state_counts (
    state TEXT PRIMARY KEY,
    n INTEGER NOT NULL
) STRICT;
INSERT INTO case_state_counts (state, n) SELECT state, count(*) FROM cases GROUP BY state
""",
    )
    # One statement each: a trigger body holds ';' line ends that ``_run`` would split on.
    db.execute(
        "CREATE TRIGGER cases_counted_insert AFTER INSERT ON cases BEGIN "
        "INSERT INTO case_state_counts (state, n) VALUES (NEW.state, 1) "
        "ON CONFLICT (state) DO UPDATE SET n = n + 1; END"
    )
    db.execute(
        "CREATE TRIGGER cases_counted_update AFTER UPDATE OF state ON cases "
        "WHEN OLD.state IS NOT NEW.state BEGIN "
        "UPDATE case_state_counts SET n = n - 1 WHERE state = OLD.state; "
        "INSERT INTO case_state_counts (state, n) VALUES (NEW.state, 1) "
        "ON CONFLICT (state) DO UPDATE SET n = n + 1; END"
    )
    db.execute(
        "CREATE TRIGGER cases_counted_delete AFTER DELETE ON cases BEGIN "
        "UPDATE case_state_counts SET n = n - 1 WHERE state = OLD.state; END"
    )


@migrations(name="0008_review_desk")
def review_desk(db: Database) -> None:
    """The reviewer's desk: a case assigned to a colleague (beside the short claim), reviewers'
    notes, second approvals above a role's limit (maker-checker), and evidence images fetched
    once from a platform's declared image hosts and served by the console."""
    _run(
        db,
        """
ALTER TABLE cases ADD COLUMN assigned_to TEXT;
CREATE INDEX cases_assigned ON cases (assigned_to) WHERE assigned_to IS NOT NULL;
CREATE TABLE case_notes (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX case_notes_case ON case_notes (platform, shop_id, case_id);
CREATE TABLE approvals (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    reason TEXT NOT NULL,
    seen_version TEXT,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'overtaken',
                                           'withdrawn')),
    closed_by TEXT,
    closed_at TEXT,
    decision_id INTEGER
) STRICT;
CREATE INDEX approvals_open ON approvals (platform, shop_id, case_id) WHERE status = 'pending';
CREATE TABLE evidence_images (
    url TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    body BLOB NOT NULL,
    fetched_at TEXT NOT NULL
) STRICT;
""",
    )


@migrations(name="0009_policy_versions")
def policy_versions(db: Database) -> None:
    """Every policy text that ever decided a case, by content hash, and every install of one
    (live for a shop or for all shops, or a shadow beside a shop's live policy). The latest
    install wins; a stop of a shadow is an install with no version (issue 20: history)."""
    _run(
        db,
        """
CREATE TABLE policy_versions (
    version TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    first_seen_by TEXT NOT NULL
) STRICT;
CREATE TABLE policy_installs (
    id INTEGER PRIMARY KEY,
    version TEXT REFERENCES policy_versions (version),
    shop_id TEXT,
    role TEXT NOT NULL CHECK (role IN ('live', 'shadow')),
    installed_by TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX policy_installs_shop ON policy_installs (role, shop_id, id)
""",
    )


@migrations(name="0010_decision_facts")
def decision_facts(db: Database) -> None:
    """The facts each decision was made on (the enriched case, as decided) and the time given
    to the policy: the case row is overwritten by later polls, so without these no decision
    could be replayed exactly (issue 20: backtest covers decisions made after this)."""
    _run(db, "ALTER TABLE decisions ADD COLUMN facts_json TEXT")
    _run(db, "ALTER TABLE decisions ADD COLUMN facts_at TEXT")
    _run(db, "CREATE INDEX decisions_decided_at ON decisions (decided_at)")


@migrations(name="0011_shadow_decisions")
def shadow_decisions(db: Database) -> None:
    """What a shadow (candidate) policy decided beside each live decision, with the live one:
    recorded, never pushed (issue 20: shadow mode)."""
    _run(
        db,
        """
CREATE TABLE shadow_decisions (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    decided_version TEXT,
    shadow_version TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    refund_amount INTEGER NOT NULL,
    live_version TEXT NOT NULL,
    live_rule_id TEXT NOT NULL,
    live_action TEXT NOT NULL,
    live_refund_amount INTEGER NOT NULL,
    decided_at TEXT NOT NULL
) STRICT;
CREATE INDEX shadow_decisions_shop ON shadow_decisions (shop_id, shadow_version, id)
""",
    )


@migrations(name="0012_cap_ledger")
def cap_ledger(db: Database) -> None:
    """Every automatic money-moving approval, counted when admitted under the shop's caps
    (``counted``), a deadline fallback counted apart (``fallback``), or a case sent to people
    because a cap would be crossed (``held``). Counted and written in one write transaction,
    so caps hold across worker processes (issue 20: blast-radius caps, the breaker's rates)."""
    _run(
        db,
        """
CREATE TABLE cap_ledger (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    shop_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    decided_version TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('counted', 'fallback', 'held')),
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    UNIQUE (platform, shop_id, case_id, decided_version, kind)
) STRICT;
CREATE INDEX cap_ledger_shop ON cap_ledger (shop_id, kind, at)
""",
    )


@migrations(name="0013_pauses")
def pauses(db: Database) -> None:
    """The kill switch: a pause of automatic pushes for every shop or one, and the breaker's
    pause of automatic approval for one refund reason; open until resumed (issue 20)."""
    _run(
        db,
        """
CREATE TABLE pauses (
    id INTEGER PRIMARY KEY,
    shop_id TEXT,
    reason_code TEXT,
    hold_fallbacks INTEGER NOT NULL DEFAULT 0,
    why TEXT NOT NULL,
    paused_by TEXT NOT NULL,
    paused_at TEXT NOT NULL,
    resumed_by TEXT,
    resumed_at TEXT
) STRICT;
CREATE INDEX pauses_open ON pauses (resumed_at)
""",
    )
