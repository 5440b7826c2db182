"""The actuator adapter: the one place setpoints leave the agents, once per actuation event.

In the sandbox it hands them to the simulated plant; in live mode it publishes them on a bus
subject for a plant controller to take. Either way it asks the kill switches again just before
applying (a switch pulled since the coordinator released the event still stops it; so does the
agent switch of the actuator itself), and it applies an event id only once, however often the
bus delivers it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from enertwin.agents.bus.base import Bus
from enertwin.agents.events import Actuation, Incident, Setpoint
from enertwin.agents.roles.contracts import SwitchBoard
from enertwin.agents.roles.identity import AgentIdentity
from enertwin.kg import namespaces as ns

LIVE_SUBJECT = "plant.setpoints"


class Plant(Protocol):
    """Something that takes setpoints: the simulated plant, or a controller behind a bus subject."""

    def take(self, setpoints: Mapping[str, Setpoint]) -> None:
        """Hold these setpoints from now on (assets not named keep theirs)."""
        ...


class Actuator:
    """Applies actuation events to a plant, each once, never past a kill switch."""

    def __init__(
        self, plant: Plant, switches: SwitchBoard, mode: str = "sandbox", applied: Callable[[str], bool] | None = None
    ) -> None:
        self.plant = plant
        self.switches = switches
        self.mode = mode
        self.agent = AgentIdentity(f"actuator-{mode}", ns.ACTUATOR_ROLE, configuration={"mode": mode})
        self.own = self.agent.iri.value
        self._seen: set[str] = set()
        self._already = applied or self._seen.__contains__
        self.applied: list[Actuation] = []

    def apply(self, event: Actuation) -> tuple[Actuation | None, list[Incident]]:
        """Apply ``event``'s setpoints no switch stops; (what was applied, incidents). A repeat applies nothing."""
        if self._already(event.id):
            return None, []
        self._seen.add(event.id)
        passing, incidents = {}, []
        for s in event.setpoints:
            switch = self.switches.blocking(s.asset, event.source) or self.switches.blocking(s.asset, self.own)
            if switch is None:
                passing[s.asset] = s
                continue
            incidents.append(
                Incident(
                    id=f"kill-at-actuator-{event.id}-{s.asset.rsplit('/', 1)[-1]}",
                    time=event.time,
                    source=self.agent.iri.value,
                    kind="kill-switch",
                    subject=s.asset,
                    message=f"the actuator held <{s.asset}>: kill switch {switch}",
                    severity="info",
                )
            )
        if not passing:
            return None, incidents
        self.plant.take(passing)
        done = event.model_copy(update={"setpoints": tuple(passing.values())})
        self.applied.append(done)
        return done, incidents


class BusPlant:
    """Live mode: setpoints published on :data:`LIVE_SUBJECT` for a plant controller (the publish is awaited later)."""

    def __init__(self, bus: Bus, source: str) -> None:
        self.bus = bus
        self.source = source
        self.outbox: list[Actuation] = []

    def take(self, setpoints: Mapping[str, Setpoint]) -> None:
        """Queue one actuation event with these setpoints for :meth:`flush`."""
        first = next(iter(setpoints.values()))
        self.outbox.append(
            Actuation(source=self.source, time=first.at, proposal="live", setpoints=tuple(setpoints.values()))
        )

    async def flush(self) -> None:
        """Publish what was taken."""
        while self.outbox:
            await self.bus.publish(LIVE_SUBJECT, self.outbox.pop(0))
