"""Shared fixtures: a fresh database per test on SQLite, MySQL and PostgreSQL, fixture projects
copied into a temporary folder, and the real CLI run as a user runs it.

MySQL and PostgreSQL are found through ``MIGDOCTOR_TEST_MYSQL_URL`` and
``MIGDOCTOR_TEST_POSTGRES_URL`` (default: the servers on loopback). When one cannot be reached
its tests are skipped with the reason, unless ``MIGDOCTOR_REQUIRE_DATABASES=1`` (set by CI),
which turns that into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import Project, copy_project

MYSQL_URL = os.environ.get("MIGDOCTOR_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
POSTGRES_URL = os.environ.get(
    "MIGDOCTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_DATABASES = os.environ.get("MIGDOCTOR_REQUIRE_DATABASES") == "1"
BACKENDS = ("sqlite", "mysql", "postgresql")

_unreachable: dict[str, str] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile migdoctor's modules once, before the tests run the CLI hundreds of times. Where
    ``PYTHONDONTWRITEBYTECODE`` is set (as on the CI machines) nothing else writes them, and
    every run of the CLI would compile every module of an editable install again: a fifth of
    the time of a check."""
    if hasattr(session.config, "workerinput"):  # the xdist controller did it
        return
    import compileall

    import migdoctor

    compileall.compile_dir(Path(migdoctor.__file__).parent, quiet=1)


def _server_url(backend: str) -> str:
    return MYSQL_URL if backend == "mysql" else POSTGRES_URL


def _unavailable(backend: str) -> None:
    """Skip (or, in CI, fail) when the server for ``backend`` cannot be reached."""
    if backend in _unreachable:
        reason = _unreachable[backend]
    else:
        from sqlalchemy import create_engine, text

        try:
            engine = create_engine(_server_url(backend))
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
            return
        except Exception as error:  # noqa: BLE001 - any failure means: not reachable here
            reason = (
                f"{backend} server not reachable at {_server_url(backend)}: {error}".splitlines()[0]
            )
            _unreachable[backend] = reason
    if REQUIRE_DATABASES:
        pytest.fail(f"{reason} (MIGDOCTOR_REQUIRE_DATABASES=1)")
    pytest.skip(reason)


class Database:
    """A database of its own for one test."""

    def __init__(self, backend: str, url: str) -> None:
        self.backend = backend
        self.url = url

    def __repr__(self) -> str:
        return f"<Database {self.backend} {self.url}>"

    def engine(self):  # type: ignore[no-untyped-def]
        from sqlalchemy import create_engine, pool

        return create_engine(self.url, poolclass=pool.NullPool)

    def execute(self, *statements: str) -> None:
        from sqlalchemy import text

        engine = self.engine()
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        engine.dispose()

    def scalars(self, statement: str) -> list[object]:
        from sqlalchemy import text

        engine = self.engine()
        with engine.connect() as connection:
            values = list(connection.execute(text(statement)).scalars())
        engine.dispose()
        return values

    def version_rows(self, table: str = "alembic_version") -> list[str]:
        if table not in self.table_names():
            return []
        return sorted(str(v) for v in self.scalars(f"SELECT version_num FROM {table}"))

    def table_names(self) -> set[str]:
        from sqlalchemy import inspect

        engine = self.engine()
        with engine.connect() as connection:
            names = set(inspect(connection).get_table_names())
        engine.dispose()
        return names

    def column_names(self, table: str) -> list[str]:
        from sqlalchemy import inspect

        engine = self.engine()
        with engine.connect() as connection:
            names = [c["name"] for c in inspect(connection).get_columns(table)]
        engine.dispose()
        return names

    def index_names(self, table: str) -> set[str]:
        """The names of ``table``'s indexes and unique constraints."""
        from sqlalchemy import inspect

        engine = self.engine()
        with engine.connect() as connection:
            inspector = inspect(connection)
            names = {str(i["name"]) for i in inspector.get_indexes(table)}
            names |= {str(u["name"]) for u in inspector.get_unique_constraints(table)}
        engine.dispose()
        return names

    def foreign_key_names(self, table: str) -> set[str]:
        from sqlalchemy import inspect

        engine = self.engine()
        with engine.connect() as connection:
            names = {str(k["name"]) for k in inspect(connection).get_foreign_keys(table)}
        engine.dispose()
        return names


def _create_server_database(backend: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"md_{uuid.uuid4().hex[:12]}"
    server = make_url(_server_url(backend))
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return name, server.set(database=name).render_as_string(hide_password=False)


def _drop_server_database(backend: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_server_url(backend), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if backend == "postgresql":
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()


@contextmanager
def _fresh_server_database(backend: str) -> Iterator[Database]:
    _unavailable(backend)
    name, url = _create_server_database(backend)
    try:
        yield Database(backend, url)
    finally:
        _drop_server_database(backend, name)


@contextmanager
def another_database(like: Database, folder: Path) -> Iterator[Database]:
    """A second fresh database on the same backend as ``like`` (a file in ``folder`` for
    SQLite), dropped afterwards: where a history is built again to compare schemas."""
    if like.backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{folder / f'other_{uuid.uuid4().hex[:8]}.db'}")
        return
    with _fresh_server_database(like.backend) as fresh:
        yield fresh


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, empty database on each backend, dropped after the test."""
    backend = request.param
    if backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
        return
    with _fresh_server_database(backend) as fresh:
        yield fresh


@pytest.fixture
def server_database(request: pytest.FixtureRequest) -> Iterator[Database]:
    """A fresh database on the server named by the test's parameter (mysql or postgresql)."""
    with _fresh_server_database(request.param) as fresh:
        yield fresh


@pytest.fixture
def blog(tmp_path: Path, database: Database) -> Project:
    """The classic blog fixture project, pointed at this test's database."""
    return copy_project("blog", tmp_path / "project", database)


@pytest.fixture
def blog_offline(tmp_path: Path) -> Project:
    return copy_project("blog", tmp_path / "project", None)


@pytest.fixture
def ledger(tmp_path: Path, database: Database) -> Project:
    """The ledger fixture project (a 10-revision history, see test_schema_history), pointed at
    this test's database."""
    return copy_project("ledger", tmp_path / "project", database)
