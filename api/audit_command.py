"""``enertwin init``, ``audit verify|checkpoint|proof|export``, ``key pin|endorse``, ``replay``, approvals.

They adapt :mod:`enertwin.kg.provenance` and :mod:`enertwin.reasoning.replay` to the command
line: a record that does not hold, or a replay that differs, exits 7.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from enertwin.api.common import DEFAULT_STORE, JsonOption, StoreOption, opened, out, reports_errors
from enertwin.api.common import iri as checked_iri
from enertwin.kg.errors import EvidenceError, InputError
from enertwin.kg.provenance.checkpoint import read_checkpoint
from enertwin.kg.provenance.keyring import default_keyring, pin, public_key, trust_root
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.proof import InclusionProof, check_proof

audit_app = typer.Typer(help="Check, prove and export the provenance ledger.", no_args_is_help=True)
key_app = typer.Typer(help="Pin trusted keys (outside any store); endorse others' keys.", no_args_is_help=True)
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (required for an override).")]


def init_command(
    store: StoreOption = DEFAULT_STORE,
    person: Annotated[str | None, typer.Option("--person", help="Who signs (default: your login).")] = None,
    organisation: Annotated[str | None, typer.Option("--organisation", help="On whose behalf.")] = None,
) -> None:
    """Create your Ed25519 signing key (mode 0600) if there is none, and publish its public key in the store."""
    with opened(store) as twin:
        setup = twin.init(Identity(person, organisation) if person else None)
    state = "created, mode 0600" if setup.created else "exists, kept"
    out.print(f"signing key: {setup.path} ({state})", highlight=False)
    out.print(f"key id {setup.signer.key_id}, public key {setup.signer.public_key}", highlight=False)
    if setup.published is None:
        out.print("the public key is already published in this store", highlight=False)
    else:
        out.print(f"public key published in {setup.published.graph.value}", highlight=False)
        if setup.genesis:
            out.print("this is the store's genesis key: pin it outside the store (`enertwin key pin`)", highlight=False)


KeyOption = Annotated[str | None, typer.Option("--key", help="Pin this base64 public key as trusted.")]
KeyringOption = Annotated[
    Path | None,
    typer.Option(
        "--keyring",
        envvar="ENERTWIN_KEYRING",
        help="Pinned public keys, one a line (default: $ENERTWIN_HOME/keyring when it exists).",
    ),
]


@audit_app.command("verify")
@reports_errors
def verify_command(
    store: StoreOption = DEFAULT_STORE,
    key: KeyOption = None,
    keyring: KeyringOption = None,
    since: Annotated[
        Path | None, typer.Option("--since", help="A checkpoint from `audit checkpoint`: the ledger must extend it.")
    ] = None,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="Also check what records vouch for: graph versions, imported series, input snapshots, schedules.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check every record's hash, chain link and signature, and the signed tree head (exit 7 on the first bad)."""
    pinned = trust_root(keyring, key)  # bad input is refused before the store is opened
    saved = read_checkpoint(since) if since is not None else None
    with opened(store, read_only=True) as twin:
        verdict = twin.verify(deep=deep, pinned=pinned)
        extends = twin.extends(saved) if saved is not None and verdict.ok else None
    bad = verdict.first_bad
    if as_json:
        problem = None if bad is None else {"seq": bad.seq, "graph": bad.graph, "problem": bad.problem}
        ok = verdict.ok and (extends is None or extends.ok)
        summary: dict[str, object] = {"ok": ok, "records": verdict.records, "first_bad": problem}
        summary["trusted_keys"] = len(pinned)
        summary["since"] = None if extends is None else asdict(extends)
        out.print_json(json.dumps(summary))
    elif bad is None and (extends is None or extends.ok):
        trust = f"; {len(pinned)} pinned key(s) and those they endorsed" if pinned else ""
        also = f"; extends the checkpoint of {extends.checkpoint_size} records" if extends is not None else ""
        line = f"ok: {verdict.records} records verified (hashes, chain, signatures, signed tree head{trust}){also}"
        out.print(line, soft_wrap=True)
    if bad is not None:
        raise EvidenceError(f"record {bad.seq} <{bad.graph}> does not verify: {bad.problem}")
    if extends is not None and extends.problem is not None:
        raise EvidenceError(f"the ledger does not extend the checkpoint {since}: {extends.problem}")


