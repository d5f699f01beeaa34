"""Automation: ``nox -s tests lint typecheck tests_aiohttp313`` (``nox -l`` lists them).

``nox -s bench`` runs the benchmarks; it is not among the default sessions.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck", "tests_aiohttp313"]
PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test-suite on the newest dependencies."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def tests_aiohttp313(session: nox.Session) -> None:
    """Run the aioresponses checks on aiohttp 3.13, the oldest line we test against.

    aioresponses 0.7.x breaks on aiohttp >= 3.14 (``ClientResponse.__init__`` gained a
    required ``stream_writer``), so these tests are skipped in the main session.
    """
    session.install("-e", ".[test]", "aiohttp==3.13.5")
    session.run("python", "-m", "pytest", "-m", "aioresponses", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
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


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check the package and the test-suite with mypy --strict."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "closeasync", "tests")
