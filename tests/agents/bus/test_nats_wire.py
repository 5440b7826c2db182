"""The frames the JetStream bus writes itself, and the nats-py internals `write_frame` relies on (pinned version)."""

from __future__ import annotations

import asyncio
import tomllib
from importlib.metadata import version
from pathlib import Path

import nats
import nats.errors
import pytest
from bus_support import run

from enertwin.agents.bus.jetstream_consumer import delivery_numbers
from enertwin.agents.bus.nats_wire import ack_frame, publish_frame, publish_head, write_frame

PYPROJECT = Path(__file__).parents[3] / "pyproject.toml"


def test_nats_py_is_the_version_write_frame_was_checked_against() -> None:
    pins = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pinned = next(pin.split("==")[1] for pin in pins if pin.startswith("nats-py=="))
    # write_frame mirrors nats-py's Client._send_publish; a new nats-py needs that re-checked, then this pin moved.
    assert version("nats-py") == pinned == "2.16.0"


def test_frames_written_by_hand_arrive_as_nats_py_would_have_sent_them(nats_server: str) -> None:
    async def scenario() -> None:
        connection = await nats.connect(nats_server)
        received: asyncio.Queue[nats.aio.msg.Msg] = asyncio.Queue()
        await connection.subscribe("wire.test", cb=received.put)
        await connection.flush()
        head = publish_head("wire.test", "_INBOX.acks")
        await write_frame(connection, publish_frame(head, 7, "abc123", b"first"))
        await write_frame(connection, publish_frame(head, 8, " odd\r\nid ", b""))
        await write_frame(connection, ack_frame("wire.test"))
        first, odd, ack = [await asyncio.wait_for(received.get(), 10) for _ in range(3)]
        assert (first.data, first.reply, first.headers) == (b"first", "_INBOX.acks.7", {"Nats-Msg-Id": "abc123"})
        assert (odd.data, odd.reply, odd.headers) == (b"", "_INBOX.acks.8", {"Nats-Msg-Id": "odd  id"})
        assert (ack.data, ack.reply, ack.headers) == (b"", "", None)
        await connection.close()
        with pytest.raises(nats.errors.ConnectionClosedError):
            await write_frame(connection, ack_frame("wire.test"))

    run(scenario())


def test_the_stream_sequence_and_attempt_come_from_the_reply_subject() -> None:
    assert delivery_numbers("$JS.ACK.s.c.2.41.40.1700000000000000000.9") == (41, 2)
    assert delivery_numbers("$JS.ACK._.hash.s.c.1.42.41.1700000000000000000.0.tok") == (42, 1)
    with pytest.raises(nats.errors.NotJSMessageError):
        delivery_numbers("_INBOX.x.y")
