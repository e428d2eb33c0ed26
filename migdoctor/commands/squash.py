"""``migdoctor squash``: replace the revisions from base up to REV by one revision that keeps
REV's id, proved equal on scratch databases before anything is written.

1. The old chain is upgraded, revision by revision, on a scratch database (a temporary SQLite
   file, or a database of its own on the server ``--scratch-url`` names) up to REV, and the
   new revision is rendered from that schema by alembic (``database.schema_revision``, as the
   baseline fix renders it).
2. The scratch database is emptied and the new revision alone is upgraded on it; the schemas
   after both runs are compared object by object (tables, columns and their types, keys,
   indexes, constraints, PostgreSQL sequences and enums). Any difference refuses, listed.
3. Data migrations (``op.execute``, ``op.bulk_insert``, ``op.get_bind()``) in the squashed
   range refuse the squash unless ``--keep-data-migrations`` (copied, in order, at the end of
   the new ``upgrade()``) or ``--drop-data-migrations`` says what to do with them.
4. The plan moves every squashed file to ``<script_location>/squashed/<REV>/`` (byte for
   byte; alembic does not load it) and writes the new revision; it is applied by the repair
   engine, so it is journaled and ``migdoctor undo`` moves everything back.

Neither the configured database nor the database a ``--scratch-url`` names is written to: a
database at REV or later needs no change; one at an archived revision before REV is what
``behind-squash`` diagnoses.
"""

from __future__ import annotations

import ast
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from migdoctor.commands.fix import apply_with_journal, ask_consent
from migdoctor.commands.roundtrip import refuse_unwalkable
from migdoctor.commands.run_settings import with_run_settings
from migdoctor.database.async_engines import runs_async_engine
from migdoctor.database.revision_steps import StepsRun, run_revisions
from migdoctor.database.schema_revision import read_schema_revision, version_folder
from migdoctor.database.scratch import no_new_sqlite_files, scratch_database
from migdoctor.errors import EXIT_FAILED, EXIT_OK, MigdoctorError
from migdoctor.facts.model import ProjectFacts
from migdoctor.facts.roundtrip import SchemaSnapshot, downgrade_changes
from migdoctor.findings import Risk
from migdoctor.fixes.edits import edited_file
from migdoctor.gathering.gather import gather_facts, load_project
from migdoctor.project.archive import archive_folder, archive_root
from migdoctor.project.config import ConfigOptions
from migdoctor.project.data_migrations import DataStatement, data_statements
from migdoctor.render.interaction import TerminalInteraction
from migdoctor.repair.plan import FileChange, Plan, refused

FIX_ID = "squash"
RISK = Risk.DANGEROUS
KEEP, DROP = "keep", "drop"


def squash(
    options: ConfigOptions,
    invocation: tuple[str, ...],
    *,
    up_to: str | None,
    message: str | None,
    scratch_url: str | None,
    data_migrations: str | None,
    dry_run: bool,
    yes: bool,
    lock_timeout: float | None,
    ui: TerminalInteraction,
) -> int:
    """``lock_timeout`` None: the project's setting, else the default (``run_settings``); the
    squash changes only files, so it bounds the reads of the check that follows it."""
    project = load_project(options)
    options, lock_timeout = with_run_settings(options, lock_timeout, project.config)
    plan = squash_plan(project, options, up_to, message, scratch_url, data_migrations)
    ui.show_plan(plan)
    if plan.refusal:
        return EXIT_OK if plan.nothing_to_do else EXIT_FAILED
    if dry_run:
        ui.say("Dry run: nothing was changed; the plan above is what would have been applied.")
        return EXIT_OK
    consent = ask_consent(plan, yes, ui)
    if consent != EXIT_OK:
        return consent
    facts = gather_facts(options, offline=True, invocation=invocation)
    return apply_with_journal(facts, plan, lock_timeout, ui, options, invocation)


