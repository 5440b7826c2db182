"""Replace a graph and record the import that did it, in one commit.

The record says what was loaded (the new version with its input hash, content hash and
triple count, derived from the version it replaces), the hash of each series written with
it, from which source, by whom, and which warnings the validation left (each a data-quality
incident naming the node and the rule). ``audit verify --deep`` checks the version and the
series against those hashes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pyoxigraph import Literal, NamedNode, RdfFormat

from enertwin.kg import namespaces as ns
from enertwin.kg.provenance.ledger import Ledger, Receipt
from enertwin.kg.provenance.record import SOFTWARE_AGENT, ActivityRecord, Term, agent_triples, integer, text
from enertwin.kg.provenance.series_digest import frame_digests
from enertwin.kg.store import WriteReport


@dataclass(frozen=True, slots=True)
class Source:
    """Where imported data came from: a label (``SimBench 1-HV-mixed--0-sw``) and its software's version."""

    label: str
    version: str | None = None


def replace_recorded(
    ledger: Ledger,
    graph: NamedNode,
    data: bytes | str | Path,
    fmt: RdfFormat,
    source: Source,
    *,
    series: pd.DataFrame | None = None,
    series_prefix: str | None = None,
    started: datetime | None = None,
) -> tuple[WriteReport, Receipt | None]:
    """Replace ``graph`` by ``data`` and append the import's record; an identical input records nothing."""
    began = started or datetime.now(UTC)
    store = ledger.store
    write = store.prepare(graph, data, fmt, series=series, series_prefix=series_prefix, hashed=True)
    if write.unchanged:
        return store.commit([write])[0], None
    activity = ActivityRecord(
        NamedNode(f"{ns.ID_BASE}import/{uuid.uuid4().hex}"), ns.IMPORT_ACTIVITY, began, datetime.now(UTC)
    )
    activity.add(activity.iri, ns.RDFS_LABEL, text(f"Import of {source.label} into <{graph.value}>"))
    activity.add(
        activity.iri, ns.SOURCE, text(source.label if source.version is None else f"{source.label} ({source.version})")
    )
    activity.associate(SOFTWARE_AGENT, ns.IMPORTER_ROLE).extend(agent_triples(ledger.signer.identity))
    facts: dict[NamedNode, Term] = {
        ns.PROV_SPECIALIZATION_OF: graph,
        ns.INPUT_HASH: text(write.digest),
        ns.TRIPLE_COUNT: integer(write.size),
    }
    if write.content_hash is not None:
        facts[ns.CONTENT_HASH] = text(write.content_hash)
    if write.previous is not None:
        facts[ns.PROV_WAS_DERIVED_FROM] = write.previous
    activity.generated(write.physical, ns.GRAPH_VERSION, facts)
    for i, (key, digest) in enumerate(sorted(frame_digests(series).items()) if series is not None else []):
        values = NamedNode(f"{activity.iri.value}/series/{i + 1}")
        activity.generated(values, ns.SERIES_VALUES, {ns.VALUES_KEY: text(key), ns.CONTENT_HASH: text(digest)})
    for i, warning in enumerate(write.warnings):
        incident = NamedNode(f"{activity.iri.value}/incident/{i + 1}")
        message = f"{warning.message} (shape <{warning.shape}>" + (
            f", value {warning.value})" if warning.value else ")"
        )
        incident_facts: dict[NamedNode, NamedNode | Literal] = {ns.REASON: text(message)}
        if warning.focus.startswith(("http://", "https://")):
            incident_facts[ns.CONCERNS] = NamedNode(warning.focus)
        activity.generated(incident, ns.DATA_QUALITY_INCIDENT, incident_facts)
    receipt = ledger.append(activity, writes=[write])
    return receipt.reports[0], receipt
