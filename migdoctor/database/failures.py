"""Turn what env.py or a migration raised into one line a user can act on.

Connection failures name the host that refused (learned from the connect attempt itself), URL
problems name the setting, a missing driver names the package, and anything raised by the
project's own code names the file and line where it happened.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from migdoctor.errors import (
    DatabaseMissing,
    DatabaseUnreachable,
    EnvScriptFailed,
    MigdoctorError,
    describe_exception,
)
from migdoctor.facts.model import ProjectFacts
from migdoctor.redact import redact, redact_foreign, remember_secret

PLACEHOLDER_URL = "driver://user:pass@localhost/dbname"
URL_HINT = "A database URL reads dialect+driver://user:PASSWORD@host:port/database."

# the module a dialect imports -> the package that installs it (where the two names differ)
DRIVER_PACKAGES = {
    "MySQLdb": "mysqlclient",
    "mysql": "mysql-connector-python",
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "cx_Oracle": "cx_Oracle",
    "pymysql": "PyMySQL",
}


@contextmanager
def connection_targets(targets: list[str], read_only: bool = False) -> Iterator[None]:
    """Note where each connection attempt goes (and its password, to mask it).

    ``read_only``: refuse to connect to a SQLite file that does not exist, rather than let
    SQLite create an empty one — a check must not leave files behind, and a missing file
    usually means a relative ``sqlite:///`` path read from another folder.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def note(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        remember_secret(cparams.get("password") or cparams.get("passwd"))
        targets.append(_describe_target(dialect.name, cargs, cparams))
        if read_only and dialect.name == "sqlite":
            _refuse_missing_sqlite_file(cargs, cparams)

    event.listen(Engine, "do_connect", note)
    try:
        yield
    finally:
        event.remove(Engine, "do_connect", note)


def _refuse_missing_sqlite_file(cargs: Any, cparams: dict[str, Any]) -> None:
    filename = str(cargs[0]) if cargs else str(cparams.get("database") or "")
    if not filename or filename == ":memory:" or filename.startswith("file:"):
        return
    if cparams.get("uri") or Path(filename).exists():
        return
    raise DatabaseMissing(
        f"The SQLite database {Path(filename).absolute()} does not exist.",
        hint=(
            "migdoctor upgrade creates it. If it should exist: a relative sqlite:/// path is "
            f"read from the folder you run in (now {Path.cwd()})."
        ),
    )


def _describe_target(dialect: str, cargs: Any, cparams: dict[str, Any]) -> str:
    if dialect == "sqlite":
        return f"sqlite file {cargs[0] if cargs else cparams.get('database', '?')}"
    host = cparams.get("host") or cparams.get("unix_socket") or "localhost"
    port = cparams.get("port")
    database = cparams.get("database") or cparams.get("dbname") or cparams.get("db") or ""
    user = cparams.get("user") or cparams.get("username")
    who = f"{user}@" if user else ""
    where = f"{host}:{port}" if port else str(host)
    return f"{dialect} {who}{where}/{database}"


def explain_failure(
    error: BaseException,
    env_py: Path,
    project: ProjectFacts,
    targets: list[str],
    action: str = "env.py",
) -> MigdoctorError:
    """One line (and a hint) for ``error``, raised while ``action`` ran env.py."""
    from sqlalchemy import exc

    if isinstance(error, MigdoctorError):
        return error
    if isinstance(error, exc.DBAPIError) and error.statement is None:
        target = targets[-1] if targets else "the database"
        reason = redact_foreign(first_line(error.orig))
        return DatabaseUnreachable(
            redact(f"Cannot connect to {target}: {reason}"), hint=_connection_hint(reason, target)
        )
    unreadable_url = url_parse_problem(error)
    if unreadable_url is not None:
        return MigdoctorError(
            f"The database URL cannot be read: {unreadable_url}. Nothing was changed.",
            hint=URL_HINT,
        )
    if isinstance(error, (exc.ArgumentError, exc.NoSuchModuleError)):
        hint = "Set sqlalchemy.url in the Alembic config, or pass --url."
        if (project.config.sqlalchemy_url or "").strip() == PLACEHOLDER_URL:
            return MigdoctorError(
                f"sqlalchemy.url is still alembic's placeholder '{PLACEHOLDER_URL}'.", hint=hint
            )
        return MigdoctorError(
            redact(f"The database URL cannot be used: {redact_foreign(first_line(error))}"),
            hint=hint,
        )
    missing_driver = _missing_driver(error)
    if missing_driver:
        package = DRIVER_PACKAGES.get(missing_driver, missing_driver)
        module = f" (module {missing_driver})" if package != missing_driver else ""
        return MigdoctorError(
            f"The database driver '{package}'{module} is not installed in this Python environment.",
            hint=f"Install it (pip install '{package}') or run migdoctor where alembic runs.",
        )
    where = _where(error, env_py, project)
    return EnvScriptFailed(
        redact(f"{action} failed{where}: {redact_foreign(describe_exception(error))}"),
        hint=_project_module_hint(error, project) or "Run with --debug for the full traceback.",
    )


