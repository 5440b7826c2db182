"""One agent round per interval: telemetry in through the gates, forecast, re-dispatch, judge, release, record.

Telemetry and actuation travel over the bus (the actuator consumes the ``actuation`` subject
and applies each event once); each round's forecasts, proposals, verdicts and incidents are
published for observers on drop-oldest subjects. Every round's records go to the ledger in one burst.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from enertwin.agents.bus.base import Bus, SubjectPolicy, Subscription
from enertwin.agents.events import Actuation, EventRefused, Incident, Proposal, Setpoint, Telemetry
from enertwin.agents.roles import records
from enertwin.agents.roles.actuator import Actuator
from enertwin.agents.roles.coordinator import Coordinator, Decision
from enertwin.agents.roles.forecaster import Forecaster, forecast_event
from enertwin.agents.roles.identity import AgentIdentity
from enertwin.agents.roles.optimizer import Optimizer, Plan
from enertwin.agents.roles.state import PlantState
from enertwin.agents.roles.telemetry_ingest import TelemetryIngest
from enertwin.kg.provenance.record import ActivityRecord
from enertwin.reasoning.problem import FloatArray

OBSERVED = ("forecast", "proposal", "verdict", "incident")
SUBJECT_POLICIES = {
    **{s: SubjectPolicy(capacity=1_000, overflow="drop-oldest") for s in OBSERVED},
    "telemetry": SubjectPolicy(capacity=1_000, overflow="block", block_timeout=5.0),
    "actuation": SubjectPolicy(capacity=100, overflow="block", block_timeout=5.0),
}
Recorder = Callable[[Sequence[ActivityRecord]], object]


@dataclass(slots=True)
class RoundResult:
    """What one round did: the decision, what the actuator applied, how long deciding took."""

    offset: int
    at: datetime
    decision: Decision
    applied: Actuation | None
    latency_s: float
    incidents: list[Incident] = field(default_factory=list)

    @property
    def decision_hash(self) -> str:
        """The hash of what was released this round (equal in reproduced runs)."""
        return records.decision_hash(self.decision.setpoints)


class AgentLoop:
    """The agents of one portfolio wired to a bus and a recorder (the Twin's ``record_activities``)."""

    def __init__(
        self,
        bus: Bus,
        run: str,
        consumers: str,
        ingest: TelemetryIngest,
        forecaster: Forecaster,
        optimizer: Optimizer,
        coordinator: Coordinator,
        actuator: Actuator,
        record: Recorder,
    ) -> None:
        self.bus, self.run, self.consumers = bus, run, consumers
        self.ingest, self.forecaster, self.optimizer = ingest, forecaster, optimizer
        self.coordinator, self.actuator, self.record = coordinator, actuator, record
        self._telemetry: Subscription | None = None
        self._actuation: Subscription | None = None

    @property
    def agents(self) -> tuple[AgentIdentity, ...]:
        """Every role of this loop."""
        return (
            self.ingest.agent,
            self.forecaster.agent,
            self.optimizer.agent,
            self.coordinator.agent,
            self.actuator.agent,
        )

    async def start(self) -> None:
        """Subscribe the durable consumers (telemetry for the ingest, actuation for the actuator)."""
        self._telemetry = await self.bus.subscribe("telemetry", f"ingest-{self.consumers}", ack_wait=30.0)
        self._actuation = await self.bus.subscribe("actuation", f"actuator-{self.consumers}", ack_wait=30.0)

    async def stop(self) -> None:
        """Close the consumers (unacknowledged events are delivered again to the next run)."""
        for sub in (self._telemetry, self._actuation):
            if sub is not None:
                await sub.close()

    async def round(self, offset: int, at: datetime, state: PlantState) -> RoundResult:
        """Decide and actuate interval ``offset`` (at instant ``at``) from the plant's ``state``."""
        out = Decision()
        forecasts = await self._forecast(offset, at)
        measured = await self._telemetry_in(at, out)
        started, wall_start = time.perf_counter(), datetime.now(UTC)
        proposal_plan = None
        if out.incidents:
            kinds = ", ".join(sorted({i.kind for i in out.incidents}))
            why = f"data gates failed ({kinds}) on {len(out.incidents)} value(s): bad data is not used"
        else:
            work = asyncio.to_thread(self._plan, offset, at, state, measured, forecasts)
            proposal_plan = await self.coordinator.within(
                "proposal", work, self.coordinator.deadlines.proposal, at, out
            )
            why = "the optimizer gave no schedule in time" if proposal_plan is None else ""
        if proposal_plan is not None:
            proposal, plan = proposal_plan
            await self.bus.publish("proposal", proposal)
            await self.coordinator.judge(proposal, plan, at, out)
            if out.verdict is not None:
                await self.bus.publish("verdict", out.verdict)
            why = out.reason
        if not out.setpoints:
            self.coordinator.safe_plan(self.optimizer.base, offset, state, at, out, why or "no proposal")
        released = self.coordinator.release(out.setpoints, at, out)
        applied = await self._actuate(released, at, out) if released else None
        latency = time.perf_counter() - started
        for incident in out.incidents:
            await self.bus.publish("incident", incident)
        self.record(self._records(out, applied, at, (wall_start, datetime.now(UTC))))
        return RoundResult(offset, at, out, applied, latency, out.incidents)

    async def _forecast(self, offset: int, at: datetime) -> Mapping[str, FloatArray]:
        """The forecaster's forecasts for the horizon from ``offset``, published on ``forecast``."""
        base = self.optimizer.base
        steps = min(self.optimizer.horizon, base.steps - offset)
        forecasts = self.forecaster.forecast(base.horizon.first_step + offset, steps)
        event_id = f"{self.run}-f-{at:%Y%m%dT%H%M}"
        agent = self.forecaster.agent
        await self.bus.publish("forecast", forecast_event(agent, forecasts, at, base.horizon.step_hours, event_id))
        return forecasts

    def _plan(
        self,
        offset: int,
        at: datetime,
        state: PlantState,
        measured: dict[str, float],
        forecasts: Mapping[str, FloatArray],
    ) -> tuple[Proposal, Plan] | None:
        believed = _measured_state(self.optimizer, state, measured)
        problem = self.optimizer.window(offset, believed, forecasts, measured)
        return self.optimizer.propose(problem, offset, at, f"{self.run}-p{offset}")

    async def _telemetry_in(self, at: datetime, out: Decision) -> dict[str, float]:
        assert self._telemetry is not None
        wanted, accepted = {"p_mw", "soc_mwh"} if self.optimizer.base.storage else {"p_mw"}, {}
        deadline = time.monotonic() + self.coordinator.deadlines.telemetry
        while wanted and (left := deadline - time.monotonic()) > 0:
            try:
                delivery = await self._telemetry.next(timeout=left)
            except EventRefused as error:
                out.incidents.append(self.ingest.refused(error, at, f"{self.run}-{at:%Y%m%dT%H%M}"))
                continue
            if delivery is None:
                break
            event = delivery.event
            await delivery.ack()
            if not isinstance(event, Telemetry):
                continue
            result = self.ingest.check(event, at)
            out.incidents.extend(result.incidents)
            accepted.update(result.accepted)
            wanted.discard(event.quantity)
        for quantity in sorted(wanted):
            out.incidents.append(self.ingest.complete_absence(quantity, at))
        return accepted

    async def _actuate(self, setpoints: tuple[Setpoint, ...], at: datetime, out: Decision) -> Actuation | None:
        assert self._actuation is not None
        source = (
            out.proposal.id if out.proposal is not None and not out.fallback else f"{self.run}-safe-{at:%Y%m%dT%H%M}"
        )
        event = Actuation(
            id=f"{self.run}-a-{at:%Y%m%dT%H%M}",
            time=at,
            source=self.coordinator.agent.iri.value,
            proposal=source,
            setpoints=setpoints,
            fallback=out.fallback is not None,
        )
        await self.bus.publish("actuation", event)
        delivery = await self._actuation.next(timeout=self.coordinator.deadlines.verdict)
        if delivery is None:
            out.incidents.append(
                self.coordinator.incident(
                    at,
                    "timeout",
                    "actuation",
                    "the actuation was not delivered in time; the plant holds its setpoints",
                    "critical",
                )
            )
            return None
        assert isinstance(delivery.event, Actuation)
        applied, incidents = self.actuator.apply(delivery.event)
        await delivery.ack()
        out.incidents.extend(incidents)
        return applied

    def _records(
        self, out: Decision, applied: Actuation | None, at: datetime, wall: tuple[datetime, datetime]
    ) -> list[ActivityRecord]:
        made = []
        if out.proposal is not None:
            made.append(records.proposing(self.optimizer.agent, out.proposal, wall))
        if out.fallback is not None:
            proposal = out.proposal.id if out.proposal is not None else None
            made.append(
                records.fallback(self.coordinator.agent, at, f"{self.run}: {out.reason}", out.fallback, proposal, wall)
            )
        if applied is not None:
            made.append(records.actuation(self.actuator.agent, applied, self.actuator.mode, wall))
        made += [records.incident(self._finder(i), i, wall) for i in out.incidents]
        return made

    def _finder(self, incident: Incident) -> AgentIdentity:
        return next((a for a in self.agents if a.iri.value == incident.source), self.coordinator.agent)


def _measured_state(optimizer: Optimizer, state: PlantState, measured: dict[str, float]) -> PlantState:
    """The plant's state with measured outputs and stored energy (kept within the physics)."""
    base = optimizer.base
    output = tuple(
        min(max(measured.get(u.iri, p), u.min_p if on else 0.0), u.max_p if on else 0.0)
        for u, on, p in zip(base.thermal, state.on, state.output_mw, strict=True)
    )
    soc = tuple(
        min(max(measured.get(s.iri, e), 0.0), s.capacity_mwh) for s, e in zip(base.storage, state.soc_mwh, strict=True)
    )
    return PlantState(state.on, output, state.steps_in_state, soc)
