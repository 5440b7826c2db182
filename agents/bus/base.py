"""What every bus promises (in-process or NATS JetStream): the contract the shared test suite checks.

A subject is bounded: its :class:`SubjectPolicy` says how many events may wait and what happens
when it is full, either the publisher waits (and :class:`BusFull` after ``block_timeout``) or
the oldest waiting event is dropped and counted. A delivery is acknowledged by its consumer;
one not acknowledged within ``ack_wait`` is delivered again (``attempt`` grows), so consumers
that act (the actuator) must be idempotent by event id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from enertwin.agents.events import Event, EventRefused

Overflow = Literal["block", "drop-oldest"]


class BusFull(Exception):
    """A publisher waited ``block_timeout`` seconds for room on a full subject."""

    def __init__(self, subject: str, capacity: int, waited: float) -> None:
        super().__init__(f"subject {subject!r} is full ({capacity} events waiting) and stayed full for {waited:g} s")
        self.subject = subject


@dataclass(frozen=True, slots=True)
class SubjectPolicy:
    """How a subject holds back: its capacity and what a publish does when it is full."""

    capacity: int = 10_000
    overflow: Overflow = "block"
    block_timeout: float = 5.0


@dataclass(slots=True)
class SubjectStats:
    """Counters per subject, exported as Prometheus metrics."""

    published: int = 0
    delivered: int = 0
    redelivered: int = 0
    dropped: int = 0
    refused: int = 0
    depth: int = 0
    duplicates: int = 0


class Delivery(Protocol):
    """One event handed to one consumer, to be acknowledged when handled."""

    @property
    def event(self) -> Event:
        """The event delivered."""
        ...

    @property
    def attempt(self) -> int:
        """1 on first delivery, more when it is delivered again after a missed acknowledgement."""
        ...

    async def ack(self) -> None:
        """Mark it handled: it is not delivered again."""
        ...

    async def nak(self, delay: float = 0.0) -> None:
        """Give it back, to be delivered again after ``delay`` seconds."""
        ...


class Subscription(Protocol):
    """A durable consumer of one subject."""

    async def next(self, timeout: float | None = None) -> Delivery | None:
        """The next delivery, or None after ``timeout`` seconds with nothing to deliver."""
        ...

    async def close(self) -> None:
        """Stop consuming; what was not acknowledged is delivered again later."""
        ...


class Bus(Protocol):
    """Publish and consume typed events by subject, bounded and acknowledged."""

    async def publish(self, subject: str, event: Event) -> None:
        """Send ``event``; waits or drops by the subject's policy, and :class:`BusFull` on a timed-out wait."""
        ...

    async def subscribe(
        self, subject: str, durable: str, *, ack_wait: float = 30.0, max_ack_pending: int = 1_000
    ) -> Subscription:
        """The consumer named ``durable`` on ``subject``; it resumes where it left off after a restart."""
        ...

    def stats(self) -> Mapping[str, SubjectStats]:
        """The counters of every subject used so far."""
        ...

    async def flush(self) -> None:
        """Wait until every event published so far is stored (a no-op in process); then stats are final."""
        ...

    async def close(self) -> None:
        """Stop the bus: publishers and consumers are released."""
        ...


class BusClosed(Exception):
    """A publish on a bus that was closed: nothing was sent."""

    def __init__(self, subject: str) -> None:
        super().__init__(f"cannot publish on {subject!r}: the bus is closed")
        self.subject = subject


@dataclass(frozen=True, slots=True)
class Refusal:
    """An event the bus could not read, handed to the ``on_refused`` callback so it can become an incident."""

    subject: str
    error: EventRefused
    excerpt: bytes


RefusalHandler = Callable[[Refusal], None]
"""Called once per refused event, inside the bus's consumer; it must not block (schedule async work)."""
