"""``enertwin validate``: the store's own check, or any shapes on any data with ``--shapes``/``--data``.

Kept out of ``cli.py`` so the command is added with one ``register(app, ...)`` line. With
``--shapes SHAPES.ttl --data DATA.ttl`` it prints the SHACL validation report (a
``sh:ValidationReport`` in Turtle, or JSON) and exits 0 when the data conforms, 5 when not.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from enertwin.api.common import DEFAULT_STORE, JsonOption, StoreOption, out, reports_errors
from enertwin.kg.errors import InputError, ValidationError
from enertwin.kg.validation.standard import DataError, ShapesError, TurtleSource, validate_turtle


class ReportFormat(str, Enum):
    """Output formats of the SHACL validation report."""

    TURTLE = "turtle"
    JSON = "json"


StoreCheck = Callable[..., None]


def register(app: typer.Typer, check_store: StoreCheck) -> None:
    """Add ``validate`` to ``app``; without ``--shapes``/``--data`` it runs ``check_store`` as before."""

    def validate_command(
        store: StoreOption = DEFAULT_STORE,
        code: Annotated[
            str | None, typer.Option("--code", help="Topology of this imported SimBench grid only.")
        ] = None,
        as_json: JsonOption = False,
        shapes: Annotated[
            Path | None, typer.Option("--shapes", help="Validate --data against these SHACL shapes (Turtle).")
        ] = None,
        data: Annotated[
            Path | None, typer.Option("--data", help="The data to validate against --shapes (Turtle).")
        ] = None,
        fmt: Annotated[
            ReportFormat, typer.Option("--format", help="Report format with --shapes/--data.")
        ] = ReportFormat.TURTLE,
    ) -> None:
        """Check the whole store (every shape, series reference, topology), or --data against --shapes.

        The store check exits 5 on a violation (warnings leave 0). With --shapes and --data the
        SHACL validation report is printed; exit 0 when the data conforms, 5 when it does not.
        """
        if shapes is None and data is None:
            check_store(store=store, code=code, as_json=as_json)
            return
        if shapes is None or data is None:
            raise InputError("give both --shapes and --data (or neither, to check the store)")
        conforms = validate_files(shapes, data, fmt)
        if not conforms:
            raise typer.Exit(ValidationError.exit_code)

    app.command("validate")(reports_errors(validate_command))


def validate_files(shapes: Path, data: Path, fmt: ReportFormat) -> bool:
    """Print the report of ``data`` against ``shapes``; return whether the data conforms."""
    shapes_source, data_source = _read(shapes, "shapes"), _read(data, "data")
    try:
        report = validate_turtle(shapes_source, data_source)
    except ShapesError as exc:
        raise InputError(f"the shapes file {shapes}: {exc}") from exc
    except DataError as exc:
        raise InputError(f"the data file {data}: {exc}") from exc
    text = report.to_json() if fmt is ReportFormat.JSON else report.to_turtle()
    out.file.write(text if text.endswith("\n") else text + "\n")
    return report.conforms


def _read(path: Path, role: str) -> TurtleSource:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"cannot read the {role} file {path}: {reason}") from exc
    return TurtleSource(text, path.resolve().as_uri())
