#!/usr/bin/env python
"""Import + validation benchmark: enertwin against a naive rdflib + pySHACL baseline.

One run measures both sides, one after the other, each in its own child process
so that each side's peak RSS is its own:

* **enertwin**: open a fresh disk store, ``import_simbench(store, CODE)`` (reads
  SimBench, builds the triples, validates them against the shipped shapes and
  writes them), then validate one changed asset in that full store
  (``store.change``, repeated, median) and one deliberately bad change (must be
  rejected). The imported grid is then exported as N-Triples for the baseline.
* **baseline**: ``rdflib.Graph().parse`` of the same triples plus the cost
  table, then ``pyshacl.validate`` against the same shapes and ontology
  (``inference="rdfs"``, ``advanced=True``). It is stopped after
  ``--baseline-timeout`` seconds; the ratio is then a lower bound.

The machine is noisy: the ratio matters more than the absolute times. See
``bench/README.md``.

Usage::

    python bench/import_bench.py                              # complete data set, both sides
    python bench/import_bench.py --code 1-HV-mixed--2-sw      # small grid (~13 k triples)
    python bench/import_bench.py --skip-baseline --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CODE = "1-complete_data-mixed-all-2-sw"
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 2048.0
TARGET_RATIO = 10.0
TARGET_CHANGE_MS = 50.0
CHANGE_REPEATS = 20
POLL_SECONDS = 0.1

ET = "https://w3id.org/enertwin/ontology#"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------


def _own_peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return _maxrss_to_mb(peak)


def _maxrss_to_mb(maxrss: int) -> float:
    """``ru_maxrss`` is KiB on Linux and bytes on macOS."""
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


class _ResultFile:
    """The JSON a child phase leaves for the parent, rewritten after every step.

    A child that is killed (timeout) still leaves what it had measured so far.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {}

    def update(self, **values: Any) -> None:
        self.data.update(values)
        scratch = self.path.with_name(self.path.name + ".part")
        scratch.write_text(json.dumps(self.data, indent=2, default=str), encoding="utf-8")
        os.replace(scratch, self.path)


