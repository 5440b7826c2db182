"""Cancelling a solve from another thread: a flag the solve checks between phases, and CP-SAT's own stop.

CP-SAT stops a running search when ``CpSolver.stop_search()`` is called from any thread; the
LP guide and the rolling windows check the flag between their steps. A cancelled solve raises
:class:`~enertwin.kg.errors.Cancelled` instead of returning, so no decision is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ortools.sat.python import cp_model

from enertwin.kg.errors import Cancelled


class Cancellation:
    """A request to stop, shared by the caller and the thread that solves.

    >>> token = Cancellation()
    >>> token.requested
    False
    >>> token.cancel()
    >>> token.check("the solve")
    Traceback (most recent call last):
    ...
    enertwin.kg.errors.Cancelled: the solve was cancelled; nothing was stored
    """

    def __init__(self) -> None:
        self._requested = threading.Event()
        self._lock = threading.Lock()
        self._solvers: list[cp_model.CpSolver] = []

    @property
    def requested(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._requested.is_set()

    def cancel(self) -> None:
        """Ask the solve to stop: a running CP-SAT search stops now, other phases at their next check."""
        self._requested.set()
        with self._lock:
            for solver in self._solvers:
                solver.stop_search()

    def check(self, what: str = "the solve") -> None:
        """Raise :class:`Cancelled` if cancelling was asked for."""
        if self.requested:
            raise Cancelled(f"{what} was cancelled; nothing was stored")

    @contextmanager
    def watching(self, solver: cp_model.CpSolver) -> Iterator[None]:
        """Let :meth:`cancel` stop ``solver`` while the block runs (at once, if it was already asked for)."""
        with self._lock:
            self._solvers.append(solver)
        try:
            self.check()
            yield
        finally:
            with self._lock:
                self._solvers.remove(solver)
        self.check()