def squash_plan(
    project: ProjectFacts,
    options: ConfigOptions,
    up_to: str | None,
    message: str | None,
    scratch_url: str | None,
    data_migrations: str | None,
) -> Plan:
    """The squash as a plan of file moves and one new file, or a refusal saying why not."""
    refuse_unwalkable(project, "squash")
    graph = project.graph
    target = _target(project, up_to)
    title = f"Squash the revisions up to {target} into one revision that keeps its id"
    squashed = graph.pending([], [target])  # oldest first, as alembic runs them
    if len(squashed) < 2:
        return refused(FIX_ID, title, RISK, f"{target} is the first revision: nothing to squash.")
    problem = _later_revisions_reaching_in(project, target, set(squashed))
    if problem:
        return refused(FIX_ID, title, RISK, problem)
    archive = archive_folder(project.config, target)
    root = archive_root(project.config)
    inside = [
        p for p in project.config.version_locations if _is_within(root, p) or _is_within(p, root)
    ]
    if inside:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The archive folder {project.relative(root)} would be a "
            "version location alembic loads; squash needs a script location whose versions "
            "are in their own folder.",
        )
    if any(archive.glob("*.py")):
        return refused(FIX_ID, title, RISK, f"{project.relative(archive)} exists already.")
    statements = [s for r in squashed for s in data_statements(r, graph.scripts[r].path)]
    if statements and data_migrations is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            "The squashed revisions migrate data, which a schema cannot carry: "
            + "; ".join(_describe(project, s) for s in statements)
            + ". Say what to do with them: --keep-data-migrations copies them, in order, to the "
            "end of the new upgrade() (a new database runs them after the schema is created), "
            "--drop-data-migrations leaves them out (their data is already in every database "
            "at the squashed revision).",
        )
    kept = statements if data_migrations == KEEP else []
    message = message or f"squashed up to {target}"
    _refuse_wrong_scratch(project, scratch_url)
    with (
        scratch_database(scratch_url, runs_async_engine(project.config)) as scratch,
        no_new_sqlite_files(scratch),
    ):
        on_scratch = load_project(replace(options, url=scratch.url))
        old = run_revisions(on_scratch, squashed, upgrade=True)
        if not old.ok or old.after is None:
            return refused(
                FIX_ID,
                title,
                RISK,
                f"The old chain fails on {scratch.shown_as} at {old.failed}: {old.error}",
            )
        rendered = read_schema_revision(on_scratch, target, message, (project.config.ledger.table,))
        text = with_data_statements(project, rendered.text, kept)
        scratch.reset()
        new = _run_new_revision(on_scratch, target, rendered.relative_path, text)
    if not new.ok or new.after is None:
        return refused(
            FIX_ID,
            title,
            RISK,
            f"The new revision fails on {scratch.shown_as}: {new.error}. Nothing was written.",
        )
    differences = _differences(old.after, new.after)
    if differences:
        return refused(
            FIX_ID,
            title,
            RISK,
            "The new revision does not build the schema the old chain builds ("
            + scratch.shown_as
            + "): "
            + "; ".join(differences)
            + ". Nothing was written.",
        )
    files = _file_moves(project, squashed, archive, rendered.relative_path, text)
    warnings = [
        f"Proved on {scratch.shown_as}: the new revision builds exactly the schema the "
        f"{len(squashed)} revisions build (tables, columns, types, keys, indexes, constraints).",
        f"Databases at {target} or later need no change. A database at one of the archived "
        f"revisions before it is brought to {target} by migdoctor fix upgrade-archived "
        "(behind-squash).",
        "Only files change; commit the new revision and the archive folder together.",
    ]
    if kept:
        warnings.append(
            f"{len(kept)} data migration(s) copied to the end of upgrade(): "
            + "; ".join(_describe(project, s) for s in kept)
            + "."
        )
    elif statements:
        warnings.append(
            f"{len(statements)} data migration(s) left out: "
            + "; ".join(_describe(project, s) for s in statements)
            + "."
        )
    return Plan(
        fix=FIX_ID,
        title=f"Squash {len(squashed)} revisions up to {target} into one revision {target}",
        risk=RISK,
        files=files,
        warnings=tuple(warnings),
        arguments={"revision": target, "archive": str(archive)},
    )


def _target(project: ProjectFacts, up_to: str | None) -> str:
    graph = project.graph
    if up_to is None:
        if len(graph.heads) != 1:
            raise MigdoctorError(
                f"The history has {len(graph.heads)} heads ({', '.join(graph.heads)}): "
                "name the revision to squash up to with --up-to REV.",
                hint="Or merge the heads first (migdoctor fix merge-heads).",
            )
        return graph.heads[0]
    try:
        targets = graph.resolve(up_to)
    except LookupError as error:
        raise MigdoctorError(f"--up-to {up_to}: {error}") from None
    if len(targets) != 1:
        raise MigdoctorError(f"--up-to {up_to} names {len(targets)} revisions: name one.")
    return targets[0]


