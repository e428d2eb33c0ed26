"""A revision whose ``upgrade()`` creates a database's schema as it is and whose ``downgrade()``
drops it, written by alembic itself: what ``fix baseline`` and ``migdoctor squash`` write.

The operations are alembic's autogenerate comparison of the live schema with an empty
``MetaData`` (with env.py's ``include_object``/``include_name``/``include_schemas``): that
comparison drops every table with its indexes, and its reverse creates them. The tables are put
in the order their foreign keys need (created after the tables they refer to). The text is
alembic's own rendering through the project's ``script.py.mako`` and ``file_template`` (and its
post-write hooks), written into a temporary version folder so that it can be shown before
anything is written to the project.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdoctor.errors import MigdoctorError
from migdoctor.facts.model import ProjectFacts

if TYPE_CHECKING:
    from alembic.operations import ops
    from alembic.runtime.migration import MigrationContext


@dataclass(frozen=True)
class RenderedRevision:
    """A revision file as alembic wrote it: its path relative to a version folder, its bytes
    and the tables its ``upgrade()`` creates (in that order)."""

    relative_path: str
    text: bytes
    tables: tuple[str, ...]


def render_schema_revision(
    project: ProjectFacts,
    context: MigrationContext,
    revision_id: str,
    message: str,
    leave_out: Iterable[str] = (),
) -> RenderedRevision:
    """The revision that creates the schema ``context``'s connection holds (``leave_out``:
    tables never part of it, the version table and migdoctor's ledger), with no parent."""
    from alembic.autogenerate import produce_migrations
    from alembic.operations import ops
    from sqlalchemy import MetaData

    left_out = {name.lower() for name in leave_out} | {context.version_table.lower()}
    dropping = produce_migrations(context, MetaData()).upgrade_ops
    assert dropping is not None
    by_table: dict[tuple[str | None, str], list[ops.MigrateOperation]] = {}
    for operation in dropping.ops:
        key = (getattr(operation, "schema", None), str(getattr(operation, "table_name", "")))
        if key[1].lower() in left_out:
            continue
        by_table.setdefault(key, []).append(operation)
    if context.dialect.name in ("mysql", "mariadb"):
        _leave_generated_names_to_mysql(by_table)
    order = _creation_order(by_table)
    # dependent tables dropped first; the reverse creates each after what it refers to
    drops = [operation for key in reversed(order) for operation in by_table[key]]
    downgrade = ops.DowngradeOps(ops=drops)
    upgrade = ops.UpgradeOps(ops=list(ops.UpgradeOps(ops=drops).reverse().ops))
    tables = tuple(f"{schema}.{name}" if schema else name for schema, name in order)
    relative, text = _write_with_alembic(project, context, revision_id, message, upgrade, downgrade)
    return RenderedRevision(relative, text, tables)


def _leave_generated_names_to_mysql(
    by_table: dict[tuple[str | None, str], list[ops.MigrateOperation]],
) -> None:
    """MySQL names an unnamed foreign key ``<table>_ibfk_<n>`` and the index it makes for it
    after the column; given the name, it names that index after the key instead. Rendering
    such a name unnamed lets a new database get both names the original has."""
    import re

    from alembic.operations import ops
    from sqlalchemy import ForeignKeyConstraint

    for (_, table), operations in by_table.items():
        generated = re.compile(rf"^{re.escape(table)}_ibfk_\d+$", re.IGNORECASE)
        for operation in operations:
            created = getattr(operation, "_reverse", None)
            if isinstance(operation, ops.DropTableOp) and created is not None:
                for item in created.columns:
                    if isinstance(item, ForeignKeyConstraint) and generated.match(
                        str(item.name or "")
                    ):
                        item.name = None


def _creation_order(
    by_table: dict[tuple[str | None, str], list[ops.MigrateOperation]],
) -> list[tuple[str | None, str]]:
    """Tables sorted by name, each after the tables its foreign keys refer to (a cycle is
    broken where it closes: the foreign key is then created with the later table anyway)."""
    from alembic.operations import ops

    refers: dict[tuple[str | None, str], set[str]] = {}
    for key, operations in by_table.items():
        refers[key] = set()
        for operation in operations:
            if isinstance(operation, ops.DropTableOp):
                for constraint in operation.to_table().foreign_key_constraints:
                    refers[key].add(constraint.elements[0].target_fullname.rsplit(".", 1)[0])
    order: list[tuple[str | None, str]] = []
    visiting: set[tuple[str | None, str]] = set()

    def visit(key: tuple[str | None, str]) -> None:
        if key in order or key in visiting:
            return
        visiting.add(key)
        for other in sorted(by_table, key=_sort_key):
            qualified = f"{other[0]}.{other[1]}" if other[0] else other[1]
            if other != key and qualified in refers[key]:
                visit(other)
        order.append(key)

    for key in sorted(by_table, key=_sort_key):
        visit(key)
    return order


def _sort_key(key: tuple[str | None, str]) -> tuple[str, str]:
    return (key[0] or "", key[1])


def _write_with_alembic(
    project: ProjectFacts,
    context: MigrationContext,
    revision_id: str,
    message: str,
    upgrade: ops.UpgradeOps,
    downgrade: ops.DowngradeOps,
) -> tuple[str, bytes]:
    """alembic's ``revision`` into a temporary version folder, with these operations: the
    project's template, file name and hooks, rendered as autogenerate renders."""
    from alembic.autogenerate import RevisionContext
    from alembic.script import ScriptDirectory

    config = project.config.alembic_config(command="revision")
    folder = Path(tempfile.mkdtemp(prefix="migdoctor-revision-"))
    try:
        script_directory = ScriptDirectory.from_config(config)
        # an empty version folder of its own: the revision has no parent, and nothing else
        script_directory.version_locations = [str(folder)]
        # alembic's "Generating <temporary path> ... done" would name the wrong place
        script_directory.messaging_opts = {"quiet": True}

        def with_operations(context: Any, revision: Any, directives: list[Any]) -> None:
            directives[0].upgrade_ops = upgrade
            directives[0].downgrade_ops = downgrade

        revision_context = RevisionContext(
            config,
            script_directory,
            {
                "message": message,
                "autogenerate": False,
                "sql": False,
                "head": "base",
                "splice": False,
                "branch_label": None,
                "version_path": str(folder),
                "rev_id": revision_id,
                "depends_on": None,
            },
            process_revision_directives=with_operations,
        )
        revision_context.run_no_autogenerate((), context)
        scripts = [script for script in revision_context.generate_scripts() if script]
        if len(scripts) != 1:
            raise MigdoctorError(
                "alembic did not write exactly one revision (env.py's "
                "process_revision_directives changed it)."
            )
        path = Path(scripts[0].path)
        return str(path.relative_to(folder)), path.read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def version_folder(project: ProjectFacts) -> Path:
    """Where a new revision goes: the (first) version location."""
    return project.config.version_locations[0]


def read_schema_revision(
    project: ProjectFacts, revision_id: str, message: str, leave_out: Iterable[str] = ()
) -> RenderedRevision:
    """The revision that creates the schema of the database env.py connects to (read only)."""
    from migdoctor.database.environment import run_environment

    rendered: list[RenderedRevision] = []

    def work(context: MigrationContext, script: Any) -> list[Any]:
        rendered.append(render_schema_revision(project, context, revision_id, message, leave_out))
        return []

    run_environment(project, work, read_only=True, action="Rendering the schema as a revision")
    return rendered[0]
