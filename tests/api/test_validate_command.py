"""``enertwin validate --shapes S --data D``: any shapes on any data, the SHACL report on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Graph, Namespace
from typer.testing import CliRunner

from enertwin.api.cli import app

runner = CliRunner()
SH = Namespace("http://www.w3.org/ns/shacl#")
SUITE = Path(__file__).resolve().parent.parent / "data" / "shacl-w3c"

PREFIXES = "@prefix ex: <http://example.org/> .\n@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
SHAPES = PREFIXES + 'ex:S sh:targetClass ex:T ; sh:property [ sh:path ex:p ; sh:minCount 1 ; sh:message "needs p" ] .\n'
GOOD = PREFIXES + "ex:b a ex:T ; ex:p 1 .\n"
BAD = PREFIXES + "ex:a a ex:T .\n" + GOOD


def _files(tmp_path: Path, shapes: str, data: str) -> tuple[Path, Path]:
    (tmp_path / "shapes.ttl").write_text(shapes, encoding="utf-8")
    (tmp_path / "data.ttl").write_text(data, encoding="utf-8")
    return tmp_path / "shapes.ttl", tmp_path / "data.ttl"


def test_conforming_data_exits_0_with_a_report_that_says_so(tmp_path: Path) -> None:
    shapes, data = _files(tmp_path, SHAPES, GOOD)
    ran = runner.invoke(app, ["validate", "--shapes", str(shapes), "--data", str(data)])
    assert ran.exit_code == 0, ran.output
    report = Graph().parse(data=ran.stdout, format="turtle")
    assert next(report.objects(None, SH.conforms)).toPython() is True
    assert not list(report.objects(None, SH.result))


def test_violations_exit_5_with_a_real_validation_report(tmp_path: Path) -> None:
    shapes, data = _files(tmp_path, SHAPES, BAD)
    ran = runner.invoke(app, ["validate", "--shapes", str(shapes), "--data", str(data)])
    assert ran.exit_code == 5, ran.output
    report = Graph().parse(data=ran.stdout, format="turtle")
    (result,) = report.objects(None, SH.result)
    assert str(report.value(result, SH.focusNode)) == "http://example.org/a"
    assert report.value(result, SH.sourceConstraintComponent) == SH.MinCountConstraintComponent
    assert str(report.value(result, SH.resultMessage)) == "needs p"


def test_json_report(tmp_path: Path) -> None:
    shapes, data = _files(tmp_path, SHAPES, BAD)
    ran = runner.invoke(app, ["validate", "--shapes", str(shapes), "--data", str(data), "--format", "json"])
    assert ran.exit_code == 5, ran.output
    report = json.loads(ran.stdout)
    assert report["conforms"] is False
    assert [r["focusNode"] for r in report["results"]] == ["http://example.org/a"]
    assert report["results"][0]["resultPath"] == "http://example.org/p"


def test_shapes_the_fast_path_does_not_compile_are_validated_too(tmp_path: Path) -> None:
    case = SUITE / "core" / "path" / "path-sequence-001.ttl"  # a sequence path: the conformant engine
    ran = runner.invoke(app, ["validate", "--shapes", str(case), "--data", str(case), "--format", "json"])
    assert ran.exit_code == 5, ran.output
    assert {r["resultPath"] for r in json.loads(ran.stdout)["results"]} == {
        "(<http://datashapes.org/sh/tests/core/path/path-sequence-001.test#property1>/<http://datashapes.org/sh/tests/core/path/path-sequence-001.test#property2>)"
    }


@pytest.mark.parametrize("which", ["shapes", "data"])
def test_a_missing_file_is_named(tmp_path: Path, which: str) -> None:
    shapes, data = _files(tmp_path, SHAPES, GOOD)
    missing = tmp_path / "missing.ttl"
    args = {"shapes": [str(missing), str(data)], "data": [str(shapes), str(missing)]}[which]
    ran = runner.invoke(app, ["validate", "--shapes", args[0], "--data", args[1]])
    assert ran.exit_code == 2
    assert f"cannot read the {which} file" in ran.output and "missing.ttl" in ran.output
    assert "Traceback" not in ran.output


@pytest.mark.parametrize("which", ["shapes", "data"])
def test_a_file_that_is_not_turtle_is_named(tmp_path: Path, which: str) -> None:
    broken = "ex:a ex:p <unterminated"
    shapes, data = _files(tmp_path, broken if which == "shapes" else SHAPES, broken if which == "data" else GOOD)
    ran = runner.invoke(app, ["validate", "--shapes", str(shapes), "--data", str(data)])
    assert ran.exit_code == 2, ran.output
    assert f"the {which} file" in ran.output and "not valid Turtle" in ran.output
    assert "Traceback" not in ran.output


def test_ill_formed_shacl_is_bad_input(tmp_path: Path) -> None:
    shapes, data = _files(tmp_path, PREFIXES + "ex:S sh:targetNode ex:a ; sh:minCount -1 ; sh:path ex:p .", GOOD)
    ran = runner.invoke(app, ["validate", "--shapes", str(shapes), "--data", str(data)])
    assert ran.exit_code == 2, ran.output
    assert "the shapes file" in ran.output


def test_shapes_without_data_is_bad_input(tmp_path: Path) -> None:
    shapes, _ = _files(tmp_path, SHAPES, GOOD)
    ran = runner.invoke(app, ["validate", "--shapes", str(shapes), "--store", str(tmp_path / "store")])
    assert ran.exit_code == 2
    assert "give both --shapes and --data" in ran.output
    assert not (tmp_path / "store").exists()