def _later_revisions_reaching_in(
    project: ProjectFacts, target: str, squashed: set[str]
) -> str | None:
    """A revision kept after the squash must build on REV, not on a revision before it."""
    graph = project.graph
    for revision in graph.scripts:
        if revision in squashed:
            continue
        reaching = [p for p in graph.parents(revision) if p in squashed and p != target]
        if reaching:
            return (
                f"Revision {revision} builds on {', '.join(reaching)}, which the squash would "
                f"archive (only {target}'s id stays): squash up to a revision every later "
                "revision builds on, or merge first."
            )
    return None


def _refuse_wrong_scratch(project: ProjectFacts, scratch_url: str | None) -> None:
    """A MySQL or PostgreSQL project is proved on its own kind of server: the schema rendered
    on SQLite would carry SQLite's types."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = project.config.options.url or project.config.sqlalchemy_url
    if scratch_url is not None or not url:
        return
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return
    if backend != "sqlite":
        raise MigdoctorError(
            f"The project's database is {backend}: the squash is built and proved on a scratch "
            f"database of the same kind. Name a {backend} server with --scratch-url URL "
            "(squash creates and drops a database of its own there).",
        )


def _run_new_revision(
    on_scratch: ProjectFacts, revision: str, relative: str, text: bytes
) -> StepsRun:
    folder = Path(tempfile.mkdtemp(prefix="migdoctor-squash-"))
    try:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text)
        return run_revisions(on_scratch, [revision], upgrade=True, version_locations=(folder,))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _differences(old: SchemaSnapshot, new: SchemaSnapshot) -> list[str]:
    """What the new revision builds differently, in the words of the round trip's comparison
    (``old`` in the place of "before", ``new`` of "after")."""
    return [
        change.description.replace("is still there", "only the new revision builds")
        .replace("is gone (it was there before the upgrade)", "only the old chain builds")
        .replace("before the upgrade", "from the old chain")
        .replace("after the downgrade", "from the new revision")
        for change in downgrade_changes(old, new)
    ]


def _file_moves(
    project: ProjectFacts,
    squashed: list[str],
    archive: Path,
    relative: str,
    text: bytes,
) -> tuple[FileChange, ...]:
    new_path = version_folder(project) / relative
    changes: list[FileChange] = []
    wrote_new = False
    for revision in squashed:
        path = project.graph.scripts[revision].path
        before = path.read_bytes()
        archived = archive / path.name
        if path == new_path:
            changes.append(edited_file(project, path, before, text))
            wrote_new = True
        else:
            note = f"move {project.relative(path)} to {project.relative(archived)}"
            changes.append(FileChange(path, before, None, note))
        changes.append(
            FileChange(archived, None, before, f"write {project.relative(archived)}, byte for byte")
        )
    if not wrote_new:
        changes.append(edited_file(project, new_path, None, text))
    return tuple(changes)


def with_data_statements(project: ProjectFacts, text: bytes, kept: list[DataStatement]) -> bytes:
    """The revision with the kept data migrations at the end of its ``upgrade()``, in order,
    each under a comment naming where it came from."""
    if not kept:
        return text
    source = text.decode("utf-8")
    module = ast.parse(source)
    upgrade = next(
        node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == "upgrade"
    )
    lines = source.splitlines(keepends=True)
    block = ["\n", "    # data migrations of the squashed revisions, kept by migdoctor squash\n"]
    for statement in kept:
        block.append(f"    # from {_describe(project, statement)}\n")
        block += [
            f"    {line}\n" if line.strip() else "\n" for line in statement.source.splitlines()
        ]
    end = upgrade.end_lineno or len(lines)
    return "".join(lines[:end] + block + lines[end:]).encode("utf-8")


def _describe(project: ProjectFacts, statement: DataStatement) -> str:
    return (
        f"{statement.revision} ({project.relative(statement.path)}:{statement.line}, "
        f"{statement.calls})"
    )


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
