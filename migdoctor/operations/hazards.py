"""What each pending operation will lock, scan, rewrite or break on this database: the one
source for the blast-radius checks (MD401-MD408, MD410, MD411), ``migdoctor plan`` and the
preflights of upgrade and downgrade (a downgrade's steps by ``DOWNGRADE_RULES`` only).

A hazard is a pure conclusion from a pending step (``operations/pending_steps.py``) and the
measures taken of the live data. ``fails`` marks those the database will certainly refuse.
A ``# migdoctor: ignore[CODE]`` comment on the operation's line silences its hazard, and
``ignore`` in ``[tool.migdoctor]`` every hazard of a check.
"""

from __future__ import annotations

from collections.abc import Sequence

from migdoctor.facts.model import Facts
from migdoctor.facts.operations import Operation
from migdoctor.facts.server_version import MARIADB, MYSQL, ServerVersion
from migdoctor.findings import Severity
from migdoctor.operations.hazard_model import Hazard, Rule, is_small, lock_words, on_table
from migdoctor.operations.locks import innodb_column_algorithm
from migdoctor.operations.pending_steps import PendingStep, dialect_of, pending_steps, server_of
from migdoctor.operations.rewrites import (
    POSTGRESQL_SINCE,
    Rewrite,
    add_column_rewrite,
    drop_column_rewrite,
    innodb_rewrite,
    set_not_null_scans,
    type_change_rewrite,
)

# the checks whose errors say the database will refuse the operation (the upgrade preflight)
FAILING_HAZARD_SLUGS = (
    "type-change-without-cast",
    "concurrent-index-in-transaction",
    "required-column-without-default",
    "set-not-null",
    "unique-on-duplicates",
    "index-needed-by-foreign-key",
)


