"""The consuming half of :class:`~enertwin.agents.bus.jetstream.JetStreamBus`: pull requests, decoding, acks.

The pull requests are sent by hand (``$JS.API.CONSUMER.MSG.NEXT``) and their messages land in a deque
from a subscription callback: nats-py's ``fetch`` waits on a timer per message, which halves throughput.
A request asks for no more than the consumer may still have out (``max_ack_pending`` less what this
handle holds unacknowledged or not yet handed on), and one request at a time is open, so the deque is
bounded by ``max_ack_pending``. The next request leaves once half a batch is left in the deque, so the
server sends while this process works. Acks are written as ready frames
(:func:`~enertwin.agents.bus.nats_wire.ack_frame`, no flush per ack), and the stream sequence and
delivery count are read from the reply subject directly, not through nats-py's general metadata parser.
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
from nats.errors import NotJSMessageError

from enertwin.agents.bus.base import Refusal, RefusalHandler, SubjectPolicy, SubjectStats
from enertwin.agents.bus.nats_wire import ack_frame, write_frame
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
        self.frame_head = b""


class JetStreamDelivery:
    """One message of a pull consumer, decoded."""

    __slots__ = ("_connection", "_msg", "_out", "_seq", "_settled", "attempt", "event")

    def __init__(self, connection: Client, msg: Msg, seq: int, event: Event, attempt: int, out: set[int]) -> None:
        self._connection = connection
        self._msg = msg
        self._seq = seq
        self._out = out
        self._settled = False
        self.event = event
        self.attempt = attempt

    async def ack(self) -> None:
        """Acknowledge it (sent without waiting for the server; a repeated ack does nothing)."""
        if not self._settled:
            await write_frame(self._connection, ack_frame(self._msg.reply))
            self._settled = True
            self._out.discard(self._seq)

    async def nak(self, delay: float = 0.0) -> None:
        """Give it back, to be delivered again after ``delay`` seconds."""
        if not self._settled:
            await self._msg.nak(delay=delay if delay > 0 else None)
            self._settled = True
            self._out.discard(self._seq)


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
            now = time.monotonic()
            left = 5.0 if end is None else end - now
            if self._should_request(now):
                await self._request(now, max(left, 0.05))
            while self._fetched:
                if (delivery := await self._decoded(self._fetched.popleft())) is not None:
                    return delivery
            if left <= 0:
                return None
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

    def _room(self) -> int:
        """How many more deliveries this handle may take before ``max_ack_pending`` is reached."""
        return self._max_ack_pending - len(self._out) - len(self._fetched)

    def _should_request(self, now: float) -> bool:
        """None open, and nothing left to hand on, or half a batch left and room for more (a prefetch)."""
        if now < self._open_until:
            return False
        return not self._fetched or (len(self._fetched) <= FETCH_BATCH // 2 and self._room() > 0)

    async def _request(self, now: float, expires: float) -> None:
        if len(self._out) > self._max_ack_pending:  # deliveries lost to a purge: start counting again
            self._out.clear()
        batch = max(1, min(FETCH_BATCH, self._room()))  # at least 1: the server holds it until there is room
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
        seq, attempt = delivery_numbers(msg.reply)
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
        state.stats.delivered += 1
        if attempt > 1:
            state.stats.redelivered += 1
        return JetStreamDelivery(self._nc, msg, seq, event, attempt, self._out)


def delivery_numbers(reply: str) -> tuple[int, int]:
    """The stream sequence and delivery count (1 on first delivery) in a JetStream delivery's reply subject.

    ``$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`` (9 tokens), or
    with ``<domain>.<account hash>`` after ``$JS.ACK`` and a random token at the end (12 tokens, newer servers).
    """
    tokens = reply.split(".")
    if tokens[:2] != ["$JS", "ACK"] or len(tokens) not in (9, 11, 12):
        raise NotJSMessageError
    at = 4 if len(tokens) == 9 else 6
    return int(tokens[at + 1]), int(tokens[at]) or 1
