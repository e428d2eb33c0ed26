"""Load every version file as alembic will, before calling the history loadable.

alembic imports every file of the version folders before it runs anything (its revision map),
so a revision whose header reads fine but whose imports fail (a package that is not installed,
a ``NameError`` or any exception at module level, ``sys.exit()``, an import that never ends)
stops ``alembic upgrade`` for everyone. Reading headers from the syntax tree cannot see that;
only importing the file can.

The files are imported in a child process (:mod:`migdoctor.project.isolated_import`), so that a
file that hangs or ends the process can neither hang nor end migdoctor; the same child reads the
headers that are not literal (:func:`import_headers`). The answers are cached per Python
environment (:mod:`migdoctor.project.load_cache`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migdoctor.project.cache import cache_disabled
from migdoctor.project.isolated_import import (
    HANG,
    PROCESS_EXIT,
    Answer,
    ImportStream,
    import_in_child,
    import_timeout,
)
from migdoctor.project.load_cache import LoadCache, Signature, environment_key
from migdoctor.project.requirements import find_declarations
from migdoctor.project.scripts import RevisionScript, ScriptLoadError, script_from_imported


@dataclass(frozen=True)
class LoadCheck:
    """What importing the version files told: the files that fail, and, when the files could
    not be imported at all, why (then nothing is known about them)."""

    errors: tuple[ScriptLoadError, ...]
    not_checked: str | None = None


def stops_the_process(error: ScriptLoadError) -> bool:
    """Whether importing the file hangs or ends the process that imports it."""
    return error.message.startswith((f"{HANG}:", f"{PROCESS_EXIT}:"))


def check_loading(
    scripts: Sequence[RevisionScript],
    base_directory: Path,
    sys_path: Sequence[str],
    shown_from: Path | None = None,
    signatures: Mapping[str, Signature] | None = None,
) -> LoadCheck:
    """Import each script's file (through the cache); the files that fail, in file order."""
    paths = [str(script.path) for script in scripts]
    if not paths:
        return LoadCheck(())
    cache = _load_cache(base_directory, sys_path)
    answers: dict[str, Answer] = {}
    if cache is not None:
        answers = cache.answers(paths, signatures or {})
    missing = [path for path in paths if path not in answers]
    if missing:
        imported, loaded, failure = import_in_child(missing, sys_path, import_timeout())
        if failure is not None:
            return LoadCheck((), failure)
        answers.update(imported)
        if cache is not None:
            cache.store(paths, answers, loaded, sys_path)
    return _load_check(paths, answers, base_directory, shown_from)


def _load_cache(base_directory: Path, sys_path: Sequence[str]) -> LoadCache | None:
    if cache_disabled():
        return None
    return LoadCache.for_project(base_directory, environment_key(sys_path))


class EarlyLoadCheck:
    """:func:`check_loading` begun before the headers are read, when every file will have to
    be imported anyway (no cache, or nothing in it holds): the child imports each file as
    soon as its header says it is a revision (:meth:`decide`, in file order), on the other
    core, while the next headers are read. It imports exactly the files, in the order, that
    ``check_loading`` would, so its answers are the same."""

    def __init__(
        self,
        stream: ImportStream,
        cache: LoadCache | None,
        base_directory: Path,
        sys_path: Sequence[str],
    ) -> None:
        self.stream = stream
        self.cache = cache
        self.base_directory = base_directory
        self.sys_path = list(sys_path)

    @classmethod
    def start(
        cls, paths: Sequence[Path], base_directory: Path, sys_path: Sequence[str]
    ) -> EarlyLoadCheck | None:
        """None when it would not pay (the cache answers, or the child cannot be a fork)."""
        cache = _load_cache(base_directory, sys_path)
        if cache is not None and cache.holds():
            return None
        stream = ImportStream.start([str(path) for path in paths], sys_path, import_timeout())
        return None if stream is None else cls(stream, cache, base_directory, sys_path)

    def decide(self, is_revision: bool) -> None:
        """Whether the next file (in the order of ``paths``) is a revision, to be imported."""
        self.stream.decide(is_revision)

    @property
    def decided(self) -> int:
        return self.stream.decided

    def finish(
        self, scripts: Sequence[RevisionScript], shown_from: Path | None = None
    ) -> LoadCheck:
        paths = [str(script.path) for script in scripts]
        if paths != self.stream.included:
            # cannot happen (the revisions are what was decided); stay exact if it does
            self.close()
            return check_loading(scripts, self.base_directory, self.sys_path, shown_from)
        answers, loaded, failure = self.stream.finish()
        if failure is not None:
            return LoadCheck((), failure)
        if self.cache is not None and paths:
            self.cache.store(paths, answers, loaded, self.sys_path)
        return _load_check(paths, answers, self.base_directory, shown_from)

    def close(self) -> None:
        self.stream.close()


def _load_check(
    paths: Sequence[str],
    answers: Mapping[str, Answer],
    base_directory: Path,
    shown_from: Path | None,
) -> LoadCheck:
    errors = [
        _load_error(Path(path), answer) for path in paths if (answer := answers[path]) is not None
    ]
    if any(error.missing_module for error in errors):
        declarations = find_declarations(base_directory, shown_from)
        read = tuple(_relative(path, shown_from) for path in declarations.files)
        errors = [
            error
            if error.missing_module is None
            else _with_declarations(error, declarations.where(error.missing_module), read)
            for error in errors
        ]
    return LoadCheck(tuple(errors))


def _with_declarations(
    error: ScriptLoadError, where: tuple[str, ...], read: tuple[str, ...]
) -> ScriptLoadError:
    from dataclasses import replace

    return replace(error, declared_in=where, declarations_read=read)


def _relative(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _load_error(
    path: Path, answer: tuple[str, str, int | None, str | None, str | None]
) -> ScriptLoadError:
    kind, message, line, statement, missing = answer
    return ScriptLoadError(
        path,
        f"{kind}: {message}" if message else kind,
        line,
        imported=True,
        statement=statement,
        missing_module=missing,
    )


def import_headers(
    paths: Sequence[Path], sys_path: Sequence[str]
) -> dict[Path, RevisionScript | ScriptLoadError]:
    """The headers of files whose header is not literal, read by importing them in one child
    (a file that hangs or exits can then neither hang nor end migdoctor)."""
    headers: dict[str, Any] = {}
    answers, _, failure = import_in_child(
        [str(path) for path in paths], sys_path, import_timeout(), headers
    )
    read: dict[Path, RevisionScript | ScriptLoadError] = {}
    for path in paths:
        answer = answers.get(str(path))
        header = headers.get(str(path))
        if failure is not None:
            read[path] = ScriptLoadError(path, failure)
        elif answer is not None:
            kind, message, line, _, _ = answer
            read[path] = ScriptLoadError(path, f"{kind}: {message}" if message else kind, line)
        elif isinstance(header, dict):
            values = {
                name: _from_plain(value) for name, value in dict(header.get("values", {})).items()
            }
            read[path] = script_from_imported(path, values, str(header.get("doc") or ""))
        else:
            read[path] = ScriptLoadError(path, "the file could not be imported")
    return read


class _Unsupported:
    """A header value the child could only describe (not an id, whatever it is)."""

    def __init__(self, described: str) -> None:
        self.described = described

    def __repr__(self) -> str:
        return self.described


def _from_plain(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_plain(item) for item in value)
    if isinstance(value, dict):
        return _Unsupported(str(value.get("repr", value)))
    return value
