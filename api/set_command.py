"""``enertwin set``: change one fact of one asset, validated by the shapes and recorded in the ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from enertwin.api.common import DEFAULT_STORE, JsonOption, StoreOption, opened, out, reports_errors


@reports_errors
def set_command(
    asset: Annotated[str, typer.Argument(help="The asset: its IRI, or its SimBench name (e.g. 'EHV Gen 1').")],
    prop: Annotated[str, typer.Argument(metavar="PROPERTY", help="The property, a CURIE such as et:maxActivePower.")],
    value: Annotated[str, typer.Argument(help="The new value, typed by the property's range in the ontology.")],
    store: StoreOption = DEFAULT_STORE,
    reason: Annotated[str | None, typer.Option("--reason", help="Why, kept in the change's record.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Replace the values of PROPERTY on ASSET by VALUE; a value the shapes reject exits 5 and changes nothing."""
    with opened(store) as twin:
        done = twin.set(asset, prop, value, reason)
    if as_json:
        out.print_json(
            data={
                "asset": done.asset.value,
                "property": done.property.value,
                "before": [str(t) for t in done.before],
                "after": str(done.after),
                "applied_to": done.applied_to.value,
                "version": done.version.value,
                "delta_hash": done.delta_hash,
                "record": done.receipt.graph.value,
            }
        )
        return
    before = ", ".join(str(t) for t in done.before) or "nothing"
    out.print(
        f"<{done.asset.value}> {done.property.value}: {before} → {done.after}; "
        f"version {done.version.value}, recorded as {done.receipt.graph.value}",
        highlight=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``set`` to the CLI."""
    app.command("set")(set_command)
