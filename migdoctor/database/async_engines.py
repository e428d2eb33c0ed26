"""Engines of async drivers (``alembic init -t async``: asyncpg, aiosqlite, aiomysql, psycopg's
async mode) used from migdoctor's own, synchronous code.

Such an engine connects only inside SQLAlchemy's greenlet: env.py provides one while its
``connection.run_sync(...)`` runs, so what migdoctor does inside env.py needs nothing. Before or
after it (reading back the version table after a run, creating a scratch database), the work
runs in a greenlet on an event loop of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from migdoctor.project.config import ProjectConfig

T = TypeVar("T")


def on_engine(engine: Any, work: Callable[[], T]) -> T:
    """``work()``, which connects through ``engine``, wherever it is called from."""
    if not getattr(engine.dialect, "is_async", False):
        return work()
    from sqlalchemy.util.concurrency import greenlet_spawn, in_greenlet

    if in_greenlet():
        return work()
    import asyncio

    return asyncio.run(greenlet_spawn(work))


def is_async_url(url: str | None) -> bool:
    """Whether ``url`` names an async driver (False when it names none SQLAlchemy knows)."""
    if not url:
        return False
    try:
        from sqlalchemy.engine import make_url

        return bool(getattr(make_url(url).get_dialect(), "is_async", False))
    except Exception:  # noqa: BLE001 - an unknown or unloadable driver: not known as async
        return False


def runs_async_engine(config: ProjectConfig) -> bool:
    """Whether env.py connects with an async driver: its URL names one, or env.py builds an
    async engine (``alembic init -t async``)."""
    if is_async_url(config.sqlalchemy_url):
        return True
    try:
        env_py = (config.script_location / "env.py").read_text(errors="replace")
    except OSError:
        return False
    return "async_engine_from_config" in env_py or "create_async_engine" in env_py
