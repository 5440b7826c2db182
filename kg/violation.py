"""The one report type for everything that makes data invalid.

SHACL shapes and graph-algorithm checks (topology) report the same way, so a
user reads one kind of error whatever found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    """SHACL severities; only ``VIOLATION`` rejects a write."""

    VIOLATION = "Violation"
    WARNING = "Warning"
    INFO = "Info"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule on one node.

    ``focus`` is the IRI of the node that breaks the rule, ``source_name`` its
    name in the source data (SimBench ``name``), ``shape`` the IRI of the shape
    or check, ``message`` the shape's ``sh:message``.
    """

    focus: str
    shape: str
    message: str
    severity: Severity = Severity.VIOLATION
    source_name: str | None = None
    path: str | None = None
    value: str | None = None

    def describe(self) -> str:
        """One line a person can read: who, which rule, what is wrong."""
        who = f"{self.source_name!r} <{self.focus}>" if self.source_name else f"<{self.focus}>"
        detail = f" (value {self.value})" if self.value is not None else ""
        return f"{self.severity.value}: {who} breaks <{self.shape}>: {self.message}{detail}"
