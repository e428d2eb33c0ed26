"""Sessions: ``tests`` (the whole suite on SQLite, MySQL and PostgreSQL), ``lint``, ``typecheck``.

``nox`` with no arguments runs all three; the README's test command and ``.ci/run`` do that.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PASSED_ENVIRONMENT = (
    "MIGDOCTOR_TEST_MYSQL_URL",
    "MIGDOCTOR_TEST_POSTGRES_URL",
    "MIGDOCTOR_REQUIRE_DATABASES",
)


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite; MySQL and PostgreSQL tests skip with a reason when no server is reachable
    (MIGDOCTOR_REQUIRE_DATABASES=1 makes that a failure, as in CI)."""
    session.install("-e", ".[postgres,test]")
    # one worker more than the cores: many scenarios wait (on a lock held on purpose, a server,
    # a child process), and the extra worker uses the core a waiting one leaves idle
    workers = str((os.cpu_count() or 1) + 1)
    session.run("pytest", "-n", workers, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "migdoctor", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "migdoctor", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy", "-e", ".[postgres,test]")
    session.run("mypy")
