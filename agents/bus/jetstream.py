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
from enertwin.agents.events import Event, encode
from enertwin.kg.errors import StoreError

ACK_BATCH: Final = 2_000
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
        self._sent = 0
        self._unacked: dict[str, tuple[SubjectState, bytes, str]] = {}
        self._all_acked = asyncio.Event()
        self._all_acked.set()
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

    def _open(self, subject: str) -> SubjectState:
        check_subject(subject)
        wire = f"{self._stream}.{subject}"
        state = self._subjects[subject] = SubjectState(subject, wire, self._policies.get(subject, self._default))
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
        self._sent += 1
        token = str(self._sent)
        self._unacked[token] = (state, data, event_id)
        self._all_acked.clear()
        state.estimate += 1
        reply = f"{self._ack_prefix}.{token}"
        await self._nc.publish(state.wire, data, reply=reply, headers={"Nats-Msg-Id": event_id})

    async def _acknowledged(self, msg: Msg) -> None:
        """The server's answer to one publish: stored, a duplicate, or refused."""
        sent = self._unacked.pop(msg.subject.rpartition(".")[2], None)
        if not self._unacked:
            self._all_acked.set()
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

    async def _await_acks(self) -> None:
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                await self._all_acked.wait()
        except TimeoutError:
            lost = len(self._unacked)
            raise StoreError(
                f"the NATS server acknowledged none of the last {lost} events in {ACK_TIMEOUT:g} s"
            ) from None

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
