"""One suite, both buses: order, acks and redelivery, max_ack_pending, backpressure, de-duplication, refusals."""

from __future__ import annotations

import json

import pytest
from bus_support import BusOpener, run, telemetry

from enertwin.agents.bus.base import BusFull, Refusal, SubjectPolicy
from enertwin.agents.events import encode
from enertwin.kg.errors import InputError


def test_events_arrive_in_publish_order_and_acks_empty_the_subject(bus: BusOpener) -> None:
    async def scenario() -> None:
        async with bus() as b:
            sub = await b.subscribe("telemetry", "reader")
            sent = [telemetry(n) for n in range(50)]
            for event in sent:
                await b.publish("telemetry", event)
            received = []
            for _ in sent:
                delivery = await sub.next(timeout=10)
                assert delivery is not None and delivery.attempt == 1
                received.append(delivery.event)
                await delivery.ack()
            assert received == sent
            assert await sub.next(timeout=0.2) is None
            await b.flush()
            stats = b.stats()["telemetry"]
            assert (stats.published, stats.delivered, stats.redelivered) == (50, 50, 0)

    run(scenario())


def test_two_durables_each_get_every_event(bus: BusOpener) -> None:
    async def scenario() -> None:
        async with bus() as b:
            first = await b.subscribe("telemetry", "first")
            second = await b.subscribe("telemetry", "second")
            sent = [telemetry(n) for n in range(5)]
            for event in sent:
                await b.publish("telemetry", event)
            for sub in (first, second):
                got = []
                for _ in sent:
                    delivery = await sub.next(timeout=10)
                    assert delivery is not None
                    got.append(delivery.event.id)
                    await delivery.ack()
                assert got == [e.id for e in sent]

    run(scenario())


def test_an_unacknowledged_delivery_comes_again_after_ack_wait(bus: BusOpener) -> None:
    async def scenario() -> None:
        async with bus() as b:
            sub = await b.subscribe("actuation", "actuator", ack_wait=0.5)
            event = telemetry(1)
            await b.publish("actuation", event)
            first = await sub.next(timeout=10)
            assert first is not None and first.attempt == 1
            again = await sub.next(timeout=10)  # not acknowledged: due again after 0.5 s
            assert again is not None and again.event == event and again.attempt == 2
            await again.ack()
            assert await sub.next(timeout=1.5) is None  # acknowledged: never again
            assert b.stats()["actuation"].redelivered == 1

    run(scenario())


def test_a_nak_gives_the_event_back(bus: BusOpener) -> None:
    async def scenario() -> None:
        async with bus() as b:
            sub = await b.subscribe("telemetry", "reader")
            await b.publish("telemetry", telemetry(1))
            first = await sub.next(timeout=10)
            assert first is not None
            await first.nak()
            again = await sub.next(timeout=10)
            assert again is not None and again.event == first.event and again.attempt == 2
            await again.ack()

    run(scenario())


def test_no_more_than_max_ack_pending_deliveries_are_out(bus: BusOpener) -> None:
    async def scenario() -> None:
        async with bus() as b:
            sub = await b.subscribe("telemetry", "reader", max_ack_pending=3)
            sent = [telemetry(n) for n in range(5)]
            for event in sent:
                await b.publish("telemetry", event)
            out = []
            for _ in range(3):
                delivery = await sub.next(timeout=10)
                assert delivery is not None
                out.append(delivery)
            assert await sub.next(timeout=0.5) is None  # three out, none acknowledged: nothing more
            await out[0].ack()
            fourth = await sub.next(timeout=10)
            assert fourth is not None and fourth.event == sent[3]

    run(scenario())


def test_a_full_blocking_subject_raises_bus_full_after_its_timeout(bus: BusOpener) -> None:
    policy = SubjectPolicy(capacity=3, overflow="block", block_timeout=0.3)

    async def scenario() -> None:
        async with bus({"proposal": policy}) as b:
            sub = await b.subscribe("proposal", "coordinator")
            for n in range(3):
                await b.publish("proposal", telemetry(n))
            with pytest.raises(BusFull, match="'proposal' is full"):
                await b.publish("proposal", telemetry(3))
            delivery = await sub.next(timeout=10)
            assert delivery is not None
            await delivery.ack()
            await b.publish("proposal", telemetry(4))  # room again
            await b.flush()
            stats = b.stats()["proposal"]
            assert (stats.published, stats.dropped) == (4, 0)

    run(scenario())


