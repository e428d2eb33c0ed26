"""A big schema at the head: ``migdoctor check`` against ``alembic check`` (which also compares the
whole schema with the models) on a database of 1,000 tables, each with five columns, an index and
a foreign key, on SQLite, MariaDB and PostgreSQL. Goal: at most 0.5x ``alembic check``, and linear
in tables.

The project is a real one: ``models.py`` holds the tables (``env.py``'s ``target_metadata``), the
revisions create them ``TABLES_PER_REVISION`` at a time, and the database is built from the models
(``create_all``) with the head stamped, as ``alembic upgrade head`` would leave it.

    python -m benchmarks.big_schema                 # 500 and 1,000 tables, every database
    python -m benchmarks.big_schema --tables 1000 --backend postgresql
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.commands import compile_migdoctor, console_script, run_once, timing_environment
from benchmarks.generate import ALEMBIC_INI, CREATE_DATE, CREATED_NS, ENV_PY, SCRIPT_MAKO

GOAL = 0.5
BACKENDS = ("sqlite", "mysql", "postgresql")
TABLES_PER_REVISION = 10
SERVER_URLS = {
    "mysql": os.environ.get("MIGDOCTOR_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "postgresql": os.environ.get(
        "MIGDOCTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
}
DATABASE_NAME = "md_bench_big_schema"


def table_name(number: int) -> str:
    return f"item{number:05d}"


def table_source(number: int, indent: str) -> str:
    """The table's columns as alembic code (``op.create_table``) or model code share them."""
    parent = (
        f"sa.ForeignKey({table_name(number - 1) + '.id'!r})"
        if number > 1
        else "sa.ForeignKey('item00001.id')"
    )
    return (
        f"{indent}sa.Column('id', sa.Integer(), primary_key=True),\n"
        f"{indent}sa.Column('name', sa.String(length=50), nullable=False),\n"
        f"{indent}sa.Column('parent_id', sa.Integer(), {parent}, nullable=True),\n"
        f"{indent}sa.Column('created_at', sa.DateTime(), nullable=True),\n"
        f"{indent}sa.Column('amount', sa.Numeric(10, 2), nullable=True),\n"
        f"{indent}sa.Index({'ix_' + table_name(number) + '_name'!r}, 'name'),\n"
    )


def models_source(tables: int) -> str:
    body = "".join(
        f"sa.Table(\n    {table_name(n)!r},\n    metadata,\n{table_source(n, '    ')})\n"
        for n in range(1, tables + 1)
    )
    return "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\n" + body


def revision_id(index: int) -> str:
    return f"{index:012x}"


def revision_source(index: int, numbers: Sequence[int]) -> str:
    down = repr(revision_id(index - 1)) if index > 1 else "None"
    creates = "".join(
        f"    op.create_table(\n        {table_name(n)!r},\n{table_source(n, '        ')}    )\n"
        for n in numbers
    )
    drops = "".join(f"    op.drop_table({table_name(n)!r})\n" for n in reversed(numbers))
    return (
        f'"""create tables {numbers[0]} to {numbers[-1]}\n\n'
        f"Revision ID: {revision_id(index)}\nRevises: {down}\nCreate Date: {CREATE_DATE}\n\n"
        '"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f"revision = {revision_id(index)!r}\ndown_revision = {down}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n{creates}\n\ndef downgrade():\n{drops}"
    )


