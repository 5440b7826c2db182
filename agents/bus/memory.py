"""The in-process bus, the default: bounded queues per durable consumer, acks and redelivery in one event loop.

It keeps the promises of :mod:`enertwin.agents.bus.base` the way :class:`~enertwin.agents.bus.jetstream.JetStreamBus`
does, so one test suite runs on both:

- every durable consumer of a subject gets every event published on it after the consumer was made; a subject
  nobody consumes keeps nothing (as a JetStream stream with interest retention);
- a subject's depth is, per consumer, the events it has not acknowledged (waiting or out for delivery); at
  ``capacity`` a publish waits for an acknowledgement (and :class:`BusFull` after ``block_timeout``), or drops
  the consumer's oldest waiting event (the longest out for delivery when none waits), counted and logged;
- a delivery not acknowledged within ``ack_wait`` is delivered again, and no more than ``max_ack_pending``
  deliveries are out unacknowledged per consumer;
- an event id seen in the last two minutes (JetStream's default duplicate window, at most
  ``DEDUP_CAPACITY`` ids) is not published again.

Events travel as the (frozen) objects themselves, which keeps this bus fast; :meth:`MemoryBus.publish_wire`
takes the wire form from outside and refuses what :func:`~enertwin.agents.events.decode` refuses.
Every structure is bounded: per consumer by the subject's capacity, the ids by ``DEDUP_CAPACITY``, the
subjects and consumers by ``MAX_SUBJECTS`` and ``MAX_DURABLES``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import OrderedDict, deque
from collections.abc import Mapping
from contextlib import suppress
from typing import Final

from enertwin.agents.bus.base import (
    BusClosed,
    BusFull,
    Refusal,
    RefusalHandler,
    SubjectPolicy,
    SubjectStats,
)
from enertwin.agents.bus.names import check_durable, check_subject
from enertwin.agents.events import Event, EventRefused, decode
from enertwin.kg.errors import InputError

DEDUP_WINDOW: Final = 120.0
DEDUP_CAPACITY: Final = 10_000
MAX_SUBJECTS: Final = 1_000
MAX_DURABLES: Final = 100

_log = logging.getLogger(__name__)


def _wake(waiters: list[asyncio.Future[None]]) -> None:
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)
    waiters.clear()


class _Delivery:
    """One event for one consumer; the same object is handed out again on a redelivery."""

    __slots__ = ("_consumer", "attempt", "deadline", "event", "seq")

    def __init__(self, consumer: _Consumer, seq: int, event: Event) -> None:
        self._consumer = consumer
        self.seq = seq
        self.event = event
        self.attempt = 0
        self.deadline = 0.0

    async def ack(self) -> None:
        """Mark it handled (a no-op once dropped or acknowledged)."""
        self._consumer.ack(self)

    async def nak(self, delay: float = 0.0) -> None:
        """Give it back, to be delivered again after ``delay`` seconds."""
        self._consumer.nak(self, delay)


class _Consumer:
    """A durable consumer's state: waiting events, deliveries out (in deadline order) and given-back ones."""

    def __init__(self, subject: _Subject, ack_wait: float, max_ack_pending: int) -> None:
        self.subject = subject
        self.ack_wait = ack_wait
        self.max_ack_pending = max_ack_pending
        self.waiting: deque[_Delivery] = deque()
        self.out: OrderedDict[int, _Delivery] = OrderedDict()
        self.given_back: list[tuple[float, int, _Delivery]] = []
        self.wakers: list[asyncio.Future[None]] = []
        # A lower bound of the first delivery out's deadline: deadlines grow along `out`, so an ack or a
        # redelivery never lowers it, and `take` looks at the head only once it may be due.
        self.head_due = 0.0

    def _head_due(self, now: float) -> bool:
        self.head_due = next(iter(self.out.values())).deadline
        return self.head_due <= now

    def unacked(self) -> int:
        return len(self.waiting) + len(self.out) + len(self.given_back)

    def take(self, now: float) -> _Delivery | None:
        """The next delivery: a given-back or overdue one first, then a waiting one if under max_ack_pending."""
        if self.given_back and self.given_back[0][0] <= now:
            delivery = heapq.heappop(self.given_back)[2]
        elif self.out and now >= self.head_due and self._head_due(now):
            delivery = self.out.popitem(last=False)[1]
        elif self.waiting and len(self.out) + len(self.given_back) < self.max_ack_pending:
            delivery = self.waiting.popleft()
        else:
            return None
        stats = self.subject.stats
        stats.delivered += 1
        if delivery.attempt:
            stats.redelivered += 1
        delivery.attempt += 1
        delivery.deadline = now + self.ack_wait
        self.out[delivery.seq] = delivery
        return delivery

    def next_due(self) -> float | None:
        """When the earliest delivery out falls due again (a wake-up time for a waiting ``next``)."""
        times = [self.given_back[0][0]] if self.given_back else []
        if self.out:
            times.append(next(iter(self.out.values())).deadline)
        return min(times) if times else None

    def ack(self, delivery: _Delivery) -> None:
        if self.out.pop(delivery.seq, None) is None and not self._forget_given_back(delivery):
            return
        self._room_made()

    def nak(self, delivery: _Delivery, delay: float) -> None:
        if self.out.pop(delivery.seq, None) is None:
            return
        due = asyncio.get_running_loop().time() + max(delay, 0.0)
        heapq.heappush(self.given_back, (due, delivery.seq, delivery))
        if self.wakers:
            _wake(self.wakers)

    def drop_oldest(self) -> Event:
        """Remove the oldest waiting event (or the longest out): the subject is full for this consumer."""
        if self.waiting:
            return self.waiting.popleft().event
        if self.out:
            return self.out.popitem(last=False)[1].event
        return heapq.heappop(self.given_back)[2].event

    def _forget_given_back(self, delivery: _Delivery) -> bool:
        for index, (_, seq, _) in enumerate(self.given_back):
            if seq == delivery.seq:
                self.given_back.pop(index)
                heapq.heapify(self.given_back)
                return True
        return False

    def _room_made(self) -> None:
        if self.wakers:
            _wake(self.wakers)
        if self.subject.room:
            _wake(self.subject.room)


