"""Import a SimBench grid (every code ``simbench`` lists) into the store.

Rows become N-Triples through vectorised pandas string operations (the complete
data set is about 2.3 M triples), profiles go to DuckDB, and the whole grid is one
named graph, so importing the same code again replaces it: one copy, always.
"""

from __future__ import annotations

import difflib
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, unquote

import pandas as pd
from pyoxigraph import Literal, NamedNode, RdfFormat

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.importers.simbench_mapping import ElementLink, Kind, TableMap, element_links, table_maps
from enertwin.kg.importers.simbench_time import SIMBENCH_TIME_ZONE, profile_start
from enertwin.kg.provenance.ledger import Ledger
from enertwin.kg.provenance.recorded_write import Source, replace_recorded
from enertwin.kg.store import Store, WriteReport

Progress = Callable[[str, float], None]
PROFILE_RESOLUTION = "PT15M"
PROFILE_STEP = timedelta(minutes=15)
UNITLESS = NamedNode(ns.QUDT_UNIT_BASE + "UNITLESS")

SHORT_NAMES = {"hv-mixed": "1-HV-mixed--2-sw", "ehv-mixed": "1-EHV-mixed--2-sw"}


@cache
def simbench_codes() -> tuple[str, ...]:
    """Every code the installed ``simbench`` package lists."""
    import simbench

    return tuple(simbench.collect_all_simbench_codes())


def resolve_code(code: str) -> str:
    """The SimBench code for ``code`` (a code or a short name); an unknown one is an :class:`InputError`."""
    code = SHORT_NAMES.get(code, code)
    codes = simbench_codes()
    if code in codes:
        return code
    near = difflib.get_close_matches(code, codes, n=3)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    raise InputError(
        f"unknown SimBench code {code!r}: the simbench package lists {len(codes)} codes "
        f"(see `enertwin import simbench --list`).{hint}"
    )


def grid_graph(code: str) -> NamedNode:
    """The named graph that holds one imported SimBench grid."""
    return NamedNode(f"{ns.GRAPH_BASE}simbench/{quote(code, safe='')}")


def grid_node(code: str) -> NamedNode:
    """The et:Grid node of one imported SimBench grid."""
    return NamedNode(f"{ns.ID_BASE}simbench/{quote(code, safe='')}")


def code_of_grid(grid: str) -> str | None:
    """The SimBench code of a grid node made by :func:`grid_node`, else ``None``."""
    prefix = f"{ns.ID_BASE}simbench/"
    if not grid.startswith(prefix) or "/" in grid[len(prefix) :]:
        return None
    code = unquote(grid[len(prefix) :])
    return code if code in simbench_codes() else None


def ensure_imported(
    store: Store, code: str, progress: Progress | None = None, ledger: Ledger | None = None
) -> ImportResult | None:
    """Import SimBench ``code`` unless the store already holds it; the result if it was imported."""
    code = resolve_code(code)
    if store.has_graph(grid_graph(code)):
        return None
    return import_simbench(store, code, progress, ledger)


def series_prefix(code: str) -> str:
    """The DuckDB key prefix of a grid's profiles."""
    return f"simbench/{code}/"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote."""

    code: str
    graph: NamedNode
    triples: int
    series: int
    counts: dict[str, int]
    seconds: float
    report: WriteReport


def import_simbench(
    store: Store, code: str, progress: Progress | None = None, ledger: Ledger | None = None
) -> ImportResult:
    """Import SimBench ``code`` into ``store`` (replacing an earlier import of it), recorded in the ledger."""
    step = progress or (lambda _stage, _fraction: None)
    ledger = ledger or Ledger(store)  # no signing key: fail before reading anything
    began, started = datetime.now(UTC), time.perf_counter()
    code = resolve_code(code)
    step("reading SimBench", 0.05)
    net = _load_net(code)
    step("building triples", 0.35)
    base = f"{ns.ID_BASE}simbench/{quote(code, safe='')}/"
    profiles = profile_frame(net, code)
    start = profile_start(net.profiles, PROFILE_STEP, code)
    counts = {m.table: len(net[m.table]) for m in table_maps()}
    with tempfile.TemporaryDirectory(prefix="enertwin-import-") as tmp:
        path = Path(tmp) / "grid.nt"
        _write_triples(path, net, code, base, profiles, start.isoformat())
        del net  # the pandapower net is large; the triples and profiles are all we need now
        step("validating and writing", 0.5)
        source = Source(f"SimBench {code}", f"simbench {_simbench_version()}")
        report, _ = replace_recorded(
            ledger,
            grid_graph(code),
            path,
            RdfFormat.N_TRIPLES,
            source,
            series=profiles,
            series_prefix=series_prefix(code),
            started=began,
        )
    step("done", 1.0)
    return ImportResult(
        code, grid_graph(code), report.triples, profiles.shape[1], counts, time.perf_counter() - started, report
    )


def _write_triples(path: Path, net: SimbenchNet, code: str, base: str, profiles: pd.DataFrame, start: str) -> None:
    """Write the grid's triples as N-Triples, one table at a time (never all in memory at once)."""
    iris = {m.table: _subject_iris(net[m.table], base, m.slug) for m in table_maps()}
    with path.open("w", encoding="utf-8") as out:
        out.writelines(_grid_triples(code))
        for m in table_maps():
            out.write(_table_triples(net, m, iris, base))
        for link in element_links():
            out.write(_element_links(net, iris, link))
        out.write(_series_triples(code, base, profiles.columns, len(profiles), start))


