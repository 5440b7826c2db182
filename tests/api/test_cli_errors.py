"""No traceback reaches a user: bad arguments are one line and the documented exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from enertwin.api.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [["explain"], ["replay"], ["approve"], ["override"], ["audit", "proof"], ["audit", "export"]],
)
def test_an_argument_that_is_not_an_iri_is_bad_input(command: list[str], tmp_path: Path) -> None:
    ran = runner.invoke(app, [*command, "not an iri", "--store", str(tmp_path / "store")])
    assert ran.exit_code == 2, ran.output
    assert "is not an IRI" in ran.output
    assert "Traceback" not in ran.output
    assert ran.exception is None or isinstance(ran.exception, SystemExit)
