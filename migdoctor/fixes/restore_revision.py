"""restore-revision: write a deleted revision file back from git, where it was.

What it does
------------
For ``unknown-revision``, when git has the file that defined the revision the version table
names: writes that file back, byte for byte as the last commit that had it holds it
(``git show COMMIT:PATH``), at its original path. It never overwrites a file: when something
already exists there it refuses. Afterwards alembic can read the version table again
(``alembic current`` works). When the restored file's own ``down_revision`` is missing too, the
plan says so; ``--with-ancestors`` restores the whole missing chain in one go.

Risk
----
caution: it changes no database, but the restored revision is part of the history again: a
database that never ran it runs its ``upgrade()`` at the next upgrade. When the revision only
exists on another branch, this brings back the migration without the code that goes with it;
checking out (or deploying) that code is then the better repair.

Undo
----
``migdoctor undo`` deletes the restored file(s), as long as they are byte for byte as the fix
wrote them (a changed file is left alone).
"""

from __future__ import annotations

from pathlib import Path

from migdoctor.facts.git_history import AHEAD, NEVER, GitHistory, RevisionInGit
from migdoctor.facts.model import Facts
from migdoctor.findings import Risk
from migdoctor.fixes.edits import edited_file
from migdoctor.repair.plan import FileChange, FixRequest, Plan, nothing_to_do, refused

FIX_ID = "restore-revision"
NEEDS_DATABASE = True
RISK = Risk.CAUTION


def plan(facts: Facts, request: FixRequest) -> Plan:
    project = facts.project
    graph = project.graph
    title = "Write a deleted revision file back from git"
    revision = request.revision or _first_found(facts)
    if revision is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            "Name the revision to restore with --revision (the version table names no revision "
            "that git has and no script defines).",
        )
    if revision in graph:
        where = project.relative(graph.scripts[revision].path)
        return nothing_to_do(
            FIX_ID, title, RISK, f"{where} defines {revision}: nothing to restore."
        )
    git = facts.git
    if git is None or git.unavailable or git.root is None:
        why = git.unavailable if git is not None and git.unavailable else "git was not asked"
        return refused(FIX_ID, title, RISK, f"Cannot look for {revision} in git: {why}.")
    known = frozenset(graph.scripts)
    chain = [revision]
    if request.with_ancestors:
        chain += list(git.missing_ancestors(revision, known))
    files: list[FileChange] = []
    for wanted in chain:
        entry = git.revision(wanted)
        problem = _cannot_restore(git, wanted, entry)
        if problem:
            return refused(FIX_ID, title, RISK, problem)
        assert entry is not None and entry.path is not None and git.root is not None
        target = git.root / entry.path
        if target.exists() or target.is_symlink():
            return refused(
                FIX_ID,
                title,
                RISK,
                f"{project.relative(target)} exists: restore-revision never overwrites a file. "
                f"Move it away, or compare it with git show {_source(entry)}:{entry.path}.",
            )
        files.append(edited_file(project, target, None, entry.content))
    entry = git.revision(revision)
    assert entry is not None and entry.source is not None
    shown = ", ".join(project.relative(change.path) for change in files)
    return Plan(
        fix=FIX_ID,
        title=f"Write {shown} back from git (as commit {entry.source.short} has it)",
        risk=RISK,
        files=tuple(files),
        warnings=_warnings(facts, git, chain, files),
        arguments={"revision": revision, "commit": entry.source.short},
    )


def _first_found(facts: Facts) -> str | None:
    """The first revision of the version table that no script defines and git has."""
    git = facts.git
    if git is None:
        return None
    for revision in facts.unknown_current:
        entry = git.revision(revision)
        if entry is not None and entry.restorable:
            return revision
    return None


def _cannot_restore(git: GitHistory, revision: str, entry: RevisionInGit | None) -> str | None:
    if entry is None or entry.status == NEVER:
        return (
            f"No commit of any branch or tag of {git.root} has a file defining {revision}: "
            "there is nothing to restore it from."
        )
    if not entry.restorable:
        return (
            f"git shows {entry.path} was deleted, but not a commit that still has it with "
            f"revision = '{revision}': restore it by hand."
        )
    return None


def _source(entry: RevisionInGit) -> str:
    return entry.source.short if entry.source is not None else "HEAD"


def _warnings(
    facts: Facts, git: GitHistory, chain: list[str], files: list[FileChange]
) -> tuple[str, ...]:
    graph = facts.project.graph
    known = frozenset(graph.scripts) | set(chain)
    warnings = []
    first = git.revision(chain[0])
    assert first is not None
    if first.status == AHEAD:
        where = ", ".join(first.refs) or "another branch"
        warnings.append(
            f"{chain[0]} is on {where}, not in this checkout: this brings back the migration "
            "file without the code that goes with it. Checking out (or deploying) that code is "
            "usually the better repair."
        )
    for revision in chain:
        entry = git.revision(revision)
        assert entry is not None
        missing = [parent for parent in entry.down_revisions if parent not in known]
        if missing:
            listed = ", ".join(missing)
            warnings.append(
                f"Its down_revision {listed} is missing too: alembic cannot read the history "
                f"until it is back. {facts.fix_command(FIX_ID, '--revision', chain[0])} "
                "--with-ancestors restores the whole chain."
            )
        for parent in entry.down_revisions:
            children = [
                script.revision
                for script in graph.scripts.values()
                if parent in script.down_revisions
            ]
            if children:
                warnings.append(
                    f"{parent} already has the child {', '.join(children)}: the history gets a "
                    f"second head at {revision} (migdoctor check shows multiple-heads, and "
                    "merge-heads joins them)."
                )
    outside = [c.path for c in files if not _in_version_locations(facts, c.path)]
    if outside:
        warnings.append(
            f"{', '.join(map(str, outside))} is outside the version locations alembic reads "
            "now: move it into one of them."
        )
    warnings.append("Commit the restored file(s), so every copy of the project has them.")
    return tuple(warnings)


def _in_version_locations(facts: Facts, path: Path) -> bool:
    config = facts.project.config
    folder = path.absolute().parent
    for location in config.version_locations:
        if folder == location or (
            config.recursive_version_locations and location in folder.parents
        ):
            return True
    return False
