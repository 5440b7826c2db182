"""What a caller asks the twin to do, as one typed value each (instead of a row of arguments)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from enertwin.kg.errors import InputError
from enertwin.reasoning.dispatch import DEFAULT_OVERLAP, DEFAULT_WINDOW
from enertwin.reasoning.solver import SolverSettings


class OptimiseRequest(BaseModel):
    """One dispatch to solve and record: the case, its horizon, the cost model and the solver settings.

    >>> request = OptimiseRequest(case="hv-mixed", start=datetime(2016, 1, 14), steps=24)
    >>> request.steps, request.settings.time_limit, request.window
    (24, 60.0, 144)
    >>> OptimiseRequest.of(case="hv-mixed", steps=0)
    Traceback (most recent call last):
    ...
    enertwin.kg.errors.InputError: bad optimise request: steps: Input should be greater than 0
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    case: str = Field(description="SimBench code or short name (hv-mixed, ehv-mixed)")
    start: datetime = Field(
        default=datetime(2016, 1, 14), description="first step: wall clock in the grid's zone, or an instant"
    )
    steps: int = Field(default=96, gt=0, description="number of steps of the profiles' resolution")
    settings: SolverSettings = Field(default_factory=SolverSettings, description="what the solver may spend")
    cost_model: str | None = Field(default=None, description="IRI of the et:CostModel to use (default: the only one)")
    window: int = Field(default=DEFAULT_WINDOW, gt=0, description="longer horizons are solved in windows this long")
    overlap: int = Field(default=DEFAULT_OVERLAP, ge=0, description="steps each window re-solves from the last")

    @classmethod
    def of(cls, **fields: object) -> OptimiseRequest:
        """A request from keyword fields; a bad one is an :class:`InputError` naming each field and its rule."""
        try:
            return cls.model_validate(fields)
        except PydanticValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise InputError(f"bad optimise request: {problems}") from exc
