"""placeholder-url: sqlalchemy.url is still alembic's template value.

What it detects
---------------
The Alembic configuration still says ``sqlalchemy.url = driver://user:pass@localhost/dbname``,
the placeholder ``alembic init`` writes. Online, migdoctor already stops on it in one line; this
check makes ``migdoctor check --offline`` (for example in CI, without a database) say it too.
When env.py connects somewhere else anyway (its URL read from the application's settings), the
placeholder is unused and an online check does not report it.

Why it matters
--------------
Unless env.py takes the URL from elsewhere, every alembic command that needs the database fails
with ``Can't load plugin: sqlalchemy.dialects:driver``, which does not say which setting is
wrong. A forgotten placeholder usually means the deployment expects the URL from somewhere that
is not set up.

How to fix
----------
Set ``sqlalchemy.url`` in alembic.ini to the real database URL, or, to keep passwords out of the
file, set it in env.py from an environment variable
(``config.set_main_option("sqlalchemy.url", os.environ["DATABASE_URL"])``) and delete the line
from alembic.ini. For a single run, ``migdoctor --url URL`` overrides it.
"""

from __future__ import annotations

from migdoctor.checks import check
from migdoctor.database.failures import PLACEHOLDER_URL
from migdoctor.facts.model import Facts
from migdoctor.findings import Finding, Severity

SLUG = "placeholder-url"
CODE = "MD302"


@check(
    SLUG,
    CODE,
    Severity.WARNING,
    needs_database=False,
    healthy="sqlalchemy.url is not alembic's placeholder",
)
def url_is_template_placeholder(facts: Facts) -> list[Finding]:
    config = facts.project.config
    if (config.sqlalchemy_url or "").strip() != PLACEHOLDER_URL:
        return []
    if facts.database is not None:
        # env.py connected without it: the placeholder is never used
        return []
    where = facts.project.relative(config.ini_file) if config.ini_file else "the configuration"
    return [
        Finding(
            check=SLUG,
            code=CODE,
            severity=Severity.WARNING,
            title="sqlalchemy.url is still alembic's placeholder",
            message=(
                f"sqlalchemy.url in {where} is '{PLACEHOLDER_URL}', the value alembic init "
                "writes. Unless env.py takes the URL from somewhere else, every command that "
                'needs the database fails with "Can\'t load plugin: sqlalchemy.dialects:driver".'
            ),
            evidence={"config_file": where, "sqlalchemy_url": PLACEHOLDER_URL},
            locations=facts.project.config_location,
        )
    ]
