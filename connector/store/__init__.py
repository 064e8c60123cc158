"""Persistence behind one narrow interface: the daemon imports ``Store`` and ``open_store`` only.

``open_store(state_dir)`` returns the SQLite backend today; a PostgreSQL one will implement the
same ``Store`` protocol.
"""

from __future__ import annotations

from pathlib import Path

from connector.clock import Clock
from connector.store.api import (
    BUYER_HISTORY_WINDOW,
    CLOSED_CASE_STATES,
    DEFAULT_GUARD_LEAD,
    ApprovalRecord,
    ApprovalStatus,
    CapEntryKind,
    CarrierClaimRecord,
    CaseChange,
    CaseKey,
    CaseNoteRecord,
    CaseRecord,
    CaseState,
    ChangeKind,
    ConsoleRole,
    ConsoleSessionRecord,
    ConsoleUserRecord,
    DecisionRecord,
    EffectRecord,
    EffectSpec,
    PauseRecord,
    PolicyInstallRecord,
    PolicyRole,
    PolicyVersionRecord,
    QuarantineRecord,
    ReasonCount,
    ReplayRow,
    ShadowDecisionRecord,
    ShopRecord,
    Store,
    StoredVersion,
    TaskRecord,
    TaskStatus,
)

__all__ = [
    "BUYER_HISTORY_WINDOW",
    "CLOSED_CASE_STATES",
    "DEFAULT_GUARD_LEAD",
    "ApprovalRecord",
    "ApprovalStatus",
    "CapEntryKind",
    "CarrierClaimRecord",
    "CaseChange",
    "CaseKey",
    "CaseNoteRecord",
    "CaseRecord",
    "CaseState",
    "ChangeKind",
    "ConsoleRole",
    "ConsoleSessionRecord",
    "ConsoleUserRecord",
    "DecisionRecord",
    "EffectRecord",
    "EffectSpec",
    "PauseRecord",
    "PolicyInstallRecord",
    "PolicyRole",
    "PolicyVersionRecord",
    "QuarantineRecord",
    "ReasonCount",
    "ReplayRow",
    "ShadowDecisionRecord",
    "ShopRecord",
    "Store",
    "StoredVersion",
    "TaskRecord",
    "TaskStatus",
    "open_read_only_store",
    "open_store",
]


def open_store(state_dir: Path, *, clock: Clock | None = None) -> Store:
    """The writable store in ``state_dir`` (created, pragma-checked and migrated)."""
    from connector.store.sqlite import SqliteStore

    return SqliteStore.open(state_dir, clock=clock)


def open_read_only_store(state_dir: Path) -> Store:
    """For inspection commands: refuses a missing database, never writes."""
    from connector.store.sqlite import SqliteStore

    return SqliteStore.open_read_only(state_dir)
