"""Which database server, and which version of it, a verdict on locks and rewrites is for.

Online it is read once with the connection (``database/capture.py``); offline only the product
is known, from the configured URL, and the newest version is assumed (``version == ()``).
"""

from __future__ import annotations

from dataclasses import dataclass

POSTGRESQL = "postgresql"
MYSQL = "mysql"
MARIADB = "mariadb"
SQLITE = "sqlite"

_NAMES = {POSTGRESQL: "PostgreSQL", MYSQL: "MySQL", MARIADB: "MariaDB", SQLITE: "SQLite"}


@dataclass(frozen=True)
class ServerVersion:
    """``product``: postgresql, mysql, mariadb, sqlite (or another dialect's name);
    ``version``: its version numbers, () when not known (then the newest is assumed)."""

    product: str
    version: tuple[int, ...] = ()

    @property
    def known(self) -> bool:
        return bool(self.version)

    @property
    def name(self) -> str:
        return _NAMES.get(self.product, self.product)

    def at_least(self, *version: int) -> bool:
        """Whether the server is ``version`` or newer; an unknown version is the newest."""
        return not self.version or self.version >= version

    def __str__(self) -> str:
        if not self.version:
            return self.name
        return f"{self.name} {'.'.join(str(part) for part in self.version)}"

    @property
    def verdict_for(self) -> str:
        """The version a verdict is for, in words (an unknown one says it is assumed)."""
        if self.known:
            return str(self)
        return f"the newest {self.name} (its version is not known: assumed)"


def server_from_info(dialect_name: str, info: tuple[object, ...], mariadb: bool) -> ServerVersion:
    """The server SQLAlchemy's dialect found (``server_version_info``; its words dropped)."""
    numbers: list[int] = []
    for part in info:
        if not isinstance(part, int):
            break
        numbers.append(part)
    product = MARIADB if mariadb else dialect_name
    return ServerVersion(product, tuple(numbers))


def server_from_url(url: str | None) -> ServerVersion | None:
    """Offline: the product a configured URL names (``mariadb://`` says MariaDB; ``mysql://``
    may be either, MySQL is assumed), no version; None when the URL does not say."""
    text = url or ""
    if "://" not in text:
        return None
    name = text.split("://", 1)[0].split("+", 1)[0].lower()
    if not name:
        return None
    return ServerVersion({"postgres": POSTGRESQL}.get(name, name))
