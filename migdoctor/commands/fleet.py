"""Many databases, one history: ``check --targets FILE`` and ``upgrade --targets FILE``.

The scripts are read once, in this process; each target is then checked (or upgraded) in a
process of its own, forked from this one (a new interpreter where there is no fork), so that
env.py and alembic's global context run alone for each target and one target that hangs,
crashes or exits cannot take the others with it. At most ``jobs`` targets at once, so 200
tenants open at most ``jobs`` connections together. Checks run concurrently; upgrades one target
after the other, in file order, each under its own migration lock: the first failure stops the
rest unless ``keep_going``, and a second run resumes where the first stopped (the targets done
are at their head: nothing to do there).
"""

from __future__ import annotations

import io
import json
import os
import selectors
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any

from migdoctor.errors import (
    EXIT_CANNOT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    MigdoctorError,
    describe_exception,
)
from migdoctor.facts.fleet import TargetOutcome
from migdoctor.project.config import ConfigOptions
from migdoctor.project.targets import Target


def target_options(options: ConfigOptions, target: Target) -> ConfigOptions:
    """The run's options aimed at ``target``: its URL, its -x arguments after the run's own."""
    return replace(options, url=target.url, x_arguments=(*options.x_arguments, *target.x_arguments))


def check_targets(
    options: ConfigOptions,
    targets: Sequence[Target],
    jobs: int,
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    invocation: tuple[str, ...] = ("migdoctor",),
) -> list[TargetOutcome]:
    """``migdoctor check`` on every target, ``jobs`` at once, in file order."""
    from migdoctor.commands.check import diagnose
    from migdoctor.gathering.gather import load_project
    from migdoctor.render.json import report_document

    load_project(options)  # read (and cache) the scripts once, before the forks
    preload(targets)

    def check_one(target: Target) -> dict[str, Any]:
        report = diagnose(
            target_options(options, target), select=select, ignore=ignore, invocation=invocation
        )
        return {"exit_code": report.exit_code, "report": report_document(report)}

    return [
        _outcome(target, answer)
        for target, answer in zip(targets, run_each(check_one, targets, jobs), strict=True)
    ]


def upgrade_targets(
    options: ConfigOptions,
    targets: Sequence[Target],
    revision: str,
    *,
    keep_going: bool,
    lock_timeout: float | None,
    invocation: tuple[str, ...],
    on_done: Callable[[TargetOutcome], None],
) -> list[TargetOutcome]:
    """``migdoctor upgrade REVISION`` on each target in turn (preflight and lock included);
    stops after the first that does not end well unless ``keep_going``.

    The targets share one project, so its settings (``lock_timeout``, ``statement_timeout``,
    ``retries``; None: not given on the command line) are decided once, here, before the first
    target (a wrong one is refused before anything runs), and every target runs with the same:
    each waits ``lock_timeout`` for its locks and tries a revision again up to ``retries``
    times on its own database."""
    from migdoctor.commands.guarded import migrate
    from migdoctor.commands.run_settings import with_run_settings
    from migdoctor.gathering.gather import load_project
    from migdoctor.render import stdout_console
    from migdoctor.render.interaction import TerminalInteraction

    project = load_project(options)
    options, lock_timeout = with_run_settings(options, lock_timeout, project.config)
    preload(targets)

    def upgrade_one(target: Target) -> dict[str, Any]:
        buffer = io.StringIO()
        ui = TerminalInteraction(stdout_console(buffer), invocation)
        code = migrate(
            target_options(options, target),
            "upgrade",
            revision,
            invocation=invocation,
            sql=False,
            tag=None,
            preflight=True,
            lock_timeout=lock_timeout,
            ui=ui,
        )
        return {"exit_code": code, "output": buffer.getvalue()}

    outcomes: list[TargetOutcome] = []
    for target in targets:
        (answer,) = run_each(upgrade_one, [target], 1)
        outcome = _outcome(target, answer)
        outcomes.append(outcome)
        on_done(outcome)
        if outcome.exit_code != EXIT_OK and not keep_going:
            break
    return outcomes