def blocking_index(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    if dialect != "postgresql" or operation.kind not in ("create_index", "drop_index"):
        return None
    if operation.concurrently or not step.existing:
        return None
    if is_small(step, facts):
        return None
    verb = "builds" if operation.kind == "create_index" else "drops"
    return Hazard(
        "MD401",
        "blocking-index",
        Severity.WARNING,
        step,
        f"{operation.describe()} blocks {step.lock.blocks if step.lock else 'writes'}",
        f"Revision {step.revision} {verb} index {operation.name} on {on_table(step)} without "
        f"CONCURRENTLY.{lock_words(step)}",
        "with op.get_context().autocommit_block():\n"
        f"    op.{operation.kind}({operation.name!r}, {operation.table!r}"
        + (f", {list(operation.columns)!r}" if operation.kind == "create_index" else "")
        + ", postgresql_concurrently=True)",
    )


def concurrent_index_in_transaction(
    step: PendingStep, dialect: str | None, facts: Facts
) -> Hazard | None:
    operation = step.operation
    if not operation.concurrently or operation.autocommit:
        return None
    if dialect not in ("postgresql", None):
        return None  # postgresql_concurrently means nothing elsewhere
    return Hazard(
        "MD402",
        "concurrent-index-in-transaction",
        Severity.ERROR,
        step,
        f"{operation.describe()} runs CONCURRENTLY inside the migration's transaction",
        f"Revision {step.revision} asks for {operation.describe()} with "
        "postgresql_concurrently=True outside op.get_context().autocommit_block(): PostgreSQL "
        f'refuses it ("{operation.kind.split("_")[0].upper()} INDEX CONCURRENTLY cannot run '
        'inside a transaction block").',
        "with op.get_context().autocommit_block():\n"
        f"    op.{operation.kind}(..., postgresql_concurrently=True)",
        fails=True,
    )


def required_column_without_default(
    step: PendingStep, dialect: str | None, facts: Facts
) -> Hazard | None:
    operation = step.operation
    if operation.kind != "add_column" or operation.nullable is not False:
        return None
    if operation.server_default or not step.existing:
        return None
    column = f"{operation.qualified_table}.{operation.columns[0]}"
    has_rows = step.size.has_rows if step.size is not None else None
    mysql = dialect in ("mysql", "mariadb")
    # SQLite refuses ADD COLUMN ... NOT NULL without a default even on an empty table
    fails = (bool(has_rows) and not mysql) or dialect == "sqlite"
    if dialect == "sqlite":
        outcome = 'SQLite refuses it ("Cannot add a NOT NULL column with default value NULL").'
    elif has_rows and mysql:
        outcome = (
            "MySQL/MariaDB in strict mode refuse it for some types (dates); otherwise every "
            "existing row silently gets the type's implicit default (0, '')."
        )
    elif has_rows:
        outcome = "the database refuses it: the existing rows would hold NULL in it."
    elif has_rows is False:
        outcome = "the table is empty today, so it passes here, but fails wherever it has rows."
    else:
        outcome = "it fails on any database where the table has rows."
    return Hazard(
        "MD403",
        "required-column-without-default",
        Severity.ERROR if fails else Severity.WARNING,
        step,
        f"New NOT NULL column {column} has no server default",
        f"Revision {step.revision} adds {column} NOT NULL without a server_default to "
        f"{on_table(step)}: {outcome}",
        f"op.add_column({operation.table!r}, sa.Column({operation.columns[0]!r}, ..., "
        "nullable=True))\n# backfill it, then:\n"
        f"op.alter_column({operation.table!r}, {operation.columns[0]!r}, nullable=False)\n"
        "# or give it a server_default=...",
        fails=fails,
    )


def set_not_null(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    if operation.kind != "alter_column" or operation.nullable is not False or not step.existing:
        return None
    if step.column_nullable is False:
        return None  # already NOT NULL: nothing to check
    column = operation.columns[0]
    measures = facts.database.table_measures if facts.database is not None else None
    nulls = (
        measures.nulls_in(operation.table or "", _schema(step, facts), column) if measures else None
    )
    where = f"{operation.qualified_table}.{column}"
    if nulls is not None and nulls.nulls:
        return Hazard(
            "MD404",
            "set-not-null",
            Severity.ERROR,
            step,
            f"{where} becomes NOT NULL but {nulls.nulls:,} rows hold NULL",
            f"Revision {step.revision} sets {where} NOT NULL on {on_table(step)}, but "
            f"{nulls.nulls:,} row{'s' if nulls.nulls != 1 else ''} hold NULL in it: the "
            "database refuses it.",
            f'op.execute("UPDATE {operation.table} SET {column} = ... WHERE {column} IS NULL")'
            f"\nop.alter_column({operation.table!r}, {column!r}, nullable=False)",
            fails=True,
            evidence={"nulls": nulls.nulls},
        )
    server = server_of(facts)
    if dialect != "postgresql" or server is None or is_small(step, facts):
        return None
    if step.proven_not_null is not None and not set_not_null_scans(server, proven_by_check=True):
        return None  # the valid CHECK proves it: no scan
    if set_not_null_scans(server, proven_by_check=True):
        recipe = (
            f"# {server.verdict_for} scans the table for SET NOT NULL whatever proves it (a CHECK "
            "constraint spares the scan from PostgreSQL 12): run it when the table is quiet, "
            "with --lock-timeout, or keep the column nullable and enforce it with\n"
            f"op.create_check_constraint('{column}_not_null', {operation.table!r}, "
            f"'{column} IS NOT NULL', postgresql_not_valid=True)\n"
            f"op.execute('ALTER TABLE {operation.table} VALIDATE CONSTRAINT {column}_not_null')"
        )
    else:
        recipe = (
            f"op.create_check_constraint('{column}_not_null', {operation.table!r}, "
            f"'{column} IS NOT NULL', postgresql_not_valid=True)\n"
            f"op.execute('ALTER TABLE {operation.table} VALIDATE CONSTRAINT {column}_not_null')\n"
            f"op.alter_column({operation.table!r}, {column!r}, nullable=False)  "
            "# the valid CHECK spares the scan (PostgreSQL "
            f"{'.'.join(map(str, POSTGRESQL_SINCE['set_not_null_by_check']))}+)"
        )
    return Hazard(
        "MD404",
        "set-not-null",
        Severity.WARNING,
        step,
        f"{where} becomes NOT NULL: a full scan under ACCESS EXCLUSIVE",
        f"Revision {step.revision} sets {where} NOT NULL on {on_table(step)}: PostgreSQL scans "
        f"every row to prove it.{lock_words(step)}"
        + (f" NULLs {nulls.note}." if nulls is not None and nulls.note else ""),
        recipe,
        evidence={
            "nulls": nulls.nulls if nulls is not None else None,
            "server_version": server.verdict_for,
        },
    )


def table_rewrite(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    server = server_of(facts)
    if not step.existing or server is None or is_small(step, facts):
        return None
    found = _rewrite(step, server)
    if found is None:
        return None
    rewrite, why = found
    if rewrite.copies:
        blocks = step.lock.blocks if step.lock is not None else "writes"
        cost = f"blocking {blocks} until it is done, and needs room for a second copy"
    else:
        cost = "and needs room for a second copy"
    return Hazard(
        "MD405",
        "table-rewrite",
        Severity.WARNING,
        step,
        f"{operation.describe()} rewrites the whole table",
        f"Revision {step.revision} {why} on {on_table(step)}: {rewrite.how}, {cost} "
        f"(the verdict for {server.verdict_for}).",
        "add a new column of the new type, backfill it in batches, switch the application "
        "to it, then drop the old one",
        evidence={"server_version": server.verdict_for, "rewrite": rewrite.how},
    )


def _rewrite(step: PendingStep, server: ServerVersion) -> tuple[Rewrite, str] | None:
    """What of ``step`` writes every row on ``server``, and in words why."""
    operation = step.operation
    column = operation.columns[0] if operation.columns else ""
    if operation.kind == "add_column":
        found = add_column_rewrite(server, operation.default_sql)
        default = f" with the default {operation.default_sql}" if operation.default_sql else ""
        return (found, f"adds {column}{default}") if found else None
    if operation.kind == "drop_column":
        found = drop_column_rewrite(server)
        return (found, f"drops {column}") if found else None
    if operation.kind != "alter_column":
        return None
    typed = operation.new_type and step.column_type
    if server.product in (MYSQL, MARIADB):
        if operation.new_type and not step.column_type:
            return None  # the type it has now is not known (offline): no verdict
        found = innodb_rewrite(
            server, innodb_column_algorithm(server, operation, step.column_type) or ""
        )
        if found is None:
            return None
    else:
        if not typed:
            return None
        found = type_change_rewrite(server, step.column_type or "", operation.new_type or "")
        if found is None:
            return None
    changes = []
    if typed:
        changes.append(
            f"changes the type of {column} from {step.column_type} to {operation.new_type}"
        )
    if operation.nullable is not None:
        changes.append(f"makes {column} {'NOT NULL' if operation.nullable is False else 'NULL'}")
    if operation.name:
        changes.append(f"renames {column} to {operation.name}")
    return found, " and ".join(changes) or f"alters {column}"


def type_change_without_cast(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    if operation.kind != "alter_column" or operation.using or not step.existing:
        return None
    measures = facts.database.table_measures if facts.database is not None else None
    if dialect != "postgresql" or measures is None:
        return None
    column = operation.columns[0]
    cast = measures.cast_in(operation.table or "", _schema(step, facts), column)
    if cast is None or cast.automatic is not False:
        return None
    where = f"{operation.qualified_table}.{column}"
    return Hazard(
        "MD410",
        "type-change-without-cast",
        Severity.ERROR,
        step,
        f"{where} cannot be converted from {cast.from_type} to {cast.to_type} automatically",
        f"Revision {step.revision} changes the type of {where} from {cast.from_type} to "
        f"{cast.to_type} without postgresql_using: PostgreSQL has no automatic (assignment) "
        f'cast between them and refuses it ("column {column} cannot be cast automatically to '
        f'type {cast.to_type}").',
        f"op.alter_column({operation.table!r}, {column!r}, type_=..., "
        f'postgresql_using="{column}::{cast.to_type}")  # or an expression that converts it',
        fails=True,
        evidence={"from_type": cast.from_type, "to_type": cast.to_type},
    )


def unique_on_duplicates(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    if not operation.unique or not step.existing or facts.database is None:
        return None
    measures = facts.database.table_measures
    if measures is None:
        return None
    found = measures.duplicates_in(operation.table or "", _schema(step, facts), operation.columns)
    if found is None or not found.groups:
        return None
    columns = ", ".join(operation.columns)
    shown = "; ".join(", ".join(example) for example in found.examples)
    return Hazard(
        "MD407",
        "unique-on-duplicates",
        Severity.ERROR,
        step,
        f"Unique {operation.name or 'constraint'} over {operation.qualified_table} ({columns}) "
        "meets duplicates",
        f"Revision {step.revision} makes ({columns}) unique on {on_table(step)}, but "
        f"{found.groups:,} value{'s are' if found.groups != 1 else ' is'} held by more than "
        f"one row ({found.rows:,} rows in all), e.g. {shown}: the database refuses it.",
        "# remove or merge the duplicates first (op.execute(...)), then create the index",
        fails=True,
        evidence={
            "duplicate_values": found.groups,
            "duplicate_rows": found.rows,
            "examples": [list(example) for example in found.examples],
        },
    )


def destructive_operation(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    if not step.existing or step.new_column:
        return None  # nothing running uses what the upgrade itself just made
    if operation.kind in ("drop_table", "drop_column"):
        has_rows = step.size.has_rows if step.size is not None else None
        if not has_rows:
            return None  # empty, or not known (offline): a planned contract step is no finding
        what = (
            f"table {operation.qualified_table}"
            if operation.kind == "drop_table"
            else f"column {operation.qualified_table}.{operation.columns[0]}"
        )
        return Hazard(
            "MD408",
            "destructive-operation",
            Severity.WARNING,
            step,
            f"Revision {step.revision} drops {what}",
            f"Revision {step.revision} drops {what} from {on_table(step)}: its data is gone for "
            "good, and the application version still running during the deploy may still "
            "read it.",
            "stop using it in a release first, back it up, then drop it in a later revision",
        )
    renamed = operation.kind == "rename_table" or (
        operation.kind == "alter_column" and operation.name is not None
    )
    if not renamed:
        return None
    return Hazard(
        "MD408",
        "destructive-operation",
        Severity.WARNING,
        step,
        f"Revision {step.revision}: {operation.describe()}",
        f"Revision {step.revision} will {operation.describe()}: the application version "
        "still running during the deploy uses the old name and fails until it is replaced.",
        "add the new one, write to both, move the readers, then drop the old one "
        "(expand and contract)",
    )


def validating_constraint(step: PendingStep, dialect: str | None, facts: Facts) -> Hazard | None:
    operation = step.operation
    kinds = ("create_foreign_key", "create_check_constraint", "create_unique_constraint")
    if dialect != "postgresql" or operation.kind not in kinds or operation.not_valid:
        return None
    if not step.existing or is_small(step, facts):
        return None
    name = operation.name or "the constraint"
    if operation.kind == "create_unique_constraint":
        recipe = (
            "with op.get_context().autocommit_block():\n"
            f"    op.create_index({name!r}, {operation.table!r}, {list(operation.columns)!r}, "
            "unique=True, postgresql_concurrently=True)\n"
            f"op.execute('ALTER TABLE {operation.table} ADD CONSTRAINT {name} UNIQUE USING INDEX "
            f"{name}')"
        )
        scan = "builds its unique index, reading every row,"
    else:
        recipe = (
            f"op.{operation.kind}({name!r}, ..., postgresql_not_valid=True)\n"
            f"op.execute('ALTER TABLE {operation.table} VALIDATE CONSTRAINT {name}')  "
            "# SHARE UPDATE EXCLUSIVE: reads and writes go on"
        )
        scan = "checks every existing row"
    return Hazard(
        "MD406",
        "validating-constraint",
        Severity.WARNING,
        step,
        f"{operation.describe()} validates every row under a blocking lock",
        f"Revision {step.revision} adds {name} to {on_table(step)}: PostgreSQL {scan} while "
        f"holding the lock.{lock_words(step)}",
        recipe,
    )


def index_needed_by_foreign_key(
    step: PendingStep, dialect: str | None, facts: Facts
) -> Hazard | None:
    needed = step.indexes_needed
    if not needed:
        return None
    operation = step.operation
    index = needed[0]
    keys = list(dict.fromkeys(n.foreign_key for n in needed))
    named = "; ".join(key.describe() for key in keys)
    ends = " and ".join(
        dict.fromkeys("referenced" if n.referenced else "referencing" for n in needed)
    )
    whose = f"{step.revision}'s downgrade()" if step.in_downgrade else step.revision
    columns = ", ".join(index.columns)
    referencing = [n for n in needed if not n.referenced]
    first = referencing[0] if referencing else needed[0]
    table = first.table.rpartition(".")[2]
    key_columns = (
        first.foreign_key.referred_columns if first.referenced else first.foreign_key.columns
    )
    another = f"ix_{table}_{'_'.join(key_columns)}"
    if another.lower() == index.index.lower():
        another = f"ix_{first.foreign_key.name}"
    if operation.kind == "drop_column" and operation.columns:
        what = (
            f"drops column {index.table}.{operation.columns[0]}, which MySQL takes out of "
            f"index {index.index} ({columns})"
        )
        mysql_column = "; MySQL 8, for a column of the key, error 1828"
    else:
        what = f"drops index {index.index} on {index.table} ({columns})"
        mysql_column = ""
    drops = "\n".join(
        f"op.drop_constraint({key.name!r}, {key.table!r}, type_='foreignkey')" for key in keys
    )
    return Hazard(
        "MD411",
        "index-needed-by-foreign-key",
        Severity.ERROR,
        step,
        f"Index {index.index} on {index.table} is the last one foreign key "
        f"{', '.join(key.name for key in keys)} can use",
        f"Revision {whose} {what}, but foreign key{'s' if len(keys) != 1 else ''} {named} "
        f"need{'s' if len(keys) == 1 else ''} an index whose first columns are its own on that "
        f"table (the {ends} table) and no other index there has them: MySQL/MariaDB refuse it "
        f"(error 1553, \"Cannot drop index '{index.index}': needed in a foreign key "
        f'constraint"{mysql_column}), and the run stops at this step, keeping what ran before '
        "it.",
        f"# either drop the foreign key first, in the same migration (and create it again "
        f"after, if it stays):\n{drops}\nop.{operation.kind}(...)\n"
        "# or first create another index the foreign key can use:\n"
        f"op.create_index({another!r}, {table!r}, {list(key_columns)!r})\n"
        f"op.{operation.kind}(...)",
        fails=True,
        evidence={
            "index": index.index,
            "index_table": index.table,
            "index_columns": list(index.columns),
            "foreign_keys": [key.name for key in keys],
            "downgrade": step.in_downgrade,
        },
    )


def _schema(step: PendingStep, facts: Facts) -> str | None:
    database = facts.database
    live = database.table(step.operation.table or "", step.operation.schema) if database else None
    return live.schema if live is not None else step.operation.schema


RULES: tuple[Rule, ...] = (
    blocking_index,
    concurrent_index_in_transaction,
    required_column_without_default,
    set_not_null,
    table_rewrite,
    unique_on_duplicates,
    type_change_without_cast,
    validating_constraint,
    destructive_operation,
    index_needed_by_foreign_key,
)
# the rules a downgrade's steps are judged by: those that need no measure of the tables
DOWNGRADE_RULES: tuple[Rule, ...] = (index_needed_by_foreign_key,)


def step_hazards(
    step: PendingStep, dialect: str | None, facts: Facts, rules: tuple[Rule, ...] = RULES
) -> list[Hazard]:
    """The hazards of one step, those its line's ignore comment silences left out."""
    settings = facts.project.config.settings
    found = (rule(step, dialect, facts) for rule in rules)
    return [
        h
        for h in found
        if h is not None
        and h.code not in step.operation.ignored
        and not settings.ignores(h.code, h.slug)
    ]


def hazards(facts: Facts, code: str | None = None) -> list[Hazard]:
    """Every hazard of the pending operations (only ``code``'s when given); worked out once per
    facts: nine checks ask, each for its own code."""
    return [h for h in facts.derived(_every_hazard) if code is None or h.code == code]


def _every_hazard(facts: Facts) -> list[Hazard]:
    dialect = dialect_of(facts)
    return [h for step in pending_steps(facts) for h in step_hazards(step, dialect, facts)]


def downgrade_hazards(
    facts: Facts, runs: Sequence[tuple[str, Sequence[Operation]]]
) -> list[Hazard]:
    """The hazards of a downgrade's steps: ``runs`` are its revisions, each with the
    operations of its ``downgrade()``, in the order the downgrade runs them."""
    dialect = dialect_of(facts)
    return [
        h
        for step in pending_steps(facts, runs)
        for h in step_hazards(step, dialect, facts, DOWNGRADE_RULES)
    ]
