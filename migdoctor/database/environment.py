"""Run the project's env.py with migdoctor's own work in the place of alembic's.

Every command that touches the database goes through env.py exactly as alembic's commands do
(``EnvironmentContext(config, script, fn=...)`` + ``script.run_env()``): the URL, connection
options, version table name and schema are then the user's real ones. ``work`` receives the live
``MigrationContext`` and returns alembic migration steps to run (or none).

Whatever goes wrong becomes one line: env.py's own errors name the file and line, connection
failures the host, and failures of ``work`` itself say what was being done.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from migdoctor.database.failures import check_url, connection_targets, explain_failure
from migdoctor.errors import (
    AlembicRefused,
    EnvScriptFailed,
    MigdoctorError,
    describe_exception,
    driver_error,
)
from migdoctor.facts.model import ProjectFacts
from migdoctor.quiet import logging_held_back
from migdoctor.redact import redact, redact_foreign

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import Connection

Work = Callable[["MigrationContext", "ScriptDirectory"], Iterable[Any]]
T = TypeVar("T")


class _WorkFailed(Exception):
    """``work`` failed inside env.py's run: not env.py's fault."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


@contextmanager
def search_path_as_default_schema(connection: Connection) -> Iterator[None]:
    """While migdoctor works on env.py's connection, SQLAlchemy's default schema is the one
    unqualified names mean on it now. An env.py may set PostgreSQL's search_path after
    connecting (Netflix/dispatch: ``set search_path to "dispatch_core"``, then each tenant's
    schema): alembic then keeps its version table there and the revisions' unqualified tables
    are there, yet SQLAlchemy still names the schema the connection began in, so migdoctor
    mistook the history's tables for other ones. It is what SQLAlchemy says when the search_path
    is set at connect time."""
    from migdoctor.database.current_schema import current_schema

    dialect = connection.dialect
    if dialect.name != "postgresql":
        yield
        return
    began_in = dialect.default_schema_name
    dialect.default_schema_name = current_schema(connection) or began_in
    try:
        yield
    finally:
        dialect.default_schema_name = began_in


