"""The simulated plant of the sandbox: the truth the agents only see through noisy, gappy telemetry."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np

from enertwin.agents.events import Setpoint, Telemetry
from enertwin.agents.roles.physics import StepOutcome, apply_step
from enertwin.agents.roles.state import PlantState
from enertwin.reasoning.problem import DispatchProblem

SOURCE = "https://w3id.org/enertwin/id/agent/sandbox-plant"


class HeldSetpoints:
    """The setpoints an actuator applied, held until replaced; a curtailment lasts one actuation.

    The sandbox plant operates on them; in shadow mode the agents' actuator fills one of these
    and nothing operates on it (only the baseline is actuated).
    """

    def __init__(self, truth: DispatchProblem) -> None:
        self.truth = truth
        self.current: dict[str, Setpoint] = {}

    def take(self, setpoints: Mapping[str, Setpoint]) -> None:
        """Hold these setpoints from now on (assets not named keep theirs, renewables run free again)."""
        for unit in self.truth.renewables:
            self.current.pop(unit.iri, None)
        self.current.update(setpoints)


class SandboxPlant(HeldSetpoints):
    """Holds the applied setpoints and steps the reference physics on the true profiles."""

    def __init__(self, truth: DispatchProblem, emission_factors: tuple[float, ...]) -> None:
        super().__init__(truth)
        self.emission_factors = emission_factors
        self.state = PlantState.initial(truth)
        self.outcomes: list[StepOutcome] = []
        self.soc: list[tuple[float, ...]] = []

    def step(self, offset: int) -> StepOutcome:
        """Operate step ``offset`` with the setpoints held."""
        self.state, outcome = apply_step(self.truth, offset, self.state, self.current, self.emission_factors)
        self.outcomes.append(outcome)
        self.soc.append(self.state.soc_mwh)
        return outcome

    def telemetry(self, run: str, offset: int, at: datetime, noise: float, rng: np.random.Generator) -> list[Telemetry]:
        """What the meters say at the start of step ``offset``: loads, available renewables, outputs, stored energy."""
        t = self.truth

        def noisy(value: float) -> float:
            return float(value * (1.0 + noise * rng.standard_normal())) if noise > 0 else float(value)

        power = {u.iri: noisy(u.demand[offset]) for u in t.loads}
        power |= {u.iri: max(0.0, noisy(u.available[offset])) for u in t.renewables}
        power |= {u.iri: noisy(p) for u, p in zip(t.thermal, self.state.output_mw, strict=True)}
        events = [
            Telemetry(id=f"{run}-tm-p-{at:%Y%m%dT%H%M}", time=at, source=SOURCE, at=at, quantity="p_mw", values=power)
        ]
        if t.storage:
            soc = {s.iri: noisy(e) for s, e in zip(t.storage, self.state.soc_mwh, strict=True)}
            events.append(
                Telemetry(
                    id=f"{run}-tm-e-{at:%Y%m%dT%H%M}", time=at, source=SOURCE, at=at, quantity="soc_mwh", values=soc
                )
            )
        return events
