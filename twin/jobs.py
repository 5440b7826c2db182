"""Long solves as jobs: run in a thread, report progress, can be cancelled, give their result once.

A job holds the twin only while it reads the problem and while it records the decision; the
solve itself runs without it, so the twin answers other calls meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from enertwin.reasoning.cancel import Cancellation
from enertwin.reasoning.dispatch import DispatchRun


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where a job is: the stage it is in and the share of the work done (0 … 1)."""

    stage: str
    fraction: float


Work = Callable[[Callable[[str, float], None], Cancellation], DispatchRun]


class OptimiseJob:
    """An optimisation running in its own thread; :meth:`result` waits for its decision."""

    def __init__(self, work: Work, name: str = "optimise") -> None:
        """Start ``work`` (called with a progress callback and the job's cancellation) in a new thread."""
        self._cancel = Cancellation()
        self._lock = threading.Lock()
        self._progress = JobProgress("queued", 0.0)
        self._run: DispatchRun | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(work,), name=f"enertwin-{name}", daemon=True)
        self._thread.start()

    def _main(self, work: Work) -> None:
        try:
            run = work(self._report, self._cancel)
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc
            self._report("failed" if not self._cancel.requested else "cancelled", self.progress.fraction)
        else:
            self._run = run
            self._report("done", 1.0)

    def _report(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._progress = JobProgress(stage, min(max(fraction, 0.0), 1.0))

    @property
    def progress(self) -> JobProgress:
        """The latest stage and share of work done."""
        with self._lock:
            return self._progress

    @property
    def done(self) -> bool:
        """Whether the job finished (solved and recorded, failed, or cancelled)."""
        return not self._thread.is_alive()

    def cancel(self) -> None:
        """Stop the job: a running CP-SAT search stops at once; nothing is recorded."""
        self._cancel.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the job to finish (at most ``timeout`` seconds); whether it did."""
        self._thread.join(timeout)
        return self.done

    def result(self, timeout: float | None = None) -> DispatchRun:
        """The recorded run; the job's error if it failed (:class:`~enertwin.kg.errors.Cancelled` if cancelled).

        Waiting is interruptible: a Ctrl-C while waiting cancels the job before it is raised.
        """
        try:
            finished = self.wait(timeout)
        except KeyboardInterrupt:
            self.cancel()
            self._thread.join()
            raise
        if not finished:
            raise TimeoutError(f"the job is still running ({self.progress.stage}) after {timeout} s")
        if self._error is not None:
            raise self._error
        if self._run is None:  # the thread ended without a result or an error: cannot happen
            raise RuntimeError("the optimise job ended without a result")
        return self._run
