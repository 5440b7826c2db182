#!/usr/bin/env python
"""Provenance benchmark: what recording a decision costs, and how fast the ledger is checked and proven.

One process run measures, side by side:

1. **Recording cost** — ``optimize`` on ``ehv-mixed`` (96 steps from 2016-01-14, default settings) in a
   fresh in-memory store (grid imported beforehand, untimed). ``DispatchRun.provenance_seconds`` is
   everything after the solve: series snapshot, input versions' canonical hashes, record build,
   RDFC-1.0 hash, Ed25519 signature, SHACL validation, commit with the Merkle tree head. Baseline:
   the rest of the same run (read + solve). Target ratio ≤ 0.05.
2. **audit verify over N records** (default 10,000; a key publication then agent actions, each with a
   qualified association as a blank node) in an on-disk store. Baseline: a plain SHA-256 of each
   record's N-Triples dump, without canonicalisation or signatures. Target ≤ 10 s.
3. **One inclusion proof** among those N records: end to end from the store (read the ledger, build the
   tree, take the path) and from a tree already built (what a proof service answers per request),
   against the textbook recursive RFC 9162 ``PATH``. Target ≤ 10 ms.

Usage::

    python bench/provenance_bench.py                    # all three, 10,000 records
    python bench/provenance_bench.py --records 2000 --skip-optimize
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

BATCH = 500


def _say(message: str) -> None:
    print(f"[provenance-bench] {message}", file=sys.stderr, flush=True)


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def recording_cost() -> tuple[float, float]:
    """(wall of optimize, its provenance part) on ehv-mixed."""
    from enertwin.kg.importers.simbench import grid_node, import_simbench
    from enertwin.kg.store import Store
    from enertwin.reasoning.dispatch import optimize

    code = "1-EHV-mixed--2-sw"
    store = Store.open(None)
    _say("importing ehv-mixed (untimed)")
    import_simbench(store, code)
    _say("optimize ehv-mixed, 96 steps (default settings)")
    run = optimize(store, grid_node(code).value, code, datetime(2016, 1, 14), 96)
    return run.wall_seconds, run.provenance_seconds


def build_ledger(folder: Path, records: int) -> object:
    """An on-disk store with ``records`` records (a key publication, then agent actions)."""
    from pyoxigraph import Literal, NamedNode

    from enertwin.kg import namespaces as ns
    from enertwin.kg.provenance.ledger import Ledger
    from enertwin.kg.provenance.record import ActivityRecord, person_node
    from enertwin.kg.store import Store

    store = Store.open(folder / "store")
    ledger = Ledger(store)
    ledger.publish_key()
    made = 1
    while made < records:
        batch = []
        for i in range(made, min(records, made + BATCH)):
            now = datetime.now(UTC)
            action = ActivityRecord(NamedNode(f"{ns.ID_BASE}action/{i}"), ns.AGENT_ACTION, now, now)
            action.associate(person_node(f"operator {i % 7}"), ns.OPERATOR_ROLE)
            action.add(action.iri, ns.REASON, Literal(f"bench action {i}"))
            batch.append(action)
        ledger.append_many(batch)
        made += len(batch)
        _say(f"{made:,} records")
    return store


def plain_hashes(store: object) -> int:
    """Baseline: SHA-256 of every record's dump, no canonical form, no signature."""
    from enertwin.kg.provenance.ledger import record_contents

    return sum(len(hashlib.sha256(data).hexdigest()) for data in record_contents(store).values())  # type: ignore[arg-type]


def textbook_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), recursively, as the RFC writes it."""

    def mth(items: Sequence[bytes]) -> bytes:
        if len(items) == 1:
            return items[0]
        k = 1 << ((len(items) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + mth(items[:k]) + mth(items[k:])).digest()

    if len(leaves) == 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*textbook_path(index, leaves[:k]), mth(leaves[k:])]
    return [*textbook_path(index - k, leaves[k:]), mth(leaves[:k])]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000, help="records in the verify and proof ledger")
    parser.add_argument("--skip-optimize", action="store_true", help="skip the ehv-mixed recording cost")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="enertwin-prov-bench-") as tmp:
        os.environ.setdefault("ENERTWIN_HOME", str(Path(tmp) / "home"))
        from enertwin.kg.provenance import merkle
        from enertwin.kg.provenance.keys import KEY_FILE, Signer, key_folder
        from enertwin.kg.provenance.ledger import entries, leaves
        from enertwin.kg.provenance.proof import inclusion_proof
        from enertwin.kg.provenance.verify import verify

        if not (key_folder() / KEY_FILE).exists():
            Signer.create()
        rows: list[tuple[str, str, str, str]] = []
        if not args.skip_optimize:
            wall, recording = recording_cost()
            rest = wall - recording
            rows.append(
                (
                    "record a decision (ehv-mixed, 96 steps)",
                    f"{recording:.2f} s",
                    f"rest of optimize {rest:.1f} s",
                    f"{recording / rest:.3f} (≤ 0.05)",
                )
            )
        _say(f"building a ledger of {args.records:,} records on disk")
        build_s, store = _timed(lambda: build_ledger(Path(tmp), args.records))
        verify_s, verdict = _timed(lambda: verify(store))  # type: ignore[arg-type]
        assert getattr(verdict, "ok", False), verdict
        plain_s, _ = _timed(lambda: plain_hashes(store))
        rows.append(
            (
                f"audit verify, {args.records:,} records",
                f"{verify_s:.2f} s (≤ 10 s)",
                f"plain SHA-256 of dumps {plain_s:.2f} s",
                f"{verify_s / plain_s:.1f}",
            )
        )
        middle = entries(store)[args.records // 2]  # type: ignore[arg-type]
        times = [_timed(lambda: inclusion_proof(store, middle.record.value))[0] for _ in range(5)]  # type: ignore[arg-type]
        leaf_hashes = leaves(entries(store))  # type: ignore[arg-type]
        tree = merkle.MerkleTree(leaf_hashes)
        index = args.records // 2
        built = statistics.median(_timed(lambda: tree.proof(index))[0] for _ in range(1000))
        textbook = statistics.median(_timed(lambda: textbook_path(index, leaf_hashes))[0] for _ in range(5))
        assert tree.proof(index) == textbook_path(index, leaf_hashes)
        rows.append(
            (
                "one inclusion proof, from the store",
                f"{statistics.median(times) * 1000:.1f} ms (≤ 10 ms)",
                f"RFC 9162 PATH {textbook * 1000:.1f} ms",
                f"{statistics.median(times) / textbook:.2f}",
            )
        )
        rows.append(
            (
                "one inclusion proof, tree built",
                f"{built * 1e6:.1f} µs",
                f"RFC 9162 PATH {textbook * 1000:.1f} ms",
                f"{built / textbook:.5f}",
            )
        )
        _say(f"ledger built in {build_s:.1f} s ({args.records / build_s:,.0f} records/s, batches of {BATCH})")
        store.close()  # type: ignore[attr-defined]
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("measure", "enertwin", "baseline", "ratio")
    print("  ".join(h.ljust(w) for h, w in zip(header, width, strict=True)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)))


if __name__ == "__main__":
    main()
