"""What the project's git repository knows of revisions no script defines: gathered (by
``gathering/git_history.py``) only when the version table names such a revision, so that a
healthy project never runs git."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# where a revision no script defines was found in git
DELETED = "deleted"  # this checkout's history had the file; a commit removed it
NOT_COMMITTED = "removed-from-working-tree"  # HEAD has it; the working tree does not
AHEAD = "ahead"  # defined on a branch (or a newer commit) this checkout does not have
NEVER = "never"  # no commit reachable from any ref defines it


@dataclass(frozen=True)
class GitCommit:
    sha: str
    short: str
    author: str
    date: str  # ISO 8601, the author date
    subject: str

    @property
    def words(self) -> str:
        return f"{self.short} ({self.author}, {self.date[:10]}: {self.subject})"

    def as_evidence(self) -> dict[str, str]:
        return {
            "sha": self.short,
            "author": self.author,
            "date": self.date,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class RevisionInGit:
    """Where git has the file that defined ``revision``.

    ``path`` is relative to the repository's root; ``content`` the file's bytes as
    ``source`` has them (what restore-revision writes back); ``down_revisions`` its parents as
    that file declares them. ``removed_by`` is the commit of this checkout's history that
    deleted the file (or edited the id away); ``last_with_it`` the last commit that still had
    it. ``refs`` are the branches, remote-tracking branches and tags that hold ``source``."""

    revision: str
    status: str
    path: str | None = None
    source: GitCommit | None = None
    content: bytes | None = field(default=None, repr=False)
    down_revisions: tuple[str, ...] = ()
    removed_by: GitCommit | None = None
    last_with_it: GitCommit | None = None
    refs: tuple[str, ...] = ()
    current_branch: str | None = None

    @property
    def restorable(self) -> bool:
        return self.path is not None and self.content is not None and self.source is not None

    @property
    def on_current_branch(self) -> bool:
        """A newer commit of the checked-out branch (or its upstream) has it."""
        branch = self.current_branch
        return branch is not None and any(
            ref == branch or ref.endswith(f"/{branch}") for ref in self.refs
        )


@dataclass(frozen=True)
class GitHistory:
    """The repository (``root``) and what it tells of each revision looked up; ``unavailable``
    says in one line why git could not be asked (not a repository, no git executable, a
    timeout)."""

    root: Path | None
    revisions: Mapping[str, RevisionInGit] = field(default_factory=dict)
    unavailable: str | None = None

    def revision(self, revision: str) -> RevisionInGit | None:
        return self.revisions.get(revision)

    def missing_ancestors(self, revision: str, known: frozenset[str]) -> tuple[str, ...]:
        """The parents (and their parents, as git has them) of ``revision`` that no script
        defines, nearest first."""
        found: list[str] = []
        waiting = [revision]
        while waiting:
            entry = self.revisions.get(waiting.pop(0))
            if entry is None:
                continue
            for parent in entry.down_revisions:
                if parent not in known and parent not in found:
                    found.append(parent)
                    waiting.append(parent)
        return tuple(found)
