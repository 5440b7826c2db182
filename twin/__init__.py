"""enertwin's Python API: open a :class:`Twin` and call its use cases (what the CLI, agents and GraphQL use).

>>> from enertwin import Twin
>>> with Twin.open(None) as twin:
...     len(twin.costs().rows) > 0
True
"""

from enertwin.events import CommitEvent, CommitStream, Subscription
from enertwin.jobs import JobProgress, OptimiseJob
from enertwin.kg.errors import Cancelled, EnertwinError, EvidenceError, InputError, StoreError, ValidationError
from enertwin.kg.provenance.recorded_change import ChangeReceipt
from enertwin.requests import OptimiseRequest
from enertwin.twin import CostsLoaded, Endorsement, HumanVerdict, KeySetup, Table, Twin

__all__ = [
    "Cancelled",
    "ChangeReceipt",
    "CommitEvent",
    "CommitStream",
    "CostsLoaded",
    "Endorsement",
    "EnertwinError",
    "EvidenceError",
    "HumanVerdict",
    "InputError",
    "JobProgress",
    "KeySetup",
    "OptimiseJob",
    "OptimiseRequest",
    "StoreError",
    "Subscription",
    "Table",
    "Twin",
    "ValidationError",
]
