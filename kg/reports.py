"""Canned compliance reports over the provenance records: a registry of ``report_*.rq`` queries.

Each report's first comment lines give its title and parameters (``# params: from to``), so a
new ``.rq`` file is a new report. User values reach a query only as bound RDF terms.
"""

from __future__ import annotations

import csv
import html
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files

from pyoxigraph import Literal, NamedNode

from enertwin.kg import namespaces as ns
from enertwin.kg.errors import InputError
from enertwin.kg.queries import Term, load_query
from enertwin.kg.store import Store
from enertwin.kg.terms import PlainValue as Value
from enertwin.kg.terms import to_python

PACKAGE = "enertwin.kg"
PREFIX = "report_"
When = str | datetime | None
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReportInfo:
    """What ``enertwin report --list`` shows: a report's name, title and parameters."""

    name: str
    title: str
    params: tuple[str, ...]
    file: str


@dataclass(frozen=True, slots=True)
class ReportTable:
    """A report's result as plain values, ready for any output format."""

    name: str
    title: str
    columns: list[str]
    rows: list[tuple[Value, ...]]

    def records(self) -> list[dict[str, Value]]:
        """Rows as column → value mappings (the JSON form)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def list_reports() -> list[ReportInfo]:
    """Every shipped report, by name."""
    names = (e.name for e in files(PACKAGE).iterdir())
    return sorted((_info(n) for n in names if n.startswith(PREFIX) and n.endswith(".rq")), key=lambda i: i.name)


def _info(filename: str) -> ReportInfo:
    """A report's name from its file name and title and parameters from its header comments."""
    header: dict[str, str] = {}
    for line in load_query(PACKAGE, filename).splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        header.setdefault(key.strip(), value.strip())
    name = filename.removeprefix(PREFIX).removesuffix(".rq").replace("_", "-")
    return ReportInfo(name, header.get("title", name), tuple(header.get("params", "").split()), filename)


def find_report(name: str) -> ReportInfo:
    """The report called ``name``; an unknown name is bad input that lists the known ones."""
    known = {info.name: info for info in list_reports()}
    if name not in known:
        raise InputError(f"unknown report {name!r}; the reports are: {', '.join(known)}")
    return known[name]


def prepare_report(
    name: str, *, start: When = None, end: When = None, decision: str | None = None
) -> tuple[ReportInfo, dict[str, Term]]:
    """The report and its parameters as RDF terms, checked before any store is opened."""
    info = find_report(name)
    return info, _bindings(info, start, end, decision)


def run_report(
    store: Store, name: str, *, start: When = None, end: When = None, decision: str | None = None
) -> ReportTable:
    """Run report ``name`` with its parameters bound as RDF terms (never spliced into SPARQL)."""
    info, bindings = prepare_report(name, start=start, end=end, decision=decision)
    solutions = store.query(load_query(PACKAGE, info.file), bindings)
    columns = [v.value for v in solutions.variables if v.value not in bindings]
    rows = [tuple(to_python(solution[c]) for c in columns) for solution in solutions]
    return ReportTable(info.name, info.title, columns, rows)


def _bindings(info: ReportInfo, start: When, end: When, decision: str | None) -> dict[str, Term]:
    """The report's parameters as terms; options it does not take, or lacks, are named."""
    for param, value in {"from": start, "to": end, "decision": decision}.items():
        if value is not None and param not in info.params:
            raise InputError(f"report {info.name} takes no --{param} (its parameters: {' '.join(info.params)})")
    bindings: dict[str, Term] = {}
    if "from" in info.params or "to" in info.params:
        low, high = _moment(start, "--from", EARLIEST), _moment(end, "--to", LATEST)
        if low > high:
            raise InputError(f"report {info.name}: --from {low.isoformat()} is after --to {high.isoformat()}")
        bindings |= {"from": _datetime_literal(low), "to": _datetime_literal(high)}
    if "decision" in info.params:
        bindings["decision"] = _iri(info.name, decision)
    return bindings


def _moment(value: When, option: str, default: datetime) -> datetime:
    """A date or ISO date-time in UTC (a time without zone is taken as UTC)."""
    if value is None:
        return default
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date (2026-11-25) or an ISO 8601 date-time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _datetime_literal(moment: datetime) -> Literal:
    """An xsd:dateTime in UTC (``Z``), comparable with the records' times."""
    return Literal(moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z", datatype=ns.XSD_DATETIME)


def _iri(report: str, decision: str | None) -> NamedNode:
    """The decision IRI the report is about."""
    if not decision:
        raise InputError(f"report {report} needs --decision IRI (the decision printed by `enertwin optimize`)")
    try:
        return NamedNode(decision.strip())
    except ValueError as exc:
        raise InputError(f"report {report}: --decision {decision!r} is not an IRI") from exc


def to_csv(table: ReportTable) -> str:
    """The report as CSV with a header row (missing values are empty cells)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return buffer.getvalue()


def to_json(table: ReportTable) -> str:
    """The report as a JSON array of row objects, like ``enertwin query --format json``."""
    return json.dumps(table.records(), indent=2, ensure_ascii=False)


def to_html(table: ReportTable) -> str:
    """A complete HTML document with the report's table; every value is escaped."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>"
        for row in table.rows
    )
    title = html.escape(table.title)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>table {{ border-collapse: collapse }} "
        "th, td { border: 1px solid #999; padding: 0.2em 0.5em; text-align: left }</style>\n"
        f"</head>\n<body>\n<h1>{title}</h1>\n<table>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</body>\n</html>\n"
    )
