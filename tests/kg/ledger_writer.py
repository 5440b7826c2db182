"""One concurrent ledger writer, run as its own process by the concurrency test and bench.

Usage: python ledger_writer.py URL HOME COUNT START_AT — makes a key under HOME, waits until
the wall-clock time START_AT so that all writers start together, appends COUNT records and
prints one JSON line: the sequence numbers and hashes it got, its retries and its seconds.
Its series are where the store records them (a shared database, its password in ``PGPASSWORD``),
as for any client; a store that records none keeps them under HOME.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from pyoxigraph import Literal, NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.ledger import Ledger
from enertwin.kg.provenance.record import ActivityRecord, person_node
from enertwin.kg.store import Store


def main(url: str, home: Path, count: int, start_at: float) -> None:
    """Append ``count`` agent actions to the store at ``url`` as the operator whose key is under ``home``."""
    person = f"writer {home.name}"
    signer = Signer.create(home / "keys", Identity(person))
    os.environ["ENERTWIN_HOME"] = str(home)
    with Store.open(url) as store:
        ledger = Ledger(store, signer)
        time.sleep(max(0.0, start_at - time.time()))
        began = time.perf_counter()
        got = []
        for i in range(count):
            now = datetime.now(UTC)
            action = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/{home.name}/{i}"), ns.AGENT_ACTION, now, now)
            action.associate(person_node(person), ns.OPERATOR_ROLE).add(action.iri, ns.REASON, Literal(f"step {i}"))
            receipt = ledger.append(action)
            got.append([receipt.entry.seq, receipt.entry.record_hash])
        seconds = time.perf_counter() - began
    print(json.dumps({"records": got, "retries": ledger.retries, "seconds": seconds}))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