class SimbenchNet(Protocol):
    """What the import reads of the pandapower net simbench builds (neither package ships types)."""

    profiles: dict[str, pd.DataFrame]

    def __getitem__(self, table: str, /) -> pd.DataFrame: ...


@contextmanager
def _interrupt_kept() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside simbench until it returns, then raise it.

    simbench and pandapower catch with bare ``except:`` while they build a grid, so a
    KeyboardInterrupt raised in there was swallowed and the import went on (seen: 1 in 4).
    Only the main thread receives signals; elsewhere (an import run as a job) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, _frame: caught.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _load_net(code: str) -> SimbenchNet:
    import simbench

    try:
        with _interrupt_kept():
            net: SimbenchNet = simbench.get_simbench_net(code)
    except Exception as exc:  # simbench raises bare exceptions on broken data
        raise InputError(f"simbench could not build the grid {code!r}: {exc}") from exc
    return net


def _iri(value: str) -> str:
    return f"<{value}>"


def _subject_iris(frame: pd.DataFrame, base: str, slug: str) -> pd.Series:
    names = frame["name"].astype(str) if "name" in frame else frame.index.astype(str).to_series(index=frame.index)
    quoted = names.map(lambda n: quote(n, safe=""))
    dup = quoted.duplicated(keep=False)
    quoted[dup] = quoted[dup] + "@" + frame.index[dup].astype(str)
    return "<" + base + slug + "/" + quoted + ">"


def _string_literals(values: pd.Series) -> pd.Series:
    escaped = (
        values.astype(str)
        .str.replace("\\", "\\\\", regex=False)
        .str.replace('"', '\\"', regex=False)
        .str.replace("\n", "\\n", regex=False)
        .str.replace("\r", "\\r", regex=False)
    )
    return '"' + escaped + '"'


def _typed(values: pd.Series, datatype: NamedNode) -> pd.Series:
    return '"' + values + '"^^' + str(datatype)


def _objects(
    kind: Kind, values: pd.Series, iris: dict[str, pd.Series], base: str, suffix: str, profile_table: str | None
) -> pd.Series:
    """N-Triples objects for one column (missing values already dropped)."""
    if values.empty:
        return pd.Series([], dtype=object)
    if kind is Kind.DOUBLE:
        numbers = values.astype(float).map(repr).str.replace("inf", "INF", regex=False)
        return _typed(numbers, ns.XSD_DOUBLE)
    if kind is Kind.BOOLEAN:
        return _typed(values.astype(bool).map({True: "true", False: "false"}), ns.XSD_BOOLEAN)
    if kind is Kind.INTEGER:
        return _typed(values.astype(float).astype(int).astype(str), ns.XSD_INTEGER)
    if kind is Kind.STRING:
        return _string_literals(values)
    if kind is Kind.BUS:
        return iris["bus"].reindex(values.astype(int).to_numpy()).set_axis(values.index)
    if kind is Kind.FUEL:
        return values.astype(str).map(lambda code: _iri(f"{ns.ID_BASE}fuel/{quote(code, safe='')}"))
    if kind is Kind.PROFILE:
        if profile_table is None:
            raise ValueError("simbench_mapping.ttl maps a profile column of a table that names no profile table")
        return values.astype(str).map(lambda p: _iri(series_iri(base, profile_table, p + suffix)))
    raise AssertionError(kind)


def series_iri(base: str, table: str, column: str) -> str:
    """The IRI of one imported profile."""
    return f"{base}series/{table}/{quote(column, safe='')}"


def _lines(subjects: pd.Series, prop: NamedNode, objects: pd.Series) -> str:
    if objects.empty:
        return ""
    text: str = (subjects.loc[objects.index] + f" {prop} " + objects + " .\n").str.cat()
    return text