def _say(phase: str, message: str) -> None:
    print(f"[{phase}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# phase: enertwin (child process)
# ---------------------------------------------------------------------------------------------


class _TimedValidator:
    """Adds up the time the store spends inside the shape validator's ``validate*`` methods.

    The store keeps one validator object; its bound methods are replaced on that
    object, so the store's own code paths are unchanged.
    """

    def __init__(self, validator: Any) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.installed = False
        for name in dir(validator):
            if not name.startswith("validate"):
                continue
            method = getattr(validator, name)
            if not callable(method):
                continue
            try:
                setattr(validator, name, self._wrap(method))
            except (AttributeError, TypeError):
                continue
            self.installed = True

    def _wrap(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1

        return timed


@dataclass
class _Stages:
    """Stage marks from the importer's progress callback (each mark starts a stage)."""

    marks: list[tuple[str, float]] = field(default_factory=list)

    def __call__(self, stage: str, _fraction: float) -> None:
        self.marks.append((stage, time.perf_counter()))

    def durations(self, ended: float) -> dict[str, float]:
        """Seconds from each mark to the next (the importer's final "done" mark starts nothing)."""
        ends = [t for _, t in self.marks[1:]] + [ended]
        return {stage: end - began for (stage, began), end in zip(self.marks, ends, strict=True) if stage != "done"}


def _physical_graph(store: Any, logical: Any) -> Any:
    """The graph that holds a logical graph's live triples (stores without versions: itself)."""
    live = getattr(store, "live", None)
    if callable(live):
        return live().get(logical, logical)
    return logical


def _rows(store: Any, query: str, bindings: dict[str, Any] | None = None) -> list[Any]:
    return list(store.query(query, bindings))


def _quad_present(store: Any, s: Any, p: Any, o: Any) -> bool:
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 1"
    return bool(_rows(store, query, {"s": s, "p": p, "o": o}))


def _finite_double(term: Any) -> float | None:
    try:
        value = float(term.value)
    except (TypeError, ValueError):
        return None
    return value if abs(value) < 1e300 else None


def _first_asset(store: Any, cls: str, props: tuple[str, ...]) -> tuple[Any, list[Any]] | None:
    """The first asset of class ``et:cls`` (by IRI) with finite double values for ``props``."""
    variables = " ".join(f"?v{i}" for i in range(len(props)))
    patterns = " ; ".join(f"<{ET}{p}> ?v{i}" for i, p in enumerate(props))
    query = f"SELECT ?asset {variables} WHERE {{ ?asset a <{ET}{cls}> ; {patterns} . }} ORDER BY ?asset LIMIT 200"
    for row in _rows(store, query):
        values = [row[f"v{i}"] for i in range(len(props))]
        if all(_finite_double(v) is not None for v in values):
            return row["asset"], values
    return None


def _double(value: float) -> Any:
    """An xsd:double literal in the lexical form the store keeps (Oxigraph writes 299.0 as "299").

    The later ``remove`` of a changed value has to name it exactly as stored, so the
    literal is passed once through an in-memory Oxigraph store.
    """
    from pyoxigraph import Literal, NamedNode, Quad, Store

    scratch = Store()
    node = NamedNode("urn:enertwin:bench:value")
    scratch.add(Quad(node, node, Literal(repr(float(value)), datatype=NamedNode(XSD_DOUBLE))))
    return next(iter(scratch)).object


def _measure_changes(store: Any, graph: Any, out: _ResultFile) -> None:
    """Median time of one validated one-asset change, and rejection of bad changes."""
    from pyoxigraph import NamedNode, Quad

    from enertwin.kg.errors import ValidationError

    # A good change: a thermal unit's maximum active power (+1 MW and back), else a load's power.
    candidates = [
        ("ThermalUnit", "maxActivePower", 1.0),
        ("Load", "activePower", 0.1),
        ("RenewableUnit", "activePower", 0.1),
    ]
    chosen = None
    for cls, prop, step in candidates:
        found = _first_asset(store, cls, (prop,))
        if found is not None:
            chosen = (cls, prop, step, found[0], found[1][0])
            break
    if chosen is None:
        out.update(change_error="no thermal unit, load or renewable unit with a finite power to change")
        return
    cls, prop, step, asset, original = chosen
    predicate = NamedNode(ET + prop)
    other = _double(float(original.value) + step)
    times_ms: list[float] = []
    current, following = original, other
    for _ in range(CHANGE_REPEATS):
        started = time.perf_counter()
        store.change(
            graph,
            remove=[Quad(asset, predicate, current, graph)],
            add=[Quad(asset, predicate, following, graph)],
        )
        times_ms.append((time.perf_counter() - started) * 1000)
        current, following = following, current
    restored = _quad_present(store, asset, predicate, original)
    out.update(
        change_asset=asset.value,
        change_class=f"et:{cls}",
        change_property=f"et:{prop}",
        change_values=[original.value, other.value],
        change_repeats=CHANGE_REPEATS,
        change_ms=times_ms,
        change_median_ms=statistics.median(times_ms),
        change_max_ms=max(times_ms),
        change_first_ms=times_ms[0],
        change_restored=restored,
    )

    # Bad changes: each must raise ValidationError and leave the store as it was.
    bad: list[dict[str, Any]] = []
    thermal = _first_asset(store, "ThermalUnit", ("minActivePower", "maxActivePower"))
    if thermal is not None:
        unit, (low, high) = thermal
        bad.append(
            {
                "what": "thermal unit: et:minActivePower above et:maxActivePower",
                "asset": unit,
                "predicate": NamedNode(ET + "minActivePower"),
                "old": low,
                "new": _double(float(high.value) + 1.0),
            }
        )
    storage = _first_asset(store, "Storage", ("energyCapacity",))
    if storage is not None:
        unit, (capacity,) = storage
        bad.append(
            {
                "what": "storage: negative et:energyCapacity",
                "asset": unit,
                "predicate": NamedNode(ET + "energyCapacity"),
                "old": capacity,
                "new": _double(-1.0),
            }
        )
    if not bad:
        renewable = _first_asset(store, "RenewableUnit", ("activePower",))
        if renewable is not None:
            unit, (power,) = renewable
            bad.append(
                {
                    "what": "renewable unit: negative et:activePower",
                    "asset": unit,
                    "predicate": NamedNode(ET + "activePower"),
                    "old": power,
                    "new": _double(-1.0),
                }
            )
    reports = []
    for case in bad:
        started = time.perf_counter()
        rejected, shapes, error = False, [], None
        try:
            store.change(
                graph,
                remove=[Quad(case["asset"], case["predicate"], case["old"], graph)],
                add=[Quad(case["asset"], case["predicate"], case["new"], graph)],
            )
        except ValidationError as exc:
            rejected = True
            shapes = sorted({v.shape for v in exc.violations})
        except Exception as exc:  # reported, not hidden: a crash is not a rejection
            error = f"{type(exc).__name__}: {exc}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        unchanged = _quad_present(store, case["asset"], case["predicate"], case["old"])
        reports.append(
            {
                "what": case["what"],
                "asset": case["asset"].value,
                "new_value": case["new"].value,
                "rejected": rejected,
                "store_unchanged": unchanged,
                "shapes": shapes,
                "ms": elapsed_ms,
                "error": error,
            }
        )
    out.update(bad_changes=reports)


def _export_ntriples(store: Any, graph: Any, path: Path) -> int:
    """Write the live triples of logical ``graph`` to ``path`` as N-Triples; return their number."""
    from pyoxigraph import RdfFormat, Triple, serialize

    physical = _physical_graph(store, graph)
    rows = store.query("SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": physical})
    count = 0

    def triples() -> Any:
        nonlocal count
        for row in rows:
            count += 1
            yield Triple(row["s"], row["p"], row["o"])

    serialize(triples(), str(path), RdfFormat.N_TRIPLES)
    return count


def phase_enertwin(args: argparse.Namespace) -> int:
    """Import ``args.code`` into a fresh disk store, then measure changes; leave JSON in ``args.out``."""
    out = _ResultFile(Path(args.out))
    out.update(phase="enertwin", code=args.code, finished=False)
    started = time.perf_counter()
    import simbench  # noqa: F401  (module loading is not import work; the baseline's is untimed too)

    from enertwin.kg.importers.simbench import import_simbench
    from enertwin.kg.store import Store

    out.update(python_imports_s=time.perf_counter() - started, rss_after_imports_mb=_own_peak_rss_mb())
    store_path = Path(args.store)
    _say("enertwin", f"importing {args.code} into a fresh disk store at {store_path}")

    started = time.perf_counter()
    out.update(t0_epoch=time.time())
    store = Store.open(store_path)
    opened = time.perf_counter()
    timer = _TimedValidator(store.validator)
    stages = _Stages([("before the first progress mark", opened)])
    result = import_simbench(store, args.code, progress=stages)
    ended = time.perf_counter()
    total = ended - started
    validator_s = timer.seconds if timer.installed and timer.calls else None
    stage_s = stages.durations(ended)
    validate_stage = next((s for name, s in stage_s.items() if "validat" in name.lower()), None)
    out.update(
        code=result.code,
        graph=result.graph.value,
        triples=result.triples,
        series=result.series,
        counts=result.counts,
        open_s=opened - started,
        import_s=ended - opened,
        importer_reported_s=result.seconds,
        stages_s=stage_s,
        validate_stage_s=validate_stage,
        shape_validator_s=validator_s,
        total_s=total,
        parse_s=(total - validate_stage) if validate_stage is not None else None,
        validation_s=validate_stage,
        peak_rss_after_import_mb=_own_peak_rss_mb(),
        warnings=len(result.report.warnings),
    )
    _say("enertwin", f"{result.triples:,} triples, {result.series:,} series in {total:.2f} s")

    _say("enertwin", f"one-asset change validation ({CHANGE_REPEATS}×) and bad changes")
    _measure_changes(store, result.graph, out)
    out.update(peak_rss_mb=_own_peak_rss_mb())

    if args.ntriples:
        _say("enertwin", f"exporting the grid's triples for the baseline to {args.ntriples}")
        started = time.perf_counter()
        exported = _export_ntriples(store, result.graph, Path(args.ntriples))
        out.update(exported_triples=exported, export_s=time.perf_counter() - started)
    store.close()
    out.update(finished=True)
    return 0


def phase_same_triples(args: argparse.Namespace) -> int:
    """Like for like with the baseline: validate and store the exported N-Triples in a fresh in-memory store.

    The grid's profiles are written to DuckDB first, untimed (the baseline has no series), so that
    the series-reference check finds them; the timed part is one ``Store.replace_graph`` call.
    """
    out = _ResultFile(Path(args.out))
    out.update(phase="same-triples", code=args.code, finished=False)
    import simbench
    from pyoxigraph import RdfFormat

    from enertwin.kg.importers.simbench import grid_graph, profile_frame, series_prefix
    from enertwin.kg.store import Store

    store = Store.open(None)
    store.series.replace(profile_frame(simbench.get_simbench_net(args.code), args.code), series_prefix(args.code))
    _say("same-triples", f"loading {args.ntriples} into a fresh in-memory store (validated write)")
    started = time.perf_counter()
    report = store.replace_graph(grid_graph(args.code), Path(args.ntriples), RdfFormat.N_TRIPLES)
    total = time.perf_counter() - started
    out.update(triples=report.triples, total_s=total, peak_rss_mb=_own_peak_rss_mb(), finished=True)
    _say("same-triples", f"{report.triples:,} triples validated and stored in {total:.2f} s")
    store.close()
    return 0


# ---------------------------------------------------------------------------------------------
# phase: baseline (child process)
# ---------------------------------------------------------------------------------------------


def phase_baseline(args: argparse.Namespace) -> int:
    """rdflib parse + pySHACL full validation of the exported triples; JSON in ``args.out``."""
    out = _ResultFile(Path(args.out))
    out.update(phase="baseline", finished=False, inference=args.baseline_inference)
    from importlib.resources import files

    import pyshacl
    from rdflib import RDF, SH, Graph

    out.update(rss_after_imports_mb=_own_peak_rss_mb(), pyshacl=pyshacl.__version__)
    shape_files = sorted(
        (entry for entry in files("enertwin.shapes").iterdir() if entry.name.endswith(".ttl")),
        key=lambda entry: entry.name,
    )
    ontology_file = files("enertwin.ontology") / "enertwin.ttl"
    cost_file = files("enertwin.kg") / "cost_table.ttl"

    _say("baseline", f"rdflib: parsing {args.ntriples} + cost table, shapes, ontology")
    started = time.perf_counter()
    out.update(t0_epoch=time.time())
    data = Graph()
    data.parse(args.ntriples, format="nt")
    grid_triples = len(data)
    data.parse(data=cost_file.read_bytes(), format="turtle")
    shapes = Graph()
    for entry in shape_files:
        shapes.parse(data=entry.read_bytes(), format="turtle")
    ontology = Graph()
    ontology.parse(data=ontology_file.read_bytes(), format="turtle")
    parsed = time.perf_counter()
    out.update(
        parse_s=parsed - started,
        triples=grid_triples,
        data_triples=len(data),
        shape_triples=len(shapes),
        ontology_triples=len(ontology),
        peak_rss_after_parse_mb=_own_peak_rss_mb(),
    )
    _say("baseline", f"parsed {len(data):,} data triples in {parsed - started:.2f} s; pySHACL validating")

    inference = None if args.baseline_inference == "none" else args.baseline_inference
    conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference=inference,
        advanced=True,
        allow_warnings=True,
    )
    ended = time.perf_counter()
    severities: dict[str, int] = {}
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = results.value(result, SH.resultSeverity)
        name = str(severity).rsplit("#", 1)[-1] if severity is not None else "?"
        severities[name] = severities.get(name, 0) + 1
    examples = []
    for result in list(results.subjects(RDF.type, SH.ValidationResult))[:5]:
        examples.append(
            {
                "focus": str(results.value(result, SH.focusNode)),
                "shape": str(results.value(result, SH.sourceShape)),
                "message": str(results.value(result, SH.resultMessage)),
            }
        )
    out.update(
        validation_s=ended - parsed,
        total_s=ended - started,
        conforms=bool(conforms),
        results_by_severity=severities,
        result_examples=examples,
        peak_rss_mb=_own_peak_rss_mb(),
        finished=True,
    )
    _say("baseline", f"validated in {ended - parsed:.2f} s; conforms={bool(conforms)}")
    return 0


