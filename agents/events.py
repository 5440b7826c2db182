"""The events agents exchange: typed, versioned, and refused when a reader cannot understand them.

Each event type has a schema name and a ``major.minor`` version. A reader accepts an event of a
known schema whose major version it knows (a newer minor only adds optional fields, which are
ignored); anything else is an :class:`EventRefused`, which the bus counts and the agents record
as an incident. This is the data contract between agents that may run different releases.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from enertwin.kg.errors import InputError


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time in an event must be an instant (give its UTC offset)")
    return value.astimezone(UTC)


Instant = Annotated[datetime, AfterValidator(_instant)]


def new_id() -> str:
    """A fresh event id: the key for de-duplication and idempotent actuation."""
    return uuid.uuid4().hex


class Event(BaseModel):
    """What every event carries; subclasses set ``schema_name`` and ``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    schema_name: ClassVar[str]
    schema_version: ClassVar[tuple[int, int]] = (1, 0)

    id: str = Field(default_factory=new_id, min_length=1)
    time: Instant = Field(default_factory=lambda: datetime.now(UTC))
    source: str = Field(min_length=1, description="the IRI of the agent (or person) that sent it")


class Telemetry(Event):
    """Measured values of one quantity at one instant, by asset IRI (``p_mw`` output, ``soc_mwh`` stored energy…)."""

    schema_name: ClassVar[str] = "telemetry"
    at: Instant
    quantity: str = Field(min_length=1)
    values: dict[str, float]


class Forecast(Event):
    """A forecast per asset IRI on a regular axis of instants from ``start``, ``step_minutes`` apart."""

    schema_name: ClassVar[str] = "forecast"
    start: Instant
    step_minutes: int = Field(gt=0)
    quantity: str = Field(min_length=1)
    model: str = Field(min_length=1, description="the forecasting method and its version")
    values: dict[str, list[float]]


class Price(Event):
    """A market's price in €/MWh on a regular axis of instants."""

    schema_name: ClassVar[str] = "price"
    market: str = Field(min_length=1)
    start: Instant
    step_minutes: int = Field(gt=0)
    values: list[float]


class Setpoint(BaseModel):
    """One asset's proposed (or applied) operating point for one step."""

    model_config = ConfigDict(frozen=True)
    asset: str = Field(min_length=1)
    at: Instant
    p_mw: float
    committed: bool | None = None
    soc_mwh: float | None = None


class Proposal(Event):
    """An action an agent wants to take: setpoints for the next step(s) and what they would cost and emit.

    ``previous`` holds each asset's last applied setpoint, so that rules on change (ramps) can be
    checked from the proposal alone; the totals are over the proposal's day, the past included.
    """

    schema_name: ClassVar[str] = "proposal"
    decision: str | None = Field(default=None, description="the IRI of the decision record it comes from")
    setpoints: tuple[Setpoint, ...]
    previous: tuple[Setpoint, ...] = ()
    market_position_mw: float = 0.0
    cost_eur: float = 0.0
    cost_impact_eur: float = 0.0
    day_emissions_t: float = 0.0
    unserved_mwh: float = 0.0


class Violation(BaseModel):
    """A rule a proposal broke: the rule's IRI, its message and the asset it concerns."""

    model_config = ConfigDict(frozen=True)
    rule: str
    message: str
    asset: str | None = None


class Verdict(Event):
    """The policy engine's answer to a proposal, with the version of the policy set it applied."""

    schema_name: ClassVar[str] = "verdict"
    proposal: str = Field(min_length=1)
    outcome: Literal["allowed", "blocked", "pending-approval"]
    policy_version: str = Field(min_length=1)
    violations: tuple[Violation, ...] = ()


class Actuation(Event):
    """Setpoints released to the plant; applied once per ``id``, however often it is delivered."""

    schema_name: ClassVar[str] = "actuation"
    proposal: str = Field(min_length=1)
    setpoints: tuple[Setpoint, ...]
    fallback: bool = False


class Incident(Event):
    """Something went wrong and was handled: a failed data gate, a refused event, a timeout, a fallback."""

    schema_name: ClassVar[str] = "incident"
    kind: str = Field(min_length=1)
    subject: str = Field(min_length=1, description="what it concerns: an asset, an agent, a subject or an event id")
    message: str = Field(min_length=1)
    severity: Literal["info", "warning", "critical"] = "warning"


class Command(Event):
    """A person's command: pull or release a kill switch, approve or reject a pending action.

    Version 1.1 added ``scope`` (which kind of switch ``target`` names); a 1.0 command without it
    names the global switch by ``all``, else an asset of the store, else an agent.
    """

    schema_name: ClassVar[str] = "command"
    schema_version: ClassVar[tuple[int, int]] = (1, 1)
    kind: Literal["kill", "release", "approve", "reject"]
    target: str = Field(min_length=1, description="'all', an asset or agent IRI, or a pending proposal's id")
    reason: str = Field(min_length=1)
    who: str = Field(min_length=1, description="the person who gave the command (recorded as who did it)")
    scope: Literal["global", "asset", "agent"] | None = None


EVENT_TYPES: Final[dict[str, type[Event]]] = {
    kind.schema_name: kind for kind in (Telemetry, Forecast, Price, Proposal, Verdict, Actuation, Incident, Command)
}


class EventRefused(InputError):
    """An event this release cannot read: unknown schema, newer major version, or malformed."""

    def __init__(self, message: str, schema: str | None = None) -> None:
        super().__init__(message)
        self.schema = schema


def encode(event: Event) -> bytes:
    """The wire form: an envelope naming schema and version around the event's fields, as JSON."""
    major, minor = event.schema_version
    envelope = {"schema": event.schema_name, "version": f"{major}.{minor}", "event": event.model_dump(mode="json")}
    return json.dumps(envelope, separators=(",", ":")).encode()


def decode(data: bytes) -> Event:
    """The event in ``data``, or :class:`EventRefused` saying which rule of the contract it broke."""
    try:
        envelope = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EventRefused(f"an event must be a JSON envelope: {error}") from None
    if not isinstance(envelope, dict) or not {"schema", "version", "event"} <= envelope.keys():
        raise EventRefused("an event envelope needs 'schema', 'version' and 'event'")
    schema = envelope["schema"]
    kind = EVENT_TYPES.get(schema) if isinstance(schema, str) else None
    if kind is None:
        raise EventRefused(f"unknown event schema {schema!r} (known: {', '.join(sorted(EVENT_TYPES))})", None)
    major = _major(envelope["version"], schema)
    if major != kind.schema_version[0]:
        known = "{}.{}".format(*kind.schema_version)
        version = envelope["version"]
        message = f"event schema {schema!r} version {version} is not readable (this release reads {known})"
        raise EventRefused(message, schema)
    try:
        return kind.model_validate(envelope["event"])
    except ValidationError as error:
        raise EventRefused(f"a {schema!r} event is malformed: {error}", schema) from None


def _major(version: object, schema: str) -> int:
    if isinstance(version, str):
        head, dot, tail = version.partition(".")
        if dot and head.isdigit() and tail.isdigit():
            return int(head)
    raise EventRefused(f"event schema {schema!r} has version {version!r}, not 'major.minor'", schema)