def _table_triples(net: SimbenchNet, m: TableMap, iris: dict[str, pd.Series], base: str) -> str:
    frame: pd.DataFrame = net[m.table]
    if frame.empty:
        return ""
    subjects = iris[m.table]
    names = frame["name"].astype(str) if "name" in frame else subjects
    grid = _iri(base.rstrip("/"))
    out = [
        (subjects + f" {ns.RDF_TYPE} {m.cls} .\n").str.cat(),
        _lines(subjects, ns.RDFS_LABEL, _string_literals(names)),
        _lines(subjects, ns.SOURCE_NAME, _string_literals(names)),
        (subjects + f" {ns.IN_GRID} {grid} .\n").str.cat(),
    ]
    for column in m.columns:
        if column.column not in frame:
            continue
        values = frame[column.column].dropna()
        objects = _objects(column.kind, values, iris, base, m.profile_suffix, m.profile_table)
        out.append(_lines(subjects, column.prop, objects.dropna()))
    for prop, value in m.extra:
        out.append((subjects + f" {prop} {value} .\n").str.cat())
    return "".join(out)


def _element_links(net: SimbenchNet, iris: dict[str, pd.Series], link: ElementLink) -> str:
    """Links from rows of ``link.source`` to the element each names by (element type, index) columns."""
    frame: pd.DataFrame = net[link.source]
    parts = []
    for kind, table in link.targets:
        rows = frame[frame[link.kind_column] == kind]
        if rows.empty:
            continue
        targets = iris[table].reindex(rows["element"].astype(int).to_numpy()).set_axis(rows.index).dropna()
        parts.append(_lines(iris[link.source], link.prop, targets))
    return "".join(parts)


def profile_frame(net: SimbenchNet, code: str) -> pd.DataFrame:
    """Every profile column of every profile table, keyed by its DuckDB series key."""
    frames = []
    for table, frame in net.profiles.items():
        values = frame.drop(columns=["time"], errors="ignore")
        frames.append(values.rename(columns=lambda c, t=table: f"{series_prefix(code)}{t}/{c}"))
    return pd.concat(frames, axis=1) if frames else pd.DataFrame()


def _series_triples(code: str, base: str, keys: pd.Index, steps: int, start: str) -> str:
    prefix = series_prefix(code)
    out = []
    for key in keys:
        table, column = key[len(prefix) :].split("/", 1)
        s = _iri(series_iri(base, table, column))
        out.append(
            f"{s} {ns.RDF_TYPE} {ns.PROFILE} .\n"
            f"{s} {ns.RDFS_LABEL} {Literal(f'{table} profile {column}')} .\n"
            f"{s} {ns.SERIES_KEY} {Literal(key)} .\n"
            f"{s} {ns.STORED_IN} {Literal('duckdb')} .\n"
            f"{s} {ns.HAS_UNIT} {UNITLESS} .\n"
            f"{s} {ns.RESOLUTION} {Literal(PROFILE_RESOLUTION, datatype=ns.XSD_DURATION)} .\n"
            f"{s} {ns.START_TIME} {Literal(start, datatype=ns.XSD_DATETIME)} .\n"
            f"{s} {ns.STEP_COUNT} {Literal(str(steps), datatype=ns.XSD_INTEGER)} .\n"
            f"{s} {ns.SOURCE} {Literal(f'SimBench {code} profile table {table!r}')} .\n"
        )
    return "".join(out)


def _grid_triples(code: str) -> Iterator[str]:
    grid = grid_node(code)
    activity = NamedNode(grid.value + "/import")
    yield f"{grid} {ns.RDF_TYPE} {ns.GRID} .\n"
    yield f"{grid} {ns.RDFS_LABEL} {Literal(f'SimBench grid {code}')} .\n"
    yield f"{grid} {ns.SOURCE_CODE} {Literal(code)} .\n"
    yield f"{grid} {ns.TIME_ZONE} {Literal(SIMBENCH_TIME_ZONE)} .\n"
    yield f"{grid} {ns.SOURCE} {Literal(f'simbench {_simbench_version()}')} .\n"
    yield f"{grid} {ns.PROV_WAS_GENERATED_BY} {activity} .\n"
    yield f"{activity} {ns.RDF_TYPE} {ns.IMPORT_ACTIVITY} .\n"
    yield f"{activity} {ns.RDFS_LABEL} {Literal(f'Import of SimBench {code}')} .\n"


def _simbench_version() -> str:
    from importlib.metadata import version

    return version("simbench")
