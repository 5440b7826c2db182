"""Which events were already applied, kept on disk: an actuation redelivered after a crash is applied once.

A bus delivers at least once (a consumer killed between acting and acknowledging gets the event again),
so the actuator asks :meth:`AppliedEvents.apply_once` to act. The check, the action and the mark are one
SQLite transaction: what ``apply`` writes through :attr:`AppliedEvents.connection` commits together with
the mark or not at all, so a kill at any instant leaves either both or neither. An effect outside the
database (a message to a plant) is at most repeated once, in the instant between it and the commit; make
it idempotent by the same id (the live actuator publishes it with ``Nats-Msg-Id`` = the event id).
Ids older than ``horizon`` are pruned, which bounds the file: a redelivery comes within minutes, not days.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, TypeVar

from enertwin.kg.errors import StoreError

T = TypeVar("T")
PRUNE_EVERY: Final = 1_000


class AppliedEvents:
    """A durable set of applied event ids in an SQLite file (made on first use)."""

    def __init__(self, path: Path, *, horizon: timedelta = timedelta(days=7)) -> None:
        self.path = path
        self.horizon = horizon
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("CREATE TABLE IF NOT EXISTS applied_event (id TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        except sqlite3.Error as error:
            raise StoreError(f"cannot open the applied-events file {path}: {error}") from None
        self._since_prune = 0
        self.prune()

    @property
    def connection(self) -> sqlite3.Connection:
        """The database ``apply`` may write its effect through, inside the transaction that marks the id."""
        return self._db

    def apply_once(self, event_id: str, apply: Callable[[], T]) -> T | None:
        """``apply()``'s result and ``event_id`` marked applied, in one transaction; None if applied before."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("SELECT 1 FROM applied_event WHERE id = ?", (event_id,)).fetchone() is not None:
                db.execute("ROLLBACK")
                return None
            result = apply()
            db.execute("INSERT INTO applied_event (id, applied_at) VALUES (?, ?)", (event_id, time.time()))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self.prune()
        return result

    def __contains__(self, event_id: object) -> bool:
        row = self._db.execute("SELECT 1 FROM applied_event WHERE id = ?", (event_id,)).fetchone()
        return row is not None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM applied_event").fetchone()[0])

    def prune(self) -> int:
        """Forget ids applied longer than ``horizon`` ago; how many were forgotten."""
        self._since_prune = 0
        cursor = self._db.execute(
            "DELETE FROM applied_event WHERE applied_at < ?", (time.time() - self.horizon.total_seconds(),)
        )
        return cursor.rowcount

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> AppliedEvents:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
