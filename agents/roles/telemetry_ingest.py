"""Telemetry ingest: measurements pass only through the data-quality gates, never silently bad.

Gates: missing (an expected asset has no value, or not a number), stale (measured too long
before now), out of physical range (limits read from the graph with ``asset_limits.rq``),
frozen (the same non-zero value too many times in a row) and schema drift (an event this
release cannot read, a quantity or an asset it does not know). Each failure is an
:class:`Incident`; the values that failed are left out, so the decisions that need them fall
back instead of using them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from enertwin.agents.events import EventRefused, Incident, Telemetry
from enertwin.agents.roles.identity import AgentIdentity
from enertwin.kg import namespaces as ns

QUANTITIES = {"p_mw": ("thermal", "renewable", "load"), "soc_mwh": ("storage",)}


@dataclass(frozen=True, slots=True)
class AssetLimit:
    """What the graph says an asset can physically do: its kind, nominal MW and (storage) MWh."""

    asset: str
    kind: str
    nominal_mw: float
    capacity_mwh: float | None = None

    def bounds(self, quantity: str, margin: float) -> tuple[float, float]:
        """The range a measured ``quantity`` must lie in, widened by ``margin`` of the nominal value."""
        top = self.capacity_mwh if quantity == "soc_mwh" and self.capacity_mwh is not None else self.nominal_mw
        slack = margin * abs(top)
        return -slack, top + slack


@dataclass(frozen=True, slots=True)
class GateSettings:
    """How strict the gates are (recorded as the ingest agent's configuration).

    No defaults here: the values live in the graph (``agents/settings``, read by ``Twin.agent_settings``).
    """

    max_age: timedelta
    frozen_count: int
    range_margin: float

    def as_config(self) -> dict[str, object]:
        """The settings as the agent's configuration."""
        return {
            "max_age_minutes": self.max_age / timedelta(minutes=1),
            "frozen_count": self.frozen_count,
            "range_margin": self.range_margin,
        }


@dataclass(slots=True)
class GateResult:
    """What passed the gates, and what did not."""

    accepted: dict[str, float] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)

    @property
    def failed_assets(self) -> set[str]:
        """Assets with an incident in this result."""
        return {i.subject for i in self.incidents}


class TelemetryIngest:
    """Checks each telemetry event against the gates; remembers values to see them freeze."""

    def __init__(self, limits: Iterable[AssetLimit], settings: GateSettings) -> None:
        self.settings = settings
        self.limits = {limit.asset: limit for limit in limits}
        self.agent = AgentIdentity(
            "telemetry-ingest", ns.TELEMETRY_INGEST_ROLE, configuration=self.settings.as_config()
        )
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def expected(self, quantity: str) -> list[str]:
        """The assets a complete telemetry event of ``quantity`` carries."""
        kinds = QUANTITIES.get(quantity, ())
        return sorted(a for a, limit in self.limits.items() if limit.kind in kinds)

    def check(self, event: Telemetry, now: datetime) -> GateResult:
        """The values of ``event`` that pass every gate, and an incident for each that does not."""
        result = GateResult()
        if event.quantity not in QUANTITIES:
            result.incidents.append(self._incident(event, "schema-drift", event.quantity, "an unknown quantity"))
            return result
        stale = now - event.at > self.settings.max_age
        for asset in sorted(set(event.values) - set(self.expected(event.quantity))):
            result.incidents.append(self._incident(event, "schema-drift", asset, "an asset not in the graph"))
        for asset in self.expected(event.quantity):
            value = event.values.get(asset)
            problem = self._problem(event, asset, value, stale)
            if problem is not None:
                result.incidents.append(self._incident(event, problem[0], asset, problem[1]))
            elif value is not None:
                result.accepted[asset] = value
        return result

    def complete_absence(self, quantity: str, at: datetime) -> Incident:
        """No telemetry of ``quantity`` came before the round's deadline: every value is missing."""
        return Incident(
            id=f"missing-{quantity}-{at.isoformat()}",
            time=at,
            source=self.agent.iri.value,
            kind="missing",
            subject=quantity,
            message=f"no {quantity} telemetry arrived for {at.isoformat()} before the deadline",
            severity="critical",
        )

    def refused(self, error: EventRefused, at: datetime, key: str) -> Incident:
        """An event the decoder refused (schema drift): an incident, never a crash."""
        return Incident(
            id=f"refused-{key}",
            time=at,
            source=self.agent.iri.value,
            kind="schema-drift",
            subject=error.schema or "telemetry",
            message=str(error),
            severity="critical",
        )

    def _problem(self, event: Telemetry, asset: str, value: float | None, stale: bool) -> tuple[str, str] | None:
        if value is None or not math.isfinite(value):
            return "missing", "no finite value"
        if stale:
            return "stale", f"measured at {event.at.isoformat()}, older than {self.settings.max_age}"
        low, high = self.limits[asset].bounds(event.quantity, self.settings.range_margin)
        if not low <= value <= high:
            return "out-of-range", f"{value:g} outside the physical range [{low:g}, {high:g}] the graph gives"
        key = (event.quantity, asset)
        previous, count = self._last.get(key, (math.nan, 0))
        count = count + 1 if value == previous and value != 0.0 else 1
        self._last[key] = (value, count)
        if count >= self.settings.frozen_count:
            return "frozen", f"the same value {value:g} {count} times in a row"
        return None

    def _incident(self, event: Telemetry, kind: str, asset: str, why: str) -> Incident:
        return Incident(
            id=f"{kind}-{event.id}-{_short(asset)}",
            time=event.at,
            source=self.agent.iri.value,
            kind=kind,
            subject=asset,
            message=f"{event.quantity} of <{asset}> at {event.at.isoformat()}: {why}",
        )


def limits_from_rows(rows: Iterable[Mapping[str, object]]) -> list[AssetLimit]:
    """Asset limits from the rows of ``asset_limits.rq`` (as :class:`~enertwin.twin.Table` rows)."""
    out = []
    for row in rows:
        capacity = row.get("capacity")
        nominal = float(str(row["nominal"]))
        out.append(
            AssetLimit(str(row["asset"]), str(row["kind"]), nominal, None if capacity is None else float(str(capacity)))
        )
    return out


def _short(asset: str) -> str:
    return asset.rsplit("/", 1)[-1]
