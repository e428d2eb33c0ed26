"""A fix's plan: exactly what it will change, as data, shown before anything is changed.

A plan is one or more of: a change of the version table's rows (applied in one transaction),
file changes (each written to a temporary file and renamed into place), a run of migrations
(upgrade or downgrade), or a new merge revision. ``blockers`` are reasons the plan must not run
without ``--force``; ``refusal`` is a reason it cannot run at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from migdoctor.findings import Risk


@dataclass(frozen=True)
class FixRequest:
    """What the user asked for: the fix id and its options."""

    fix: str
    revision: str | None = None
    force: bool = False
    session: str | None = None


@dataclass(frozen=True)
class VersionTableChange:
    """The version table's rows before and after, and the SQL that makes the change."""

    table: str
    schema: str | None
    rows_before: tuple[str, ...]
    rows_after: tuple[str, ...]
    statements: tuple[str, ...]
    create_table: bool = False
    drop_table: bool = False

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def inverse(self) -> VersionTableChange:
        return VersionTableChange(
            table=self.table,
            schema=self.schema,
            rows_before=self.rows_after,
            rows_after=self.rows_before,
            statements=(),
            create_table=self.drop_table,
            drop_table=self.create_table,
        )


@dataclass(frozen=True)
class FileChange:
    """One file's bytes before and after (None: the file does not exist on that side)."""

    path: Path
    before: bytes | None
    after: bytes | None
    diff: str

    def inverse(self) -> FileChange:
        return FileChange(self.path, self.after, self.before, "")


@dataclass(frozen=True)
class MigrationRun:
    """Migrations to run: ``direction`` is upgrade or downgrade, ``destination`` alembic's
    target argument, ``steps`` each revision with what it does, in the order they run."""

    direction: str
    destination: str
    steps: tuple[tuple[str, str], ...]
    rows_before: tuple[str, ...] = ()


@dataclass(frozen=True)
class MergeRevision:
    """A merge revision over ``heads``, written by alembic's own ``merge``."""

    heads: tuple[str, ...]
    revision_id: str
    message: str


@dataclass(frozen=True)
class SessionEnd:
    """Another session to end with ``statement`` (KILL / pg_terminate_backend)."""

    session_id: str
    statement: str
    described_as: str


@dataclass(frozen=True)
class Plan:
    fix: str
    title: str
    risk: Risk
    version_table: VersionTableChange | None = None
    files: tuple[FileChange, ...] = ()
    migration: MigrationRun | None = None
    merge: MergeRevision | None = None
    end_session: SessionEnd | None = None
    warnings: tuple[str, ...] = ()
    blockers: tuple[str, ...] = ()
    refusal: str | None = None
    arguments: dict[str, str] = field(default_factory=dict)

    @property
    def changes_anything(self) -> bool:
        parts = (self.version_table, self.files, self.migration, self.merge, self.end_session)
        return any(parts)


def refused(fix: str, title: str, risk: Risk, reason: str) -> Plan:
    return Plan(fix=fix, title=title, risk=risk, refusal=reason)
