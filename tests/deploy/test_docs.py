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


def _table(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table that starts with `header`, cells stripped."""
    start = text.index(header)
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_checks_md_states_the_requirement_table() -> None:
    from monitor.requirements import NEEDS, REQUIREMENTS

    text = (DOCS / "checks.md").read_text(encoding="utf-8")
    legend = {row[0].strip("`") for row in _table(text, "| need | what grants it |")}
    assert legend == set(NEEDS)
    stated = {}
    for check, bigip, kube in _table(text, "| check | BIG-IP | Kubernetes |"):
        needs = {n.strip().strip("`") for n in f"{bigip},{kube}".split(",")} - {"—", ""}
        stated[check.strip("`")] = needs
    assert stated == {check: set(needs) for check, needs in REQUIREMENTS.items()}


def example_configs() -> list[tuple[str, str]]:
    """Every YAML block of the README and docs/ that is a whole expected-state file (it has
    `bigip` and `boundaries`): (where, text)."""
    import yaml

    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, flags=re.S)):
            try:
                doc = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict) and {"bigip", "boundaries"} <= set(doc):
                found.append((f"{page.relative_to(ROOT)}#{number}", block))
    return found


def test_the_readme_and_getting_started_show_a_whole_config() -> None:
    places = {where.split("#")[0] for where, _ in example_configs()}
    assert {"README.md", "docs/getting-started.md", "docs/configuration.md"} <= places


@pytest.mark.parametrize(("where", "text"), example_configs(), ids=lambda v: str(v)[:40])
def test_example_configs_validate(where: str, text: str, tmp_path: Path) -> None:
    """`validate-config` accepts each example as printed; the files it names (relative to
    the example) exist as dummies."""
    import subprocess

    import yaml

    from tests.support.paths import CLI

    doc = yaml.safe_load(text)
    for device in doc["bigip"]:
        for key in ("usernameFile", "passwordFile", "caFile"):
            value = device.get(key)
            if isinstance(value, str) and not value.startswith("/"):
                (tmp_path / value).parent.mkdir(parents=True, exist_ok=True)
                (tmp_path / value).write_text("dummy\n")
    config = tmp_path / "config.yaml"
    config.write_text(text)
    run = subprocess.run(
        [*CLI, "validate-config", str(config)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, f"{where}: {run.stderr}"
