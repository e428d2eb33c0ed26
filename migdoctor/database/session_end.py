"""Ending another database session (the ``end-session`` fix): ``KILL`` on MySQL/MariaDB,
``pg_terminate_backend`` on PostgreSQL, run on a connection of its own; and statements that must
run outside a transaction (``DROP INDEX CONCURRENTLY``). Which session and the
statement come from :mod:`migdoctor.database.sessions`, which finds the sessions in the way."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from migdoctor.facts.model import ProjectFacts

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext


def end_session(project: ProjectFacts, session_id: str, statement: str) -> None:
    """End another session (it must still exist) with ``statement``."""
    from sqlalchemy import text

    from migdoctor.database.environment import run_environment

    def work(context: MigrationContext, script: Any) -> list[Any]:
        connection = context.connection
        assert connection is not None
        with connection.engine.connect() as session:
            session.execute(text(statement))
        return []

    run_environment(project, work, read_only=True, action=f"Ending session {session_id}")


def run_outside_transactions(project: ProjectFacts, statements: list[str]) -> None:
    """Run each statement on a connection of its own in autocommit (what PostgreSQL's
    ``... CONCURRENTLY`` statements require), through env.py's database."""
    from sqlalchemy import text

    from migdoctor.database.environment import run_environment

    def work(context: MigrationContext, script: Any) -> list[Any]:
        connection = context.connection
        assert connection is not None
        with connection.engine.connect() as own:
            own = own.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                own.execute(text(statement))
        return []

    run_environment(project, work, read_only=True, action="Dropping invalid indexes")
