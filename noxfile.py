"""Automation: ``nox -l`` lists the sessions; ``nox`` runs the default ones.

- ``tests-3.11``, ``tests-3.12``, ``tests-3.13``: the whole suite on every Python we claim.
- ``floors``: the whole suite with every declared dependency at its floor (``>=X`` installed
  as ``==X``), aioresponses included, so a floor in pyproject.toml is a version we ran.
- ``tests_aiohttp313``: the aioresponses checks on aiohttp 3.13 (they cannot run on 3.14+).
- ``lint``, ``typecheck``; ``bench`` runs the benchmarks and is never a default.

Interpreters that pyenv holds but does not put on PATH are found through ``pyenv``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "floors", "tests_aiohttp313", "lint", "typecheck"]
PYTHONS = ["3.11", "3.12", "3.13"]
OLDEST = PYTHONS[0]
ROOT = Path(__file__).resolve().parent
#: aioresponses is pinned here, not declared in pyproject: it runs only on aiohttp < 3.14.
AIORESPONSES = "aioresponses==0.7.9"


def _pyenv_interpreters_on_path() -> None:
    """Put pyenv's newest install of each Python we test first on PATH.

    pyenv's shims answer ``python3.13`` with "command not found" unless that version is
    selected, and nox takes the shim for an interpreter; the install's own ``bin`` works.
    """
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    try:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=True).stdout.strip()
        names = subprocess.run(
            [pyenv, "versions", "--bare"], capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return
    found = []
    for python in PYTHONS:
        releases = [n for n in names if n.startswith(python + ".") and n.replace(".", "").isdigit()]
        if releases:
            newest = max(releases, key=lambda n: tuple(int(p) for p in n.split(".")))
            found.append(str(Path(root, "versions", newest, "bin")))
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_pyenv_interpreters_on_path()


#: The extras whose floors are tested (``dev`` pins its tools exactly; it is not a floor).
FLOOR_EXTRAS = ("test", "postgres")


def floor_pins() -> list[str]:
    """``name==X`` for every ``name>=X`` that pyproject.toml declares (runtime, test, postgres).

    A dependency declared in two places (asyncpg: the postgres extra and the test extra)
    must declare the same floor, and is pinned once.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    declared = [*project["dependencies"], *(text for extra in FLOOR_EXTRAS for text in extras[extra])]
    pins: dict[str, str] = {}
    for text in declared:
        requirement = Requirement(text)
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(floors) != 1:
            raise ValueError(f"{text!r}: every dependency must declare exactly one >= floor")
        pin = f"{requirement.name}=={floors[0]}"
        if pins.setdefault(requirement.name, pin) != pin:
            raise ValueError(f"{requirement.name}: two floors ({pins[requirement.name]}, {pin})")
    return list(pins.values())


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test-suite on the newest dependencies."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=OLDEST)
def floors(session: nox.Session) -> None:
    """Run the whole suite with every declared dependency at its floor.

    Catches a floor that only looks true: aiohttp 3.10 (once allowed) re-sent a sending PUT.
    The suite runs with aioresponses too, since the floor aiohttp is older than 3.14.
    """
    pins = floor_pins()
    session.install("-e", ".[test]", AIORESPONSES, *pins)
    # Fail rather than test something else: pip may keep a newer version already there.
    session.run("python", "-c", _CHECK_INSTALLED, *pins, silent=True)
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)


_CHECK_INSTALLED = """
import sys
from importlib.metadata import version
wrong = [pin for pin in sys.argv[1:] if version(pin.split("==")[0]) != pin.split("==")[1]]
sys.exit(f"not at the floor: {wrong}" if wrong else 0)
"""


@nox.session(python=OLDEST)
def tests_aiohttp313(session: nox.Session) -> None:
    """Run the aioresponses checks on aiohttp 3.13.

    aioresponses 0.7.x breaks on aiohttp >= 3.14 (``ClientResponse.__init__`` gained a
    required ``stream_writer``), so these tests are skipped in the main session.
    """
    session.install("-e", ".[test]", "aiohttp==3.13.5", AIORESPONSES)
    session.run("python", "-m", "pytest", "-m", "aioresponses", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=OLDEST)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff (the version pinned in the dev extra)."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=OLDEST)
def typecheck(session: nox.Session) -> None:
    """Type-check the package, the tests and the examples with mypy --strict."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "closeasync", "tests", "examples")


@nox.session(python=OLDEST)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in benchmarks/ one by one (never part of the test-suite).

    Each appends its results to benchmarks/RESULTS.md. ``nox -s bench -- bench_x.py --flag``
    runs one script with its own arguments.
    """
    session.install("-e", ".[test]")
    scripts = sorted(Path("benchmarks").glob("bench_*.py"))
    if session.posargs:
        chosen = Path("benchmarks", Path(session.posargs[0]).name)
        if chosen not in scripts:
            session.error(f"no benchmark {chosen}; there are: {', '.join(s.name for s in scripts)}")
        session.run("python", str(chosen), *session.posargs[1:])
        return
    for script in scripts:
        session.run("python", str(script))