def _project_module_hint(error: BaseException, project: ProjectFacts) -> str | None:
    """For a module env.py imports that is the project's own folder (or file), next to the
    Alembic config or in the folder migdoctor runs in, but not on ``sys.path``: how to put it
    there, as ``alembic init`` does.

    full-stack-fastapi-template (github.com/fastapi/full-stack-fastapi-template): its env.py
    imports ``app``, the folder next to its alembic.ini, which has no ``prepend_sys_path``; its
    Docker image sets PYTHONPATH instead."""
    import sys

    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    top = error.name.split(".")[0]
    config_file = project.config.config_file
    folders = dict.fromkeys(
        [*([config_file.parent.absolute()] if config_file else []), Path.cwd().absolute()]
    )
    for folder in folders:
        if not ((folder / top).is_dir() or (folder / f"{top}.py").is_file()):
            continue
        on_path = {Path(entry or ".").absolute() for entry in sys.path}
        if folder in on_path:
            return None
        return (
            f"'{top}' is in {folder}, which is not on Python's import path: add "
            "'prepend_sys_path = .' to the [alembic] section (as alembic init writes it) and "
            f"run from {folder}, or set PYTHONPATH={folder}."
        )
    return None


def _connection_hint(reason: str, target: str) -> str:
    lowered = reason.lower()
    if re.search(r'\brole "[^"]*" does not exist', lowered):
        return "That user (role) does not exist on the server: create it, or name another."
    if "does not exist" in lowered or "unknown database" in lowered:
        return "Create the database first, or point the URL (or --url) at the right one."
    if "denied" in lowered or "authentication" in lowered or "password" in lowered:
        return "Check the user name and password in the URL."
    if target.startswith("sqlite"):
        return "Does the SQLite file's folder exist, and may this user write there?"
    return "Is the server running on that host and port? --url URL uses another database."


def url_parse_problem(error: BaseException) -> str | None:
    """What is wrong with a URL SQLAlchemy could not parse (None: not a URL parse error)."""
    from sqlalchemy import exc

    if isinstance(error, exc.ArgumentError) and "Could not parse SQLAlchemy URL" in str(error):
        return "it is not a URL"
    frames = traceback.extract_tb(error.__traceback__)
    if not isinstance(error, ValueError) or not frames:
        return None
    if Path(frames[-1].filename).parts[-3:] != ("sqlalchemy", "engine", "url.py"):
        return None
    port = re.search(r"invalid literal for int\(\) with base 10: '([^']*)'", str(error))
    if port:
        return f"the port {port.group(1)!r} is not a number"
    return redact_foreign(first_line(error))


def check_url(url: str, given_as: str) -> None:
    """Refuse, in one line, a URL SQLAlchemy cannot parse (``given_as``: where it came from)."""
    from sqlalchemy.engine import make_url

    try:
        make_url(url)
    except Exception as error:  # noqa: BLE001 - any parse failure is the user's URL
        problem = url_parse_problem(error) or redact_foreign(first_line(error))
        raise MigdoctorError(
            f"The database URL given with {given_as} cannot be read: {problem}. "
            "Nothing was changed.",
            hint=URL_HINT,
        ) from None


def _missing_driver(error: BaseException) -> str | None:
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    frames = traceback.extract_tb(error.__traceback__)
    if frames and "sqlalchemy" in Path(frames[-1].filename).parts:
        return error.name.split(".")[0]
    return None


def _where(error: BaseException, env_py: Path, project: ProjectFacts) -> str:
    """' at file:line' for the deepest frame in the user's own code (and env.py's line)."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return f" at {project.relative(Path(error.filename).absolute())}:{error.lineno}"
    frames = traceback.extract_tb(error.__traceback__)
    user_frames = [f for f in frames if _is_user_code(f.filename)]
    if not user_frames:
        return ""
    deepest = user_frames[-1]
    text = f" at {project.relative(Path(deepest.filename).absolute())}:{deepest.lineno}"
    env_frames = [f for f in frames if Path(f.filename).absolute() == env_py.absolute()]
    if env_frames and env_frames[-1] is not deepest:
        text += f" (from {project.relative(env_py.absolute())}:{env_frames[-1].lineno})"
    return text


def _is_user_code(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    path = Path(filename)
    if {"site-packages", "dist-packages"}.intersection(path.parts):
        return False
    stdlib = Path(logging.__file__).parent.parent
    migdoctor_package = Path(__file__).parent.parent
    return not path.is_relative_to(stdlib) and not path.is_relative_to(migdoctor_package)


def first_line(error: object) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
