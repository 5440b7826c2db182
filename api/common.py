"""What every command module of the CLI shares: consoles, the store option, error reporting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import typer
from pyoxigraph import NamedNode
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from enertwin import Twin
from enertwin.kg.errors import EnertwinError, InputError

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="ENERTWIN_STORE",
        help="Store directory (embedded, on disk), or http(s):// URL of a SPARQL endpoint (oxigraph serve).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]
DEFAULT_STORE = ".enertwin"


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn enertwin errors into one red message and the error's exit code."""

    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except EnertwinError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from exc
        except KeyboardInterrupt as exc:
            message = "[bold red]interrupted:[/] stopped; a write that had not committed left nothing behind"
            err.print(message, highlight=False, markup=True)
            raise typer.Exit(130) from exc

    return run


def iri(text: str, what: str = "IRI") -> str:
    """``text`` checked as an absolute IRI, so a typo is bad input (exit 2) rather than a traceback."""
    try:
        return NamedNode(text).value
    except ValueError as exc:
        raise InputError(f"{what} {text!r} is not an IRI (expected e.g. https://…/decision/…): {exc}") from exc


@contextmanager
def opened(location: str | None, *, read_only: bool = False) -> Iterator[Twin]:
    """Open the twin at ``location`` (``None``: in memory) and close it afterwards.

    Commands that only read pass ``read_only``: they then run beside a process writing the
    store, and on a read-only copy of it.
    """
    with Twin.open(location, read_only=read_only) as twin:
        yield twin


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar fed by ``(stage, fraction)`` callbacks; silent when disabled."""
    if not enabled:
        yield lambda _stage, _fraction: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("starting", total=1.0)
        yield lambda stage, fraction: bar.update(task, description=stage, completed=fraction)