class _Subject:
    def __init__(self, name: str, policy: SubjectPolicy) -> None:
        self.name = name
        self.policy = policy
        self.stats = SubjectStats()
        self.consumers: dict[str, _Consumer] = {}
        self.room: list[asyncio.Future[None]] = []
        self.next_seq = 0
        self.dropping = False

    def full(self) -> list[_Consumer]:
        capacity = self.policy.capacity
        return [consumer for consumer in self.consumers.values() if consumer.unacked() >= capacity]


class _Subscription:
    """A handle on a durable consumer; several handles on one durable share its events."""

    def __init__(self, bus: MemoryBus, consumer: _Consumer) -> None:
        self._bus = bus
        self._consumer = consumer
        self._closed = False

    async def next(self, timeout: float | None = None) -> _Delivery | None:
        """The next delivery, or None after ``timeout`` seconds (or once closed)."""
        consumer = self._consumer
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._closed or self._bus.closed:
            return None
        if (delivery := consumer.take(now)) is not None:
            return delivery
        end = None if timeout is None else now + timeout
        while not (self._closed or self._bus.closed):
            due = consumer.next_due()
            until = end if due is None else (due if end is None else min(due, end))
            waiter: asyncio.Future[None] = loop.create_future()
            consumer.wakers.append(waiter)
            try:
                async with asyncio.timeout_at(until):
                    await waiter
            except TimeoutError:
                pass
            finally:
                with suppress(ValueError):
                    consumer.wakers.remove(waiter)
            now = loop.time()
            if self._closed or self._bus.closed:
                return None
            if (delivery := consumer.take(now)) is not None:
                return delivery
            if end is not None and now >= end:
                return None
        return None

    async def close(self) -> None:
        """Stop this handle; its deliveries not acknowledged fall due again after ``ack_wait``."""
        self._closed = True
        _wake(self._consumer.wakers)


