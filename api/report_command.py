"""``enertwin report``: the canned compliance reports of :mod:`enertwin.kg.reports` on the command line.

Kept out of ``cli.py`` so the command can be added with one ``register(app)`` line.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from enertwin.api.common import DEFAULT_STORE, StoreOption, opened, out, reports_errors
from enertwin.kg.errors import InputError
from enertwin.kg.reports import ReportTable, list_reports, prepare_report, to_csv, to_html, to_json


class ReportFormat(str, Enum):
    """Output formats of ``enertwin report``."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    HTML = "html"


def report_command(
    name: Annotated[str | None, typer.Argument(metavar="NAME", help="Report to run (see --list).")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Activities started at or after (date or ISO).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Activities started before (date or ISO).")] = None,
    decision: Annotated[str | None, typer.Option("--decision", help="Decision IRI (decision-inputs).")] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")] = ReportFormat.TABLE,
    store: StoreOption = DEFAULT_STORE,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the report to this file.")] = None,
    list_all: Annotated[bool, typer.Option("--list", help="List the reports and exit.")] = False,
) -> None:
    """Canned compliance reports from the provenance records (decisions, approvals, policy blocks, ...)."""
    if list_all:
        reports = list_reports()
        width = max(len(info.name) for info in reports)
        for info in reports:
            out.out(f"{info.name:<{width}}  {info.title}", highlight=False)
        return
    if name is None:
        raise InputError("give a report name (see `enertwin report --list`)")
    prepare_report(name, start=start, end=end, decision=decision)  # bad input exits before a store is opened
    with opened(store, read_only=True) as twin:
        table = twin.report(name, start=start, end=end, decision=decision)
    if out_file is None:
        _print(table, fmt, out)
        return
    try:
        with out_file.open("w", encoding="utf-8") as handle:
            _print(table, fmt, Console(file=handle, width=240))
    except OSError as exc:
        raise InputError(f"cannot write the report to {out_file}: {exc.strerror or exc}") from exc


def _print(table: ReportTable, fmt: ReportFormat, console: Console) -> None:
    """Print ``table`` in ``fmt``: text formats verbatim, the table with rich."""
    if fmt is ReportFormat.TABLE:
        console.print(_rich_table(table))
        return
    text = {ReportFormat.CSV: to_csv, ReportFormat.JSON: to_json, ReportFormat.HTML: to_html}[fmt](table)
    console.file.write(text if text.endswith("\n") else text + "\n")


def _rich_table(table: ReportTable) -> Table:
    """A rich table whose cells are plain text: values from the graph are never read as markup."""
    grid = Table(title=Text(table.title))
    for column in table.columns:
        grid.add_column(Text(column), overflow="fold")  # IRIs wrap rather than lose their ends
    for row in table.rows:
        grid.add_row(*(Text("" if value is None else str(value)) for value in row))
    if not table.rows:
        grid.caption = "no rows"
    return grid


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app`` (``enertwin``'s root command)."""
    app.command("report")(reports_errors(report_command))
