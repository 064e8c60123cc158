"""Append-only, sequence-numbered journals: the ledger of applied effects and the request log.

Checkers read them incrementally with ``since=SEQ``; the oldest entries are trimmed past a cap so
a long chaos run cannot grow memory without bound (a reader asking for trimmed entries gets the
oldest still held, and ``first_seq`` tells it what was lost).
"""

from __future__ import annotations

import threading
from typing import Any

JsonDict = dict[str, Any]


class Journal:
    """Thread-safe list of JSON-ready dicts, each stamped with a growing ``seq`` (from 1)."""

    def __init__(self, cap: int = 500_000) -> None:
        self._entries: list[JsonDict] = []
        self._first_seq = 1
        self._cap = cap
        self._lock = threading.Lock()

    def append(self, entry: JsonDict) -> JsonDict:
        with self._lock:
            entry["seq"] = self._first_seq + len(self._entries)
            self._entries.append(entry)
            if len(self._entries) > self._cap:
                drop = len(self._entries) - self._cap + self._cap // 10
                del self._entries[:drop]
                self._first_seq += drop
            return entry

    def since(self, seq: int = 0, limit: int = 10_000) -> tuple[list[JsonDict], int]:
        """Entries with ``seq > seq`` (at most ``limit``) and the ``since`` value to ask next."""
        with self._lock:
            start = max(0, seq + 1 - self._first_seq)
            chunk = self._entries[start : start + limit]
            next_seq = chunk[-1]["seq"] if chunk else max(seq, self._first_seq - 1)
            return [dict(e) for e in chunk], int(next_seq)

    @property
    def first_seq(self) -> int:
        return self._first_seq

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._first_seq += len(self._entries)
            self._entries.clear()
