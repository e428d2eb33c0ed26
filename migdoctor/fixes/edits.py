"""A planned edit of one of the project's files: its bytes before and after, and the diff the
plan shows before consent."""

from __future__ import annotations

import difflib
from pathlib import Path

from migdoctor.facts.model import ProjectFacts
from migdoctor.repair.plan import FileChange


def edited_file(
    project: ProjectFacts,
    path: Path,
    before: bytes | None,
    after: bytes | None,
    new_path: Path | None = None,
) -> FileChange:
    """The change of ``path`` from ``before`` to ``after`` (None: absent on that side), with its
    unified diff; ``new_path``: the name the diff shows for the after side (a renamed file)."""
    relative = project.relative(path)
    return FileChange(
        path,
        before,
        after,
        "".join(
            difflib.unified_diff(
                _lines(before),
                _lines(after),
                fromfile=f"a/{relative}" if before is not None else "/dev/null",
                tofile=f"b/{project.relative(new_path or path)}"
                if after is not None
                else "/dev/null",
            )
        ),
    )


def renamed_file(
    project: ProjectFacts, old: Path, new: Path, before: bytes, after: bytes
) -> tuple[FileChange, ...]:
    """A file renamed and edited: the old one removed (its bytes kept by the journal for undo)
    with the diff from the old name to the new, and the new one written."""
    diff = edited_file(project, old, before, after, new_path=new).diff
    note = f"write {project.relative(new)}: {project.relative(old)} renamed, as the diff shows"
    return (FileChange(old, before, None, diff), FileChange(new, None, after, note))


def _lines(data: bytes | None) -> list[str]:
    return [] if data is None else data.decode("utf-8", "replace").splitlines(keepends=True)


def moved_file(
    project: ProjectFacts, old: Path, new: Path, content: bytes
) -> tuple[FileChange, ...]:
    """A file moved as it is: the old one removed (its bytes kept by the journal for undo) and
    the same bytes written under the new name; the plan says it in one line."""
    note = f"move {project.relative(old)} → {project.relative(new)} (unchanged)"
    return (FileChange(old, content, None, note), FileChange(new, None, content, ""))
