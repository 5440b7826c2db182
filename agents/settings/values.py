"""The agents' settings as typed values: read from the graph's ``et:AgentSettings`` node, or from the shipped Turtle.

The numbers live only in Turtle (``default.ttl``, then the store's agent-settings graph): the
roles' dataclasses (:class:`GateSettings`, :class:`Deadlines`) carry no defaults of their own,
so there is one place to read and change them. Without a store (a unit test, a role built by
hand) :func:`shipped_settings` reads the same file with the same query.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from importlib.resources import files

from pyoxigraph import Literal, NamedNode, QuerySolutions, RdfFormat
from pyoxigraph import Store as OxigraphStore

from enertwin.agents.roles.coordinator import Deadlines
from enertwin.agents.roles.telemetry_ingest import GateSettings
from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.queries import Term, inline_bindings, load_query

DEFAULT_FILE = "default.ttl"
QUERY = "agent_settings.rq"
STEP_HOURS = 0.25  # the portfolio's resolution: one 15-minute step
SANDBOX_TELEMETRY_S = 0.05  # the sandbox publishes a round's telemetry before the round: only draining is left


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting as a person names it (``gate-max-age``), its property and the unit its values are in."""

    name: str
    predicate: NamedNode
    unit: str
    role: str

    @property
    def curie(self) -> str:
        """The property as ``et:…``."""
        return "et:" + self.predicate.value.removeprefix(ns.ET_BASE)


SETTINGS = (
    Setting("gate-max-age", ns.GATE_MAX_AGE, "min", "telemetry-ingest"),
    Setting("gate-frozen-count", ns.GATE_FROZEN_COUNT, "readings", "telemetry-ingest"),
    Setting("gate-range-margin", ns.GATE_RANGE_MARGIN, "fraction", "telemetry-ingest"),
    Setting("telemetry-deadline", ns.TELEMETRY_DEADLINE, "s", "coordinator"),
    Setting("proposal-deadline", ns.PROPOSAL_DEADLINE, "s", "coordinator"),
    Setting("verdict-deadline", ns.VERDICT_DEADLINE, "s", "coordinator"),
    Setting("approval-wait", ns.APPROVAL_WAIT, "s", "coordinator"),
    Setting("approval-window", ns.APPROVAL_WINDOW, "min", "coordinator"),
    Setting("forecast-season", ns.FORECAST_SEASON, "h", "forecaster"),
)


def find_setting(name: str) -> Setting:
    """The setting called ``name`` (its CLI name, its CURIE or its IRI); an :class:`InputError` names the known ones."""
    for setting in SETTINGS:
        if name in (setting.name, setting.curie, setting.predicate.value):
            return setting
    known = ", ".join(s.name for s in SETTINGS)
    raise InputError(f"no agent setting is called {name!r} (known: {known})")


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """What the roles run with, and the values as stored (by setting name, in each setting's unit)."""

    gates: GateSettings
    deadlines: Deadlines
    season_steps: int
    values: Mapping[str, float]
    source: str
    """Where they were read: the store's graph version, or the shipped file when the store has none."""

    def paced(self, interval_s: float) -> AgentSettings:
        """For a live run every ``interval_s`` seconds: the telemetry wait is at most a third of the interval."""
        telemetry = min(self.deadlines.telemetry, interval_s / 3)
        return dataclasses.replace(self, deadlines=dataclasses.replace(self.deadlines, telemetry=telemetry))

    def accelerated(self) -> AgentSettings:
        """For the sandbox, whose plant time runs ahead of the wall clock.

        Its telemetry is already on the bus when a round starts, and no person can approve within
        a simulated interval (the safe plan runs).
        """
        deadlines = dataclasses.replace(self.deadlines, telemetry=SANDBOX_TELEMETRY_S, approval_wait=0.0)
        return dataclasses.replace(self, deadlines=deadlines)


def settings_from_rows(rows: Iterable[Mapping[str, Term | None]], source: str) -> AgentSettings:
    """The typed settings from the rows of ``agent_settings.rq`` (an :class:`InputError` names a missing one)."""
    by_property = {row["property"]: row["value"] for row in rows}
    values: dict[str, float] = {}
    for setting in SETTINGS:
        term = by_property.get(setting.predicate)
        if not isinstance(term, Literal):
            raise InputError(f"the agent settings ({source}) give no {setting.name} ({setting.curie})")
        values[setting.name] = int(term.value) if setting.unit == "readings" else float(term.value)
    gates = GateSettings(
        max_age=timedelta(minutes=values["gate-max-age"]),
        frozen_count=int(values["gate-frozen-count"]),
        range_margin=values["gate-range-margin"],
    )
    deadlines = Deadlines(
        telemetry=values["telemetry-deadline"],
        proposal=values["proposal-deadline"],
        verdict=values["verdict-deadline"],
        approval_wait=values["approval-wait"],
        approval_window=timedelta(minutes=values["approval-window"]),
    )
    return AgentSettings(gates, deadlines, round(values["forecast-season"] / STEP_HOURS), values, source)


def default_settings_turtle() -> bytes:
    """The settings shipped with enertwin (``agents/settings/default.ttl``)."""
    return (files("enertwin.agents.settings") / DEFAULT_FILE).read_bytes()


@cache
def shipped_settings() -> AgentSettings:
    """The shipped settings, read from ``default.ttl`` with the query the store is read with."""
    scratch = OxigraphStore()
    scratch.load(default_settings_turtle(), format=RdfFormat.TURTLE)
    query = inline_bindings(load_query("enertwin.agents.settings", QUERY), {"node": ns.AGENT_SETTINGS_NODE})
    solutions = scratch.query(query)
    assert isinstance(solutions, QuerySolutions)
    rows = [{"property": s["property"], "value": s["value"]} for s in solutions]
    return settings_from_rows(rows, f"shipped agents/settings/{DEFAULT_FILE}")
