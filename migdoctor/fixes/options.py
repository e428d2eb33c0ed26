"""The ways a check offers to repair its finding, built from the fix modules: a fix's risk is
declared once, as ``RISK`` in its module, and every check that offers the fix shows that risk."""

from __future__ import annotations

from migdoctor.facts.model import Facts
from migdoctor.findings import FixOption, Risk
from migdoctor.fixes import fix_module

# why a stamp may be recommended: the only evidence migdoctor accepts for recording a revision
# as applied without running it
SCHEMA_MATCHES = (
    "alembic's comparison finds the live schema equal to the schema at this revision: tables, "
    "columns, types, indexes and constraints"
)


def fix_risk(fix_id: str) -> Risk:
    """The risk ``fix_id``'s module declares."""
    risk: Risk = fix_module(fix_id).RISK
    return risk


def fix_option(
    facts: Facts,
    fix_id: str,
    title: str,
    *,
    why: str = "",
    recommended: bool = False,
    revision: str | None = None,
    session: str | None = None,
    flags: tuple[str, ...] = (),
) -> FixOption:
    """One way to repair a finding: the fix's own risk and the exact command that applies it
    (``--revision``/``--session`` when given, then ``flags``)."""
    arguments = [*(("--revision", revision) if revision else ())]
    arguments += [*(("--session", session) if session else ()), *flags]
    return FixOption(
        id=fix_id,
        title=title,
        risk=fix_risk(fix_id),
        command=facts.fix_command(fix_id, *arguments),
        why=why,
        recommended=recommended,
        revision=revision,
        session=session,
    )


def verified_stamp_option(facts: Facts, revision: str, title: str) -> FixOption:
    """The recommended stamp at ``revision``, whose schema the live one equals; what it skips
    that no schema shows (data) is said."""
    from migdoctor.operations.schema_position import data_changes_skipped

    why = SCHEMA_MATCHES
    skipped = data_changes_skipped(facts, revision)
    if skipped:
        shown = "; ".join(skipped[:3]) + (f"; {len(skipped) - 3} more" if len(skipped) > 3 else "")
        why += f". It also skips what no schema shows ({shown}): make sure that data is there first"
    return fix_option(facts, "stamp", title, why=why, recommended=True, revision=revision)
