"""The documentation: a short README, a page per topic, one entry per check, working links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.catalogue import ALL_CHECKS
from tests.support.markdown import github_anchors, relative_links
from tests.support.paths import ROOT

DOCS = ROOT / "docs"
PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md")])


def test_the_readme_is_short_and_the_reference_lives_in_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    assert len(list(DOCS.glob("*.md"))) >= 5
    for page in DOCS.glob("*.md"):
        assert f"(docs/{page.name})" in readme, f"the README does not link {page.name}"


def test_the_quick_start_is_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n.*?```sh\n(.*?)```", readme, flags=re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_every_check_id_has_an_entry() -> None:
    text = (DOCS / "checks.md").read_text(encoding="utf-8")
    entries = re.findall(r"^### `?(\w+)`?\s*$", text, flags=re.M)
    assert sorted(entries) == sorted(ALL_CHECKS)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in relative_links(page.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif (
            anchor
            and dest.suffix == ".md"
            and anchor not in github_anchors(dest.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no such heading")
    assert not broken, broken
