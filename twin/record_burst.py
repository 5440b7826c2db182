"""Agent records held for a few rounds and appended in one ledger commit, instead of one commit per round.

A commit costs a validation, a tree head and a signature whatever its size, and some of it grows
with the ledger; a sandbox round makes two or three records (its policy verdict, proposal and
actuation). Held in a burst, the records of up to ``rounds`` rounds (or ``seconds`` of wall time,
whichever comes first) go to ``Ledger.append_many`` together, in the order they were made.

What a crash may lose is bounded: the records of at most ``rounds`` rounds or ``seconds`` seconds.
Closing the burst (the end of a run, a stop, an error) flushes what it holds. The live runtime
opens no burst, so there every round's records are committed before its next round starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from enertwin.kg.errors import InputError
from enertwin.kg.provenance.ledger import Receipt
from enertwin.kg.provenance.record import ActivityRecord

Append = Callable[[Sequence[ActivityRecord]], list[Receipt]]


class RecordBurst:
    """Records held until ``rounds`` rounds closed or ``seconds`` passed since the oldest one, then appended."""

    def __init__(self, append: Append, rounds: int, seconds: float) -> None:
        if rounds < 1 or seconds <= 0:
            raise InputError(f"a record burst needs rounds ≥ 1 and seconds > 0, got {rounds} and {seconds}")
        self._append, self.rounds, self.seconds = append, rounds, seconds
        self._held: list[ActivityRecord] = []
        self._closed_rounds = 0
        self._oldest = 0.0
        self.commits = 0  # bursts appended so far

    @property
    def held(self) -> int:
        """Records waiting for the next flush."""
        return len(self._held)

    def add(self, activities: Sequence[ActivityRecord], *, closes_round: bool) -> None:
        """Hold ``activities``; ``closes_round``: they are a round's last (then a flush may be due)."""
        if not self._held:
            self._oldest = time.monotonic()
        self._held.extend(activities)
        self._closed_rounds += closes_round
        if self._closed_rounds >= self.rounds or time.monotonic() - self._oldest >= self.seconds:
            self.flush()

    def flush(self) -> list[Receipt]:
        """Append every held record in one commit (nothing when none is held)."""
        held, self._held, self._closed_rounds = self._held, [], 0
        if not held:
            return []
        try:
            receipts = self._append(held)
        except BaseException:
            self._held = held + self._held  # not stored: kept for the next flush
            raise
        self.commits += 1
        return receipts