@audit_app.command("checkpoint")
@reports_errors
def checkpoint_command(
    store: StoreOption = DEFAULT_STORE, key: KeyOption = None, keyring: KeyringOption = None
) -> None:
    """Print the verified signed tree head as a checkpoint (JSON) to keep outside the store for `verify --since`."""
    pinned = trust_root(keyring, key)
    with opened(store, read_only=True) as twin:
        taken = twin.checkpoint(pinned=pinned)
    out.print_json(json.dumps(taken.as_json()))


@key_app.command("pin")
@reports_errors
def pin_command(
    public: Annotated[str | None, typer.Argument(help="A base64 public key (default: your own).")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Whose key (default: your name).")] = None,
    keyring: KeyringOption = None,
) -> None:
    """Pin a public key in your keyring, outside any store: `audit verify` then trusts it as a genesis key."""
    path = keyring or default_keyring()
    if public is None:
        signer = Signer.load()
        public, label = signer.public_key, label or signer.identity.person
    if pin(path, public, label or ""):
        out.print(f"pinned {public} in {path}", highlight=False)
    else:
        out.print(f"{public} is already pinned in {path}", highlight=False)


@key_app.command("endorse")
@reports_errors
def endorse_command(
    public: Annotated[str, typer.Argument(help="The base64 public key of the operator you vouch for.")],
    person: Annotated[str, typer.Option("--person", help="Who holds that key.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Publish another operator's key in a record you sign: trusted from that record on by whoever trusts you."""
    checked = public_key(public)  # before the store is opened
    if checked == Signer.load().public_key:
        raise InputError("that is your own key: a key cannot endorse itself (pin it with `enertwin key pin`)")
    with opened(store) as twin:
        endorsed = twin.endorse(checked, person)
    signed_before = endorsed.signed_before
    out.print(f"key {endorsed.key_id} of {person} endorsed in {endorsed.receipt.graph.value}", highlight=False)
    if signed_before:
        out.print(
            f"note: that key signed records {signed_before[0]}..{signed_before[-1]} before this endorsement; "
            "with a trust root they count only if the key is pinned (`enertwin key pin`)",
            highlight=False,
        )


@audit_app.command("proof")
@reports_errors
def proof_command(
    iri: Annotated[str, typer.Argument(help="A record, its graph, or the activity (decision) it records.")],
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """Print the inclusion proof of one record in the signed Merkle tree (JSON, checkable offline)."""
    record = checked_iri(iri)  # before the store is opened: a bad argument creates nothing
    with opened(store, read_only=True) as twin:
        proof = twin.proof(record)
    if not check_proof(proof):
        raise EvidenceError(f"the proof of <{proof.record}> does not check against the signed tree head")
    out.print_json(json.dumps(proof.as_json()))


@audit_app.command("check-proof")
@reports_errors
def check_proof_command(file: Annotated[Path, typer.Argument(help="A proof printed by `audit proof`.")]) -> None:
    """Check a saved inclusion proof without the store (exit 7 if it does not hold)."""
    proof = read_proof(file)
    if not check_proof(proof):
        raise EvidenceError(f"the proof in {file} does not hold: the record is not shown in the signed tree")
    out.print(f"ok: record {proof.record} is leaf {proof.leaf_index} of the signed tree of {proof.tree_size}")


def read_proof(file: Path) -> InclusionProof:
    """The proof saved in ``file``; anything else is bad input saying what the file is instead (exit 2)."""

    def refuse(why: str) -> InputError:
        return InputError(f"{file} is not an inclusion proof printed by `enertwin audit proof`: {why}")

    if file.is_dir():
        raise refuse("it is a folder")
    try:
        document = json.loads(file.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise refuse(f"it cannot be read ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise refuse(f"it is not text (byte {exc.start} is not UTF-8)") from exc
    except json.JSONDecodeError as exc:
        raise refuse(f"it is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from exc
    if not isinstance(document, dict):
        raise refuse(f"it holds {json.dumps(document)[:40]}, not a JSON object")
    fields: dict[str, str] = dict(InclusionProof.__annotations__)  # field → its type, as written
    unknown = sorted(set(document) - set(fields))
    absent = [name for name in fields if name not in document]
    if unknown or absent:
        raise refuse(f"missing field(s) {absent}" if absent else f"unknown field(s) {unknown}")
    for name, kind in fields.items():
        value = document[name]
        holds = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "list[str]": isinstance(value, list) and all(isinstance(item, str) for item in value),
        }[kind]
        if not holds:
            raise refuse(f"field {name!r} must be {_kind_word(kind)}, found {json.dumps(value)[:40]}")
    return InclusionProof(**document)


def _kind_word(kind: str) -> str:
    return {"str": "a string", "int": "an integer", "list[str]": "a list of hex strings"}[kind]


@audit_app.command("export")
@reports_errors
def export_command(
    iris: Annotated[list[str] | None, typer.Argument(help="Records or activities (default: all).")] = None,
    store: StoreOption = DEFAULT_STORE,
    fmt: Annotated[str, typer.Option("--format", help="turtle, trig, jsonld or provjson.")] = "turtle",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write to this file.")] = None,
) -> None:
    """Export provenance records for standard PROV tooling."""
    wanted = [checked_iri(iri) for iri in iris or []]
    with opened(store, read_only=True) as twin:
        text = twin.export(wanted, fmt)
    if out_file is None:
        out.out(text, end="" if text.endswith("\n") else "\n", highlight=False)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out_file}: {exc.strerror or exc}") from exc


def replay_command(
    decision: Annotated[str, typer.Argument(help="IRI of a stored decision or its schedule.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Re-run a decision from the inputs it recorded and report whether the schedule is identical (exit 7 if not)."""
    chosen = checked_iri(decision, "decision")
    with opened(store) as twin:
        outcome = twin.replay(chosen)
    if as_json:
        summary = {
            "decision": outcome.decision,
            "identical": outcome.identical,
            "recorded_hash": outcome.recorded_hash,
            "replayed_hash": outcome.replayed_hash,
            "first_difference": outcome.first_difference,
            "record": outcome.receipt.graph.value if outcome.receipt else None,
        }
        out.print_json(json.dumps(summary))
    else:
        verdict = "identical" if outcome.identical else "DIFFERENT"
        out.print(f"replay of {outcome.decision}: schedule {verdict} (hash {outcome.replayed_hash})", highlight=False)
    if not outcome.identical:
        raise EvidenceError(f"the replay of <{outcome.decision}> differs: {outcome.first_difference}")


def _verdict(approve: bool, decision: str, store: str, reason: str | None) -> None:
    chosen = checked_iri(decision, "decision")
    with opened(store) as twin:
        recorded = twin.approve(chosen, reason) if approve else twin.override(chosen, reason or "")
    word = "approval" if approve else "override"
    out.print(f"{word} of {recorded.decision} recorded in {recorded.receipt.graph.value}", highlight=False)


def override_command(
    decision: Annotated[str, typer.Argument(help="IRI of the decision (or its schedule) you set aside.")],
    store: StoreOption = DEFAULT_STORE,
    reason: ReasonOption = None,
) -> None:
    """Record your override of a decision, with the reason (signed, in the ledger)."""
    _verdict(False, decision, store, reason)


def register(app: typer.Typer) -> None:
    """Add the provenance commands to ``app``."""
    app.command("init")(reports_errors(init_command))
    app.add_typer(audit_app, name="audit")
    app.add_typer(key_app, name="key")
    app.command("replay")(reports_errors(replay_command))
    # `approve` (pending actions and decisions) is registered by control_command
    app.command("override")(reports_errors(override_command))
