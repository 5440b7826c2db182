"""The plant as the agents know it: commitments, outputs, stored energy and running minimum times.

The optimizer starts every re-dispatch from this state (not from the plan), so what the plant
really did, a fallback or a blocked action included, is what the next plan builds on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from enertwin.reasoning.problem import DispatchProblem


@dataclass(frozen=True, slots=True)
class PlantState:
    """Per thermal unit (problem order): on, output and steps in that state; per store: energy (MWh)."""

    on: tuple[bool, ...]
    output_mw: tuple[float, ...]
    steps_in_state: tuple[int, ...]
    soc_mwh: tuple[float, ...]

    @classmethod
    def initial(cls, problem: DispatchProblem) -> PlantState:
        """The reference problem's state before its first step (long in its state: nothing held)."""
        return cls(
            on=tuple(u.initial_on for u in problem.thermal),
            output_mw=tuple(u.initial_p for u in problem.thermal),
            steps_in_state=tuple(10**6 for _ in problem.thermal),
            soc_mwh=tuple(s.initial_mwh for s in problem.storage),
        )

    def applied_to(self, problem: DispatchProblem) -> DispatchProblem:
        """``problem`` starting from this state (initial commitment, output, held steps, stored energy)."""
        thermal = tuple(
            dataclasses.replace(
                unit,
                initial_on=on,
                initial_output=output,
                held_steps=max(0, (unit.min_up_steps if on else unit.min_down_steps) - since),
            )
            for unit, on, output, since in zip(
                problem.thermal, self.on, self.output_mw, self.steps_in_state, strict=True
            )
        )
        storage = tuple(
            dataclasses.replace(unit, start_mwh=soc) for unit, soc in zip(problem.storage, self.soc_mwh, strict=True)
        )
        return dataclasses.replace(problem, thermal=thermal, storage=storage)

    def after(self, on: tuple[bool, ...], output_mw: tuple[float, ...], soc_mwh: tuple[float, ...]) -> PlantState:
        """The state one step later, given what the plant did in that step."""
        since = tuple(
            s + 1 if now == before else 1 for s, now, before in zip(self.steps_in_state, on, self.on, strict=True)
        )
        return PlantState(on, output_mw, since, soc_mwh)
