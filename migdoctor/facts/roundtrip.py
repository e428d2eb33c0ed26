"""What a round trip proved: the schema snapshots taken around each revision and, per revision,
whether its upgrade ran, whether its downgrade ran, and what the downgrade left behind or took
away (see :mod:`migdoctor.commands.roundtrip`).

Plain frozen data and the one pure comparison of two snapshots; nothing here touches a
database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from migdoctor.errors import EXIT_FAILED, EXIT_OK

TABLE = "table"
COLUMN = "column"
INDEX = "index"
UNIQUE = "unique constraint"
FOREIGN_KEY = "foreign key"
PRIMARY_KEY = "primary key"
CHECK = "check constraint"
# objects of the schema itself, outside any table (PostgreSQL)
ENUM = "enum type"
SEQUENCE = "sequence"

LEFT_BEHIND = "left behind"
REMOVED = "removed"
CHANGED = "changed"


@dataclass(frozen=True)
class SchemaObject:
    """One thing of a schema: a table, a column, index or constraint of a table, or an enum
    type or a sequence (``table`` empty).
    ``name`` identifies it within its table (a constraint without a name: its columns);
    ``definition`` is what it is (a column's type and nullability, an index's columns)."""

    kind: str
    table: str
    name: str = ""
    definition: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.table, self.name)

    def describe(self) -> str:
        if self.kind == TABLE:
            return f"table {self.table}"
        if self.kind == COLUMN:
            return f"column {self.table}.{self.name} ({self.definition})"
        if self.kind in (ENUM, SEQUENCE):
            return f"{self.kind} {self.name}{f' {self.definition}' if self.definition else ''}"
        if self.kind == PRIMARY_KEY:
            return f"primary key of {self.table} {self.definition}"
        named = "" if self.name.startswith("(") else f" {self.name}"
        return f"{self.kind}{named} on {self.table} {self.definition}"


@dataclass(frozen=True)
class SchemaSnapshot:
    """The schema at one moment (the version table left out)."""

    objects: frozenset[SchemaObject] = frozenset()

    def by_key(self) -> dict[tuple[str, str, str], SchemaObject]:
        return {item.key: item for item in self.objects}

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(item.table for item in self.objects if item.kind == TABLE)


@dataclass(frozen=True)
class SchemaChange:
    """How the schema after a downgrade differs from the schema before the upgrade."""

    change: str  # LEFT_BEHIND, REMOVED or CHANGED
    kind: str
    table: str
    name: str
    description: str


def downgrade_changes(
    before_upgrade: SchemaSnapshot, after_downgrade: SchemaSnapshot
) -> tuple[SchemaChange, ...]:
    """What a downgrade left behind, removed or changed: ``after_downgrade`` should equal
    ``before_upgrade``. A table left behind (or removed) is named once, not with each of its
    columns, indexes and constraints."""
    before = before_upgrade.by_key()
    after = after_downgrade.by_key()
    left_tables = after_downgrade.tables - before_upgrade.tables
    removed_tables = before_upgrade.tables - after_downgrade.tables
    changes: list[SchemaChange] = []
    for key in sorted(set(after) - set(before)):
        item = after[key]
        if item.kind != TABLE and item.table in left_tables:
            continue
        changes.append(_change(LEFT_BEHIND, item, f"{item.describe()} is still there"))
    for key in sorted(set(before) - set(after)):
        item = before[key]
        if item.kind != TABLE and item.table in removed_tables:
            continue
        changes.append(
            _change(REMOVED, item, f"{item.describe()} is gone (it was there before the upgrade)")
        )
    for key in sorted(set(before) & set(after)):
        old, new = before[key], after[key]
        if old.definition != new.definition:
            what = (
                old.describe()
                .removesuffix(f" ({old.definition})")
                .removesuffix(f" {old.definition}")
            )
            changes.append(
                _change(
                    CHANGED,
                    old,
                    f"{what} was {old.definition} before the upgrade, {new.definition} after "
                    "the downgrade",
                )
            )
    return tuple(changes)


def _change(change: str, item: SchemaObject, description: str) -> SchemaChange:
    return SchemaChange(change, item.kind, item.table, item.name, description)


NOT_RUN = "not run"
PASSED = "passed"
FAILED = "failed"


@dataclass(frozen=True)
class RevisionRoundtrip:
    """One revision's part of the round trip."""

    revision: str
    doc: str = ""
    upgrade: str = NOT_RUN  # PASSED, FAILED or NOT_RUN
    upgrade_error: str = ""
    downgrade: str = NOT_RUN
    downgrade_error: str = ""
    # why the downgrade was not run (an earlier failure): said instead of a verdict
    not_run_because: str = ""
    changes: tuple[SchemaChange, ...] = ()
    # tables a failed upgrade() alters that were not there and that no revision before it
    # creates: the history does not build the database from empty
    tables_never_created: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.revision} ({self.doc})" if self.doc else self.revision

    @property
    def problem(self) -> bool:
        return FAILED in (self.upgrade, self.downgrade) or bool(self.changes)

    @property
    def verdict(self) -> str:
        """The outcome in a few words."""
        if self.upgrade == FAILED:
            return "upgrade failed"
        if self.downgrade == FAILED:
            return "downgrade failed"
        if self.changes:
            return "downgrade does not restore the schema"
        if self.downgrade == PASSED:
            return "upgrade and downgrade restore the schema"
        return "not checked"


@dataclass(frozen=True)
class RoundtripReport:
    """The whole round trip on one scratch database."""

    version: str
    config_file: str | None
    scratch: str  # the scratch database, as shown (a password masked)
    dialect: str
    revisions: tuple[RevisionRoundtrip, ...]
    final_upgrade_error: str = ""
    # the models compared with the schema at head: each difference in words
    drift: tuple[str, ...] = ()
    # empty when the comparison ran; else why it did not
    drift_not_compared: str = ""
    heads: tuple[str, ...] = field(default_factory=tuple)

    @property
    def problems(self) -> int:
        count = sum(1 for revision in self.revisions if revision.problem)
        return count + bool(self.final_upgrade_error) + bool(self.drift)

    @property
    def failed_on_sqlite(self) -> bool:
        """Whether a revision raised on the default scratch database, a SQLite file (a
        ``--scratch-url`` names a MySQL/MariaDB or PostgreSQL server): a project written for
        one of those may use what SQLite lacks (ALTER COLUMN, its own SQL)."""
        failed = any(
            FAILED in (r.upgrade, r.downgrade) and not r.tables_never_created
            for r in self.revisions
        )
        return self.dialect == "sqlite" and (failed or bool(self.final_upgrade_error))

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.problems else EXIT_OK
