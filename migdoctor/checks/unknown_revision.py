"""unknown-revision: alembic_version names a revision that no script defines.

What it detects
---------------
A row of the version table holds a revision id that none of the project's revision files
declares. alembic fails on almost every command, even ``alembic current``, with
``FAILED: Can't locate revision identified by '77525ee61b5b'``.

Why it matters
--------------
alembic cannot tell where the database stands, so it can neither upgrade nor downgrade it. The
usual causes: the revision file was deleted or renamed, the code was switched to a branch that
lacks it, or a newer version of the application (or a colleague's branch) migrated this database.
The common forum advice, deleting the rows of ``alembic_version`` and upgrading again, re-runs
every migration against tables that already exist.

In a git repository migdoctor looks through the history of every branch and tag for the file
that defined the id, and says which case it is: *deleted* (which file, the commit that deleted
it: short sha, author, date, subject, and the last commit that had it), *ahead of this
checkout* (defined on a branch or a newer commit this checkout does not have: newer code
migrated the database), or *never in this repository*.

How to fix
----------
A deleted file: ``migdoctor fix restore-revision`` writes it back from git to its original
path (never over an existing file; ``--with-ancestors`` when its parent is gone too;
``migdoctor undo`` removes it again). A revision ahead of this checkout: check out or deploy
the newer code rather than stamping the database back. Otherwise
``migdoctor fix stamp --revision REV`` records the known revision whose schema the database
really has: migdoctor replays every revision's operations into the schema at that revision and
compares it with the live one by alembic's own autogenerate comparison (tables, columns, types,
nullability, indexes, constraints, renames and drops), recommends the newest revision it finds
equal, and otherwise shows the closest ones with their differences and offers no stamp.
``clear-version-table`` empties the table instead, which is only right when the database holds
no tables of this project.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.checks.git_evidence import git_evidence, git_sentence, restorable
from migdoctor.checks.table_exists import no_match_sentence, schema_evidence
from migdoctor.facts.git_history import AHEAD
from migdoctor.facts.model import OPERATION_TABLES, Facts
from migdoctor.findings import Finding, Severity
from migdoctor.fixes.options import SCHEMA_MATCHES, fix_option, verified_stamp_option
from migdoctor.operations.schema_position import matching_revisions

SLUG = "unknown-revision"
CODE = "MD102"


@check(
    SLUG,
    CODE,
    Severity.ERROR,
    needs_database=True,
    healthy="every revision in the version table is defined by a script",
    reads_tables=OPERATION_TABLES,
)
def version_table_names_unknown_revision(facts: Facts) -> list[Finding]:
    database = facts.database
    # an id a squash archived is behind-squash's: the archive explains it
    unknown = tuple(r for r in facts.unknown_current if r not in facts.archived_current)
    if database is None or not unknown:
        return []
    graph = facts.project.graph
    similar = {rev: graph.looks_like(rev) for rev in unknown}
    candidates = stamp_candidates(facts)
    evidence = {
        "unknown": list(unknown),
        "version_table": database.qualified_version_table,
        "rows": list(database.version_rows),
        "heads": list(graph.heads),
        "similar": {rev: ids for rev, ids in similar.items() if ids},
        "stamp_candidates": candidates,
        **schema_evidence(facts),
        **git_evidence(facts, unknown),
    }
    hints = [f"{rev} looks like {', '.join(ids)}" for rev, ids in similar.items() if ids]
    listed = ", ".join(f"'{rev}'" for rev in unknown)
    message = (
        f"{database.qualified_version_table} holds {listed}, which no revision file defines "
        f"(known heads: {', '.join(graph.heads) or 'none'}). alembic fails here with "
        f'"Can\'t locate revision identified by {listed.split(", ")[0]}". The file may have been '
        "deleted or renamed, the code switched to a branch without it, or a newer version of "
        "the application migrated this database."
    )
    if hints:
        message += " Possible typo: " + "; ".join(hints) + "."
    found_in_git = [sentence for rev in unknown if (sentence := git_sentence(facts, rev))]
    if found_in_git:
        message += " " + " ".join(found_in_git)
    if candidates:
        message += f" The live schema is exactly the schema at revision {candidates[0]}."
    else:
        message += " " + no_match_sentence(facts)
    fixes = []
    restore = next((entry for rev in unknown if (entry := restorable(facts, rev))), None)
    # newer code migrated the database: the repair is to run that code, not to stamp back
    ahead = restore is not None and restore.status == AHEAD
    if restore is not None:
        fixes.append(
            fix_option(
                facts,
                "restore-revision",
                f"Write {restore.path} back from git (commit {restore.source.short})"
                if restore.source
                else f"Write {restore.path} back from git",
                why="brings back the migration file only, not the code that goes with it"
                if ahead
                else "the file the database was migrated with, byte for byte as git has it",
                recommended=not ahead,
                revision=restore.revision,
            )
        )
    if candidates:
        best = candidates[0]
        title = f"Record {best} in the version table (the revision the schema is at)"
        if restore is None:
            fixes.append(verified_stamp_option(facts, best, title))
        else:
            fixes.append(
                fix_option(
                    facts,
                    "stamp",
                    title,
                    why="a stamp back from a revision newer code applied: that code would re-run it"
                    if ahead
                    else SCHEMA_MATCHES,
                    revision=best,
                )
            )
    fixes.append(
        fix_option(
            facts,
            "clear-version-table",
            f"Empty {database.qualified_version_table}",
            why="the next upgrade re-runs every migration; right only if the database has none "
            "of the project's tables",
        )
    )
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.ERROR,
            title="alembic_version names a revision no script defines",
            message=message,
            evidence=evidence,
            fixes=tuple(fixes),
            # no file defines the revision: the configuration that names the scripts' folder
            locations=facts.project.config_location,
        )
    ]


def stamp_candidates(facts: Facts) -> list[str]:
    """Known revisions whose schema the live one is, by alembic's comparison of the live
    database with the schema at each revision (types, renames and drops included), newest
    first."""
    return list(matching_revisions(facts))