def database_url(backend: str, root: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{root / 'app.db'}"
    from sqlalchemy.engine import make_url

    return make_url(SERVER_URLS[backend]).set(database=DATABASE_NAME).render_as_string(False)


def write_project(root: Path, tables: int, url: str) -> tuple[Path, str]:
    """The project under ``root``; returns (alembic.ini, head revision)."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    ini = root / "alembic.ini"
    ini.write_text(
        ALEMBIC_INI.replace("sqlalchemy.url = sqlite:///%(here)s/app.db", f"sqlalchemy.url = {url}")
    )
    env = ENV_PY.replace(
        "target_metadata = None", "from models import metadata\ntarget_metadata = metadata"
    )
    (root / "migrations" / "env.py").write_text(env)
    (root / "migrations" / "script.py.mako").write_text(SCRIPT_MAKO)
    (root / "models.py").write_text(models_source(tables))
    numbers = list(range(1, tables + 1))
    index = 0
    for start in range(0, tables, TABLES_PER_REVISION):
        index += 1
        path = versions / f"{revision_id(index)}_tables.py"
        path.write_text(revision_source(index, numbers[start : start + TABLES_PER_REVISION]))
        os.utime(path, ns=(CREATED_NS, CREATED_NS))
    return ini, revision_id(index)


def build_database(backend: str, root: Path, head: str) -> None:
    """The database ``alembic upgrade head`` would leave, built from the models."""
    import sqlalchemy as sa

    sys.path.insert(0, str(root))
    try:
        import models  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    url = database_url(backend, root)
    if backend == "sqlite":
        (root / "app.db").unlink(missing_ok=True)
    else:
        server = sa.create_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE_NAME}")
            connection.exec_driver_sql(f"CREATE DATABASE {DATABASE_NAME}")
        server.dispose()
    engine = sa.create_engine(url)
    models.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        connection.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{head}')")
    engine.dispose()
    sys.modules.pop("models", None)


def drop_database(backend: str) -> None:
    if backend == "sqlite":
        return
    import sqlalchemy as sa

    server = sa.create_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE_NAME}")
    server.dispose()


def time_big_schema(root: Path, backend: str, tables: int, repeat: int) -> tuple[float, float]:
    """(alembic check, migdoctor check) in seconds: medians of ``repeat`` alternating rounds."""

    project = root / f"schema-{backend}-{tables}"
    shutil.rmtree(project, ignore_errors=True)
    _, head = write_project(project, tables, database_url(backend, project))
    build_database(backend, project, head)
    environment = timing_environment()
    migdoctor = [*console_script("migdoctor"), "check"]
    alembic = [*console_script("alembic"), "check"]
    try:
        run_once(migdoctor, project, environment)  # the parse and recording caches
        run_once(alembic, project, environment)
        migdoctor_times, alembic_times = [], []
        for _ in range(repeat):
            migdoctor_times.append(run_once(migdoctor, project, environment))
            alembic_times.append(run_once(alembic, project, environment))
    finally:
        drop_database(backend)
    return statistics.median(alembic_times), statistics.median(migdoctor_times)


def reachable(backend: str) -> bool:
    """Whether the benchmark can use ``backend`` (SQLite always; a server when it answers)."""
    if backend == "sqlite":
        return True
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(SERVER_URLS[backend])
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure: the server is not there for us
        return False
    return True


def time_big_schemas(
    root: Path, sizes: Sequence[int], repeat: int, backends: Sequence[str] = BACKENDS
) -> list[tuple[str, int, float, float]]:
    """(backend, tables, alembic check, migdoctor check) for each reachable backend and size."""
    rows = []
    for backend in backends:
        if not reachable(backend):
            print(f"big schemas: {backend} is not reachable, left out", file=sys.stderr)
            continue
        for tables in sizes:
            print(f"timing check on {tables} tables ({backend})", file=sys.stderr)
            alembic, migdoctor = time_big_schema(root, backend, tables, repeat)
            rows.append((backend, tables, alembic, migdoctor))
    return rows


def print_big_schema(rows: Sequence[tuple[str, int, float, float]]) -> None:
    print(
        "big schemas: `check` at the head against `alembic check`, warm (the second run in a "
        f"project), tables of 5 columns, an index and a foreign key each, {os.cpu_count()} cores"
    )
    print()
    print(
        "| database | tables | alembic check | migdoctor check | ratio | goal | met "
        "| migdoctor, ms per table |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for backend, tables, alembic, migdoctor in rows:
        ratio = migdoctor / alembic
        print(
            f"| {backend} | {tables:,} | {alembic:.2f} s | {migdoctor:.2f} s | {ratio:.2f}x "
            f"| <= {GOAL}x | {'yes' if ratio <= GOAL else 'NO'} | {1000 * migdoctor / tables:.2f} |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, action="append", help="default: 500 and 1000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--backend", action="append", choices=BACKENDS)
    arguments = parser.parse_args(argv)
    compile_migdoctor()
    with tempfile.TemporaryDirectory(prefix="migdoctor-schema-") as folder:
        rows = time_big_schemas(
            Path(folder),
            arguments.tables or (500, 1000),
            arguments.repeat,
            arguments.backend or BACKENDS,
        )
    print_big_schema(rows)


if __name__ == "__main__":
    main()
