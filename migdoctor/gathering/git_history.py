"""Ask the project's git repository where a revision no script defines went: the ``git``
executable, with a timeout, over every ref (``--all``), never ``.git`` read by hand.

Run only when the version table names such a revision (``gathering/gather.py``). Finding the
file: the commits of any ref that touched a path containing the id (alembic names its files
after the revision), else the commits whose diff adds or removes the id at all (git's pickaxe,
slower); a file counts only when its text declares ``revision = "<id>"``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from migdoctor.facts.git_history import (
    AHEAD,
    DELETED,
    NEVER,
    NOT_COMMITTED,
    GitCommit,
    GitHistory,
    RevisionInGit,
)
from migdoctor.project.scripts import RevisionScript, header_from_source

GIT_TIMEOUT = 20.0
# a chain of deleted revisions is followed back this far
MOST_ANCESTORS = 50

_RECORD, _FIELD = "\x1e", "\x1f"
_FORMAT = f"--format={_RECORD}%H{_FIELD}%h{_FIELD}%an{_FIELD}%aI{_FIELD}%s"


class GitUnavailable(Exception):
    """git cannot be asked here; the message is the one line the user sees."""


class _Git:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __call__(self, *arguments: str, check: bool = True) -> str | None:
        """git's output, or None when it exits non-zero and ``check`` is False."""
        return run_git(self.root, arguments, check=check)


