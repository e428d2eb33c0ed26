"""Gather the facts once: the project (config and scripts), then the database through env.py."""

from __future__ import annotations

from migdoctor.facts import ALL_TABLES, Facts, ProjectFacts
from migdoctor.project.cache import HeaderCache, cache_disabled
from migdoctor.project.config import ConfigOptions, ProjectConfig, load_config
from migdoctor.project.graph import RevisionGraph
from migdoctor.project.scripts import list_version_files, read_revision_files


def load_project(options: ConfigOptions) -> ProjectFacts:
    """The project's configuration and revision scripts, read without importing them."""
    config = load_config(options)
    return read_project(config)


def read_project(config: ProjectConfig) -> ProjectFacts:
    # a file whose header is not literal is imported, with alembic's sys.path
    config.apply_sys_path()
    paths = list_version_files(
        config.version_locations, config.recursive_version_locations, config.sourceless
    )
    if cache_disabled():
        scripts, errors = read_revision_files(paths)
    else:
        cache = HeaderCache.for_project(
            config.base_directory, config.version_locations, config.recursive_version_locations
        )
        scripts, errors = read_revision_files(paths, cache.read)
        cache.save()
    return ProjectFacts(
        config=config,
        scripts=tuple(scripts),
        load_errors=tuple(errors),
        graph=RevisionGraph(scripts),
    )


def gather_facts(
    options: ConfigOptions,
    offline: bool = False,
    invocation: tuple[str, ...] = ("migdoctor",),
    record: str = "all",
    tables: str = ALL_TABLES,
    compare_revisions: tuple[str, ...] = (),
) -> Facts:
    """Everything the checks read. Offline, the database is not touched. ``tables``: which
    live tables to reflect (see ``facts.OPERATION_TABLES``); ``record``: which revisions to
    record (``all`` measures the schema at every revision against the live one, and gives
    ``compare_revisions`` alembic's full comparison)."""
    project = load_project(options)
    if offline:
        return Facts(project=project, database=None, invocation=invocation)
    from migdoctor.database.capture import capture_database

    captured = capture_database(
        project, record=record, tables=tables, compare_revisions=compare_revisions
    )
    return Facts(
        project=project,
        database=captured.database,
        operations=captured.operations,
        invocation=invocation,
    )
