"""Whether integer values meet every row of a CP-SAT model, checked in exact int64 arithmetic with numpy.

``warm_start.satisfies`` walks the proto in Python, which is what an intraday re-dispatch of a small
grid would spend most of its time on (and seconds on a large one). A kept model's coefficients never
change, only bounds (``model_update``), so its rows are read once into arrays and only the changed
bounds are read again. Products and partial sums stay below 2^63: coefficients are at most
``ENERGY_COEFFICIENT_SCALE`` × a level of at most ``MAX_ENERGY_UNITS`` (see ``scaling``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model_helper

from enertwin.kg.errors import InputError

IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class ModelRows:
    """The linear and at-most-one rows of a model as a sparse int64 matrix, with the bounds of rows and variables."""

    starts: IntArray  # first entry of each non-empty row
    rows: IntArray  # the non-empty rows' indices
    columns: IntArray
    coefficients: IntArray
    low: IntArray
    high: IntArray
    var_low: IntArray
    var_high: IntArray

    @classmethod
    def of(cls, proto: cp_model_helper.CpModelProto) -> ModelRows:
        """Read every row of ``proto`` (linear and at-most-one, none enforced by a literal)."""
        columns: list[int] = []
        coefficients: list[int] = []
        low, high, lengths = [], [], []
        for ct in proto.constraints:
            if len(ct.enforcement_literal):
                raise InputError("a model with enforced (diagnosing) constraints cannot be checked by rows")
            if ct.has_linear():
                columns += ct.linear.vars
                coefficients += ct.linear.coeffs
                domain = ct.linear.domain
                low.append(domain[0])
                high.append(domain[len(domain) - 1])
                lengths.append(len(ct.linear.vars))
            elif ct.has_at_most_one():
                literals = list(ct.at_most_one.literals)
                columns += [lit if lit >= 0 else -lit - 1 for lit in literals]
                coefficients += [1 if lit >= 0 else -1 for lit in literals]
                negated = sum(1 for lit in literals if lit < 0)
                low.append(-(2**62))
                high.append(1 - negated)
                lengths.append(len(literals))
            else:
                raise InputError(f"no row form for the CP-SAT constraint {str(ct)[:60]!r}")
        size = np.array(lengths, dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        filled = size > 0
        variables = proto.variables
        return cls(
            starts=offsets[filled],
            rows=np.flatnonzero(filled).astype(np.int64),
            columns=np.array(columns, dtype=np.int64),
            coefficients=np.array(coefficients, dtype=np.int64),
            low=np.array(low, dtype=np.int64),
            high=np.array(high, dtype=np.int64),
            var_low=np.array([v.domain[0] for v in variables], dtype=np.int64),
            var_high=np.array([v.domain[len(v.domain) - 1] for v in variables], dtype=np.int64),
        )

    def refresh(self, proto: cp_model_helper.CpModelProto, columns: Iterable[int], rows: Iterable[int]) -> None:
        """Read the bounds of these variables and rows from ``proto`` again (the ones an update rewrote)."""
        for index in columns:
            domain = proto.variables[index].domain
            self.var_low[index], self.var_high[index] = domain[0], domain[len(domain) - 1]
        for index in rows:
            domain = proto.constraints[index].linear.domain
            self.low[index], self.high[index] = domain[0], domain[len(domain) - 1]

    def satisfied(self, values: IntArray) -> bool:
        """Whether ``values`` (one per variable) lie in their domains and every row within its bounds."""
        if len(values) != len(self.var_low) or np.any(values < self.var_low) or np.any(values > self.var_high):
            return False
        totals = np.zeros(len(self.low), dtype=np.int64)
        if len(self.rows):
            totals[self.rows] = np.add.reduceat(self.coefficients * values[self.columns], self.starts)
        return bool(np.all(totals >= self.low) and np.all(totals <= self.high))
