#!/usr/bin/env python3
"""W3C SHACL conformance and validation speed: today's engine (``main``'s) against the new one.

Prints, in one process run:

* the W3C conformance table (pass / refused / wrong, per folder of the suite vendored under
  ``tests/data/shacl-w3c``) for main's compiled engine and for the new validator (compiled fast
  path + pyshacl-turbo for what it refuses), judged by the suite's own rule (isomorphic reports);
  main reports no constraint component, so it is judged on conformance and the multiset of
  (focus node, value) only, which is lenient to it;
* per-write validation time (the scratch store ``check_write`` builds for a one-asset change on the
  EHV grid) and EHV-grid validation time (all of it at once), each as a ratio to main's engine, for
  the new fast path and for pyshacl-turbo alone (the "full engine alone" option).

The baseline engine is read from the git ref ``--baseline`` into a temporary package: by default
``5b97367``, main before issue 11 (the engine the issue measured).

Usage::

    python bench/shacl_conformance.py                 # table + speed on 1-EHV-mixed--2-sw
    python bench/shacl_conformance.py --skip-speed    # table only
"""

from __future__ import annotations

import argparse
import collections
import importlib
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "kg"))

import w3c_suite  # noqa: E402  (the suite reader the conformance tests use)

from enertwin.kg.validation.conformant import ConformantShapes, ShapesError  # noqa: E402
from enertwin.kg.validation.shacl import ShapeValidator  # noqa: E402
from enertwin.kg.validation.standard import TurtleSource, validate_turtle  # noqa: E402

EHV = "1-EHV-mixed--2-sw"
VERDICTS = ("pass", "refused", "wrong")


BASELINE_REF = "5b97367"  # main before issue 11: the engine the issue measured


def load_baseline(ref: str) -> Any:
    """Main's ``kg/validation`` as the package ``baseline_validation`` (its own imports rewritten)."""
    folder = Path(tempfile.mkdtemp(prefix="shacl-baseline-")) / "baseline_validation"
    folder.mkdir()
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{ref}:kg/validation"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        text = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{ref}:kg/validation/{name}"], check=True, capture_output=True, text=True
        ).stdout
        (folder / name).write_text(text.replace("enertwin.kg.validation", "baseline_validation"), encoding="utf-8")
    sys.path.insert(0, str(folder.parent))
    return importlib.import_module("baseline_validation.shacl")


# --- conformance ---------------------------------------------------------------------------------


def new_engine(case: w3c_suite.Case) -> Any:
    shapes = TurtleSource(case.shapes.read_text(encoding="utf-8"), case.shapes.as_uri())
    data = TurtleSource(case.data.read_text(encoding="utf-8"), case.data.as_uri())
    return validate_turtle(shapes, data)


def main_verdict(baseline: Any, case: w3c_suite.Case) -> str:
    """Main's engine: classes from the data graph given as its ontology, judged on focus nodes and values."""
    from rdflib import Namespace

    sh = Namespace("http://www.w3.org/ns/shacl#")
    try:
        validator = baseline.ShapeValidator.from_graphs([_based(case.shapes)], [_based(case.data)])
        found = validator.validate(case.data_store())
    except baseline.UnsupportedShapeError:
        return "pass" if case.expected is None else "refused"
    except Exception:  # a crash is a wrong answer
        return "wrong"
    if case.expected is None:
        return "wrong"
    expected = case.expected
    want = collections.Counter(
        (_text(expected.value(r, sh.focusNode)), _text(expected.value(r, sh.value)))
        for r in expected.objects(None, sh.result)
    )
    got = collections.Counter((v.focus, v.value) for v in found)
    return "pass" if want == got else "wrong"


def _based(path: Path) -> str:
    """The file's Turtle with its own IRI as base (main's parser takes texts without a base)."""
    return f"@base <{path.as_uri()}> .\n" + path.read_text(encoding="utf-8")


def _text(term: Any) -> str | None:
    """An rdflib term as main's Violation shows it (IRI bare, literal in N-Triples, xsd: shortened)."""
    if term is None:
        return None
    from rdflib import Literal, URIRef

    if isinstance(term, URIRef):
        return str(term)
    if isinstance(term, Literal):
        text = term.n3()
        return text.replace("<http://www.w3.org/2001/XMLSchema#", "xsd:").replace(">", "") if "^^<" in text else text
    return term.n3()


