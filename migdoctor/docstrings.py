"""Documentation written as a module's docstring, which ``migdoctor explain`` prints: a first
paragraph ``name: summary``, then sections, each a title underlined with dashes."""

from __future__ import annotations

import re
from collections.abc import Sequence


def doc_summary(doc: str) -> str:
    """The first paragraph, after ``name:``, on one line."""
    first = " ".join(doc.strip().split("\n\n")[0].split())
    return first.split(":", 1)[1].strip() if ":" in first else first


def doc_sections(doc: str, names: Sequence[str]) -> dict[str, str]:
    """The text of each section among ``names``, as written."""
    sections: dict[str, str] = {}
    pattern = re.compile(rf"^({'|'.join(map(re.escape, names))})\n-+\n", re.MULTILINE)
    matches = list(pattern.finditer(doc))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(doc)
        sections[match.group(1)] = doc[match.end() : end].strip()
    return sections
