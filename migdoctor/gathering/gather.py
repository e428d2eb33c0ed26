"""Gather the facts once: the project (config and scripts), then the database through env.py."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from migdoctor.facts.git_history import GitHistory
from migdoctor.facts.model import ALL_TABLES, DatabaseFacts, Facts, ProjectFacts
from migdoctor.facts.operations import RevisionOperations
from migdoctor.project.archive import read_archives
from migdoctor.project.cache import HeaderCache, cache_disabled, read_statically
from migdoctor.project.config import ConfigOptions, ProjectConfig, load_config
from migdoctor.project.graph import RevisionGraph
from migdoctor.project.header_constants import project_search_roots, resolve_from_project
from migdoctor.project.loading import EarlyLoadCheck, LoadCheck, check_loading, import_headers
from migdoctor.project.model_candidates import ProjectModels
from migdoctor.project.parallel_read import read_all
from migdoctor.project.scripts import (
    RevisionScript,
    ScriptLoadError,
    header_after_import,
    read_header_statically,
    unreadable,
)
from migdoctor.project.version_files import list_version_files


def load_project(options: ConfigOptions, check_imports: bool = False) -> ProjectFacts:
    """The project's configuration and revision scripts, read without importing them;
    ``check_imports``: also import every version file as alembic would (``project.loading``),
    with alembic's sys.path from the config."""
    config = load_config(options)
    return read_project(config, check_imports)


def read_project(config: ProjectConfig, check_imports: bool = False) -> ProjectFacts:
    # a file whose header is not literal is imported, with alembic's sys.path
    config.apply_sys_path()
    paths = list_version_files(
        config.version_locations, config.recursive_version_locations, config.sourceless
    )
    # when every file will be imported anyway (no cache), the child imports each one as soon
    # as its header is read, on the other core
    early = (
        EarlyLoadCheck.start(paths, config.base_directory, sys.path)
        if check_imports and paths
        else None
    )
    try:
        project = _read_scripts(config, paths, early)
        if early is not None:
            return with_loading(project, early.finish(project.scripts, shown_from=Path.cwd()))
    finally:
        if early is not None:
            early.close()
    if check_imports:
        return with_loading(project, check_loading_of(project, sys.path))
    return project


def _read_scripts(
    config: ProjectConfig, paths: list[Path], early: EarlyLoadCheck | None
) -> ProjectFacts:
    signatures: dict[str, tuple[int, int, int]] = {}
    cache = (
        None
        if cache_disabled()
        else HeaderCache.for_project(
            config.base_directory, config.version_locations, config.recursive_version_locations
        )
    )
    headers: list[RevisionScript | ScriptLoadError | None] = []
    if early is not None:
        read = _header_without_cache if cache is None else cache.read_header
        for path in paths:
            header = read(path)
            headers.append(header)
            # a header read from the text tells whether the file is a revision (one that is
            # not literal is a revision all the same); only a file that must be imported does not
            if early.decided == len(headers) - 1 and header is not None:
                early.decide(isinstance(header, RevisionScript))
    elif cache is None:
        headers = [header for header, _ in read_all(paths, read_statically)]
    else:
        # the files the cache does not hold are parsed on two cores when there are many
        headers = cache.read_headers(paths, lambda missed: read_all(missed, read_statically))
    if cache is not None:
        cache.save()
        signatures = cache.signatures
    # a field computed from a constant of the project's own modules is read from their text
    headers = [_resolved_from_project(header, sys.path) for header in headers]
    # any other header that is not literal is read by importing its file, in a child process
    # (one for all such files), so that a file that hangs or exits cannot hang or end migdoctor
    to_import = [path for path, header in zip(paths, headers, strict=True) if _to_import(header)]
    imported = import_headers(to_import, sys.path) if to_import else {}
    scripts: list[RevisionScript] = []
    errors: list[ScriptLoadError] = []
    for path, header in zip(paths, headers, strict=True):
        if path in imported and not isinstance(header, ScriptLoadError):
            header = header_after_import(header, imported[path])
        if isinstance(header, ScriptLoadError):
            errors.append(header)
        elif header is not None:
            scripts.append(header)
    if early is not None:
        revisions = {script.path for script in scripts}
        for path in paths[early.decided :]:
            early.decide(path in revisions)
    return ProjectFacts(
        config=config,
        scripts=tuple(scripts),
        load_errors=tuple(errors),
        graph=RevisionGraph(scripts),
        file_signatures=signatures,
        archives=read_archives(config),
    )