def test_a_full_drop_oldest_subject_drops_and_counts_every_drop(bus: BusOpener) -> None:
    policy = SubjectPolicy(capacity=3, overflow="drop-oldest")

    async def scenario() -> None:
        async with bus({"telemetry": policy}) as b:
            sub = await b.subscribe("telemetry", "reader")
            sent = [telemetry(n) for n in range(5)]
            for event in sent:
                await b.publish("telemetry", event)
            await b.flush()
            assert b.stats()["telemetry"].dropped == 2
            got = []
            while (delivery := await sub.next(timeout=0.5)) is not None:
                got.append(delivery.event)
                await delivery.ack()
            assert got == sent[2:]  # the two oldest went

    run(scenario())


def test_an_event_published_twice_is_delivered_once(bus: BusOpener) -> None:
    async def scenario() -> None:
        async with bus() as b:
            sub = await b.subscribe("actuation", "actuator")
            once, other = telemetry(1), telemetry(2)
            for event in (once, once, other):
                await b.publish("actuation", event)
            got = []
            while (delivery := await sub.next(timeout=0.5)) is not None:
                got.append(delivery.event)
                await delivery.ack()
            assert got == [once, other]
            await b.flush()
            stats = b.stats()["actuation"]
            assert (stats.published, stats.duplicates) == (2, 1)

    run(scenario())


def test_refused_events_are_counted_and_handed_to_the_caller_never_to_the_consumer(bus: BusOpener) -> None:
    refusals: list[Refusal] = []
    newer = json.loads(encode(telemetry(0)))
    newer["version"] = "2.0"
    unknown = {"schema": "weather", "version": "1.0", "event": {}}

    async def scenario() -> None:
        async with bus(on_refused=refusals.append) as b:
            sub = await b.subscribe("telemetry", "ingest")
            await b.publish_wire("telemetry", json.dumps(newer).encode())
            await b.publish_wire("telemetry", json.dumps(unknown).encode())
            await b.publish_wire("telemetry", b"not json")
            good = telemetry(1)
            await b.publish_wire("telemetry", encode(good))
            delivery = await sub.next(timeout=10)
            assert delivery is not None and delivery.event == good
            await delivery.ack()
            assert b.stats()["telemetry"].refused == 3

    run(scenario())
    assert [r.subject for r in refusals] == ["telemetry"] * 3
    assert "version 2.0 is not readable" in str(refusals[0].error)
    assert "unknown event schema 'weather'" in str(refusals[1].error)


@pytest.mark.parametrize("subject", ["", "a..b", "tele*", "a b", "x.>"])
def test_a_bad_subject_is_refused_with_the_rule(bus: BusOpener, subject: str) -> None:
    async def scenario() -> None:
        async with bus() as b:
            with pytest.raises(InputError, match="bus subject"):
                await b.subscribe(subject, "reader")
            with pytest.raises(InputError, match="bus subject"):
                await b.publish(subject, telemetry(0))

    run(scenario())


def test_drop_oldest_counts_only_the_events_a_consumer_never_got(bus: BusOpener) -> None:
    """Events out for delivery when the subject overflows are not lost: every event is delivered or dropped."""
    policy = SubjectPolicy(capacity=3, overflow="drop-oldest")

    async def scenario() -> None:
        async with bus({"telemetry": policy}) as b:
            sub = await b.subscribe("telemetry", "reader", max_ack_pending=2)
            sent = [telemetry(n) for n in range(6)]
            for event in sent[:2]:
                await b.publish("telemetry", event)
            held = [await sub.next(timeout=10) for _ in range(2)]  # out for delivery, not acknowledged
            for event in sent[2:]:
                await b.publish("telemetry", event)
            await b.flush()
            got = []
            for delivery in held:
                assert delivery is not None
                got.append(delivery.event.id)
                await delivery.ack()
            while (delivery := await sub.next(timeout=0.5)) is not None:
                got.append(delivery.event.id)
                await delivery.ack()
            dropped = b.stats()["telemetry"].dropped
            assert dropped > 0 and len(set(got)) == len(got)
            assert len(got) + dropped == len(sent)

    run(scenario())