def run_environment(
    project: ProjectFacts,
    work: Work,
    *,
    read_only: bool,
    action: str,
    quiet: bool = True,
    alembic_command: str = "current",
    cmd_opts: dict[str, Any] | None = None,
    prepare: Callable[[Any, Path], None] | None = None,
    read_timeout: float | None = None,
    version_locations: tuple[Path, ...] = (),
    **context_options: Any,
) -> None:
    """Run env.py once, calling ``work`` with the live migration context.

    ``version_locations``: load the revisions from these folders instead of the project's
    (revisions archived by a squash, a revision written for a scratch database).
    ``read_only`` runs with ``dont_mutate`` (alembic creates no version table) and refuses to
    create a missing SQLite file. ``action`` names what was being done in error messages.
    ``alembic_command``: the alembic command env.py sees in ``config.cmd_opts`` (``current``
    for reads, as ``alembic current`` runs it).
    ``quiet`` silences alembic's INFO lines and warnings (a report has its own words).
    ``prepare`` may wrap the ``EnvironmentContext`` (given with env.py's path) before it runs.
    ``read_timeout``: every statement on env.py's connection, alembic's own read of the version
    table included, gives up after that many seconds (see ``database.bounds``), and then the
    error names what was being read and the session in the way; a ``read_only`` run is bounded
    by ``--lock-timeout`` (or a few seconds) when no ``read_timeout`` is given.
    """
    from alembic.runtime.environment import EnvironmentContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from migdoctor.database.bounds import ReadBounds
    from migdoctor.database.bounds import read_timeout as default_read_timeout

    if project.config.options.url:
        check_url(project.config.options.url, "--url")
    config = project.config.alembic_config(command=alembic_command, **(cmd_opts or {}))
    try:
        script_directory = ScriptDirectory.from_config(config)
        if version_locations:
            script_directory.version_locations = [str(path) for path in version_locations]
    except CommandError as error:
        raise MigdoctorError(str(error)) from error
    called: list[bool] = []

    def fn(heads: Any, context: MigrationContext) -> list[Any]:
        called.append(True)
        if context.connection is None or context.as_sql:
            raise _WorkFailed(
                MigdoctorError(
                    "env.py configured alembic without a database connection (offline mode).",
                    hint="migdoctor needs env.py's online path; --offline checks scripts only.",
                )
            )
        try:
            with search_path_as_default_schema(context.connection):
                return list(work(context, script_directory))
        except CommandError as error:
            raise _WorkFailed(AlembicRefused(str(error))) from error
        except (Exception, SystemExit) as error:  # a version file alembic loads may exit
            raise _WorkFailed(error) from error

    if read_only:
        context_options["dont_mutate"] = True
    env_py = Path(script_directory.env_py_location)
    # Flask-Migrate's env.py reads the app (current_app): the first attempt tells
    for inside_flask_app in (False, True):
        environment = EnvironmentContext(config, script_directory, fn=fn, **context_options)
        replacements: list[Any] = []
        if project.config.options.url:
            _replace_connections_with_url(environment, project.config.options.url, replacements)
        targets: list[str] = []
        if prepare is not None:
            prepare(environment, env_py)
        if read_timeout is None and read_only:
            # a run that only reads is bounded even when its caller said nothing: alembic's
            # own read of the version table comes before any of migdoctor's work
            read_timeout = default_read_timeout(project.config.options)
        bounds = ReadBounds(read_timeout) if read_timeout is not None else None
        if bounds is not None:
            bounds.install(environment)
        try:
            with (
                _quiet() if quiet else nullcontext(),
                connection_targets(targets, read_only=read_only),
                flask_application(env_py) if inside_flask_app else nullcontext(),
                environment,
            ):
                script_directory.run_env()
        except _WorkFailed as failure:
            original = failure.original
            if isinstance(original, MigdoctorError):
                raise original from None
            gave_up = bounds.gave_up(original) if bounds is not None else None
            if gave_up is not None:
                raise gave_up from original
            where = _in_version_file(original, project)
            raise MigdoctorError(
                redact(
                    f"{action} failed{where}: "
                    f"{redact_foreign(describe_exception(driver_error(original)))}"
                ),
                hint=(
                    "alembic imports every version file first: see migdoctor check "
                    "(script-load-error)."
                    if where
                    else "Run with --debug to see where."
                ),
            ) from original
        except KeyboardInterrupt:
            raise
        except MigdoctorError:
            raise
        except BaseException as error:  # whatever env.py raises (even SystemExit): one line
            gave_up = bounds.gave_up(error) if bounds is not None else None
            if gave_up is not None:
                raise gave_up from error
            if not inside_flask_app and needs_flask_application(error):
                continue
            raise explain_failure(error, env_py, project, targets, action="env.py") from error
        finally:
            for connection in replacements:
                connection.close()
        break
    if not called:
        raise EnvScriptFailed(
            f"{project.relative(env_py)} finished without calling context.run_migrations(), "
            "so there was no database connection to use.",
            hint="Check that env.py runs run_migrations_online() when not in offline mode.",
        )


def needs_flask_application(error: BaseException) -> bool:
    """env.py asked for Flask's ``current_app`` outside an application context."""
    return isinstance(error, RuntimeError) and "application context" in str(error)


def call_with_application(env_py: Path, call: Callable[[], T]) -> T:
    """``call()`` (an alembic command that runs env.py), inside the Flask application's context
    when env.py needs one (Flask-Migrate's reads ``current_app``), as ``flask db`` runs it.

    env.py asks for the application before it does anything, so a first attempt that fails
    for want of it has changed nothing.
    """
    try:
        return call()
    except Exception as error:
        if not needs_flask_application(error):
            raise
    with flask_application(env_py):
        return call()


