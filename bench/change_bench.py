"""One-asset changes: today's recorded change (reverse deltas) against the copy-on-write path it replaces.

For each SimBench code: import into a fresh disk store, make a decision on it (``--steps``; its
versions are pinned: hashed and retained), then

* **enertwin**: ``set_value`` (name → IRI, typing, validation, guarded in-place write, reverse delta,
  signed ledger record, one commit) ``--changes`` times in a row on one thermal unit's
  ``et:maxActivePower``; ms per change (median, p95), store size on disk before and after (RocksDB
  flushed and ``Store.optimize()``-compacted both times), then ``replay`` of the decision (must be
  identical) and ``audit verify --deep`` (must pass, and reads the pinned version back through the
  deltas);
* **baseline** (``main`` before this change): ``Store.change`` on a version a record vouches for
  copied the whole graph version with one SPARQL ``INSERT … WHERE`` and switched the pointer (kept
  here as :func:`copy_on_write_change`, unrecorded), ``--baseline-changes`` times; ms per change and
  disk growth per change.

Ratios are printed side by side. Usage::

    python bench/change_bench.py                                    # ehv-mixed and the complete set
    python bench/change_bench.py --code 1-EHV-mixed--0-sw --changes 1000 --baseline-changes 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

CODES = ("1-EHV-mixed--0-sw", "1-complete_data-mixed-all-0-sw")
PRICE_REFERENCE = "1-EHV-mixed--2-sw"


def disk_mb(root: Path) -> float:
    """Bytes under ``root`` in MB."""
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def settled(store: Any, root: Path) -> tuple[Any, float]:
    """The store closed and opened again, fully compacted, and its size on disk.

    RocksDB keeps its write-ahead log until the memtables are flushed at close (34 MB after 300
    changes while open, 0 after a reopen); ``pyoxigraph.Store.optimize()`` then compacts every
    level, so deleted values (tombstones) and overwritten tree heads are gone too.
    """
    from enertwin.kg.store import Store

    store.close()
    store = Store.open(root)
    store.backend._store.optimize()
    return store, disk_mb(root)


def copy_on_write_change(store: Any, graph: Any, remove: list[Any], add: list[Any]) -> None:
    """``main``'s ``Store.change`` for a version a record vouches for: validate, copy it whole, edit the copy."""
    from pyoxigraph import NamedNode

    from enertwin.kg import namespaces as ns
    from enertwin.kg.store import META_GRAPH, _canonical, _triples
    from enertwin.kg.write_check import Delta, check_write

    dataset = store._dataset(graph)
    delta = Delta(graph=graph, remove=_canonical(remove), add=_canonical(add))
    violations, _, _ = check_write(store.backend, delta, dataset, store.validator, store.series)
    store._raise_on_violations(graph, violations)
    new = NamedNode(f"{graph.value}/version/{uuid.uuid4().hex}")
    store.backend.update(
        f"INSERT {{ GRAPH {new} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {dataset.target} {{ ?s ?p ?o }} }} ; "
        f"DELETE DATA {{ GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {dataset.target} }} }} ; "
        f"DELETE DATA {{ GRAPH {new} {{ {_triples(delta.remove)} }} }} ; "
        f"INSERT DATA {{ GRAPH {new} {{ {_triples(delta.add)} }} }} ; "
        f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {graph} {ns.CURRENT_VERSION} {new} }} }}"
    )
    store._drop_unretained([dataset.target])


