"""`enertwin policy`: list, show, load, activate, rollback and diff on a store on disk, with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from enertwin.agents.policy.sets import default_policy_turtle
from enertwin.api.cli import app

runner = CliRunner()
DEFAULT = "https://w3id.org/enertwin/policy/default/1"
STRICT = "https://w3id.org/enertwin/policy/strict/1"


def policy(*args: str) -> tuple[int, str]:
    ran = runner.invoke(app, ["policy", *args])
    assert "Traceback" not in ran.output
    return ran.exit_code, ran.output


def strict_file(tmp_path: Path) -> Path:
    text = default_policy_turtle().decode().replace(f"<{DEFAULT}>", f"<{STRICT}>")
    text = text.replace('"default-1"', '"strict-1"').replace(
        'et:shareOfUnitRamp "0.8"^^xsd:double', 'et:shareOfUnitRamp "0.5"^^xsd:double'
    )
    path = tmp_path / "strict.ttl"
    path.write_text(text, encoding="utf-8")
    return path


def test_list_load_activate_rollback_diff(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    code, output = policy("list", "--store", store, "--json")
    assert code == 0, output
    assert [(r["version"], r["active"]) for r in json.loads(output)] == [(DEFAULT, True)]
    code, output = policy("load", str(strict_file(tmp_path)), "--store", store)
    assert code == 0 and "strict-1" in output and "not active" in output
    code, output = policy("activate", "strict-1", "--reason", "winter", "--store", store, "--json")
    assert code == 0, output
    assert json.loads(output)["active"] == STRICT and json.loads(output)["replaced"] == DEFAULT
    code, output = policy("show", "--store", store)
    assert code == 0 and 'shareOfUnitRamp "0.5"^^xsd:double' in output
    code, output = policy("diff", "default-1", "strict-1", "--store", store, "--json")
    assert code == 0 and json.loads(output)["rules_changed"] == ["https://w3id.org/enertwin/policy/ramp-limit"]
    code, output = policy("rollback", "--reason", "spring", "--store", store)
    assert code == 0 and f"<{DEFAULT}>" in output
    code, output = policy("list", "--store", store, "--json")
    assert {r["label"]: r["active"] for r in json.loads(output)} == {"default-1": True, "strict-1": False}


def test_bad_input_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    bad = tmp_path / "bad.ttl"
    bad.write_text("not { turtle", encoding="utf-8")
    code, output = policy("load", str(bad), "--store", store)
    assert code == 2 and "is not Turtle" in output
    code, output = policy("load", str(tmp_path / "missing.ttl"), "--store", store)
    assert code == 2 and "cannot read the policy file" in output
    code, output = policy("activate", "nope", "--reason", "x", "--store", store)
    assert code == 2 and "no policy set version 'nope'" in output
    code, output = policy("rollback", "--reason", "x", "--store", store)
    assert code == 2 and "no earlier active policy set" in output
    code, output = policy("activate", "default-1", "--store", store)
    assert code == 2 and "--reason" in output  # a missing required option is a usage error
    code, output = policy("list", "--store", store, "--json")
    assert [r["version"] for r in json.loads(output)] == [DEFAULT]