# ---------------------------------------------------------------------------------------------
# parent: run both phases, compare, report
# ---------------------------------------------------------------------------------------------


@dataclass
class ChildRun:
    """How a child phase ended and what it left."""

    phase: str
    returncode: int | None
    wall_s: float
    peak_rss_mb: float | None  # from the kernel (wait4), valid even if the child was killed
    timed_out: bool
    killed_at_epoch: float | None
    result: dict[str, Any]


def run_child(phase: str, extra: list[str], out: Path, timeout: float | None) -> ChildRun:
    """Run this script as ``--phase PHASE`` in a new process; kill it after ``timeout`` seconds."""
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase, "--out", str(out), *extra]
    started = time.monotonic()
    process = subprocess.Popen(command)
    timed_out, killed_at = False, None
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.monotonic() - started > timeout:
                killed_at = time.time()
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                timed_out = True
                break
            time.sleep(POLL_SECONDS)
    except BaseException:
        process.kill()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    result: dict[str, Any] = {}
    if out.exists():
        result = json.loads(out.read_text(encoding="utf-8"))
    return ChildRun(
        phase,
        process.returncode,
        time.monotonic() - started,
        _maxrss_to_mb(usage.ru_maxrss),
        timed_out,
        killed_at,
        result,
    )


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "—" if value is None else f"{value:,.{digits}f}{suffix}"


