"""The schema a connection's unqualified names mean now."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def current_schema(connection: Connection) -> str | None:
    """The schema unqualified names mean on this connection now (PostgreSQL's first schema of
    the search_path, MySQL's ``USE``d database), which may differ from the one it connected
    with."""
    try:
        return connection.dialect._get_default_schema_name(connection)
    except NotImplementedError:
        return None
