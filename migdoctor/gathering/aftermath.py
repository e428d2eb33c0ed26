"""What a run that stopped left behind, read back from the database.

After a revision failed, the user pressed Ctrl-C, the process got SIGTERM or the session holding
the migration lock was ended, a guess is not good enough: the version table and the schema are
read again, and each operation of the revision that was running is said to be in the schema or
not (the ``partial-migration`` evidence: ``operations.partial_application``). Where the database
rolled the revision back (PostgreSQL's transactional DDL), none is; on MySQL the statements
that ran stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migdoctor.errors import MigdoctorError, describe_exception
from migdoctor.facts.model import ProjectFacts
from migdoctor.facts.operations import RevisionOperations
from migdoctor.operations.effects import Visibility, revision_visibility
from migdoctor.operations.partial_application import partial_application


@dataclass(frozen=True)
class Aftermath:
    """The version table now, and which operations of ``revision`` the schema shows."""

    revision: str
    version_rows: tuple[str, ...] | None = None  # None: could not be read
    in_schema: tuple[str, ...] = ()
    not_in_schema: tuple[str, ...] = ()
    cannot_tell: tuple[str, ...] = ()  # raw SQL, data: the schema cannot show them
    unreadable: str | None = None  # why the database could not be read back

    @property
    def half_applied(self) -> bool:
        return bool(self.in_schema) and bool(self.not_in_schema or self.cannot_tell)

    def words(self) -> str:
        """One paragraph for the user and the journal."""
        if self.unreadable is not None:
            return f"The database could not be read back ({self.unreadable})."
        rows = ", ".join(self.version_rows or ()) or "no revision"
        text = f"Read back: the version table holds {rows}."
        if self.in_schema:
            text += f" Of revision {self.revision}, in the schema: {'; '.join(self.in_schema)}."
            if self.not_in_schema:
                text += f" Not in the schema: {'; '.join(self.not_in_schema)}."
        elif self.not_in_schema:
            text += f" None of revision {self.revision}'s operations is in the schema."
        if self.cannot_tell:
            text += f" The schema cannot show: {'; '.join(self.cannot_tell)}."
        return text

    def as_record(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "version_rows": None if self.version_rows is None else list(self.version_rows),
            "in_schema": list(self.in_schema),
            "not_in_schema": list(self.not_in_schema),
            "cannot_tell": list(self.cannot_tell),
            "unreadable": self.unreadable,
        }


def read_back(
    project: ProjectFacts, revision: str, recorded: RevisionOperations | None = None
) -> Aftermath:
    """Read the version table and the schema again and place ``revision``'s operations (given
    as ``recorded``, or recorded again from its file). Never raises: what cannot be read is
    said."""
    from migdoctor.database.capture import RECORD_ALL, RECORD_NONE, RECORD_PENDING, capture_database

    try:
        if recorded is not None:
            captured = capture_database(project, record=RECORD_NONE)
        else:
            captured = capture_database(project, record=RECORD_PENDING)
            recorded = captured.operations.get(revision)
            if recorded is None and revision in project.graph:
                # no longer pending (or a downgrade's): record the whole history
                captured = capture_database(project, record=RECORD_ALL)
                recorded = captured.operations.get(revision)
    except BaseException as error:  # noqa: BLE001 - a second Ctrl-C, a dead server: say so
        reason = error.message if isinstance(error, MigdoctorError) else describe_exception(error)
        return Aftermath(revision, unreadable=reason)
    database = captured.database
    if recorded is None:
        return Aftermath(revision, database.version_rows)
    partial = partial_application(recorded, database)
    if partial is not None:
        applied = partial.applied
        missing = partial.missing
        ambiguous = partial.ambiguous
    else:
        states = list(
            zip(
                recorded.operations,
                revision_visibility(recorded.operations, database),
                strict=True,
            )
        )
        return Aftermath(
            revision,
            database.version_rows,
            in_schema=tuple(op.describe() for op, v in states if v == Visibility.VISIBLE),
            not_in_schema=tuple(op.describe() for op, v in states if v == Visibility.MISSING),
            cannot_tell=tuple(op.describe() for op, v in states if v == Visibility.UNVERIFIABLE),
        )
    return Aftermath(
        revision,
        database.version_rows,
        in_schema=tuple(s.operation.describe() for s in applied),
        not_in_schema=tuple(s.operation.describe() for s in missing),
        cannot_tell=tuple(s.operation.describe() for s in ambiguous),
    )