@contextmanager
def flask_application(env_py: Path) -> Iterator[None]:
    """The Flask application's context, found as ``flask db`` finds it: ``FLASK_APP`` (a module,
    a file path such as ``sub/app.py``, ``module:create_app()``), also from ``.flaskenv`` or
    ``.env``, else an ``app.py``/``wsgi.py`` in the current folder."""
    try:
        from flask.cli import NoAppException, ScriptInfo, load_dotenv
    except ImportError:  # pragma: no cover - env.py imported flask, so flask is there
        raise EnvScriptFailed(
            "env.py needs a Flask application, and Flask is not installed."
        ) from None
    # the flask command reads these before its --app option falls back to $FLASK_APP
    load_dotenv()
    try:
        with _alembic_commands_held():
            application = ScriptInfo(app_import_path=os.environ.get("FLASK_APP") or None).load_app()
    except NoAppException as error:
        raise EnvScriptFailed(
            f"{env_py.name} needs the Flask application (Flask-Migrate), which was not found: "
            f"{str(error).strip().splitlines()[0]}",
            hint="Set FLASK_APP (as for flask db), or run migdoctor from the application's folder.",
        ) from None
    with application.app_context():
        yield


# alembic's commands that change a database or the project's files
_WRITING_COMMANDS = ("upgrade", "downgrade", "stamp", "revision", "merge", "init", "ensure_version")


@contextmanager
def _alembic_commands_held() -> Iterator[None]:
    """While the Flask application loads, alembic's writing commands do nothing: an application
    that migrates its database when it starts (ihatemoney's ``create_app`` calls Flask-Migrate's
    ``upgrade()``) must not migrate it because migdoctor loaded it to read env.py's context: a
    ``check`` changes nothing, and an upgrade is migdoctor's own, under its lock and journal."""
    from alembic import command

    originals = {
        name: getattr(command, name) for name in _WRITING_COMMANDS if hasattr(command, name)
    }

    def held(*args: Any, **kwargs: Any) -> None:
        return None

    try:
        for name in originals:
            setattr(command, name, held)
        yield
    finally:
        for name, original in originals.items():
            setattr(command, name, original)


def _replace_connections_with_url(environment: Any, url: str, opened: list[Any]) -> None:
    """Make ``--url`` win even over an env.py that builds its own engine from application
    settings: the connection it hands to ``context.configure`` is swapped for one to ``url``."""
    from sqlalchemy import create_engine, pool
    from sqlalchemy.engine import make_url

    wanted = make_url(url)
    original_configure = environment.configure

    def configure(connection: Any = None, **kw: Any) -> None:
        if connection is not None and connection.engine.url != wanted:
            engine = create_engine(wanted, poolclass=pool.NullPool)
            connection = engine.connect()
            opened.append(connection)
        # and the configuration env.py may have pointed at the application's database: a
        # revision that builds an engine of its own from it (mealie's first one asks it whether
        # its tables exist) must reach ``url`` too, never the application's database
        environment.config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        original_configure(connection=connection, **kw)

    environment.configure = configure


@contextmanager
def _quiet() -> Iterator[None]:
    """alembic's INFO lines and reflection warnings are noise in a report."""
    with logging_held_back(logging.INFO), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _in_version_file(error: BaseException, project: ProjectFacts) -> str:
    """`` at FILE:LINE`` of the version file where ``error`` was raised while alembic loaded
    it (its revision map imports every file), or ``""``."""
    import traceback

    folders = [str(location.resolve()) for location in project.config.version_locations]
    if not folders:
        return ""
    where = ""
    frames = traceback.extract_tb(error.__traceback__)
    if isinstance(error, SyntaxError) and error.filename:
        frames.append(traceback.FrameSummary(error.filename, error.lineno or 0, "<module>"))
    for frame in frames:
        try:
            resolved = str(Path(frame.filename).resolve())
        except (OSError, ValueError):
            continue
        if any(resolved.startswith(folder + os.sep) for folder in folders):
            where = f" at {project.relative(Path(frame.filename))}:{frame.lineno}"
    return where
