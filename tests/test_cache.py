"""The parse cache of revision headers: used when a file is unchanged, ignored and rebuilt when
it is stale, corrupt or from another version, never trusted for a header read by importing."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from migdoctor.project.cache import HeaderCache, format_version
from migdoctor.project.scripts import (
    RevisionScript,
    ScriptLoadError,
    read_revision_file,
)
from migdoctor.project.version_files import list_version_files
from tests.helpers import copy_project

AN_HOUR_AGO_NS = (1_700_000_000 - 3600) * 1_000_000_000


def revision_file(folder: Path, revision: str, down: str | None, extra: str = "") -> Path:
    path = folder / f"{revision}_step.py"
    path.write_text(
        f'"""step {revision}\n\nRevision ID: {revision}\n"""\n{extra}'
        f"revision = {revision!r}\ndown_revision = {down!r}\n"
    )
    age(path)
    return path


def age(path: Path, nanoseconds: int = AN_HOUR_AGO_NS) -> None:
    """Files written a moment ago are not cached (a rewrite within one clock tick would keep
    their modification time); the tests' files are made older."""
    os.utime(path, ns=(nanoseconds, nanoseconds))


def open_cache(project: Path, versions: Path) -> HeaderCache:
    return HeaderCache.for_project(project, [versions], recursive=False)


def read_all(project: Path, versions: Path) -> tuple[HeaderCache, list[object]]:
    cache = open_cache(project, versions)
    read = [cache.read(path) for path in list_version_files([versions], False, False)]
    cache.save()
    return cache, read


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations" / "versions"
    folder.mkdir(parents=True)
    revision_file(folder, "a1", None)
    revision_file(folder, "b2", "a1", extra="import myapp.settings  # not installed\n")
    broken = folder / "c3_broken.py"
    broken.write_text("revision = 'c3'\ndown_revision = (\n")
    age(broken)
    return folder


def test_a_warm_read_gives_what_a_cold_read_gives(tmp_path: Path, versions: Path) -> None:
    cold, first = read_all(tmp_path, versions)
    warm, second = read_all(tmp_path, versions)

    assert (cold.hits, cold.misses) == (0, 3)
    assert (warm.hits, warm.misses) == (3, 0)
    assert second == first
    uncached = [read_revision_file(p) for p in list_version_files([versions], False, False)]
    assert second == uncached
    assert isinstance(second[2], ScriptLoadError) and second[2].line is not None
    cache_folder = tmp_path / ".migdoctor" / "cache"
    assert warm.loaded_from is not None and warm.loaded_from.parent == cache_folder
    assert (cache_folder / ".gitignore").read_text().strip().endswith("*")
    assert [p.name for p in cache_folder.iterdir() if p.name.endswith(".migdoctor")] == []


def test_a_changed_file_is_read_again(tmp_path: Path, versions: Path) -> None:
    read_all(tmp_path, versions)
    path = versions / "a1_step.py"
    # same size, other content, other modification time
    path.write_text(path.read_text().replace("step a1", "step A1"))
    age(path, AN_HOUR_AGO_NS + 1_000)

    cache, read = read_all(tmp_path, versions)

    assert (cache.hits, cache.misses) == (2, 1)
    first = read[0]
    assert isinstance(first, RevisionScript) and first.doc == "step A1"


def test_a_file_changed_a_moment_ago_is_not_cached(tmp_path: Path, versions: Path) -> None:
    fresh = revision_file(versions, "d4", "b2")
    os.utime(fresh)  # now

    read_all(tmp_path, versions)
    cache, _ = read_all(tmp_path, versions)

    assert (cache.hits, cache.misses) == (3, 1)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "other-version"])
def test_a_damaged_cache_is_ignored_and_rebuilt(
    tmp_path: Path, versions: Path, damage: str
) -> None:
    first_cache, first = read_all(tmp_path, versions)
    cache_file = first_cache.folders[0] / first_cache.name
    data = cache_file.read_bytes()
    if damage == "garbage":
        data = b"\x00not a cache at all"
    elif damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "flipped":
        middle = len(data) - 40
        data = data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :]
    else:
        data = data.replace(format_version().encode(), b"0" * 16, 1)
    cache_file.write_bytes(data)

    rebuilt, second = read_all(tmp_path, versions)
    warm, third = read_all(tmp_path, versions)

    assert (rebuilt.hits, rebuilt.misses) == (0, 3)
    assert second == first
    assert (warm.hits, third) == (3, first)


def test_a_new_field_of_revision_script_invalidates_old_caches() -> None:
    extended = dataclasses.make_dataclass(
        "RevisionScript",
        [(f.name, f.type, f) for f in dataclasses.fields(RevisionScript)]
        + [("encoding", "str", dataclasses.field(default="utf-8"))],
        frozen=True,
    )

    assert format_version(extended) != format_version()
    assert format_version() == format_version(RevisionScript, ScriptLoadError)


