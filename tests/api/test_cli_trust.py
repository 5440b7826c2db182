"""A root of trust for the ledger: pinned keys (keyring, --key), endorsements, and checkpoints with --since."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyoxigraph import Literal, NamedNode
from typer.testing import CliRunner

from enertwin.api.cli import app
from enertwin.kg import namespaces as ns
from enertwin.kg.provenance import merkle
from enertwin.kg.provenance.keys import Identity, Signer
from enertwin.kg.provenance.ledger import (
    LEDGER_NODE,
    RECORD_GRAPH_BASE,
    Ledger,
    entries,
    leaves,
    record_graph,
    record_node,
)
from enertwin.kg.provenance.record import ActivityRecord, integer, person_node
from enertwin.kg.store import META_GRAPH, Store

runner = CliRunner()
RECORDS = 8  # the operator's key publication and seven actions


def act(store: str, signer: Signer, count: int, tag: str = "") -> None:
    """Append ``count`` agent actions signed by ``signer`` (its key published first when it is not yet)."""
    with Store.open(store) as opened:
        ledger = Ledger(opened, signer)
        for i in range(count):
            now = datetime.now(UTC)
            action = ActivityRecord(NamedNode(f"{ns.ID_BASE}activity/{tag}{i}"), ns.AGENT_ACTION, now, now)
            action.associate(person_node(signer.identity.person), ns.OPERATOR_ROLE)
            ledger.append(action.add(action.iri, ns.REASON, Literal(f"{tag} step {i}")))


def truncate(store: str, keep: int) -> None:
    """What an attacker with write access does: drop every record after ``keep`` and cut the tree head back."""
    with Store.open(store) as opened:
        tails = [g.value[len(RECORD_GRAPH_BASE) :] for g in opened.live() if g.value.startswith(RECORD_GRAPH_BASE)]
        last = max(int(t) for t in tails if t.isdigit())
        for seq in range(keep + 1, last + 1):
            opened.backend.update(
                f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {record_graph(seq)} {ns.CURRENT_VERSION} ?v }} }} ; "
                f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {record_node(seq)} ?p ?o }} }}"
            )
        opened.backend.update(f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} ?p ?o }} }}")
        if keep:  # a head over what is left, so that the next append (any key's) builds on it and signs anew
            root = merkle.root(leaves(entries(opened))).hex()
            opened.backend.update(
                f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} {ns.TREE_SIZE} {integer(keep)} ; "
                f"{ns.ROOT_HASH} {Literal(root)} }} }}"
            )


@pytest.fixture
def operator_store(tmp_path: Path, signing_key: Signer) -> tuple[str, Path]:
    """A disk store of RECORDS records signed by the test operator, and a keyring that pins that operator's key."""
    store = str(tmp_path / "store")
    act(store, signing_key, RECORDS - 1)
    keyring = tmp_path / "keyring"
    keyring.write_text(f"# the genesis key\n{signing_key.public_key} test-operator\n")
    return store, keyring


def test_key_pin_adds_a_key_once_and_keeps_the_file_whole(tmp_path: Path, signing_key: Signer) -> None:
    keyring = tmp_path / "sub" / "keyring"
    first = runner.invoke(app, ["key", "pin", "--keyring", str(keyring)])  # your own key, labelled with your name
    assert first.exit_code == 0 and "pinned" in first.output, first.output
    again = runner.invoke(app, ["key", "pin", signing_key.public_key, "--keyring", str(keyring)])
    assert again.exit_code == 0 and "already pinned" in again.output
    other = Signer.create(tmp_path / "other" / "keys", Identity("other"))
    assert (
        runner.invoke(app, ["key", "pin", other.public_key, "--label", "x # y", "--keyring", str(keyring)]).exit_code
        == 0
    )
    lines = [line for line in keyring.read_text().splitlines() if not line.startswith("#")]
    assert lines == [f"{signing_key.public_key} test-operator", f"{other.public_key} x y"]
    assert (keyring.stat().st_mode & 0o777) == 0o644 and list(keyring.parent.iterdir()) == [keyring]
    bad = runner.invoke(app, ["key", "pin", "AAAA", "--keyring", str(keyring)])
    assert bad.exit_code == 2 and "is not a public key" in one_line(bad.output)


def checkpoint(store: str, tmp_path: Path, name: str = "cp.json", *extra: str) -> Path:
    taken = runner.invoke(app, ["audit", "checkpoint", "--store", store, *extra])
    assert taken.exit_code == 0, taken.output
    path = tmp_path / name
    path.write_text(taken.output, encoding="utf-8")
    return path


