"""Write synthetic alembic projects of any size, to time migdoctor against alembic.

A history is a trunk of revisions with "diamond" merges along it (a branch point, two revisions
side by side, a merge revision joining them) and, optionally, extra heads (a revision branching
off the trunk that is never merged). Each revision creates one table. The project is a real one:
``alembic.ini``, alembic's generic ``env.py`` and ``script.py.mako``, revision files as
``alembic revision`` writes them, and a SQLite database already at the head (created directly
with ``sqlite3``, as ``alembic upgrade heads`` would leave it: running 10,000 migrations through
alembic would take longer than the benchmark itself).

``python -m benchmarks.generate DIR --revisions 10000 --merges 500`` writes one.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CREATE_DATE = "2024-01-01 00:00:00.000000"
CREATED_NS = 1_704_067_200 * 1_000_000_000  # CREATE_DATE, in nanoseconds since the epoch


@dataclass(frozen=True)
class RevisionSpec:
    """One revision file to write: its header, and the table its upgrade() creates."""

    revision: str
    down_revisions: tuple[str, ...]
    message: str
    table: str | None = None
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()


def revision_ids(count: int, seed: int = 0) -> list[str]:
    """Distinct 12-hex-digit ids, random like alembic's, so that file order (sorted by name,
    as alembic reads them) has nothing to do with history order."""
    rng = random.Random(seed)
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        candidate = f"{rng.getrandbits(48):012x}"
        if candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def diamond_history(
    revisions: int, merges: int = 0, extra_heads: int = 0, seed: int = 0
) -> list[RevisionSpec]:
    """A trunk of ``revisions`` revisions with ``merges`` diamonds spread evenly along it
    (each diamond is two side revisions and their merge: three revisions) and ``extra_heads``
    revisions that branch off the trunk and are never merged."""
    linear = revisions - 3 * merges - extra_heads
    if linear < 1:
        raise ValueError(
            f"{revisions} revisions cannot hold {merges} merges and {extra_heads} extra heads"
        )
    ids = iter(revision_ids(revisions, seed))
    # where the diamonds and the extra heads go: after which linear step
    events: dict[int, list[str]] = {}
    for index in range(merges):
        events.setdefault((index + 1) * linear // (merges + 1), []).append("diamond")
    for index in range(extra_heads):
        events.setdefault((2 * index + 1) * linear // (2 * extra_heads), []).append("head")

    specs: list[RevisionSpec] = []

    def add(down: tuple[str, ...], message: str = "") -> str:
        number = len(specs) + 1
        table = f"t{number:05d}"
        revision = next(ids)
        specs.append(RevisionSpec(revision, down, message or f"create table {table}", table))
        return revision

    tip: tuple[str, ...] = ()
    for step in range(linear):
        tip = (add(tip),)
        for event in events.get(step, ()):
            if event == "diamond":
                left = add(tip)
                right = add(tip)
                tip = (add((left, right)),)
            else:
                add(tip)
    return specs


def revision_source(spec: RevisionSpec) -> str:
    """The revision file as ``alembic revision`` writes it from the generic template."""
    down: object
    if not spec.down_revisions:
        down = None
    elif len(spec.down_revisions) == 1:
        down = spec.down_revisions[0]
    else:
        down = spec.down_revisions
    labels = spec.branch_labels or None
    depends = spec.depends_on or None
    if spec.table:
        upgrade = (
            f"    op.create_table({spec.table!r},\n"
            "    sa.Column('id', sa.Integer(), nullable=False),\n"
            "    sa.Column('name', sa.String(length=50), nullable=True),\n"
            "    sa.PrimaryKeyConstraint('id')\n"
            "    )"
        )
        downgrade = f"    op.drop_table({spec.table!r})"
    else:
        upgrade = downgrade = "    pass"
    return (
        f'"""{spec.message}\n\n'
        f"Revision ID: {spec.revision}\n"
        f"Revises: {', '.join(spec.down_revisions)}\n"
        f"Create Date: {CREATE_DATE}\n\n"
        '"""\n'
        "from typing import Sequence, Union\n\n"
        "from alembic import op\n"
        "import sqlalchemy as sa\n\n\n"
        "# revision identifiers, used by Alembic.\n"
        f"revision: str = {spec.revision!r}\n"
        f"down_revision: Union[str, Sequence[str], None] = {down!r}\n"
        f"branch_labels: Union[str, Sequence[str], None] = {labels!r}\n"
        f"depends_on: Union[str, Sequence[str], None] = {depends!r}\n\n\n"
        "def upgrade() -> None:\n"
        '    """Upgrade schema."""\n'
        f"{upgrade}\n\n\n"
        "def downgrade() -> None:\n"
        '    """Downgrade schema."""\n'
        f"{downgrade}\n"
    )


def file_name(spec: RevisionSpec) -> str:
    slug = "_".join(spec.message.lower().split())[:40]
    return f"{spec.revision}_{slug}.py"


ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/app.db

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
datefmt = %H:%M:%S
"""

ENV_PY = '''\
from logging.config import fileConfig

from sqlalchemy import engine_from_config
from sqlalchemy import pool

from alembic import context

config = context.config

if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = None


def run_migrations_offline() -> None:
    """Run migrations in 'offline' mode."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations in 'online' mode."""
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )

    with connectable.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata
        )

        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    """Upgrade schema."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Downgrade schema."""
    ${downgrades if downgrades else "pass"}
'''


def write_project(root: Path, specs: Sequence[RevisionSpec], database: bool = True) -> Path:
    """Write the project under ``root`` (created) and return its alembic.ini. With
    ``database``, ``app.db`` holds every table and the heads in ``alembic_version``."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    ini = root / "alembic.ini"
    ini.write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "script.py.mako").write_text(SCRIPT_MAKO)
    for spec in specs:
        path = versions / file_name(spec)
        path.write_text(revision_source(spec))
        # written long ago, as in a real project (a file changed in the last seconds is not
        # put in migdoctor's parse cache)
        os.utime(path, ns=(CREATED_NS, CREATED_NS))
    if database:
        write_database_at_heads(root / "app.db", specs)
    return ini


def write_database_at_heads(path: Path, specs: Sequence[RevisionSpec]) -> None:
    """The SQLite database ``alembic upgrade heads`` would leave: every table, the version
    table holding each revision nothing else builds on."""
    if any(spec.depends_on for spec in specs):
        raise ValueError("only histories without depends_on get a database at heads")
    below = {down for spec in specs for down in spec.down_revisions}
    heads = [spec.revision for spec in specs if spec.revision not in below]
    path.unlink(missing_ok=True)
    connection = sqlite3.connect(path)
    with connection:
        connection.execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        for spec in specs:
            if spec.table:
                connection.execute(
                    f"CREATE TABLE {spec.table} (id INTEGER NOT NULL, name VARCHAR(50), "
                    "PRIMARY KEY (id))"
                )
        connection.executemany(
            "INSERT INTO alembic_version (version_num) VALUES (?)", [(h,) for h in heads]
        )
    connection.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--merges", type=int, default=50)
    parser.add_argument("--extra-heads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-database", action="store_true")
    arguments = parser.parse_args(argv)
    specs = diamond_history(
        arguments.revisions, arguments.merges, arguments.extra_heads, arguments.seed
    )
    ini = write_project(arguments.directory, specs, database=not arguments.no_database)
    print(f"wrote {len(specs)} revisions: {ini}")


if __name__ == "__main__":
    main()
