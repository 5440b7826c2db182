"""``enertwin policy``: list, show, load, activate, roll back and compare the versioned policy sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from enertwin.api.common import DEFAULT_STORE, JsonOption, StoreOption, opened, out, reports_errors
from enertwin.api.output import Format, render
from enertwin.kg.errors import InputError

policy_app = typer.Typer(help="Policy sets: the safety envelope every proposed action is checked against.")
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the record, with who).")]


@policy_app.command("list")
@reports_errors
def list_command(store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """The stored policy set versions; the default set is loaded and activated when none is active."""
    with opened(store) as twin:
        twin.active_policy()
        found = twin.policy_versions()
    rows = [{"version": i.version, "label": i.label, "rules": i.rules, "active": i.active} for i in found]
    render(out, ["version", "label", "rules", "active"], rows, Format.JSON if as_json else Format.TABLE)


@policy_app.command("show")
@reports_errors
def show_command(
    version: Annotated[str | None, typer.Argument(help="Version IRI or label (default: the active set).")] = None,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """A policy set version as Turtle."""
    with opened(store) as twin:
        text = twin.show_policy(version or twin.active_policy())
    out.out(text, highlight=False)


@policy_app.command("load")
@reports_errors
def load_command(
    file: Annotated[Path, typer.Argument(help="Turtle file: one et:PolicySet and its rules.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Store a new version (refused whole, the active set unchanged, unless every rule can be evaluated)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the policy file {file}: {exc.strerror or exc}") from exc
    with opened(store) as twin:
        twin.active_policy()
        loaded = twin.load_policy(data, f"policy file {file.name}")
    record = loaded.receipt.graph.value if loaded.receipt is not None else None
    if as_json:
        out.print_json(data={"version": loaded.version, "label": loaded.label, "record": record})
        return
    done = f"recorded as {record}" if record else "already stored, unchanged"
    out.print(
        f"policy set {loaded.label} <{loaded.version}> loaded ({done}); not active until activated", highlight=False
    )


@policy_app.command("activate")
@reports_errors
def activate_command(
    version: Annotated[str, typer.Argument(help="Version IRI or label.")],
    reason: ReasonOption,
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Make a stored version the active set (recorded with who and why)."""
    with opened(store) as twin:
        twin.active_policy()
        done = twin.activate_policy(version, reason)
    _print_activation(done.version, done.replaced, done.receipt.graph.value, as_json)


@policy_app.command("rollback")
@reports_errors
def rollback_command(reason: ReasonOption, store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """Make the previously active set active again (recorded with who and why)."""
    with opened(store) as twin:
        done = twin.rollback_policy(reason)
    _print_activation(done.version, done.replaced, done.receipt.graph.value, as_json)


@policy_app.command("diff")
@reports_errors
def diff_command(
    old: Annotated[str, typer.Argument(metavar="V1", help="Version IRI or label.")],
    new: Annotated[str, typer.Argument(metavar="V2", help="Version IRI or label.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Rules and triples added, removed or changed from V1 to V2."""
    with opened(store) as twin:
        d = twin.diff_policies(old, new)
    parts = {
        "rules added": d.rules_added,
        "rules removed": d.rules_removed,
        "rules changed": d.rules_changed,
        "triples added": d.triples_added,
        "triples removed": d.triples_removed,
    }
    if as_json:
        out.print_json(data={"old": d.old, "new": d.new, **{k.replace(" ", "_"): list(v) for k, v in parts.items()}})
        return
    out.print(f"<{d.old}> → <{d.new}>", highlight=False)
    for title, lines in parts.items():
        out.print(f"{title}: {len(lines)}", highlight=False)
        for line in lines:
            out.out(f"  {'+' if 'added' in title else '-' if 'removed' in title else '~'} {line}", highlight=False)


def _print_activation(version: str, replaced: str | None, record: str, as_json: bool) -> None:
    if as_json:
        out.print_json(data={"active": version, "replaced": replaced, "record": record})
        return
    before = f" (was <{replaced}>)" if replaced else ""
    out.print(f"active policy set: <{version}>{before}; recorded as {record}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``policy`` to the CLI."""
    app.add_typer(policy_app, name="policy")
