"""A scratch database the round trip creates for itself and always drops.

By default a SQLite file in a new temporary folder. Given a server URL (MySQL/MariaDB or
PostgreSQL), a database of its own with a unique name, ``migdoctor_roundtrip_<random>``, is
created on that server and dropped at the end, whatever happens (a failure, Ctrl-C, SIGTERM).
The database the URL names is only connected to, to create and drop the scratch one.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.errors import DatabaseUnreachable, MigdoctorError, describe_exception, driver_error
from migdoctor.redact import redact, remember_url_password

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

SCRATCH_PREFIX = "migdoctor_roundtrip_"
SERVER_DIALECTS = ("mysql", "mariadb", "postgresql")


@dataclass(frozen=True)
class ScratchDatabase:
    """A scratch database: its URL (with the password, for connecting), what to call it."""

    url: str
    shown_as: str
    dialect: str
    server: str | None = None  # the URL connected to in order to create and drop it
    name: str = ""
    folder: Path | None = None  # the SQLite file's temporary folder

    def reset(self) -> None:
        """Empty it: drop it and create it again, under the same name."""
        if self.folder is not None:
            (self.folder / "scratch.db").unlink(missing_ok=True)
            return
        assert self.server is not None
        _drop(self.server, self.dialect, self.name)
        _create(self.server, self.dialect, self.name)


@contextmanager
def scratch_database(
    server_url: str | None, asynchronous: bool = False
) -> Iterator[ScratchDatabase]:
    """Create the scratch database, hand it over, and drop it at the end whatever happens.
    ``asynchronous``: env.py runs an async engine, so the SQLite file is opened with
    aiosqlite, as env.py's engine would need it."""
    if server_url is None:
        driver = "sqlite+aiosqlite" if asynchronous else "sqlite"
        if asynchronous:
            _require_aiosqlite()
        folder = Path(tempfile.mkdtemp(prefix="migdoctor-roundtrip-"))
        try:
            yield ScratchDatabase(
                f"{driver}:///{folder / 'scratch.db'}",
                "a temporary SQLite file",
                "sqlite",
                folder=folder,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    server = _server(server_url)
    dialect = server.get_backend_name()
    name = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
    rendered = server.render_as_string(hide_password=False)
    _create(rendered, dialect, name)
    scratch_url = server.set(database=name)
    try:
        yield ScratchDatabase(
            scratch_url.render_as_string(hide_password=False),
            redact(scratch_url.render_as_string(hide_password=True)),
            dialect,
            server=rendered,
            name=name,
        )
    except KeyboardInterrupt as stop:
        stop.scratch_database = name  # type: ignore[attr-defined]  # named when it is said
        raise
    finally:
        try:
            _drop(rendered, dialect, name)
        except Exception as error:
            raise MigdoctorError(
                f"Could not drop the scratch database {name} on {_shown(rendered)}: "
                f"{describe_exception(driver_error(error))}",
                hint=f"Drop it by hand: DROP DATABASE {name}",
            ) from error


def _require_aiosqlite() -> None:
    import importlib.util

    if importlib.util.find_spec("aiosqlite") is None:
        raise MigdoctorError(
            "env.py runs an async engine, and the scratch SQLite database would need the "
            "aiosqlite driver, which is not installed.",
            hint="pip install aiosqlite, or give --scratch-url a server of your project's "
            "kind (e.g. postgresql+asyncpg://user@host/postgres).",
        )


@contextmanager
def no_new_sqlite_files(scratch: ScratchDatabase) -> Iterator[None]:
    """While the round trip runs, a connection to a SQLite file that does not exist, other than
    the scratch one, opens an empty in-memory database instead of creating that file.

    An env.py that builds its engine from the application's settings (Flask-Migrate's) connects
    to the configured database before alembic is handed the scratch one (see
    ``database.environment``); for a SQLite file that is not there yet, connecting would create
    it."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    keep = str(scratch.folder / "scratch.db") if scratch.folder is not None else None

    def redirect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if dialect.name != "sqlite" or not cargs or cparams.get("uri"):
            return
        filename = str(cargs[0])
        if filename in ("", ":memory:") or filename.startswith("file:"):
            return
        if filename != keep and not Path(filename).exists():
            cargs[0] = ":memory:"

    event.listen(Engine, "do_connect", redirect)
    try:
        yield
    finally:
        event.remove(Engine, "do_connect", redirect)


def _server(server_url: str) -> URL:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    remember_url_password(server_url)
    try:
        url = make_url(server_url)
    except ArgumentError as error:
        raise MigdoctorError(
            f"--scratch-url is not a database URL: {redact(server_url)}.",
            hint="It reads dialect+driver://user:PASSWORD@host:port/database.",
        ) from error
    if url.get_backend_name() not in SERVER_DIALECTS:
        raise MigdoctorError(
            f"--scratch-url must name a MySQL/MariaDB or PostgreSQL server, not "
            f"{url.get_backend_name()}.",
            hint="Leave it out to use a temporary SQLite file.",
        )
    return url


def _create(server_url: str, dialect: str, name: str) -> None:
    from sqlalchemy import text

    try:
        _on_server(server_url, lambda c: c.execute(text(f"CREATE DATABASE {name}")))
    except MigdoctorError:
        raise
    except Exception as error:
        raise DatabaseUnreachable(
            redact(
                f"Could not create the scratch database {name} on "
                f"{_shown(server_url)}: {describe_exception(driver_error(error))}"
            ),
            hint="The scratch URL's user needs the right to create and drop databases.",
        ) from error


def _drop(server_url: str, dialect: str, name: str) -> None:
    from sqlalchemy import text

    def drop(connection: Any) -> None:
        if dialect == "postgresql":
            version = connection.dialect.server_version_info or (0,)
            if version >= (13,):
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                return
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))

    _on_server(server_url, drop)


def _on_server(server_url: str, work: Callable[[Any], object]) -> None:
    """``work(connection)`` on the server, outside any transaction (an async driver too)."""
    from sqlalchemy import create_engine, pool

    from migdoctor.database.async_engines import on_engine

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)

    def connected() -> None:
        with engine.connect() as connection:
            work(connection)

    try:
        on_engine(engine, connected)
    finally:
        engine.dispose()


def _shown(server_url: str) -> str:
    from sqlalchemy.engine import make_url

    return redact(make_url(server_url).render_as_string(hide_password=True))