def conformance(baseline: Any) -> dict[str, dict[str, collections.Counter[str]]]:
    table: dict[str, dict[str, collections.Counter[str]]] = collections.defaultdict(
        lambda: {"main": collections.Counter(), "new": collections.Counter()}
    )
    for case in w3c_suite.cases():
        table[case.folder]["main"][main_verdict(baseline, case)] += 1
        table[case.folder]["new"][w3c_suite.verdict(case, new_engine, (ShapesError,))] += 1
    return table


def print_table(table: dict[str, dict[str, collections.Counter[str]]]) -> None:
    print("\nW3C SHACL test suite (tests/data/shacl-w3c): pass / refused / wrong")
    print(f"{'folder':<28}{'tests':>6}   {'before (baseline)':>17}   {'new':>16}")
    totals = {side: collections.Counter() for side in ("main", "new")}
    for group in ("core", "sparql"):
        for folder in sorted(f for f in table if f.startswith(group + "/")):
            row = table[folder]
            for side in totals:
                totals[side] += row[side]
            print(f"{folder:<28}{sum(row['new'].values()):>6}   {_cells(row['main']):>16}   {_cells(row['new']):>16}")
        group_rows = [table[f] for f in table if f.startswith(group + "/")]
        sums = {side: sum((r[side] for r in group_rows), collections.Counter()) for side in ("main", "new")}
        print(
            f"{group + ' total':<28}{sum(sums['new'].values()):>6}   "
            f"{_cells(sums['main']):>16}   {_cells(sums['new']):>16}"
        )


def _cells(counts: collections.Counter[str]) -> str:
    return " / ".join(str(counts[v]) for v in VERDICTS)


