"""Every hazard alembic-guard (PyPI) reports on a revision file, migdoctor reports too, on the
live PostgreSQL database the revision is about to run on (issue 12's comparison). alembic-guard
reads the file alone; migdoctor adds what the database says (rows, NULLs, duplicates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Database
from tests.helpers import blog_with_users, checks_found, pending_revision

# alembic-guard's rule -> the migdoctor check that reports the same hazard
SAME_HAZARD = {
    "AG001": "required-column-without-default",
    "AG002": "blocking-index",
    "AG003": "concurrent-index-in-transaction",
    "AG004": "destructive-operation",
    "AG005": "destructive-operation",
    "AG006": "table-rewrite",
    "AG007": "set-not-null",
    "AG008": "validating-constraint",
    "AG009": "table-rewrite",
    "AG010": "validating-constraint",
}

# one operation per alembic-guard rule, on the blog's user table (which holds rows)
HAZARDS = """
op.add_column('user', sa.Column('nick', sa.String(40), nullable=False))
op.create_index('ix_user_email', 'user', ['email'])
op.create_index('ix_user_both', 'user', ['username', 'email'], postgresql_concurrently=True)
op.alter_column('user', 'username', new_column_name='login')
op.drop_column('user', 'email')
op.alter_column('user', 'id', type_=sa.BigInteger())
op.add_column('user', sa.Column('bio', sa.Text(), nullable=True))
op.alter_column('user', 'bio', nullable=False)
op.create_check_constraint('ck_user_id', 'user', 'id > 0')
op.add_column('user', sa.Column('token', sa.Text(), server_default=sa.text('gen_random_uuid()')))
op.create_unique_constraint('uq_user_id', 'user', ['id'])
"""


@pytest.mark.parametrize("server_database", ["postgresql"], indirect=True)
def test_every_hazard_alembic_guard_reports_migdoctor_reports(
    tmp_path: Path, server_database: Database
) -> None:
    from alembic_guard import check_file

    blog = blog_with_users(tmp_path, server_database, 12_000)
    revision_file = pending_revision(blog, HAZARDS)

    theirs = {finding.rule_id for finding in check_file(revision_file)}
    _, document = blog.check_json()
    ours = checks_found(document)

    assert theirs == set(SAME_HAZARD), theirs  # every rule fires on this file
    missing = {rule: SAME_HAZARD[rule] for rule in theirs if SAME_HAZARD[rule] not in ours}
    assert not missing, (missing, sorted(ours))