def test_a_header_read_by_importing_is_imported_every_time(
    tmp_path: Path, versions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = versions / "e5_computed.py"
    computed.write_text(
        "import os\nrevision = 'e5'\ndown_revision = os.environ['MIGDOCTOR_TEST_PARENT']\n"
    )
    age(computed)
    monkeypatch.setenv("MIGDOCTOR_TEST_PARENT", "a1")
    _, first = read_all(tmp_path, versions)
    monkeypatch.setenv("MIGDOCTOR_TEST_PARENT", "b2")

    cache, second = read_all(tmp_path, versions)

    assert cache.hits == 4  # the cache only remembers that the file must be imported
    assert [s.down_revisions for s in first if isinstance(s, RevisionScript)][-1] == ("a1",)
    read = [s for s in second if isinstance(s, RevisionScript)][-1]
    assert (read.revision, read.down_revisions, read.read_by) == ("e5", ("b2",), "import")


def test_an_unwritable_project_folder_falls_back_to_the_user_cache(
    tmp_path: Path, versions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))
    (tmp_path / ".migdoctor").write_text("a file where the cache folder would go")

    first_cache, first = read_all(tmp_path, versions)
    warm, second = read_all(tmp_path, versions)

    assert first_cache.loaded_from is None
    assert warm.loaded_from is not None
    assert warm.loaded_from.parent == tmp_path / "user-cache" / "migdoctor"
    assert (warm.hits, second) == (3, first)


def test_check_writes_the_cache_beside_the_config_unless_told_not_to(tmp_path: Path) -> None:
    project = copy_project("blog", tmp_path / "blog", None)
    for path in project.versions.iterdir():
        age(path)

    quiet = project.migdoctor("check", "--offline", env={"MIGDOCTOR_NO_CACHE": "1"})
    assert quiet.exit_code == 0, quiet
    assert not (project.root / ".migdoctor").exists()

    first = project.migdoctor("check", "--offline", "--format", "json")
    second = project.migdoctor("check", "--offline", "--format", "json")

    assert first.exit_code == second.exit_code == 0
    assert second.stdout == first.stdout == quiet_json(project)
    assert len(list((project.root / ".migdoctor" / "cache").glob("headers-*.bin"))) == 1


def quiet_json(project) -> str:  # type: ignore[no-untyped-def]
    result = project.migdoctor(
        "check", "--offline", "--format", "json", env={"MIGDOCTOR_NO_CACHE": "1"}
    )
    return str(result.stdout)


def test_an_env_py_that_appends_to_sys_path_on_each_run_keeps_one_import_cache(
    tmp_path: Path,
) -> None:
    """The blog's env.py appends its folder to sys.path each time it runs, as most do: a fix
    runs env.py several times in one process (plan, apply, check again), and every run must
    find the import answers of the first instead of importing the version files again."""
    from tests.conftest import Database
    from tests.helpers import migdoctor_command, run

    database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}")
    project = copy_project("blog", tmp_path / "project", database)
    migdoctor = migdoctor_command()
    assert run([*migdoctor, "upgrade", "1a2b3c4d5e6f"], cwd=project.root).exit_code == 0
    assert run([*migdoctor, "fix", "upgrade", "--yes"], cwd=project.root).exit_code == 0
    assert run([*migdoctor, "check"], cwd=project.root).exit_code == 0
    caches = sorted((project.root / ".migdoctor" / "cache").glob("loads-*.bin"))
    assert len(caches) == 1, caches


def test_headers_parsed_on_two_cores_are_those_read_one_by_one(
    tmp_path: Path, versions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # many files without a cache are parsed half in a forked child (parallel_read): a literal
    # header, a computed one, a syntax error and a file that cannot be read come back the same
    from migdoctor.project import parallel_read
    from migdoctor.project.cache import read_statically

    computed = versions / "d4_computed.py"
    computed.write_text("revision = 'd' + '4'\ndown_revision = 'b2'\n")
    age(computed)
    (versions / "e5_unreadable.py").mkdir()  # reading it fails (IsADirectoryError)
    paths = [*list_version_files([versions], False, False), versions / "e5_unreadable.py"]
    monkeypatch.setattr(parallel_read, "SPLIT_AT", 2)
    monkeypatch.setattr(parallel_read, "_can_fork", lambda: True)  # a test worker has threads
    from_child: list[object] = []
    collect = parallel_read._collect

    def spied(pid: int, pipe: int, count: int) -> list[object] | None:
        from_child.append(collect(pid, pipe, count))
        return from_child[-1]

    monkeypatch.setattr(parallel_read, "_collect", spied)
    serial = [read_statically(path) for path in paths]

    forked = parallel_read.read_all(paths, read_statically)

    assert forked == serial
    assert from_child == [serial[2:]], "the child read the second half"
    assert [type(header).__name__ for header, _ in forked] == [
        "RevisionScript",
        "RevisionScript",
        "ScriptLoadError",
        "NoneType",
        "ScriptLoadError",
    ]
    assert [cacheable for _, cacheable in forked] == [True, True, True, True, False]
    # through the cache: the same headers, and the same entries kept
    cache = open_cache(tmp_path, versions)
    through_cache = cache.read_headers(
        paths, lambda missed: parallel_read.read_all(missed, read_statically)
    )
    assert through_cache == [header for header, _ in serial]
    assert sorted(cache.kept) == sorted(str(path) for path in paths[:4])