def fresh_init(store: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``enertwin init`` by someone else, with a key made just now."""
    monkeypatch.setenv("ENERTWIN_HOME", str(home))
    assert runner.invoke(app, ["init", "--store", store]).exit_code == 0


def verify(store: str, *extra: str) -> tuple[int, str]:
    ran = runner.invoke(app, ["audit", "verify", "--store", store, *extra])
    assert "Traceback" not in ran.output and (ran.exception is None or isinstance(ran.exception, SystemExit))
    return ran.exit_code, ran.output


def one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_truncate_and_resign_with_a_fresh_key_is_caught_by_the_keyring_and_by_since(
    operator_store: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keyring = operator_store
    saved = checkpoint(store, tmp_path)
    truncate(store, 5)
    fresh_init(store, tmp_path / "mallory", monkeypatch)  # record 6: mallory's own key, and a head she signed
    assert verify(store)[0] == 0  # without a root of trust the store vouches for itself
    code, output = verify(store, "--keyring", str(keyring))
    assert code == 7 and "record 6" in output and "not by a trusted key" in one_line(output)
    code, output = verify(store, "--since", str(saved))
    assert code == 7 and "truncated: the ledger holds 6 records, below the 8" in one_line(output)
    signer = Signer.load(tmp_path / "mallory" / "keys")
    act(store, signer, 3, "more")  # padded past the checkpoint's size: now the root gives it away
    code, output = verify(store, "--since", str(saved))
    assert code == 7 and "root mismatch" in one_line(output) and "first 8 records" in output


def test_the_default_keyring_under_enertwin_home_is_the_trust_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "ada"))
    store = str(tmp_path / "store")
    first = runner.invoke(app, ["init", "--store", store])
    assert first.exit_code == 0 and "genesis key" in first.output and "enertwin key pin" in first.output
    assert runner.invoke(app, ["key", "pin"]).exit_code == 0
    assert (tmp_path / "ada" / "keyring").exists()
    assert "1 pinned key" in verify(store)[1]
    truncate(store, 0)
    fresh_init(store, tmp_path / "mallory", monkeypatch)
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "ada"))
    code, output = verify(store)
    assert code == 7 and "record 1" in output and "not by a trusted key" in output


def test_a_legitimate_append_after_a_checkpoint_passes_since(
    operator_store: tuple[str, Path], tmp_path: Path, signing_key: Signer
) -> None:
    store, keyring = operator_store
    saved = checkpoint(store, tmp_path, "cp.json", "--keyring", str(keyring))
    assert json.loads(saved.read_text())["tree_size"] == RECORDS
    code, output = verify(store, "--since", str(saved), "--keyring", str(keyring))
    assert code == 0 and "extends the checkpoint of 8 records" in output
    act(store, signing_key, 5, "later")
    code, output = verify(store, "--since", str(saved), "--keyring", str(keyring), "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["ok"] and result["since"]["tree_size"] == RECORDS + 5 and result["since"]["proof"]
    later = checkpoint(store, tmp_path, "later.json")
    assert verify(store, "--since", str(later))[0] == 0


def test_a_rewritten_earlier_record_is_caught(
    operator_store: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records 3..8 replaced by as many, re-chained and re-signed: the same size, another history."""
    store, keyring = operator_store
    saved = checkpoint(store, tmp_path)
    truncate(store, 2)
    mallory = Signer.create(tmp_path / "mallory" / "keys", Identity("mallory"))
    act(store, mallory, RECORDS - 3, "forged")  # record 3 publishes her key, 4..8 her actions
    assert verify(store)[0] == 0
    code, output = verify(store, "--since", str(saved))
    assert code == 7 and "root mismatch" in one_line(output)
    code, output = verify(store, "--keyring", str(keyring))
    assert code == 7 and "record 3" in one_line(output)


def test_an_endorsed_key_is_trusted_and_a_self_published_one_is_not(
    operator_store: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, keyring = operator_store
    bob = Signer.create(tmp_path / "bob" / "keys", Identity("bob"))
    endorsed = runner.invoke(app, ["key", "endorse", bob.public_key, "--person", "bob", "--store", store])
    assert endorsed.exit_code == 0 and f"record/{RECORDS + 1}" in endorsed.output, endorsed.output
    monkeypatch.setenv("ENERTWIN_HOME", str(tmp_path / "bob"))
    again = runner.invoke(app, ["init", "--store", store])
    assert again.exit_code == 0 and "already published" in again.output  # the endorsement published it
    act(store, bob, 2, "bob")
    assert verify(store, "--keyring", str(keyring))[0] == 0
    carol = Signer.create(tmp_path / "carol" / "keys", Identity("carol"))
    act(store, carol, 1, "carol")  # carol publishes her own key: nobody trusted vouched for it
    code, output = verify(store, "--keyring", str(keyring))
    assert code == 7 and f"record {RECORDS + 4}" in output and "not by a trusted key" in output
    assert runner.invoke(app, ["key", "pin", carol.public_key, "--keyring", str(keyring)]).exit_code == 0
    assert verify(store, "--keyring", str(keyring))[0] == 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("not json at all", "not JSON"),
        ("[1, 2]", "expected an object"),
        ('{"tree_size": 8}', "expected an object"),
        ("tree_size=lots", "not JSON"),
        ("edited-root", "signature does not hold"),
        ("size-as-text", "tree_size a whole number"),
        ("short-root", "root must be 64 hex digits"),
        ("bad-key", "is not a public key"),
    ],
)
def test_a_malformed_checkpoint_is_one_line_exit_2(
    operator_store: tuple[str, Path], tmp_path: Path, content: str, words: str
) -> None:
    store, _ = operator_store
    good = json.loads(checkpoint(store, tmp_path).read_text())
    variants = {
        "edited-root": {**good, "root": "0" * 64},
        "size-as-text": {**good, "tree_size": "8"},
        "short-root": {**good, "root": "abc"},
        "bad-key": {**good, "public_key": "AAAA"},
    }
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(variants[content]) if content in variants else content, encoding="utf-8")
    code, output = verify(store, "--since", str(bad))
    assert code == 2 and words in one_line(output)
    code, output = verify(store, "--since", str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read the checkpoint" in one_line(output)


@pytest.mark.parametrize(
    ("keyring", "words"),
    [
        ("", "pins no key"),
        ("# only a comment\n", "pins no key"),
        ("not-a-key label\n", "line 1"),
        ("world-writable", "can be changed by others"),
        ("missing", "there is no keyring"),
    ],
)
def test_a_bad_keyring_or_key_is_one_line_exit_2(
    operator_store: tuple[str, Path], tmp_path: Path, keyring: str, words: str
) -> None:
    store, good = operator_store
    path = tmp_path / "other-keyring"
    if keyring == "world-writable":
        path.write_text(good.read_text())
        path.chmod(0o666)
    elif keyring != "missing":
        path.write_text(keyring)
    code, output = verify(store, "--keyring", str(path))
    assert code == 2 and words in one_line(output)
    code, output = verify(store, "--key", "not base64!")
    assert code == 2 and "is not a public key" in one_line(output)


def test_a_checkpoint_of_a_store_that_does_not_verify_is_refused(
    operator_store: tuple[str, Path], tmp_path: Path
) -> None:
    store, _ = operator_store
    empty = runner.invoke(app, ["audit", "checkpoint", "--store", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "nothing to checkpoint" in one_line(empty.output)
    truncate(store, RECORDS - 1)
    refused = runner.invoke(app, ["audit", "checkpoint", "--store", store])
    assert refused.exit_code == 7 and "no checkpoint" in one_line(refused.output)


def test_a_rolled_back_ledger_with_its_old_head_passes_the_keyring_but_not_since(
    operator_store: tuple[str, Path], tmp_path: Path, signing_key: Signer
) -> None:
    """The keyring cannot tell an old, genuinely signed head from the current one: a checkpoint can."""
    store, keyring = operator_store
    with Store.open(store) as opened:
        old_head = list(opened.backend.select(f"SELECT ?p ?o WHERE {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} ?p ?o }} }}"))
    act(store, signing_key, 3, "later")
    saved = checkpoint(store, tmp_path)
    truncate(store, RECORDS)
    with Store.open(store) as opened:  # the head signed when the ledger held RECORDS records, put back
        opened.backend.update(f"DELETE WHERE {{ GRAPH {META_GRAPH} {{ {LEDGER_NODE} ?p ?o }} }}")
        facts = " ".join(f"{LEDGER_NODE} {r['p']} {r['o']} ." for r in old_head)
        opened.backend.update(f"INSERT DATA {{ GRAPH {META_GRAPH} {{ {facts} }} }}")
    assert verify(store, "--keyring", str(keyring))[0] == 0
    code, output = verify(store, "--keyring", str(keyring), "--since", str(saved), "--json")
    assert code == 7 and "truncated: the ledger holds 8 records, below the 11" in output
    assert '"ok": false' in output and '"checkpoint_size": 11' in output


def test_your_own_key_cannot_endorse_itself(operator_store: tuple[str, Path], signing_key: Signer) -> None:
    store, _ = operator_store
    ran = runner.invoke(app, ["key", "endorse", signing_key.public_key, "--person", "me", "--store", store])
    assert ran.exit_code == 2 and "cannot endorse itself" in one_line(ran.output)
