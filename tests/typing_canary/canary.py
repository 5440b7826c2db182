"""Code that must NOT type-check: each line marked ``# canary: CODE`` must get a mypy error ``[CODE]``.

If mypy accepts one of them, `enertwin.*` imports have become ``Any`` again (a lenient editable install,
a global ``ignore_missing_imports``) and no type crosses a module boundary checked. ``tests/test_typing.py``
runs mypy on this file; nothing imports it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from enertwin.kg.no_such_module import Nothing  # canary: import-not-found
from enertwin.kg.store import Store
from enertwin.reasoning.portfolio_reader import read_problem
from enertwin.reasoning.problem import DispatchProblem

problem: DispatchProblem = 3  # canary: assignment


def steps_of(store: Store) -> str:
    """A function of one module called with the wrong types, its result used as the wrong type."""
    found = read_problem(store, "grid", "case", datetime.now(UTC), "24")  # canary: arg-type
    return found.steps  # canary: return-value


print(Nothing, problem, steps_of)
