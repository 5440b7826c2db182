"""The bus on NATS JetStream: events survive a restart of the agents, and agents may run in several processes.

How the :class:`~enertwin.agents.bus.base.Bus` promises map onto JetStream:

- one stream (file storage) holds every subject as ``<stream>.<subject>``; its retention is *interest*, so an
  event stays stored until every durable consumer of its subject has acknowledged it, and a subject nobody
  consumes keeps nothing (as in :class:`~enertwin.agents.bus.memory.MemoryBus`);
- a durable consumer is a durable pull consumer filtered on the subject, with explicit acks, ``ack_wait``
  (redelivery of what was not acknowledged in time), ``max_ack_pending`` and unlimited redeliveries; one
  nobody pulls from for ``ABANDONED_AFTER`` is deleted by the server, so that consumers of past runs do not
  hold events (and fill their subjects) for ever: give a role the same durable name across restarts;
- de-duplication: each event goes out with ``Nats-Msg-Id`` = its id, and the stream drops a repeat within
  its two-minute duplicate window (counted in ``duplicates`` when the server's acknowledgement says so);
- backpressure: JetStream has a single discard policy and one per-subject limit for a whole stream, so
  the per-subject :class:`SubjectPolicy` is kept by the publisher: the depth of a subject is the count
  of its messages still stored (not acknowledged by every consumer), read from the server whenever the
  publisher's estimate (last read + published since) reaches ``capacity``. ``block`` polls that count
  until it falls below ``capacity`` and raises :class:`BusFull` after ``block_timeout``; ``drop-oldest``
  purges the subject down to ``capacity - 1`` (the oldest stored first, even one out for delivery,
  whose ack then does nothing) and counts in ``dropped``, per consumer of the subject, the purged events
  that consumer had not been delivered (an event out for delivery is not lost: its consumer has it).
  A delivery that races the purge (sent after the consumers' state is read) counts as dropped, so the
  count is never below what was lost, and above it by at most those racing deliveries. As a backstop against
  publishers in other processes the stream refuses a message past twice the largest capacity per subject
  (discard-new per subject); a refused publish waits for room and is sent again;
- publishing is asynchronous: ``publish`` returns once the event is queued for the socket; up to
  ``ACK_WINDOW`` events may wait for the server's acknowledgement, and a publish that finds the window
  full waits until half of it is acknowledged (not all of it), so the server stores one half while this
  process reads the other half's acknowledgements and sends more (:meth:`JetStreamBus.flush` waits for all);
  every ``SEND_EVERY`` events a publish yields to the event loop, so that what is queued leaves for the
  server while the next events are built, rather than when the window is full.
  Frames are built from bytes (:mod:`~enertwin.agents.bus.nats_wire`) and each acknowledgement's reply
  subject ends in an integer token, the key of what it acknowledges;
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
from urllib.parse import urlsplit

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import api

from enertwin.agents.bus.base import BusClosed, BusFull, RefusalHandler, SubjectPolicy, SubjectStats
from enertwin.agents.bus.jetstream_consumer import PullSubscription, SubjectState
from enertwin.agents.bus.names import check_consumer, check_durable, check_policy, check_subject
from enertwin.agents.bus.nats_wire import publish_frame, publish_head, write_frame
from enertwin.agents.events import Event, encode
from enertwin.kg.errors import StoreError

ACK_WINDOW: Final = 4_000
SEND_EVERY: Final = 256  # events queued before a publish lets the flusher write them (the server starts on them)
ACK_TIMEOUT: Final = 30.0
DUPLICATE_WINDOW: Final = 120.0
ABANDONED_AFTER: Final = 7 * 24 * 3600.0
_PER_SUBJECT_LIMIT_EXCEEDED: Final = 10077  # JetStream's error code for a discard-new per-subject refusal
_log = logging.getLogger(__name__)


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
        self._subjects: dict[str, SubjectState] = {}
        self._ack_prefix = connection.new_inbox()
        self._token_at = len(self._ack_prefix) + 1
        self._sent = 0
        self._unacked: dict[int, tuple[SubjectState, bytes, str]] = {}
        self._acks_in = asyncio.Event()
        self._wake_at = -1
        self._refused_by_limit: deque[tuple[SubjectState, bytes, str]] = deque()
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
        checked = {check_subject(subject): check_policy(policy) for subject, policy in (policies or {}).items()}
        check_policy(default)
        try:
            # nats-py retries a first connection as often as a lost one (forever, here): probe it once first.
            address = urlsplit(url)
            _, writer = await asyncio.wait_for(asyncio.open_connection(address.hostname, address.port or 4222), 5)
            writer.close()
            connection = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1)
        except (OSError, TimeoutError, ValueError, nats.errors.Error) as error:
            raise StoreError(f"cannot reach the NATS server at {url}: {error}") from None
        bus = cls(connection, stream, checked, default, on_refused)
        await connection.subscribe(f"{bus._ack_prefix}.*", cb=bus._acknowledged)
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
        if len(self._unacked) >= ACK_WINDOW:
            await self._acks_down_to(ACK_WINDOW // 2)
        elif self._sent % SEND_EVERY == 0:
            await asyncio.sleep(0)

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
    ) -> PullSubscription:
        """The durable pull consumer ``durable`` of ``subject``, made or updated with these settings."""
        check_consumer(durable, ack_wait, max_ack_pending)
        state = self._subjects.get(subject) or self._open(subject)
        name = _consumer_name(durable, subject)
        config = api.ConsumerConfig(
            durable_name=name,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=ack_wait,
            max_deliver=-1,
            max_ack_pending=max_ack_pending,
            filter_subject=state.wire,
            inactive_threshold=ABANDONED_AFTER,
        )
        await self._js.add_consumer(self._stream, config)
        next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{self._stream}.{name}"
        return await PullSubscription(self._nc, next_subject, state, max_ack_pending, self._on_refused).start()

    def stats(self) -> Mapping[str, SubjectStats]:
        """Counters of this process; ``depth`` is the estimate (last read from the server + sent since)."""
        for state in self._subjects.values():
            state.stats.depth = state.estimate
        return {name: state.stats for name, state in self._subjects.items()}

    async def flush(self) -> None:
        """Wait for the server's acknowledgement of every event sent so far."""
        await self._acks_down_to(0)
        while self._refused_by_limit:
            await self._send_refused_again()
            await self._acks_down_to(0)

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
        await self._acks_down_to(0)
        await self._js.delete_stream(self._stream)

    def _open(self, subject: str) -> SubjectState:
        check_subject(subject)
        wire = f"{self._stream}.{subject}"
        state = self._subjects[subject] = SubjectState(subject, wire, self._policies.get(subject, self._default))
        state.frame_head = publish_head(wire, self._ack_prefix)
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

    async def _send(self, state: SubjectState, data: bytes, event_id: str) -> None:
        if len(data) > self._nc.max_payload:
            raise nats.errors.MaxPayloadError
        self._sent += 1
        token = self._sent
        await write_frame(self._nc, publish_frame(state.frame_head, token, event_id, data))
        self._unacked[token] = (state, data, event_id)
        state.estimate += 1

    async def _acknowledged(self, msg: Msg) -> None:
        """The server's answer to one publish: stored, a duplicate, or refused."""
        sent = self._unacked.pop(int(msg.subject[self._token_at :]), None)
        if len(self._unacked) <= self._wake_at:
            self._wake_at = -1
            self._acks_in.set()
        if sent is None:
            return
        state, _, event_id = sent
        if msg.data.startswith(b"{") and b'"error"' not in msg.data:  # the common case, read without parsing
            if b'"duplicate"' in msg.data:
                state.stats.duplicates += 1
                state.estimate -= 1
            else:
                state.stats.published += 1
            return
        error = json.loads(msg.data).get("error", {}) if msg.data.startswith(b"{") else {"description": "no stream"}
        if error.get("err_code") == _PER_SUBJECT_LIMIT_EXCEEDED:
            self._refused_by_limit.append(sent)
        else:
            _log.error("the server did not store event %s on %r: %s", event_id, state.name, error)

    async def _acks_down_to(self, left: int) -> None:
        """Wait until no more than ``left`` events await the server's acknowledgement (several tasks may wait)."""
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                while len(self._unacked) > left:
                    self._wake_at = max(self._wake_at, left)
                    self._acks_in.clear()
                    await self._acks_in.wait()
        except TimeoutError:
            waiting = len(self._unacked)
            raise StoreError(f"the NATS server left {waiting} events unacknowledged for {ACK_TIMEOUT:g} s") from None

    async def _send_refused_again(self) -> None:
        while self._refused_by_limit:
            state, data, event_id = self._refused_by_limit.popleft()
            state.estimate = max(state.estimate, state.policy.capacity)
            await self._make_room(state)
            await self._send(state, data, event_id)

    async def _depth(self, state: SubjectState) -> int:
        info = await self._js.stream_info(self._stream, subjects_filter=state.wire)
        return (info.state.subjects or {}).get(state.wire, 0)

    async def _make_room(self, state: SubjectState) -> None:
        """Bring the subject below its capacity: read its depth, then purge or wait by its policy."""
        policy = state.policy
        await self._acks_down_to(0)
        depth = await self._depth(state)
        if depth >= policy.capacity and policy.overflow == "drop-oldest":
            purged = await self._drop_oldest(state, depth)
            depth = min(depth - purged, policy.capacity - 1)  # a purge keeps no more than capacity - 1
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

    async def _drop_oldest(self, state: SubjectState, depth: int) -> int:
        """Purge the subject down to ``capacity - 1`` and count what its consumers lose; the count purged.

        Per consumer, the stored events it has not been delivered are the newest ``num_pending`` of them
        (delivery is in order), so of the ``purged`` oldest of ``stored`` it never gets
        ``purged - (stored - num_pending)``, when that is positive.
        """
        consumers = await self._js.consumers_info(self._stream)
        undelivered = [info.num_pending or 0 for info in consumers if info.config.filter_subject == state.wire]
        keep = state.policy.capacity - 1
        purged = await self._purge(state, keep)
        stored = purged + keep
        lost = sum(max(0, purged - (stored - waiting)) for waiting in undelivered)
        state.stats.dropped += lost
        message = "subject %r is full (%d events): purged the %d oldest, %d lost (the rest were out for delivery)"
        _log.warning(message, state.name, depth, purged, lost)
        return purged

    async def _purge(self, state: SubjectState, keep: int) -> int:
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
