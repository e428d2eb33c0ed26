"""Revisions archived by ``migdoctor squash``: the files it moved out of the history, kept
byte for byte in ``<script_location>/squashed/<REV>/``, where alembic does not load them.

A squash replaces the revisions from base up to REV by one revision that keeps REV's id; a
database still at one of the archived revisions before REV is brought to REV by running the
archived files themselves (``behind-squash``, fix ``upgrade-archived``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migdoctor.project.config import ProjectConfig

if TYPE_CHECKING:
    from migdoctor.project.scripts import RevisionScript

ARCHIVE_FOLDER = "squashed"


@dataclass(frozen=True)
class SquashArchive:
    """One squash's archive: the revision it squashed up to (whose id the new revision keeps),
    its folder and the headers of the revision files archived there."""

    up_to: str
    folder: Path
    scripts: tuple[RevisionScript, ...]

    @property
    def revisions(self) -> tuple[str, ...]:
        return tuple(script.revision for script in self.scripts)


def archive_root(config: ProjectConfig) -> Path:
    return config.script_location / ARCHIVE_FOLDER


def archive_folder(config: ProjectConfig, up_to: str) -> Path:
    return archive_root(config) / up_to


def read_archives(config: ProjectConfig) -> tuple[SquashArchive, ...]:
    """Every squash archive of the project, with the ids its files declare (headers read
    from the syntax tree, as the history's are)."""
    from migdoctor.project.scripts import RevisionScript, read_revision_file

    root = archive_root(config)
    if not root.is_dir():
        return ()
    archives = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        scripts = []
        for path in sorted(folder.glob("*.py")):
            header = read_revision_file(path)
            if isinstance(header, RevisionScript):
                scripts.append(header)
        if scripts:
            archives.append(SquashArchive(folder.name, folder, tuple(scripts)))
    return tuple(archives)