def preload(targets: Sequence[Target]) -> None:
    """Import, once and before the forks, what a run on any target imports (alembic's runtime
    and comparison, migdoctor's capture, checks and recorder, each target's dialect and driver):
    every fork starts with them, where each would otherwise import them on its own, the most
    of what checking one database at its head costs. Nothing connects."""
    import alembic.autogenerate
    import alembic.runtime.migration  # noqa: F401 - imported for the forks
    from sqlalchemy.engine import make_url

    import migdoctor.database.capture
    import migdoctor.operations.replay  # noqa: F401
    from migdoctor.checks import all_checks

    all_checks()
    for url in {target.url for target in targets}:
        with suppress(Exception):  # a target's own mistake is told by its own run
            make_url(url).get_dialect().import_dbapi()


def worst_exit_code(outcomes: Sequence[TargetOutcome]) -> int:
    """The fleet's exit code: could not (2) over problems (1) over healthy (0)."""
    codes = {outcome.exit_code for outcome in outcomes}
    for code in (EXIT_INTERRUPTED, EXIT_CANNOT, EXIT_FAILED):
        if code in codes:
            return code
    return max(codes, default=EXIT_OK)


def _outcome(target: Target, answer: dict[str, Any]) -> TargetOutcome:
    if "error" in answer:
        return TargetOutcome(
            target, int(answer.get("exit_code", EXIT_CANNOT)), error=answer["error"]
        )
    return TargetOutcome(
        target,
        int(answer["exit_code"]),
        report=answer.get("report"),
        output=str(answer.get("output", "")),
    )


# -- one process per target -----------------------------------------------------------------


def run_each(
    work: Callable[[Target], dict[str, Any]], targets: Sequence[Target], jobs: int
) -> list[dict[str, Any]]:
    """``work(target)`` for every target, each in a forked child, at most ``jobs`` at once;
    the answers in target order. Without fork (or with another thread running), one after the
    other in this process."""
    import threading

    if not hasattr(os, "fork") or threading.active_count() > 1:
        return [_answer_of(work, target) for target in targets]
    answers: dict[int, dict[str, Any]] = {}
    running: dict[int, tuple[int, int, bytearray]] = {}  # fd -> (index, pid, bytes so far)
    selector = selectors.DefaultSelector()
    waiting = list(enumerate(targets))
    with _children_ended_on_exit(running):
        while waiting or running:
            while waiting and len(running) < max(1, jobs):
                index, target = waiting.pop(0)
                fd, pid = _fork_child(work, target)
                running[fd] = (index, pid, bytearray())
                selector.register(fd, selectors.EVENT_READ)
            for key, _ in selector.select():
                fd = int(key.fd)
                index, pid, received = running[fd]
                chunk = os.read(fd, 65536)
                if chunk:
                    received.extend(chunk)
                    continue
                selector.unregister(fd)
                os.close(fd)
                del running[fd]
                _, status = os.waitpid(pid, 0)
                answers[index] = _decode(received, os.waitstatus_to_exitcode(status))
    selector.close()
    return [answers[index] for index in range(len(targets))]


def _fork_child(work: Callable[[Target], dict[str, Any]], target: Target) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        status = 70
        try:
            os.close(read_end)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # what env.py or the application print is not the fleet's report
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            answer = _answer_of(work, target)
            with os.fdopen(write_end, "wb") as out:
                out.write(json.dumps(answer, default=str).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    return read_end, pid


def _answer_of(work: Callable[[Target], dict[str, Any]], target: Target) -> dict[str, Any]:
    try:
        return work(target)
    except MigdoctorError as error:
        text = str(error) + (f" {error.hint}" if error.hint else "")
        return {"exit_code": EXIT_CANNOT, "error": text}
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - one target's failure is its own outcome
        return {"exit_code": EXIT_CANNOT, "error": describe_exception(error)}


def _decode(received: bytearray, status: int) -> dict[str, Any]:
    try:
        answer = json.loads(received)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        return answer
    how = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
    return {"exit_code": EXIT_CANNOT, "error": f"the run for this target ended ({how})"}


@contextmanager
def _children_ended_on_exit(running: dict[int, tuple[int, int, bytearray]]) -> Iterator[None]:
    """On Ctrl-C (or any error) no child is left running."""
    try:
        yield
    finally:
        for fd, (_, pid, _) in list(running.items()):
            with suppress(ChildProcessError, ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)
        running.clear()
