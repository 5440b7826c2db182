"""NATS protocol frames the JetStream bus builds itself, and the one place it hands ready bytes to nats-py.

nats-py's ``publish`` costs more per message than a bus aiming at 20,000 events/s can spend: it checks the
subject, encodes a header dict, formats the command line with str formatting and encodes it, for every
message. The bus checks a subject once, when it is opened, and its only header is the event id, so its
frames are built here from bytes and written by :func:`write_frame`, the only code that reaches into
nats-py's internals (``tests/agents/bus/test_nats_wire.py`` pins that behaviour to the pinned nats-py).
"""

from __future__ import annotations

from typing import Final

import nats.errors
from nats.aio.client import Client

_NEWLINES: Final = str.maketrans({"\r": " ", "\n": " "})


def publish_head(subject: str, reply_prefix: str) -> bytes:
    """The constant start of every frame on ``subject``: ``HPUB <subject> <reply_prefix>.`` (a token follows)."""
    return f"HPUB {subject} {reply_prefix}.".encode()


def publish_frame(head: bytes, token: int, event_id: str, data: bytes) -> bytes:
    """One HPUB frame: ``data`` with ``Nats-Msg-Id: event_id``, its server acknowledgement to ``head``'s inbox.token.

    An id with a line break or surrounding blanks is written as nats-py's own header encoding writes it
    (line breaks as blanks, stripped), so de-duplication sees the same id as before.
    """
    value = event_id.encode() if event_id.isalnum() else event_id.strip().translate(_NEWLINES).encode()
    header = b"NATS/1.0\r\nNats-Msg-Id: %s\r\n\r\n" % value
    size = len(header)
    return b"%s%d %d %d\r\n%s%s\r\n" % (head, token, size, size + len(data), header, data)


def ack_frame(reply: str) -> bytes:
    """The frame acknowledging a JetStream delivery: an empty message to its reply subject."""
    return b"PUB %s 0\r\n\r\n" % reply.encode()


async def write_frame(connection: Client, frame: bytes) -> None:
    """Queue ``frame`` on ``connection`` and wake its flusher, as ``Client.publish`` does after building its own.

    nats-py 2.16 has no public call that writes a ready frame, so this mirrors the tail of its
    ``publish``/``_send_publish``: refuse on a closed or draining connection, keep the reconnect buffer bounded
    while disconnected, append to the pending commands and wake the flusher task (one frame or many,
    they leave in one socket write when the event loop next runs the flusher).
    """
    if connection.is_closed:
        raise nats.errors.ConnectionClosedError
    if connection.is_draining_pubs:
        raise nats.errors.ConnectionDrainingError
    if not connection.is_connected:
        limit = connection._max_pending_size
        if limit <= 0 or connection._pending_data_size + len(frame) > limit:
            raise nats.errors.OutboundBufferLimitError
    await connection._send_command(frame)
    flush_queue = connection._flush_queue
    if flush_queue is not None and flush_queue.empty():
        await connection._flush_pending()