def _verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "FAIL")


def summarise(args: argparse.Namespace, ours: ChildRun, base: ChildRun | None) -> dict[str, Any]:
    """The numbers of both phases and the verdicts against the targets."""
    r = ours.result
    summary: dict[str, Any] = {
        "code": r.get("code", args.code),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform},
        "targets": {
            "import_validation_s": TARGET_SECONDS,
            "peak_rss_mb": TARGET_RSS_MB,
            "ratio": TARGET_RATIO,
            "change_median_ms": TARGET_CHANGE_MS,
        },
        "enertwin": {**r, "process_peak_rss_mb": ours.peak_rss_mb, "wall_s": ours.wall_s},
    }
    total = r.get("total_s")
    peak = r.get("peak_rss_mb")
    change = r.get("change_median_ms")
    bad = r.get("bad_changes") or []
    verdicts: dict[str, Any] = {
        "import_validation": None if total is None else total <= TARGET_SECONDS,
        "peak_rss": None if peak is None else peak <= TARGET_RSS_MB,
        "change_median": None if change is None else change <= TARGET_CHANGE_MS,
        "bad_change_rejected": (None if not bad else all(b["rejected"] and b["store_unchanged"] for b in bad)),
        "ratio": None,
    }
    ratio, bound = None, False
    if base is not None:
        b = base.result
        summary["baseline"] = {
            **b,
            "process_peak_rss_mb": base.peak_rss_mb,
            "wall_s": base.wall_s,
            "timed_out": base.timed_out,
            "returncode": base.returncode,
        }
        if total:
            if b.get("finished") and b.get("total_s") is not None:
                ratio = b["total_s"] / total
            elif base.timed_out and b.get("t0_epoch") is not None and base.killed_at_epoch is not None:
                ratio, bound = (base.killed_at_epoch - b["t0_epoch"]) / total, True
                summary["baseline"]["stopped_after_s"] = base.killed_at_epoch - b["t0_epoch"]
        if ratio is not None:
            verdicts["ratio"] = ratio >= TARGET_RATIO if (not bound or ratio >= TARGET_RATIO) else None
        ours_validation = r.get("validation_s")
        if b.get("finished") and b.get("validation_s") is not None and ours_validation:
            summary["validation_only_ratio"] = b["validation_s"] / ours_validation
    summary["ratio"] = ratio
    summary["ratio_is_lower_bound"] = bound
    summary["verdicts"] = verdicts
    return summary


