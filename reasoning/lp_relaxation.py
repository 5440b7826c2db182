"""The linear relaxation of a CP-SAT model, solved by an LP solver that ships with OR-Tools.

Deriving the LP from the CP-SAT proto keeps one formulation: the relaxation that bounds the
optimum, guides the first solution and yields the balance duals (explanations) is the CP-SAT
model with integrality dropped. Variables may be fixed (commitments, for duals) by index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import linear_solver_pb2, pywraplp
from ortools.sat.python import cp_model_helper

from enertwin.kg.errors import InputError

UNBOUNDED = 2**62  # CP-SAT writes ±(2^63 − 1) for "no bound"
QUIET = {"highs": "output_flag=false"}  # HiGHS prints a banner on stdout otherwise
LP_SOLVERS = {
    "glop": linear_solver_pb2.MPModelRequest.GLOP_LINEAR_PROGRAMMING,
    "highs": linear_solver_pb2.MPModelRequest.HIGHS_LINEAR_PROGRAMMING,
    "pdlp": linear_solver_pb2.MPModelRequest.PDLP_LINEAR_PROGRAMMING,
}


@dataclass(frozen=True, slots=True)
class LpSolution:
    """Values and duals of an LP relaxation, indexed like the CP-SAT model's variables and constraints.

    ``objective`` is in CP-SAT objective units; ``duals`` are per unit of each constraint's
    right-hand side in objective units.
    """

    status: str
    objective: float
    values: np.ndarray
    duals: np.ndarray

    @property
    def optimal(self) -> bool:
        """Whether the LP was solved to optimality."""
        return self.status == "OPTIMAL"


@dataclass(frozen=True, slots=True)
class Relaxation:
    """The LP relaxation of a CP-SAT model: one row per CP-SAT constraint, rows scaled to unit size."""

    model: linear_solver_pb2.MPModelProto
    row_scale: np.ndarray
    objective_scale: float

    @classmethod
    def of(cls, proto: cp_model_helper.CpModelProto, objective_scale: float = 1.0) -> Relaxation:
        """Relax ``proto`` (linear, at-most-one and exactly-one constraints).

        ``objective_scale`` multiplies the objective (CP-SAT's integer objective units are tiny;
        LP solvers are better conditioned in euros). Conditional constraints become free rows:
        dropping them relaxes, and keeping a row keeps row and constraint indices aligned.
        """
        lp = linear_solver_pb2.MPModelProto()
        for var in proto.variables:
            column = lp.variable.add()
            domain = var.domain
            column.lower_bound, column.upper_bound = domain[0], domain[len(domain) - 1]
        scales = np.ones(len(proto.constraints))
        for index, ct in enumerate(proto.constraints):
            row = lp.constraint.add()
            if len(ct.enforcement_literal):
                row.lower_bound, row.upper_bound = -np.inf, np.inf
            elif ct.has_linear():
                coeffs = list(ct.linear.coeffs)
                norm = float(max(abs(c) for c in coeffs)) if coeffs else 1.0
                scales[index] = norm
                row.var_index.extend(ct.linear.vars)
                row.coefficient.extend(c / norm for c in coeffs)
                domain = ct.linear.domain
                row.lower_bound = finite_bound(domain[0]) / norm
                row.upper_bound = finite_bound(domain[len(domain) - 1]) / norm
            elif ct.has_at_most_one():
                _add_literal_sum(row, ct.at_most_one.literals, -np.inf, 1.0)
            elif ct.has_exactly_one():
                _add_literal_sum(row, ct.exactly_one.literals, 1.0, 1.0)
            else:
                raise InputError(f"the LP relaxation has no rule for the CP-SAT constraint {ct.name or str(ct)[:60]!r}")
        objective = proto.objective
        scale = (objective.scaling_factor or 1.0) * objective_scale
        for var, coeff in zip(objective.vars, objective.coeffs, strict=True):
            lp.variable[var].objective_coefficient = coeff * scale
        lp.objective_offset = objective.offset * scale
        return cls(lp, scales, objective_scale)

    def solve(
        self,
        fixed: Mapping[int, float] | None = None,
        solver: str = "highs",
        time_limit: float = 60.0,
        options: str | None = None,
    ) -> LpSolution:
        """Solve with ``fixed`` variables held at their values, by ``solver`` (glop, highs or pdlp)."""
        model = self.model
        if fixed:
            model = linear_solver_pb2.MPModelProto()
            model.CopyFrom(self.model)
            for index, value in fixed.items():
                model.variable[index].lower_bound = model.variable[index].upper_bound = value
        request = linear_solver_pb2.MPModelRequest(
            model=model,
            solver_type=LP_SOLVERS[solver],
            solver_time_limit_seconds=time_limit,
            solver_specific_parameters=QUIET.get(solver, "") if options is None else options,
        )
        response = linear_solver_pb2.MPSolutionResponse()
        pywraplp.Solver.SolveWithProto(request, response)
        status = linear_solver_pb2.MPSolverResponseStatus.Name(response.status).removeprefix("MPSOLVER_")
        duals = np.array(response.dual_value, dtype=float)
        if len(duals) == len(self.row_scale):
            duals = duals / self.row_scale / self.objective_scale
        return LpSolution(
            status=status,
            objective=response.objective_value / self.objective_scale,
            values=np.array(response.variable_value, dtype=float),
            duals=duals,
        )


def finite_bound(bound: int) -> float:
    """CP-SAT writes ±2^63 for "no bound"; LP solvers want infinity."""
    return float(bound) if abs(bound) < UNBOUNDED else float(np.sign(bound)) * np.inf


def _add_literal_sum(
    row: linear_solver_pb2.MPConstraintProto, literals: Iterable[int], low: float, high: float
) -> None:
    """Σ literals within [low, high], where a negative literal −i−1 stands for 1 − x_i."""
    constant = 0.0
    for literal in literals:
        if literal >= 0:
            row.var_index.append(literal)
            row.coefficient.append(1.0)
        else:
            row.var_index.append(-literal - 1)
            row.coefficient.append(-1.0)
            constant += 1.0
    row.lower_bound, row.upper_bound = low - constant, high - constant
