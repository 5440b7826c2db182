"""Commit events: what agents and subscriptions listen to, one per provenance record committed.

Every write through a :class:`~enertwin.Twin` is one ledger record; once it is committed
the twin tells each subscriber. A callback runs in the thread that wrote (an optimise job's
thread too), so it should be quick: hand the event on, as :class:`CommitStream` does. A callback
that raises is logged (``enertwin.events``); the write it heard of stands.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from enertwin.kg.provenance.ledger import Receipt
from enertwin.kg.provenance.record import ActivityRecord


@dataclass(frozen=True, slots=True)
class CommitEvent:
    """One committed record: its place in the ledger, the activity it records and the graphs it wrote."""

    seq: int
    record: str
    record_graph: str
    activity: str
    kind: str
    graphs: tuple[str, ...]
    committed: datetime

    @classmethod
    def of(cls, receipt: Receipt, activity: ActivityRecord) -> CommitEvent:
        """The event of ``receipt``, the commit of ``activity``'s record."""
        written = tuple(r.graph.value for r in receipt.reports if r.graph != receipt.graph and not r.unchanged)
        return cls(
            seq=receipt.entry.seq,
            record=receipt.entry.record.value,
            record_graph=receipt.graph.value,
            activity=activity.iri.value,
            kind=activity.kind.value,
            graphs=written,
            committed=datetime.now(UTC),
        )


Callback = Callable[[CommitEvent], None]
_log = logging.getLogger("enertwin.events")


class Subscribers:
    """The callbacks told of each commit; safe to change from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callback] = []

    def add(self, callback: Callback) -> Subscription:
        """Tell ``callback`` of every later commit, until the subscription is closed."""
        with self._lock:
            self._callbacks.append(callback)
        return Subscription(self, callback)

    def remove(self, callback: Callback) -> None:
        """Stop telling ``callback`` (nothing if it was already removed)."""
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def publish(self, receipt: Receipt, activity: ActivityRecord) -> None:
        """Tell every subscriber of one committed record."""
        event = CommitEvent.of(receipt, activity)
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:  # the record is committed: a subscriber's failure must not fail the writer
                _log.exception("a commit subscriber failed on record %s", event.seq)


@dataclass(frozen=True, slots=True)
class Subscription:
    """A callback's subscription; :meth:`close` (or leaving a ``with`` block) ends it."""

    subscribers: Subscribers
    callback: Callback

    def close(self) -> None:
        """Stop the callback from being told of later commits."""
        self.subscribers.remove(self.callback)

    def __enter__(self) -> Subscription:
        """Use as a context manager that unsubscribes."""
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        """Unsubscribe on leaving the ``with`` block."""
        self.close()


class CommitStream:
    """Commit events as an iterator, queued from the moment it was opened (for an agent's loop).

    ``timeout`` bounds each wait for the next event: the iteration ends when none came in time.
    """

    def __init__(self, subscribers: Subscribers, timeout: float | None = None) -> None:
        self._queue: queue.Queue[CommitEvent] = queue.Queue()
        self._timeout = timeout
        self._subscription = subscribers.add(self._queue.put)

    def __iter__(self) -> Iterator[CommitEvent]:
        """The events, in commit order."""
        while True:
            try:
                yield self._queue.get(timeout=self._timeout)
            except queue.Empty:
                return

    def pending(self) -> list[CommitEvent]:
        """The events queued so far, without waiting."""
        found = []
        while True:
            try:
                found.append(self._queue.get_nowait())
            except queue.Empty:
                return found

    def close(self) -> None:
        """Stop queueing events."""
        self._subscription.close()

    def __enter__(self) -> CommitStream:
        """Use as a context manager that stops queueing."""
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        """Stop queueing on leaving the ``with`` block."""
        self.close()
