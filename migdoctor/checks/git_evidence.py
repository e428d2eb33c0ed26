"""What git says of a revision no script defines, in the words and evidence of
``unknown-revision``."""

from __future__ import annotations

from typing import Any

from migdoctor.facts.git_history import (
    AHEAD,
    DELETED,
    NEVER,
    NOT_COMMITTED,
    GitHistory,
    RevisionInGit,
)
from migdoctor.facts.model import Facts


def git_sentence(facts: Facts, revision: str) -> str:
    """One or two sentences: where git has ``revision``'s file, or why git could not say."""
    git = facts.git
    if git is None:
        return ""
    if git.unavailable:
        return f"git could not be asked where {revision} went: {git.unavailable}."
    entry = git.revision(revision)
    if entry is None:
        return ""
    words = _status_words(facts, git, entry)
    missing = git.missing_ancestors(revision, frozenset(facts.project.graph.scripts))
    if missing and entry.status != NEVER:
        words += (
            f" Its down_revision {missing[0]} is missing from the scripts too"
            + (f" (and {', '.join(missing[1:])})" if len(missing) > 1 else "")
            + ": restore-revision --with-ancestors brings back the whole chain."
        )
    return words


def _status_words(facts: Facts, git: GitHistory, entry: RevisionInGit) -> str:
    revision, path = entry.revision, entry.path
    if entry.status == NEVER:
        return (
            f"git: no commit of any branch or tag of this repository has a file defining "
            f"{revision}: it was never in this repository (the database was migrated by another "
            "project or copy, or stamped by hand)."
        )
    if entry.status == NOT_COMMITTED:
        return (
            f"git: {path} defines it in the last commit ({_short(entry)}), but the file is "
            f"missing from the working tree (deleted, not committed); "
            f"{facts.fix_command('restore-revision', '--revision', revision)} writes it back."
        )
    if entry.status == DELETED:
        removed = entry.removed_by.words if entry.removed_by else "an unknown commit"
        last = entry.last_with_it.words if entry.last_with_it else "unknown"
        return (
            f"git: it was defined by {path}, deleted in commit {removed}; the last commit that "
            f"had it is {last}."
        )
    if entry.status == AHEAD:
        where = (
            f"a newer commit of this branch ({', '.join(entry.refs)})"
            if entry.on_current_branch
            else f"{_refs_words(entry)}"
        )
        return (
            f"git: it is defined by {path} on {where}, in commit {_short(entry)}, which this "
            "checkout does not have: the database was migrated by newer code. Check out (or "
            f"deploy) that code{_checkout_hint(entry)}, then alembic can read the database "
            "again; a stamp back to an older revision would make that code re-run its "
            "migrations."
        )
    return ""


def _short(entry: RevisionInGit) -> str:
    return entry.source.words if entry.source is not None else "?"


def _refs_words(entry: RevisionInGit) -> str:
    if not entry.refs:
        return "a commit no branch names"
    kind = "branch" if len(entry.refs) == 1 else "branches"
    return f"{kind} {', '.join(entry.refs)}"


def _checkout_hint(entry: RevisionInGit) -> str:
    if entry.on_current_branch:
        return " (git pull, or deploy the newer version)"
    if entry.refs:
        return f" (git checkout {entry.refs[0]}, or merge it into this branch)"
    return ""


def git_evidence(facts: Facts, unknown: tuple[str, ...]) -> dict[str, Any]:
    """The evidence: for each unknown revision, what git has (or why git could not say)."""
    git = facts.git
    if git is None:
        return {}
    if git.unavailable:
        return {"git": {"unavailable": git.unavailable}}
    known = frozenset(facts.project.graph.scripts)
    found = {}
    for revision in unknown:
        entry = git.revision(revision)
        if entry is None:
            continue
        found[revision] = {
            "status": entry.status,
            "path": entry.path,
            "source": entry.source.as_evidence() if entry.source else None,
            "removed_by": entry.removed_by.as_evidence() if entry.removed_by else None,
            "last_with_it": entry.last_with_it.as_evidence() if entry.last_with_it else None,
            "refs": list(entry.refs),
            "current_branch": entry.current_branch,
            "down_revisions": list(entry.down_revisions),
            "missing_ancestors": list(git.missing_ancestors(revision, known)),
        }
    return {"git": {"root": str(git.root), "revisions": found}}


def restorable(facts: Facts, revision: str) -> RevisionInGit | None:
    """git's entry for ``revision`` when restore-revision can write its file back."""
    git = facts.git
    entry = git.revision(revision) if git is not None and not git.unavailable else None
    return entry if entry is not None and entry.restorable else None
