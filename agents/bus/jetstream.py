"""The bus on NATS JetStream: events survive a restart of the agents, and agents may run in several processes.

How the :class:`~enertwin.agents.bus.base.Bus` promises map onto JetStream:

- one stream (file storage) holds every subject as ``<stream>.<subject>``; its retention is *interest*, so an
  event stays stored until every durable consumer of its subject has acknowledged it, and a subject nobody
  consumes keeps nothing (as in :class:`~enertwin.agents.bus.memory.MemoryBus`);
- a durable consumer is a durable pull consumer filtered on the subject, with explicit acks, ``ack_wait``
  (redelivery of what was not acknowledged in time), ``max_ack_pending`` and unlimited redeliveries;
- de-duplication: each event goes out with ``Nats-Msg-Id`` = its id, and the stream drops a repeat within
  its two-minute duplicate window (counted in ``duplicates`` when the server's acknowledgement says so);
- backpressure: JetStream has a single discard policy and one per-subject limit for a whole stream, so
  the per-subject :class:`SubjectPolicy` is kept by the publisher: the depth of a subject is the count
  of its messages still stored (not acknowledged by every consumer), read from the server whenever the
  publisher's estimate (last read + published since) reaches ``capacity``. ``block`` polls that count
  until it falls below ``capacity`` and raises :class:`BusFull` after ``block_timeout``; ``drop-oldest``
  purges the subject down to ``capacity - 1`` (the oldest stored first, even one out for delivery,
  whose ack then does nothing), counting and logging what the purge removed. As a backstop against
  publishers in other processes the stream refuses a message past twice the largest capacity per subject
  (discard-new per subject); a refused publish waits for room and is sent again;
- publishing is asynchronous: ``publish`` returns once the event is sent, and acknowledgements are awaited
  ``ACK_BATCH`` at a time (and by :meth:`JetStreamBus.flush`), which keeps throughput high;
- events are decoded with :func:`~enertwin.agents.events.decode`; one it refuses (unknown schema, newer
  major version, malformed) is acknowledged, counted in ``refused`` and handed to ``on_refused``, and the
  consumer goes on with the next.

Counters are this process's: what it published, delivered, dropped and refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Mapping
from typing import Final

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from enertwin.agents.bus.base import BusClosed, BusFull, Refusal, RefusalHandler, SubjectPolicy, SubjectStats
from enertwin.agents.bus.names import check_durable, check_subject
from enertwin.agents.events import Event, EventRefused, decode, encode
from enertwin.kg.errors import InputError, StoreError

ACK_BATCH: Final = 1_000
FETCH_BATCH: Final = 200
DUPLICATE_WINDOW: Final = 120.0
_PER_SUBJECT_LIMIT_EXCEEDED: Final = 10077  # JetStream's error code for a discard-new per-subject refusal
_log = logging.getLogger(__name__)


class _Delivery:
    """One message of a pull consumer, decoded."""

    __slots__ = ("_msg", "_out", "attempt", "event")

    def __init__(self, msg: Msg, event: Event, attempt: int, out: set[int]) -> None:
        self._msg = msg
        self._out = out
        self.event = event
        self.attempt = attempt

    async def ack(self) -> None:
        """Acknowledge it (sent without waiting for the server; a repeated ack does nothing)."""
        if not self._msg.is_acked:
            self._out.discard(self._msg.metadata.sequence.stream)
            await self._msg.ack()

    async def nak(self, delay: float = 0.0) -> None:
        """Give it back, to be delivered again after ``delay`` seconds."""
        if not self._msg.is_acked:
            self._out.discard(self._msg.metadata.sequence.stream)
            await self._msg.nak(delay=delay if delay > 0 else None)


class _Subject:
    def __init__(self, name: str, wire: str, policy: SubjectPolicy) -> None:
        self.name = name
        self.wire = wire
        self.policy = policy
        self.stats = SubjectStats()
        self.estimate = 0


class _Subscription:
    """A pull subscription on one durable consumer, fetching up to ``FETCH_BATCH`` at a time.

    A fetch asks for no more than the consumer may still have out (``max_ack_pending`` less the stream
    sequences this handle holds unacknowledged): the server does not fill a larger request, and the
    client would wait out the whole timeout for the rest.
    """

    def __init__(
        self, bus: JetStreamBus, state: _Subject, pull: JetStreamContext.PullSubscription, max_ack_pending: int
    ) -> None:
        self._bus = bus
        self._state = state
        self._pull = pull
        self._max_ack_pending = max_ack_pending
        self._fetched: deque[Msg] = deque()
        self._out: set[int] = set()
        self._closed = False

    def _batch(self) -> int:
        if len(self._out) > self._max_ack_pending:  # deliveries lost to a purge or a drop: start counting again
            self._out.clear()
        return max(1, min(FETCH_BATCH, self._max_ack_pending - len(self._out)))

    async def next(self, timeout: float | None = None) -> _Delivery | None:
        """The next readable delivery, or None after ``timeout`` seconds (or once closed)."""
        end = None if timeout is None else time.monotonic() + timeout
        while not (self._closed or self._bus.closed):
            if not self._fetched:
                wait = 5.0 if end is None else end - time.monotonic()
                if wait <= 0:
                    return None
                try:
                    fetched = await self._pull.fetch(self._batch(), timeout=max(wait, 0.01))
                except (TimeoutError, nats.errors.TimeoutError):
                    continue
                self._out.update(msg.metadata.sequence.stream for msg in fetched)
                self._fetched.extend(fetched)
                continue
            msg = self._fetched.popleft()
            if (delivery := await self._bus.delivery(self._state, msg, self._out)) is not None:
                return delivery
        return None

    async def close(self) -> None:
        """Stop fetching; what was fetched and not acknowledged is delivered again after ``ack_wait``."""
        if not self._closed:
            self._closed = True
            await self._pull.unsubscribe()


class JetStreamBus:
    """The :class:`~enertwin.agents.bus.base.Bus` on one JetStream stream (see the module's notes)."""

    def __init__(
        self,
        connection: Client,
        stream: str,
        policies: Mapping[str, SubjectPolicy],
        default: SubjectPolicy,
        on_refused: RefusalHandler | None,
    ) -> None:
        self._nc = connection
        self._js = connection.jetstream()
        self._stream = stream
        self._policies = policies
        self._default = default
        self._on_refused = on_refused
        self._subjects: dict[str, _Subject] = {}
        self._unacked: set[asyncio.Future[api.PubAck]] = set()
        self._refused_by_limit: deque[tuple[_Subject, bytes, str]] = deque()
        self.closed = False

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        stream: str = "enertwin",
        policies: Mapping[str, SubjectPolicy] | None = None,
        default: SubjectPolicy = SubjectPolicy(),  # noqa: B008  # frozen, shared safely
        on_refused: RefusalHandler | None = None,
    ) -> JetStreamBus:
        """Connect to the NATS server at ``url`` and make (or widen) the stream ``stream``."""
        check_durable(stream)
        checked = {check_subject(subject): policy for subject, policy in (policies or {}).items()}
        for policy in (*checked.values(), default):
            if policy.capacity < 1 or not policy.block_timeout >= 0:
                raise InputError(f"{policy}: capacity must be at least 1 and block_timeout at least 0 s")
        try:
            connection = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1)
        except (OSError, nats.errors.Error) as error:
            raise StoreError(f"cannot reach the NATS server at {url}: {error}") from None
        bus = cls(connection, stream, checked, default, on_refused)
        await bus._ensure_stream(2 * max(p.capacity for p in (*checked.values(), default)))
        return bus

    async def publish(self, subject: str, event: Event) -> None:
        """Send ``event`` (acknowledged later, in a batch); waits or drops by the subject's policy."""
        if self.closed:
            raise BusClosed(subject)
        state = self._subjects.get(subject) or self._open(subject)
        if self._refused_by_limit:
            await self._send_refused_again()
        if state.estimate >= state.policy.capacity:
            await self._make_room(state)
        await self._send(state, encode(event), event.id)
        if len(self._unacked) >= ACK_BATCH:
            await self._await_acks()

    async def publish_wire(self, subject: str, data: bytes) -> None:
        """Send an event in its wire form as it is (from a bridge or another release); consumers judge it."""
        if self.closed:
            raise BusClosed(subject)
        state = self._subjects.get(subject) or self._open(subject)
        if state.estimate >= state.policy.capacity:
            await self._make_room(state)
        await self._nc.publish(state.wire, data)
        await self._nc.flush()

    async def subscribe(
        self, subject: str, durable: str, *, ack_wait: float = 30.0, max_ack_pending: int = 1_000
    ) -> _Subscription:
        """The durable pull consumer ``durable`` of ``subject``, made or updated with these settings."""
        check_durable(durable)
        if not ack_wait > 0 or max_ack_pending < 1:
            raise InputError(f"consumer {durable!r}: ack_wait must be > 0 s and max_ack_pending at least 1")
        state = self._subjects.get(subject) or self._open(subject)
        config = api.ConsumerConfig(
            durable_name=_consumer_name(durable, subject),
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=-1,
            max_ack_pending=max_ack_pending,
            filter_subject=state.wire,
        )
        pull = await self._js.pull_subscribe(
            state.wire, durable=config.durable_name, stream=self._stream, config=config, pending_msgs_limit=FETCH_BATCH
        )
        return _Subscription(self, state, pull, max_ack_pending)

    def stats(self) -> Mapping[str, SubjectStats]:
        """Counters of this process; ``depth`` is the estimate (last read from the server + sent since)."""
        for state in self._subjects.values():
            state.stats.depth = state.estimate
        return {name: state.stats for name, state in self._subjects.items()}

    async def flush(self) -> None:
        """Wait for the server's acknowledgement of every event sent so far."""
        await self._await_acks()
        while self._refused_by_limit:
            await self._send_refused_again()
            await self._await_acks()

    async def close(self) -> None:
        """Wait for outstanding acknowledgements, then disconnect; waiting publishers get :class:`BusClosed`."""
        if self.closed:
            return
        try:
            if self._nc.is_connected:
                await self.flush()
        finally:
            self.closed = True
            await self._nc.close()

    async def delete_stream(self) -> None:
        """Delete this bus's stream and everything in it (tests and benchmarks clean up with it)."""
        await self._await_acks()
        await self._js.delete_stream(self._stream)

    async def delivery(self, state: _Subject, msg: Msg, out: set[int]) -> _Delivery | None:
        """The decoded delivery of ``msg``, or None for a refused event (acknowledged, counted, handed on)."""
        try:
            event = decode(msg.data)
        except EventRefused as error:
            out.discard(msg.metadata.sequence.stream)
            await msg.ack()
            state.stats.refused += 1
            _log.warning("refused an event on %r: %s", state.name, error)
            if self._on_refused is not None:
                self._on_refused(Refusal(state.name, error, msg.data[:200]))
            return None
        attempt = msg.metadata.num_delivered or 1
        state.stats.delivered += 1
        if attempt > 1:
            state.stats.redelivered += 1
        return _Delivery(msg, event, attempt, out)

    def _open(self, subject: str) -> _Subject:
        check_subject(subject)
        wire = f"{self._stream}.{subject}"
        state = self._subjects[subject] = _Subject(subject, wire, self._policies.get(subject, self._default))
        return state

    async def _ensure_stream(self, per_subject_limit: int) -> None:
        config = api.StreamConfig(
            name=self._stream,
            subjects=[f"{self._stream}.>"],
            retention=api.RetentionPolicy.INTEREST,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.NEW,
            discard_new_per_subject=True,
            max_msgs_per_subject=per_subject_limit,
            duplicate_window=DUPLICATE_WINDOW,
        )
        try:
            info = await self._js.stream_info(self._stream)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(config)
            return
        if (info.config.max_msgs_per_subject or 0) < per_subject_limit:
            await self._js.update_stream(info.config.evolve(max_msgs_per_subject=per_subject_limit))

    async def _send(self, state: _Subject, data: bytes, event_id: str) -> None:
        future = await self._js.publish_async(state.wire, data, headers={"Nats-Msg-Id": event_id})
        state.estimate += 1
        self._unacked.add(future)
        future.add_done_callback(lambda done: self._acknowledged(done, state, data, event_id))

    def _acknowledged(self, future: asyncio.Future[api.PubAck], state: _Subject, data: bytes, event_id: str) -> None:
        self._unacked.discard(future)
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            if future.result().duplicate:
                state.stats.duplicates += 1
                state.estimate -= 1
            else:
                state.stats.published += 1
        elif isinstance(error, nats.js.errors.APIError) and error.err_code == _PER_SUBJECT_LIMIT_EXCEEDED:
            self._refused_by_limit.append((state, data, event_id))
        else:
            _log.error("the server did not store event %s on %r: %s", event_id, state.name, error)

    async def _await_acks(self) -> None:
        while self._unacked:
            await asyncio.wait(list(self._unacked))

    async def _send_refused_again(self) -> None:
        while self._refused_by_limit:
            state, data, event_id = self._refused_by_limit.popleft()
            state.estimate = max(state.estimate, state.policy.capacity)
            await self._make_room(state)
            await self._send(state, data, event_id)

    async def _depth(self, state: _Subject) -> int:
        info = await self._js.stream_info(self._stream, subjects_filter=state.wire)
        return (info.state.subjects or {}).get(state.wire, 0)

    async def _make_room(self, state: _Subject) -> None:
        """Bring the subject below its capacity: read its depth, then purge or wait by its policy."""
        policy = state.policy
        await self._await_acks()
        depth = await self._depth(state)
        if depth >= policy.capacity and policy.overflow == "drop-oldest":
            purged = await self._purge(state, keep=policy.capacity - 1)
            state.stats.dropped += purged
            _log.warning("subject %r is full (%d events): dropped the %d oldest", state.name, depth, purged)
            depth -= purged
        deadline = time.monotonic() + policy.block_timeout
        pause = 0.002
        while depth >= policy.capacity:
            if self.closed:
                raise BusClosed(state.name)
            left = deadline - time.monotonic()
            if left <= 0:
                raise BusFull(state.name, policy.capacity, policy.block_timeout)
            await asyncio.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
            depth = await self._depth(state)
        state.estimate = depth

    async def _purge(self, state: _Subject, keep: int) -> int:
        request = json.dumps({"filter": state.wire, "keep": keep}).encode()
        reply = await self._nc.request(f"$JS.API.STREAM.PURGE.{self._stream}", request, timeout=5)
        answer = json.loads(reply.data)
        if "error" in answer:
            raise StoreError(f"purging subject {state.name!r} of stream {self._stream!r}: {answer['error']}")
        return int(answer.get("purged", 0))


def _consumer_name(durable: str, subject: str) -> str:
    """The JetStream consumer of ``durable`` on ``subject``: readable, unique per (durable, subject)."""
    digest = hashlib.sha256(subject.encode()).hexdigest()[:8]
    return f"{durable}_{subject.replace('.', '_')}_{digest}"
