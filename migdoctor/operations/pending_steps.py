"""The pending operations, one step each, with what is known of the table each one touches:
whether it exists before the upgrade reaches it, its size, and the lock the operation takes.

Online these are the operations of the pending revisions, in the order ``upgrade heads`` runs
them. Offline nothing says what is pending: the head revisions (what was just written) are
read from their files, and nothing is known of sizes. The preflight of a downgrade gives the
operations of the ``downgrade()`` functions it runs instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from migdoctor.facts.model import CASE_INSENSITIVE_TABLE_NAMES, Facts
from migdoctor.facts.operations import Operation
from migdoctor.facts.server_version import ServerVersion, server_from_url
from migdoctor.facts.table_measures import TableSize
from migdoctor.operations.foreign_key_indexes import ForeignKeyIndexes, IndexNeeded
from migdoctor.operations.locks import LockEffect, lock_effect


@dataclass(frozen=True)
class PendingStep:
    """One pending operation. ``existing``: the table is there before the operation runs
    (live online; offline, not created earlier in the revisions read), so its rows count."""

    revision: str
    operation: Operation
    existing: bool
    size: TableSize | None = None
    lock: LockEffect | None = None
    # the live column the operation names, and whether it accepts NULL now (alter_column)
    column_nullable: bool | None = None
    column_type: str | None = None  # its type now, as reflected
    # the column it names was added earlier in the upgrade: nothing running uses it yet
    new_column: bool = False
    # alter_column(nullable=False): the valid CHECK constraint that proves the column NOT NULL
    # when it runs (live, or made valid earlier in the upgrade), by name
    proven_not_null: str | None = None
    # MySQL/MariaDB: the foreign keys this step leaves without any index they can use, each
    # with the index that served it (operations/foreign_key_indexes.py)
    indexes_needed: tuple[IndexNeeded, ...] = ()
    # a step of a revision's downgrade(), not of its upgrade()
    in_downgrade: bool = False


def examined_revisions(facts: Facts) -> tuple[str, ...]:
    """The revisions whose operations the blast-radius checks examine (see the module); those
    not recorded (a run that records nothing) are left out."""
    if facts.offline:
        return tuple(r for r in facts.project.heads if r in facts.operations)
    return tuple(r for r in facts.pending or () if r in facts.operations)


def dialect_of(facts: Facts) -> str | None:
    """The database's dialect: the live one, or offline the configured URL's (None when the
    URL is not given literally)."""
    if facts.database is not None:
        return facts.database.dialect
    url = facts.project.config.sqlalchemy_url or ""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    name = scheme.split("+", 1)[0].lower()
    return {"postgres": "postgresql", "mariadb": "mysql"}.get(name, name) or None


def server_of(facts: Facts) -> ServerVersion | None:
    """The server the verdicts on locks and rewrites are for: the live one, read with the
    connection; offline the configured URL's product, its newest version assumed (None when the
    URL is not given literally)."""
    if facts.database is not None:
        return facts.database.server_version
    return server_from_url(facts.project.config.sqlalchemy_url)


def pending_steps(
    facts: Facts, runs: Sequence[tuple[str, Sequence[Operation]]] | None = None
) -> list[PendingStep]:
    """The steps of the pending revisions (:func:`examined_revisions`), or of ``runs`` (each
    revision with its operations, in the order a run executes them: a downgrade's)."""
    in_downgrade = runs is not None
    if runs is None:
        runs = [(r, facts.operations[r].operations) for r in examined_revisions(facts)]
    dialect = dialect_of(facts) or ""
    server = server_of(facts)
    fold = dialect in CASE_INSENSITIVE_TABLE_NAMES

    def key(schema: str | None, table: str) -> tuple[str | None, str]:
        if facts.database is not None:
            schema = facts.database.normalize_schema(schema)
        return schema, table.lower() if fold else table

    created: set[tuple[str | None, str]] = set()
    added: set[tuple[str | None, str, str]] = set()
    checks = PendingChecks()
    steps = []
    database = facts.database
    measures = database.table_measures if database is not None else None
    keys = (
        ForeignKeyIndexes(database, database.foreign_keys)
        if database is not None and database.foreign_keys is not None
        else None
    )
    for revision, operations in runs:
        for operation in operations:
            table = operation.table
            indexes_needed = keys.follow(operation) if keys is not None else ()
            if table is None:
                if operation.kind == "execute":
                    checks.validate(operation.detail)
                steps.append(
                    PendingStep(revision, operation, existing=False, in_downgrade=in_downgrade)
                )
                continue
            live = database.table(table, operation.schema) if database is not None else None
            named = operation.columns[0] if operation.columns else ""
            column_key = (*key(operation.schema, table), _folded(named, fold))
            new = key(operation.schema, table) in created
            existing = not new and (database is None or live is not None)
            size = None
            column_nullable = None
            column_type = None
            if live is not None and not new:
                if measures is not None:
                    size = measures.size(live.name, live.schema)
                if operation.columns:
                    wanted = operation.columns[0]
                    column = next(
                        (
                            column
                            for column in live.columns
                            if column.name == wanted
                            or (fold and column.name.lower() == wanted.lower())
                        ),
                        None,
                    )
                    if column is not None:
                        column_nullable, column_type = column.nullable, column.type
            proven_not_null = None
            if operation.kind == "alter_column" and operation.nullable is False and named:
                live_nulls = (
                    measures.nulls_in(live.name, live.schema, named)
                    if measures is not None and live is not None and not new
                    else None
                )
                proven_not_null = checks.proof(
                    key(operation.schema, table),
                    named,
                    live_nulls.proven_by if live_nulls is not None else None,
                )
            checks.follow(key(operation.schema, table), operation)
            steps.append(
                PendingStep(
                    revision,
                    operation,
                    existing,
                    size,
                    lock_effect(server, operation, column_type)
                    if existing and server is not None
                    else None,
                    column_nullable,
                    column_type,
                    column_key in added,
                    proven_not_null,
                    indexes_needed,
                    in_downgrade,
                )
            )
            if operation.kind == "add_column" and operation.columns:
                added.add(column_key)
            elif operation.kind == "alter_column" and operation.name and column_key in added:
                added.add((*key(operation.schema, table), _folded(operation.name, fold)))
            if operation.kind == "create_table":
                created.add(key(operation.schema, table))
    return steps


class PendingChecks:
    """The CHECK constraints the pending operations make, drop and validate, table by table, in
    the order they run: which of them stand valid at a given step."""

    def __init__(self) -> None:
        # (schema, table) -> constraint name -> (condition, valid)
        self.made: dict[tuple[str | None, str], dict[str, tuple[str, bool]]] = {}
        # (schema, table) -> names dropped (a live constraint of that name is gone)
        self.dropped: dict[tuple[str | None, str], set[str]] = {}

    def follow(self, table: tuple[str | None, str], operation: Operation) -> None:
        if operation.kind == "create_check_constraint" and operation.name:
            made = self.made.setdefault(table, {})
            made[operation.name] = (operation.condition or "", not operation.not_valid)
        elif operation.kind == "drop_constraint" and operation.name:
            self.made.get(table, {}).pop(operation.name, None)
            self.dropped.setdefault(table, set()).add(operation.name)

    def validate(self, statement: str) -> None:
        """An ``op.execute("ALTER TABLE t VALIDATE CONSTRAINT c")``: c is valid from then on."""
        found = _VALIDATE.match(statement)
        if found is None:
            return
        name = found.group(2).strip('"')
        for made in self.made.values():
            if name in made:
                made[name] = (made[name][0], True)

    def proof(
        self, table: tuple[str | None, str], column: str, live_proof: str | None
    ) -> str | None:
        """The valid CHECK that proves ``column`` NOT NULL at this step: one the upgrade made
        (and validated) before it, else ``live_proof`` unless the upgrade dropped it."""
        from migdoctor.operations.not_null_proof import proves

        for name, (condition, valid) in self.made.get(table, {}).items():
            if valid and proves(condition, column):
                return name
        if live_proof is not None and live_proof not in self.dropped.get(table, set()):
            return live_proof
        return None


_VALIDATE = re.compile(
    r'^\s*ALTER\s+TABLE\s+(?:ONLY\s+)?([\w."]+)\s+VALIDATE\s+CONSTRAINT\s+("[^"]+"|\w+)\s*;?\s*$',
    re.I,
)


def _folded(name: str, fold: bool) -> str:
    return name.lower() if fold else name