def run_git(where: Path, arguments: Iterable[str], check: bool = True) -> str | None:
    environment = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_PAGER": "cat"}
    command = ["git", "-c", "core.quotepath=off", *arguments]
    try:
        completed = subprocess.run(
            command,
            cwd=where,
            capture_output=True,
            env=environment,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitUnavailable("the git executable is not installed (not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitUnavailable(
            f"git {' '.join(arguments)} took longer than {GIT_TIMEOUT:.0f} s"
        ) from None
    except OSError as error:
        raise GitUnavailable(f"git could not run: {error}") from None
    if completed.returncode != 0:
        if not check:
            return None
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        first = lines[0] if lines else f"exit {completed.returncode}"
        raise GitUnavailable(f"git {' '.join(arguments)} failed: {first}")
    return completed.stdout.decode("utf-8", "surrogateescape")


def look_up_in_git(start: Path, revisions: Iterable[str], known: frozenset[str]) -> GitHistory:
    """Where git has each of ``revisions`` (and the parents of a found file that ``known``, the
    ids the scripts define, lacks)."""
    try:
        root = _repository_root(start)
    except GitUnavailable as error:
        return GitHistory(root=None, unavailable=str(error))
    git = _Git(root)
    found: dict[str, RevisionInGit] = {}
    waiting = list(dict.fromkeys(revisions))
    try:
        branch = (git("symbolic-ref", "-q", "--short", "HEAD", check=False) or "").strip()
        head = (git("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False) or "").strip()
        while waiting and len(found) < MOST_ANCESTORS:
            revision = waiting.pop(0)
            if revision in found:
                continue
            entry = _look_up(git, revision, head or None, branch or None)
            found[revision] = entry
            waiting += [r for r in entry.down_revisions if r not in known and r not in found]
    except GitUnavailable as error:
        return GitHistory(root=root, revisions=found, unavailable=str(error))
    return GitHistory(root=root, revisions=found)


def _repository_root(start: Path) -> Path:
    where = start if start.is_dir() else start.parent
    output = run_git(where, ("rev-parse", "--show-toplevel"), check=False)
    if output is None:
        raise GitUnavailable(f"{where} is not in a git repository")
    return Path(output.strip())


def _look_up(git: _Git, revision: str, head: str | None, branch: str | None) -> RevisionInGit:
    defining = _defining_files(git, revision)
    if not defining:
        return RevisionInGit(revision, NEVER, current_branch=branch)
    in_checkout = [
        (commit, path)
        for commit, path, _ in defining
        if head is not None and _is_ancestor(git, commit.sha, head)
    ]
    if in_checkout:
        return _gone_from_checkout(git, revision, in_checkout[0][1], branch)
    commit, path, content = defining[0]
    refs = (git("for-each-ref", "--contains", commit.sha, "--format=%(refname)") or "").split()
    return RevisionInGit(
        revision,
        AHEAD,
        path=path,
        source=commit,
        content=content,
        down_revisions=_down_revisions(content, path),
        refs=tuple(_short_ref(ref) for ref in refs if not ref.endswith("/HEAD")),
        current_branch=branch,
    )


def _gone_from_checkout(git: _Git, revision: str, path: str, branch: str | None) -> RevisionInGit:
    """The file was in this checkout's history: removed by which commit, or only from the
    working tree."""
    at_head = _blob(git, "HEAD", path)
    if at_head is not None and _defines(at_head, path, revision):
        return RevisionInGit(
            revision,
            NOT_COMMITTED,
            path=path,
            source=_commit(git, "HEAD"),
            content=at_head,
            down_revisions=_down_revisions(at_head, path),
            last_with_it=_commit(git, "HEAD"),
            current_branch=branch,
        )
    # the newest commit of this checkout's history that changed how often the id appears in
    # the file: the one that deleted it (or edited the id away)
    output = git("log", "-1", _FORMAT, "-S", revision, "HEAD", "--", path) or ""
    removals = _commits(output)
    removed_by = removals[0][0] if removals else None
    last = _commit(git, f"{removed_by.sha}^") if removed_by else None
    content = _blob(git, last.sha, path) if last else None
    if content is None or not _defines(content, path, revision):
        return RevisionInGit(
            revision, DELETED, path=path, removed_by=removed_by, current_branch=branch
        )
    return RevisionInGit(
        revision,
        DELETED,
        path=path,
        source=last,
        content=content,
        down_revisions=_down_revisions(content, path),
        removed_by=removed_by,
        last_with_it=last,
        current_branch=branch,
    )


def _defining_files(git: _Git, revision: str) -> list[tuple[GitCommit, str, bytes]]:
    """(commit, path, bytes) of every file version, on any ref, that declares ``revision``,
    newest commit first."""
    named = git(
        "log", "--all", "--no-renames", _FORMAT, "--name-status", "--", f":(glob)**/*{revision}*"
    )
    entries = _commits(named or "")
    if not entries:
        # a file not named after its id: every commit whose diff adds or removes the id
        entries = _commits(
            git("log", "--all", "--no-renames", _FORMAT, "--name-status", "-S", revision) or ""
        )
    defining = []
    seen: set[tuple[str, str]] = set()
    for commit, changes in entries:
        for status, path in changes:
            if status.startswith("D") or (commit.sha, path) in seen or not path.endswith(".py"):
                continue
            seen.add((commit.sha, path))
            content = _blob(git, commit.sha, path)
            if content is not None and _defines(content, path, revision):
                defining.append((commit, path, content))
    return defining


def _commits(output: str) -> list[tuple[GitCommit, list[tuple[str, str]]]]:
    """Commits of ``git log`` output in ``_FORMAT``, each with its ``--name-status`` lines."""
    entries = []
    for record in output.split(_RECORD)[1:]:
        lines = record.splitlines()
        fields = lines[0].split(_FIELD)
        if len(fields) < 5:
            continue
        changes = [tuple(line.split("\t", 1)) for line in lines[1:] if "\t" in line]
        entries.append((GitCommit(*fields[:5]), [(s, p) for s, p in changes]))
    return entries


def _commit(git: _Git, revision: str) -> GitCommit | None:
    entries = _commits(git("log", "-1", _FORMAT, revision, check=False) or "")
    return entries[0][0] if entries else None


def _blob(git: _Git, commit: str, path: str) -> bytes | None:
    text = git("show", f"{commit}:{path}", check=False)
    return None if text is None else text.encode("utf-8", "surrogateescape")


def _is_ancestor(git: _Git, commit: str, head: str) -> bool:
    return git("merge-base", "--is-ancestor", commit, head, check=False) is not None


def _header(content: bytes, path: str) -> RevisionScript | None:
    header = header_from_source(content, Path(PurePosixPath(path)))
    return header if isinstance(header, RevisionScript) else None


def _defines(content: bytes, path: str, revision: str) -> bool:
    header = _header(content, path)
    return header is not None and header.revision == revision


def _down_revisions(content: bytes, path: str) -> tuple[str, ...]:
    header = _header(content, path)
    return header.down_revisions if header is not None else ()


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref
