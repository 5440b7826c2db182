"""Errors the store raises; each names the thing and the rule it broke.

The CLI maps each class to its own exit code, so scripts can tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from enertwin.kg.violation import Violation


class EnertwinError(Exception):
    """Base of every error enertwin reports to a user."""

    exit_code = 1


class StoreError(EnertwinError):
    """The store cannot be opened, read or written."""

    exit_code = 3


class CommitConflict(StoreError):
    """A compare-and-set commit lost: another writer changed what it was checked against."""


class OntologyVersionError(StoreError):
    """The store was written under another ontology version."""

    exit_code = 4


class ValidationError(EnertwinError):
    """A write broke shapes; nothing of it was written."""

    exit_code = 5

    def __init__(self, graph: str, violations: Sequence[Violation]) -> None:
        self.graph = graph
        self.violations = list(violations)
        shown = "\n  ".join(v.describe() for v in self.violations[:20])
        more = len(self.violations) - 20
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(
            f"rejected the write to <{graph}>: {len(self.violations)} violation(s); "
            f"nothing was written.\n  {shown}{tail}"
        )


class InputError(EnertwinError):
    """A user's argument is wrong (unknown code, unreadable file, bad option)."""

    exit_code = 2


class EvidenceError(EnertwinError):
    """The audit evidence does not hold: a record was tampered with, or a replay differs."""

    exit_code = 7


class Cancelled(EnertwinError):
    """A long run (a solve) was cancelled before it finished; it stored nothing."""

    exit_code = 130
