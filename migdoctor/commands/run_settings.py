"""The settings of a run that writes: ``--lock-timeout``, ``--statement-timeout`` and
``--retries`` as given, else the project's ``[tool.migdoctor]`` (or alembic.ini's
``[migdoctor]``), else the defaults. One decision for every writer: upgrade (also of a fleet,
``--targets``), downgrade, stamp, each fix, undo and squash."""

from __future__ import annotations

from dataclasses import replace

from migdoctor.project.config import ConfigOptions, ProjectConfig


def with_run_settings(
    options: ConfigOptions, lock_timeout: float | None, config: ProjectConfig
) -> tuple[ConfigOptions, float]:
    """The options with what the command line left out taken from the project's settings
    (the command line wins), and the writer's lock timeout."""
    from migdoctor.repair.apply import DEFAULT_LOCK_TIMEOUT

    settings = config.settings
    if lock_timeout is None:
        lock_timeout = settings.lock_timeout
        if options.lock_timeout is None:
            # the setting is --lock-timeout's default: the reads wait as long
            options = replace(options, lock_timeout=lock_timeout)
    if options.statement_timeout is None:
        options = replace(options, statement_timeout=settings.statement_timeout)
    if options.retries is None:
        options = replace(options, retries=settings.retries or 0)
    return options, DEFAULT_LOCK_TIMEOUT if lock_timeout is None else lock_timeout


def writer_settings(
    options: ConfigOptions, lock_timeout: float | None
) -> tuple[ConfigOptions, float]:
    """:func:`with_run_settings` with the project's configuration read from ``options``."""
    from migdoctor.project.config import load_config

    return with_run_settings(options, lock_timeout, load_config(options))
