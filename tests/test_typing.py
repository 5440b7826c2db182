"""mypy sees enertwin's types across module boundaries: the canary file must fail exactly where marked.

The clean check of the package itself is the README's test command (``mypy``), not a test.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CANARY = Path(__file__).resolve().parent / "typing_canary" / "canary.py"
MARK = re.compile(r"#\s*canary:\s*([a-z-]+)\s*$")
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def expected_errors() -> set[tuple[int, str]]:
    lines = CANARY.read_text().splitlines()
    return {(number, m.group(1)) for number, text in enumerate(lines, 1) if (m := MARK.search(text))}


def test_mypy_checks_every_package_setuptools_ships() -> None:
    # A package mypy is not told about is checked only as far as imports reach it, its errors silenced
    # (it lies in site-packages): `mypy` must list each shipped package or a parent of it.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = project["tool"]["setuptools"]["packages"]
    checked = project["tool"]["mypy"]["packages"]
    missed = [p for p in shipped if not any(p == c or p.startswith(c + ".") for c in checked)]
    assert not missed, f"[tool.mypy] packages leaves out {missed}; list them (or their parent package)"


def test_every_package_folder_ships_py_typed() -> None:
    # mypy refuses to check an installed package without the PEP 561 marker in its folder.
    folders = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    unmarked = [folder for folder in folders.values() if not (ROOT / folder / "py.typed").is_file()]
    assert not unmarked, f"no py.typed in {unmarked}"


def test_canary_fails_type_checking_where_marked() -> None:
    # The project's configuration (pyproject.toml, found from ROOT) on the one file; its cache keeps it quick.
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", str(CANARY.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    found = {
        (int(m["line"]), m["code"])
        for m in map(ERROR.match, run.stdout.splitlines())
        if m and Path(m["path"]).name == CANARY.name
    }
    assert run.returncode == 1, run.stdout + run.stderr
    assert found == expected_errors(), (
        "mypy did not report exactly the canary's errors; under a lenient editable install `enertwin.*` is Any "
        "(install with `pip install -e . --config-settings editable_mode=strict`):\n" + run.stdout + run.stderr
    )
