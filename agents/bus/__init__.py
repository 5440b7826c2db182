"""The event bus agents talk over: one protocol, an in-process and a NATS JetStream implementation."""

from __future__ import annotations

from collections.abc import Mapping

from enertwin.agents.bus.base import Bus, RefusalHandler, SubjectPolicy
from enertwin.agents.bus.memory import MemoryBus
from enertwin.kg.errors import InputError


async def open_bus(
    url: str | None,
    policies: Mapping[str, SubjectPolicy] | None = None,
    default: SubjectPolicy = SubjectPolicy(),  # noqa: B008  # frozen, shared safely
    *,
    on_refused: RefusalHandler | None = None,
) -> Bus:
    """The bus at ``url``: ``None`` or ``"memory"`` for the in-process bus, ``nats://host:port`` for JetStream."""
    if url is None or url == "memory":
        return MemoryBus(policies, default, on_refused=on_refused)
    if url.startswith(("nats://", "tls://")):
        from enertwin.agents.bus.jetstream import JetStreamBus

        return await JetStreamBus.connect(url, policies=policies, default=default, on_refused=on_refused)
    raise InputError(f"bus {url!r}: give 'memory' or a NATS URL (nats://host:port)")