def _to_import(header: RevisionScript | ScriptLoadError | None) -> bool:
    return header is None or (isinstance(header, RevisionScript) and bool(header.unresolved))


def _resolved_from_project(
    header: RevisionScript | ScriptLoadError | None, import_path: Sequence[str]
) -> RevisionScript | ScriptLoadError | None:
    if not isinstance(header, RevisionScript) or not header.unresolved:
        return header
    return resolve_from_project(header, project_search_roots(header.path, import_path))


def _header_without_cache(path: Path) -> RevisionScript | ScriptLoadError | None:
    try:
        return read_header_statically(path)
    except OSError as error:
        return unreadable(path, error)


def check_loading_of(project: ProjectFacts, sys_path: Sequence[str]) -> LoadCheck:
    """Import every version file whose header was read, as alembic would (see
    ``project.loading``)."""
    return check_loading(
        project.scripts,
        project.config.base_directory,
        sys_path,
        shown_from=Path.cwd(),
        signatures=project.file_signatures,
    )


def with_loading(project: ProjectFacts, loading: LoadCheck) -> ProjectFacts:
    return replace(project, import_errors=loading.errors, imports_unchecked=loading.not_checked)


def gather_facts(
    options: ConfigOptions,
    offline: bool = False,
    invocation: tuple[str, ...] = ("migdoctor",),
    record: str = "all",
    tables: str = ALL_TABLES,
    compare_revisions: tuple[str, ...] = (),
    look_up_in_git: tuple[str, ...] = (),
) -> Facts:
    """Everything the checks read. Offline, the database is not touched. ``tables``: which
    live tables to reflect (see ``facts.model.OPERATION_TABLES``); ``record``: which revisions to
    record (``all`` measures the schema at every revision against the live one, and gives
    ``compare_revisions`` alembic's full comparison). git is asked where the version table's
    unknown revisions went, and ``look_up_in_git`` (those no script defines), only when there
    are such."""
    if offline:
        # no env.py offline: the files are imported with alembic's sys.path from the config
        project = load_project(options, check_imports=True)
        return Facts(
            project=project,
            database=None,
            invocation=invocation,
            operations=_diverged_operations_read_statically(project),
        )
    project = load_project(options)
    from migdoctor.database.capture import capture_database

    # online the files are imported once env.py has run, with the sys.path it left, as
    # alembic imports them
    captured = capture_database(
        project, record=record, tables=tables, compare_revisions=compare_revisions
    )
    if captured.loading is not None:
        project = with_loading(project, captured.loading)
    return Facts(
        project=project,
        database=captured.database,
        operations=captured.operations,
        invocation=invocation,
        models=_models_when_missing(project, captured.database),
        git=_git_history(project, (*captured.database.version_rows, *look_up_in_git)),
    )


def _git_history(project: ProjectFacts, revisions: tuple[str, ...]) -> GitHistory | None:
    """What git knows of the revisions no script defines (None when every one is defined:
    a healthy project never runs git)."""
    unknown = tuple(r for r in dict.fromkeys(revisions) if r not in project.graph)
    if not unknown:
        return None
    from migdoctor.gathering.git_history import look_up_in_git

    known = frozenset(script.revision for script in project.scripts)
    return look_up_in_git(project.config.script_location, unknown, known)


def _diverged_operations_read_statically(project: ProjectFacts) -> dict[str, RevisionOperations]:
    """Offline, nothing is recorded: the head revisions are read from their files (the
    blast-radius checks look at them), and when the history has several heads, what each
    branch's revisions change (multiple-heads names what both branches change)."""
    graph = project.graph
    if graph.cycle:
        return {}
    from migdoctor.operations.branch_changes import diverged_revisions
    from migdoctor.operations.static import read_operations_statically

    # the heads, what was just written, for the blast-radius checks (pending_steps)
    revisions = [r for r in graph.heads if r in graph.scripts]
    if len(graph.heads) >= 2:
        revisions += [
            revision
            for diverged in diverged_revisions(graph, graph.heads).values()
            for revision in diverged
        ]
    return {
        revision: read_operations_statically(
            graph.scripts[revision].path, revision, "offline: read from the file, not run"
        )
        for revision in dict.fromkeys(revisions)
    }


def _models_when_missing(project: ProjectFacts, database: DatabaseFacts) -> ProjectModels | None:
    """The project's MetaData candidates, read from its modules' syntax trees, when env.py's
    target_metadata holds no tables (wire-target-metadata picks one of them)."""
    metadata = database.target_metadata
    if metadata is None or metadata.tables:
        return None
    from migdoctor.project.models_scan import project_models

    return project_models(project.config)
