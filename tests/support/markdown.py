"""Markdown as GitHub shows it: the anchors of headings, the relative links of a page."""

from __future__ import annotations

import re
import unicodedata

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^```.*?^```", flags=re.M | re.S)


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings: lower case, punctuation dropped, spaces to '-'."""
    anchors = set()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            text = re.sub(r"`", "", match.group(1)).strip().lower()
            text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
            anchors.add(text.replace(" ", "-"))
    return anchors


def relative_links(markdown: str) -> list[str]:
    """The targets of `[text](target)` links outside code blocks that stay in the repository
    (no scheme, no `mailto:`)."""
    text = _FENCE.sub("", markdown)
    return [t for t in _LINK.findall(text) if ":" not in t.split("#")[0] and "://" not in t]
