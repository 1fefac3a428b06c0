"""docs/from-notes-to-code.md quotes the lines that compute each formula: every quoted
line must still be in the source, word for word, or the guide has gone stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quoted_lines():
    doc = (ROOT / "docs" / "from-notes-to-code.md").read_text()
    for row in doc.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if row.startswith("|") and len(cells) >= 3:
            # Code quotes in the table's last column ("line"); short names are skipped.
            yield from (q for q in re.findall(r"`([^`]+)`", cells[-1]) if len(q) > 20)


def test_every_quoted_line_is_in_the_source():
    source = "".join(p.read_text() for p in (ROOT / "src" / "ldnn").rglob("*.py"))
    quotes = list(_quoted_lines())
    assert len(quotes) > 15
    stale = [q for q in quotes if q not in source]
    assert not stale, f"docs/from-notes-to-code.md quotes lines no longer in src: {stale}"