def thermal_unit(store: Any, graph: Any) -> tuple[Any, float]:
    """One thermal unit of the grid and its maximum active power."""
    from enertwin.kg import namespaces as ns

    query = f"SELECT ?g ?u ?p WHERE {{ GRAPH ?g {{ ?u a {ns.THERMAL_UNIT} ; {ns.MAX_ACTIVE_POWER} ?p }} }} LIMIT 1"
    row = next(iter(store.query(query, {"g": store.live()[graph]})))
    return row["u"], float(row["p"].value)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_code(code: str, changes: int, baseline_changes: int, steps: int, tmp: Path) -> dict[str, Any]:
    """Both sides on one grid; returns the numbers."""
    from pyoxigraph import Quad

    from enertwin.kg import namespaces as ns
    from enertwin.kg.importers.simbench import grid_graph, grid_node, import_simbench
    from enertwin.kg.provenance.ledger import Ledger
    from enertwin.kg.provenance.recorded_change import set_value
    from enertwin.kg.provenance.verify import verify
    from enertwin.kg.store import META_GRAPH, Store
    from enertwin.reasoning.dispatch import optimize
    from enertwin.reasoning.replay import replay

    root = tmp / code
    store = Store.open(root)
    out: dict[str, Any] = {"code": code}
    began = time.perf_counter()
    import_simbench(store, code)
    if steps and code != PRICE_REFERENCE:
        import_simbench(store, PRICE_REFERENCE)  # the market's price reference, for the decision
    out["import_s"] = time.perf_counter() - began
    graph = grid_graph(code)
    decision = None
    if steps:
        began = time.perf_counter()
        decision = optimize(store, grid_node(code).value, code, datetime(2016, 1, 14, 6), steps).record.decision
        out["decision_s"] = time.perf_counter() - began
    else:  # pin the version as a decision would: hash it and retain it
        version = store.versions()[graph]
        store.version_hash(version)
        store.backend.update(f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {version} {ns.RETAINED} true }} }}")
    pinned = store.versions()[graph]
    unit, power = thermal_unit(store, graph)
    ledger = Ledger(store)
    set_value(store, ledger, unit.value, "et:maxActivePower", str(power), reason="warm-up")  # publishes the key
    store, out["disk_before_mb"] = settled(store, root)
    ledger = Ledger(store)
    times = []
    for i in range(changes):
        began = time.perf_counter()
        set_value(store, ledger, unit.value, "et:maxActivePower", str(power + 1 + i % 7), reason=f"bench {i}")
        times.append((time.perf_counter() - began) * 1000)
    out["ms"] = times
    store, out["disk_after_mb"] = settled(store, root)
    ledger = Ledger(store)
    out["pinned_readable"] = store.has_version(pinned)
    began = time.perf_counter()
    out["pinned_hash_ok"] = store.version_hash(pinned, fresh=True) == store.version_hash(pinned)
    out["reconstruct_s"] = time.perf_counter() - began
    if decision is not None:
        began = time.perf_counter()
        out["replay_identical"] = replay(store, decision.value, ledger).identical
        out["replay_s"] = time.perf_counter() - began
    began = time.perf_counter()
    out["verify_deep_ok"] = verify(store, deep=True).ok
    out["verify_deep_s"] = time.perf_counter() - began
    base_times = []
    store, disk = settled(store, root)
    for i in range(baseline_changes):
        version = store.versions()[graph]
        store.version_hash(version)  # the version is vouched for, as after a decision or a recorded change
        old = list(store.backend.quads_with([unit], "s", [store.live()[graph]], [ns.MAX_ACTIVE_POWER]))
        new = Quad(unit, ns.MAX_ACTIVE_POWER, store_literal(power + 10 + i), graph)
        began = time.perf_counter()
        copy_on_write_change(store, graph, old, [new])
        base_times.append((time.perf_counter() - began) * 1000)
    out["baseline_ms"] = base_times
    store, grown = settled(store, root)
    out["baseline_growth_mb_per_change"] = (grown - disk) / max(1, baseline_changes)
    store.close()
    return out


def store_literal(value: float) -> Any:
    """An xsd:double literal."""
    from pyoxigraph import Literal

    from enertwin.kg import namespaces as ns

    return Literal(str(value), datatype=ns.XSD_DOUBLE)


def report(r: dict[str, Any]) -> None:
    """Print one grid's numbers and the ratios."""
    ms, base = r["ms"], r["baseline_ms"]
    med, p95 = statistics.median(ms), percentile(ms, 0.95)
    print(f"\n== {r['code']}  (import {r['import_s']:.1f} s, decision {r.get('decision_s', 0):.1f} s)")
    print(f"enertwin set_value  : median {med:.1f} ms, p95 {p95:.1f} ms, max {max(ms):.1f} ms over {len(ms)} changes")
    if base:
        bmed = statistics.median(base)
        print(f"baseline copy (main): median {bmed:.0f} ms over {len(base)} changes (unrecorded)")
        print(f"ratio baseline/enertwin (median): {bmed / med:.0f}×")
        print(f"baseline disk growth per change: {r['baseline_growth_mb_per_change']:.1f} MB")
    before, after = r["disk_before_mb"], r["disk_after_mb"]
    print(
        f"disk before/after {len(ms)} changes (closed, reopened, optimize()): {before:.1f} → {after:.1f} MB "
        f"(+{after - before:.1f} MB, {1000 * (after - before) / max(1, len(ms)):.1f} kB per change)"
    )
    print(
        f"pinned version readable: {r['pinned_readable']}, its hash holds: {r['pinned_hash_ok']} "
        f"(reconstructed in {r['reconstruct_s']:.2f} s)"
    )
    if "replay_identical" in r:
        print(
            f"replay of the decision made before the changes identical: {r['replay_identical']} ({r['replay_s']:.1f} s)"
        )
    print(f"audit verify --deep passes: {r['verify_deep_ok']} ({r['verify_deep_s']:.1f} s)")


def main(argv: list[str] | None = None) -> None:
    """Run the grids asked for and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", action="append", help="SimBench code (repeatable); default: ehv-mixed, complete")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--baseline-changes", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8, help="steps of the decision made first (0: pin only)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="enertwin-change-bench-") as tmp:
        os.environ.setdefault("ENERTWIN_HOME", str(Path(tmp) / "home"))
        from enertwin.kg.provenance.keys import KEY_FILE, Signer, key_folder

        if not (key_folder() / KEY_FILE).exists():
            Signer.create()
        for code in args.code or CODES:
            steps = 0 if "complete" in code else args.steps
            report(run_code(code, args.changes, args.baseline_changes, steps, Path(tmp)))


if __name__ == "__main__":
    main()