# --- speed ---------------------------------------------------------------------------------------


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def speed(baseline: Any, repeats: int) -> None:
    from pyoxigraph import Literal, NamedNode, Quad, RdfFormat
    from pyoxigraph import Store as Oxigraph

    from enertwin.kg import namespaces as ns
    from enertwin.kg.importers.simbench import import_simbench
    from enertwin.kg.provenance.keys import Signer
    from enertwin.kg.provenance.ledger import Ledger
    from enertwin.kg.store import Store
    from enertwin.kg.validation.shacl import _package_ttl

    shapes_ttl, ontology_ttl = _package_ttl("enertwin.shapes"), _package_ttl("enertwin.ontology")
    started = time.perf_counter()
    main_validator = baseline.ShapeValidator.from_graphs(shapes_ttl, ontology_ttl)
    new_validator = ShapeValidator.from_graphs(shapes_ttl, ontology_ttl)
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    turbo = ConformantShapes(shapes_ttl)
    turbo_compile_s = time.perf_counter() - started
    ontology = Oxigraph()
    for text in ontology_ttl:
        ontology.load(text, format=RdfFormat.TURTLE)

    print(f"\nimporting {EHV} into an in-memory store (untimed) ...", flush=True)
    store = Store.open(None)
    keys = Path(tempfile.mkdtemp(prefix="shacl-bench-keys-"))
    import_simbench(store, EHV, ledger=Ledger(store, Signer.create(keys)))

    # The scratch store a one-asset write validates: capture it from the store's own check.
    captured: list[Oxigraph] = []
    real_validate = store.validator.validate

    def capture(data: Oxigraph) -> list[Any]:
        captured.append(data)
        return real_validate(data)

    store.validator.validate = capture  # type: ignore[method-assign]
    unit = next(
        r["u"]
        for r in store.query(
            f"SELECT ?u WHERE {{ ?u a <{ns.ET_BASE}ThermalUnit> ; <{ns.ET_BASE}maxActivePower> ?p }} LIMIT 1"
        )
    )
    predicate = NamedNode(ns.ET_BASE + "maxActivePower")
    graph = store.graphs_describing(unit)[0]
    current = next(
        q.object
        for q in store.backend.quads_with([unit], "s", list(store.live().values()), [predicate])  # type: ignore[attr-defined]
    )
    store.change(
        graph,
        remove=[Quad(unit, predicate, current, graph)],
        add=[Quad(unit, predicate, Literal(float(current.value) + 1.0), graph)],
    )
    store.validator.validate = real_validate  # type: ignore[method-assign]
    write = captured[0]  # the change's own check (a provenance record may be checked after it)

    grid = Oxigraph()
    for physical in store.live().values():
        grid.bulk_load(store.backend.dump_graph(physical), format=RdfFormat.N_TRIPLES, to_graph=physical)  # type: ignore[attr-defined]
    # pyshacl-turbo reads classes from the data, as SHACL says: give it the ontology's triples beside the data
    write_with_ontology, grid_with_ontology = Oxigraph(), Oxigraph()
    for target, source in ((write_with_ontology, write), (grid_with_ontology, grid)):
        target.extend(source)
        target.extend(Quad(q.subject, q.predicate, q.object) for q in ontology)

    rows = [
        ("per-write validation", len(write), repeats, write, write_with_ontology),
        ("EHV grid validation", len(grid), max(3, repeats // 10), grid, grid_with_ontology),
    ]
    print(
        f"shapes compiled in {compile_s * 1000:.0f} ms (main and new), pyshacl-turbo in {turbo_compile_s * 1000:.0f} ms"
    )
    print(
        f"\n{'what':<24}{'quads':>9}  {'main ms':>9}  {'new ms':>9}  {'new/main':>9}  "
        f"{'turbo ms':>9}  {'turbo/main':>10}"
    )
    for label, size, n, data, with_ontology in rows:
        main_ms = _median_ms(lambda d=data: main_validator.validate(d), n)
        new_ms = _median_ms(lambda d=data: new_validator.validate(d), n)
        turbo_ms = _median_ms(lambda d=with_ontology: turbo.report(d), 1 if size > 10_000 else max(3, n // 10))
        same = {(v.focus, v.shape) for v in main_validator.validate(data)} == {
            (v.focus, v.shape) for v in new_validator.validate(data)
        }
        print(
            f"{label:<24}{size:>9}  {main_ms:>9.1f}  {new_ms:>9.1f}  {new_ms / main_ms:>9.2f}  {turbo_ms:>9.1f}"
            f"  {turbo_ms / main_ms:>10.1f}   (main and new find the same violations: {same})"
        )


def import_times(baseline: Any, code: str, order: list[str]) -> None:
    """Wall time of a validated import of ``code`` into a fresh disk store, main's validator then the new one."""
    import shutil

    from enertwin.kg.importers.simbench import import_simbench
    from enertwin.kg.provenance.keys import Signer
    from enertwin.kg.provenance.ledger import Ledger
    from enertwin.kg.store import Store
    from enertwin.kg.validation.shacl import _package_ttl

    shapes_ttl, ontology_ttl = _package_ttl("enertwin.shapes"), _package_ttl("enertwin.ontology")
    validators = {
        "main": baseline.ShapeValidator.from_graphs(shapes_ttl, ontology_ttl),
        "new": ShapeValidator.from_graphs(shapes_ttl, ontology_ttl),
    }
    seconds = {}
    for side in order:
        validator = validators[side]
        work = Path(tempfile.mkdtemp(prefix=f"shacl-import-{side}-"))
        try:
            store = Store.open(work / "store")
            store.validator = validator
            started = time.perf_counter()
            import_simbench(store, code, ledger=Ledger(store, Signer.create(work / "keys")))
            seconds[side] = time.perf_counter() - started
            store.close()
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"import {code} with {side}'s validator: {seconds[side]:.1f} s", flush=True)
    print(f"import new/main: {seconds['new'] / seconds['main']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--baseline", default=BASELINE_REF, help=f"git ref of the engine to compare with (default: {BASELINE_REF})"
    )
    parser.add_argument("--skip-speed", action="store_true", help="print the conformance table only")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs of the per-write validation")
    parser.add_argument("--import-code", metavar="CODE", help="also time a disk import of CODE with each validator")
    parser.add_argument("--import-order", default="main,new", help="which validator imports first (main,new)")
    args = parser.parse_args()
    logging.getLogger("rdflib").setLevel(logging.ERROR)
    baseline = load_baseline(args.baseline)
    print_table(conformance(baseline))
    if not args.skip_speed:
        speed(baseline, args.repeats)
    if args.import_code:
        import_times(baseline, args.import_code, args.import_order.split(","))


if __name__ == "__main__":
    main()
