"""The consuming half of :class:`~enertwin.agents.bus.jetstream.JetStreamBus`: pull requests, decoding, acks.

The pull requests are sent by hand (``$JS.API.CONSUMER.MSG.NEXT``) and their messages land in a deque
from a subscription callback: nats-py's ``fetch`` waits on a timer per message, which halves throughput.
A request asks for no more than the consumer may still have out (``max_ack_pending`` less what this
handle holds unacknowledged), and one request at a time is open, so the deque is bounded by
``max_ack_pending``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from typing import Final

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from enertwin.agents.bus.base import Refusal, RefusalHandler, SubjectPolicy, SubjectStats
from enertwin.agents.events import Event, EventRefused, decode

FETCH_BATCH: Final = 500
_HEARTBEAT: Final = "100"
_log = logging.getLogger(__name__)


class SubjectState:
    """What a JetStream bus knows of one subject: its wire name, policy, counters and depth estimate."""

    def __init__(self, name: str, wire: str, policy: SubjectPolicy) -> None:
        self.name = name
        self.wire = wire
        self.policy = policy
        self.stats = SubjectStats()
        self.estimate = 0


class JetStreamDelivery:
    """One message of a pull consumer, decoded."""

    __slots__ = ("_msg", "_out", "_seq", "attempt", "event")

    def __init__(self, msg: Msg, seq: int, event: Event, attempt: int, out: set[int]) -> None:
        self._msg = msg
        self._seq = seq
        self._out = out
        self.event = event
        self.attempt = attempt

    async def ack(self) -> None:
        """Acknowledge it (sent without waiting for the server; a repeated ack does nothing)."""
        if not self._msg.is_acked:
            self._out.discard(self._seq)
            await self._msg.ack()

    async def nak(self, delay: float = 0.0) -> None:
        """Give it back, to be delivered again after ``delay`` seconds."""
        if not self._msg.is_acked:
            self._out.discard(self._seq)
            await self._msg.nak(delay=delay if delay > 0 else None)


class PullSubscription:
    """A handle on one durable pull consumer."""

    def __init__(
        self,
        connection: Client,
        next_subject: str,
        state: SubjectState,
        max_ack_pending: int,
        on_refused: RefusalHandler | None,
    ) -> None:
        self._nc = connection
        self._next_subject = next_subject
        self._state = state
        self._max_ack_pending = max_ack_pending
        self._on_refused = on_refused
        self._inbox = connection.new_inbox()
        self._fetched: deque[Msg] = deque()
        self._out: set[int] = set()
        self._arrived = asyncio.Event()
        self._open_until = 0.0
        self._awaited = 0
        self._subscription: NatsSubscription | None = None
        self._closed = False

    async def start(self) -> PullSubscription:
        """Listen on this handle's inbox."""
        self._subscription = await self._nc.subscribe(self._inbox, cb=self._received)
        return self

    async def next(self, timeout: float | None = None) -> JetStreamDelivery | None:
        """The next readable delivery, or None after ``timeout`` seconds (or once closed)."""
        end = None if timeout is None else time.monotonic() + timeout
        while not self._closed and self._nc.is_connected:
            while self._fetched:
                if (delivery := await self._decoded(self._fetched.popleft())) is not None:
                    return delivery
            now = time.monotonic()
            left = 5.0 if end is None else end - now
            if left <= 0:
                return None
            if now >= self._open_until:
                await self._request(now, max(left, 0.05))
            self._arrived.clear()
            try:
                async with asyncio.timeout(left):
                    await self._arrived.wait()
            except TimeoutError:
                continue
        return None

    async def close(self) -> None:
        """Stop pulling; what was pulled and not acknowledged is delivered again after ``ack_wait``."""
        if not self._closed:
            self._closed = True
            self._arrived.set()
            if self._subscription is not None:
                await self._subscription.unsubscribe()

    async def _request(self, now: float, expires: float) -> None:
        if len(self._out) > self._max_ack_pending:  # deliveries lost to a purge: start counting again
            self._out.clear()
        batch = max(1, min(FETCH_BATCH, self._max_ack_pending - len(self._out)))
        self._awaited = batch
        self._open_until = now + expires + 0.5
        request = json.dumps({"batch": batch, "expires": int(expires * 1e9)}).encode()
        await self._nc.publish(self._next_subject, request, reply=self._inbox)

    async def _received(self, msg: Msg) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:
            self._fetched.append(msg)
            self._awaited -= 1
            if self._awaited <= 0:
                self._open_until = 0.0
        elif status != _HEARTBEAT:  # the request ended: expired, nothing to give, or max_ack_pending reached
            self._open_until = 0.0
        self._arrived.set()

    async def _decoded(self, msg: Msg) -> JetStreamDelivery | None:
        state = self._state
        metadata = msg.metadata
        seq = metadata.sequence.stream
        self._out.add(seq)
        try:
            event = decode(msg.data)
        except EventRefused as error:
            self._out.discard(seq)
            await msg.ack()
            state.stats.refused += 1
            _log.warning("refused an event on %r: %s", state.name, error)
            if self._on_refused is not None:
                self._on_refused(Refusal(state.name, error, msg.data[:200]))
            return None
        attempt = metadata.num_delivered or 1
        state.stats.delivered += 1
        if attempt > 1:
            state.stats.redelivered += 1
        return JetStreamDelivery(msg, seq, event, attempt, self._out)