class MemoryBus:
    """The in-process :class:`~enertwin.agents.bus.base.Bus`: bounded, acknowledged, in one event loop."""

    def __init__(
        self,
        policies: Mapping[str, SubjectPolicy] | None = None,
        default: SubjectPolicy = SubjectPolicy(),  # noqa: B008  # frozen, shared safely
        *,
        on_refused: RefusalHandler | None = None,
    ) -> None:
        self._policies = {check_subject(subject): _checked(policy) for subject, policy in (policies or {}).items()}
        self._default = _checked(default)
        self._on_refused = on_refused
        self._subjects: dict[str, _Subject] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()
        self.closed = False

    async def publish(self, subject: str, event: Event) -> None:
        """Hand ``event`` to every consumer of ``subject``, waiting or dropping by its policy when full."""
        if self.closed:
            raise BusClosed(subject)
        state = self._subjects.get(subject) or self._open(subject)
        seen = self._seen
        if event.id in seen:
            state.stats.duplicates += 1
            return
        capacity = state.policy.capacity
        for consumer in state.consumers.values():
            if len(consumer.waiting) + len(consumer.out) + len(consumer.given_back) >= capacity:
                await self._make_room(state)
                if event.id in seen:  # published by another task while this one waited
                    state.stats.duplicates += 1
                    return
                break
        else:
            state.dropping = False
        self._remember(event.id)
        seq = state.next_seq = state.next_seq + 1
        for consumer in state.consumers.values():
            consumer.waiting.append(_Delivery(consumer, seq, event))
            if consumer.wakers:
                _wake(consumer.wakers)
        state.stats.published += 1

    async def publish_wire(self, subject: str, data: bytes) -> None:
        """Publish an event in its wire form (from a bridge or another release); a refused one is counted."""
        try:
            event = decode(data)
        except EventRefused as error:
            self._refuse(self._subjects.get(subject) or self._open(subject), error, data)
            return
        await self.publish(subject, event)

    async def subscribe(
        self, subject: str, durable: str, *, ack_wait: float = 30.0, max_ack_pending: int = 1_000
    ) -> _Subscription:
        """The consumer ``durable`` of ``subject`` (made on first use; later calls update its settings)."""
        check_durable(durable)
        if not ack_wait > 0 or max_ack_pending < 1:
            raise InputError(f"consumer {durable!r}: ack_wait must be > 0 s and max_ack_pending at least 1")
        state = self._subjects.get(subject) or self._open(subject)
        consumer = state.consumers.get(durable)
        if consumer is None:
            if len(state.consumers) >= MAX_DURABLES:
                raise InputError(f"subject {subject!r} already has {MAX_DURABLES} durable consumers (the limit)")
            consumer = state.consumers[durable] = _Consumer(state, ack_wait, max_ack_pending)
        consumer.ack_wait, consumer.max_ack_pending = ack_wait, max_ack_pending
        return _Subscription(self, consumer)

    def stats(self) -> Mapping[str, SubjectStats]:
        """Every subject's counters; ``depth`` is the most events one consumer has not acknowledged."""
        for state in self._subjects.values():
            state.stats.depth = max((c.unacked() for c in state.consumers.values()), default=0)
        return {name: state.stats for name, state in self._subjects.items()}

    async def flush(self) -> None:
        """Nothing to wait for: a published event is with its consumers when ``publish`` returns."""

    async def close(self) -> None:
        """Stop the bus: waiting publishers get :class:`BusClosed`, waiting consumers None."""
        self.closed = True
        for state in self._subjects.values():
            _wake(state.room)
            for consumer in state.consumers.values():
                _wake(consumer.wakers)

    def _open(self, subject: str) -> _Subject:
        check_subject(subject)
        if len(self._subjects) >= MAX_SUBJECTS:
            raise InputError(f"the bus already has {MAX_SUBJECTS} subjects (the limit); {subject!r} is one too many")
        state = self._subjects[subject] = _Subject(subject, self._policies.get(subject, self._default))
        return state

    def _remember(self, event_id: str) -> None:
        """Hold ``event_id`` for de-duplication, forgetting ids past the window or over the capacity."""
        seen = self._seen
        now = asyncio.get_running_loop().time()
        seen[event_id] = now
        while len(seen) > DEDUP_CAPACITY or next(iter(seen.values())) < now - DEDUP_WINDOW:
            seen.popitem(last=False)

    async def _make_room(self, state: _Subject) -> None:
        policy = state.policy
        if policy.overflow == "drop-oldest":
            for consumer in state.full():
                dropped = consumer.drop_oldest()
                state.stats.dropped += 1
                if not state.dropping:
                    _log.warning("subject %r is full (%d events): dropping the oldest", state.name, policy.capacity)
                _log.info("dropped event %s on full subject %r", dropped.id, state.name)
            state.dropping = True
            return
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(policy.block_timeout):
                while state.full():
                    if self.closed:
                        raise BusClosed(state.name)
                    waiter: asyncio.Future[None] = loop.create_future()
                    state.room.append(waiter)
                    try:
                        await waiter
                    finally:
                        with suppress(ValueError):
                            state.room.remove(waiter)
        except TimeoutError:
            raise BusFull(state.name, policy.capacity, policy.block_timeout) from None
        if self.closed:
            raise BusClosed(state.name)

    def _refuse(self, state: _Subject, error: EventRefused, data: bytes) -> None:
        state.stats.refused += 1
        _log.warning("refused an event on %r: %s", state.name, error)
        if self._on_refused is not None:
            self._on_refused(Refusal(state.name, error, data[:200]))


def _checked(policy: SubjectPolicy) -> SubjectPolicy:
    if policy.capacity < 1 or not policy.block_timeout >= 0:
        raise InputError(f"{policy}: capacity must be at least 1 and block_timeout at least 0 s")
    return policy