def print_report(summary: dict[str, Any]) -> None:
    """The table and the target lines."""
    ours = summary["enertwin"]
    base = summary.get("baseline")
    header = f"{'':10} {'import+parse s':>15} {'validation s':>13} {'total s':>10} {'peak RSS MB':>12} {'triples':>12}"
    rows = [
        f"{'enertwin':10} {_fmt(ours.get('parse_s')):>15} {_fmt(ours.get('validation_s')):>13} "
        f"{_fmt(ours.get('total_s')):>10} {_fmt(ours.get('peak_rss_mb'), 0):>12} "
        f"{ours.get('triples', 0):>12,}"
    ]
    if base is not None:
        if base.get("finished"):
            validation, total = _fmt(base.get("validation_s")), _fmt(base.get("total_s"))
        elif base.get("timed_out"):
            stopped = base.get("stopped_after_s")
            validation = "stopped" if base.get("parse_s") is not None else "—"
            total = f">{_fmt(stopped, 0)}" if stopped is not None else "stopped"
        else:
            validation, total = "failed", "failed"
        peak = base.get("peak_rss_mb") if base.get("finished") else base.get("process_peak_rss_mb")
        rows.append(
            f"{'baseline':10} {_fmt(base.get('parse_s')):>15} {validation:>13} {total:>10} "
            f"{_fmt(peak, 0):>12} {base.get('triples', 0):>12,}"
        )
    same = summary.get("same_triples")
    if same is not None:
        rows.insert(
            1,
            f"{'same N-T':10} {'':>15} {'':>13} {_fmt(same.get('total_s')):>10} "
            f"{_fmt(same.get('peak_rss_mb'), 0):>12} {same.get('triples', 0):>12,}",
        )
    print()
    print(f"SimBench {summary['code']} — {summary['machine']['cpus']} CPUs, Python {summary['machine']['python']}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(row)
    print()

    v = summary["verdicts"]
    ratio = summary["ratio"]
    if base is None:
        print("ratio baseline/enertwin = (baseline skipped)")
    elif ratio is None:
        print("ratio baseline/enertwin = — (the baseline did not finish and left no timing)")
    elif summary["ratio_is_lower_bound"]:
        print(
            f"ratio baseline/enertwin ≥ {ratio:,.1f}× (target ≥ {TARGET_RATIO:g}×)  "
            f"{'PASS' if v['ratio'] else 'INCONCLUSIVE'}"
            f"  — baseline stopped after {base.get('stopped_after_s', 0):,.0f} s"
        )
    else:
        print(f"ratio baseline/enertwin = {ratio:,.1f}× (target ≥ {TARGET_RATIO:g}×)  {_verdict(v['ratio'])}")
    print(
        f"enertwin import+validation = {_fmt(ours.get('total_s'))} s (target ≤ {TARGET_SECONDS:g} s)  "
        f"{_verdict(v['import_validation'])}"
    )
    print(
        f"peak RSS = {_fmt(ours.get('peak_rss_mb'), 0)} MB (target ≤ {TARGET_RSS_MB:g} MB)  {_verdict(v['peak_rss'])}"
    )
    print(
        f"one-asset change validation median = {_fmt(ours.get('change_median_ms'))} ms "
        f"(target ≤ {TARGET_CHANGE_MS:g} ms)  {_verdict(v['change_median'])}"
    )
    if summary.get("same_triples_ratio") is not None:
        print(
            f"ratio baseline / enertwin storing the same N-Triples (in-memory store, validated write) = "
            f"{summary['same_triples_ratio']:,.1f}× (like for like: both start from the N-Triples file)"
        )
    if summary.get("validation_only_ratio") is not None:
        print(
            f"(information) validation only, baseline pySHACL / enertwin validate+write stage = "
            f"{summary['validation_only_ratio']:,.1f}×"
        )
    bad = ours.get("bad_changes") or []
    print(f"bad changes rejected with ValidationError, store unchanged: {_verdict(v['bad_change_rejected'])}")

    print()
    print("details")
    stages = ours.get("stages_s") or {}
    if stages:
        shown = {k: s for k, s in stages.items() if s >= 0.005}
        print("  enertwin stages: " + ", ".join(f"{k} {s:.2f} s" for k, s in shown.items()))
    print(
        f"  enertwin: python imports {_fmt(ours.get('python_imports_s'))} s (untimed), "
        f"store open {_fmt(ours.get('open_s'))} s, shape validator {_fmt(ours.get('shape_validator_s'))} s, "
        f"{ours.get('series', 0):,} series, peak RSS after import {_fmt(ours.get('peak_rss_after_import_mb'), 0)} MB, "
        f"whole child process (incl. export) {_fmt(ours.get('process_peak_rss_mb'), 0)} MB"
    )
    if ours.get("change_ms"):
        print(
            f"  change: {ours['change_class']} {ours['change_property']} of <{ours['change_asset']}> "
            f"{ours['change_values'][0]} ↔ {ours['change_values'][1]}, {ours['change_repeats']}×: "
            f"median {ours['change_median_ms']:.2f} ms, first {ours['change_first_ms']:.2f} ms, "
            f"max {ours['change_max_ms']:.2f} ms, value restored: {ours['change_restored']}"
        )
    elif ours.get("change_error"):
        print(f"  change: {ours['change_error']}")
    for case in bad:
        outcome = "rejected" if case["rejected"] else (case["error"] or "ACCEPTED")
        print(
            f"  bad change ({case['what']} = {case['new_value']}): {outcome} in {case['ms']:.2f} ms, "
            f"store unchanged: {case['store_unchanged']}, shapes: {', '.join(case['shapes']) or '—'}"
        )
    if ours.get("exported_triples") is not None:
        same = ours["exported_triples"] == ours.get("triples")
        print(
            f"  exported {ours['exported_triples']:,} triples for the baseline in {_fmt(ours.get('export_s'))} s"
            f" ({'same as' if same else 'DIFFERENT FROM'} the import's count)"
        )
    if base is not None:
        print(
            f"  baseline: pySHACL {base.get('pyshacl', '?')}, inference={base.get('inference')}, "
            f"{base.get('data_triples', 0):,} data triples (grid + cost table), "
            f"{base.get('shape_triples', 0):,} shape triples, {base.get('ontology_triples', 0):,} ontology triples"
        )
        if base.get("finished"):
            print(
                f"  baseline: conforms={base.get('conforms')}, results by severity: "
                f"{base.get('results_by_severity') or {}}"
            )
            for example in base.get("result_examples") or []:
                print(f"    {example['shape']} on <{example['focus']}>: {example['message']}")
        elif not base.get("timed_out"):
            print(f"  baseline: the child process failed (exit code {base.get('returncode')})")
    print()


def run_all(args: argparse.Namespace) -> int:
    """Parent: both phases one after the other, each in its own process; then the report."""
    parent = Path(args.store_dir) if args.store_dir else None
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="enertwin-bench-", dir=parent))
    try:
        ntriples = work / "grid.nt"
        print(f"work directory (disk store, N-Triples export): {work}", file=sys.stderr)
        extra = ["--code", args.code, "--store", str(work / "store")]
        if not args.skip_baseline:
            extra += ["--ntriples", str(ntriples)]
        ours = run_child("enertwin", extra, work / "enertwin.json", args.enertwin_timeout)
        if not ours.result.get("finished"):
            why = "timed out" if ours.timed_out else f"exited with {ours.returncode}"
            print(f"the enertwin phase {why}; its partial result: {json.dumps(ours.result)}", file=sys.stderr)
            return 1
        base = same = None
        if not args.skip_baseline:
            same = run_child(
                "same-triples",
                ["--code", args.code, "--ntriples", str(ntriples)],
                work / "same.json",
                args.enertwin_timeout,
            )
            base = run_child(
                "baseline",
                ["--ntriples", str(ntriples), "--baseline-inference", args.baseline_inference],
                work / "baseline.json",
                args.baseline_timeout,
            )
        summary = summarise(args, ours, base)
        if same is not None and same.result.get("finished"):
            summary["same_triples"] = {**same.result, "process_peak_rss_mb": same.peak_rss_mb}
            baseline_total = (summary.get("baseline") or {}).get("total_s")
            if baseline_total and (summary.get("baseline") or {}).get("finished"):
                summary["same_triples_ratio"] = baseline_total / same.result["total_s"]
        print_report(summary)
        if args.json:
            Path(args.json).write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
            print(f"numbers written to {args.json}", file=sys.stderr)
        if base is not None and not base.result.get("finished") and not base.timed_out:
            return 1
        if args.fail_on_target and any(ok is False for ok in summary["verdicts"].values()):
            return 2
        return 0
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Import + validate a SimBench grid with enertwin and with rdflib + pySHACL; compare.",
    )
    parser.add_argument("--code", default=DEFAULT_CODE, help=f"SimBench code (default {DEFAULT_CODE})")
    parser.add_argument(
        "--store-dir",
        help="directory under which the fresh disk store and the N-Triples export are made (default: system temp)",
    )
    parser.add_argument("--baseline-timeout", type=float, default=1800.0, help="stop the baseline after S seconds")
    parser.add_argument(
        "--enertwin-timeout", type=float, default=1800.0, help="stop the enertwin phase after S seconds"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="measure enertwin only")
    parser.add_argument(
        "--baseline-inference",
        default="none",
        choices=["rdfs", "none", "owlrl", "both"],
        help="pySHACL inference option for the baseline (default none: the ontology is given as ont_graph)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write all numbers as JSON to PATH")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (store, export)")
    parser.add_argument("--fail-on-target", action="store_true", help="exit with 2 if a target is missed")
    # internal: the child phases
    parser.add_argument("--phase", choices=["enertwin", "same-triples", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--ntriples", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase == "enertwin":
        return phase_enertwin(args)
    if args.phase == "same-triples":
        return phase_same_triples(args)
    if args.phase == "baseline":
        return phase_baseline(args)
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
