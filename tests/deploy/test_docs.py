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
    """`validate-config` accepts each example as printed; the files it names exist (a CA
    file holds a PEM certificate, the kubeconfig is one; an absolute path is moved under
    the test's folder)."""
    import subprocess

    import yaml

    from monitor.simulate.httpserver import sim_server_identity
    from tests.support.paths import CLI
    from tests.support.sim_bigip import NOW

    ca_pem = sim_server_identity(NOW, "docs-example")[0].pem
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
    doc = yaml.safe_load(text)
    named = [
        (k, d.get(k)) for d in doc["bigip"] for k in ("usernameFile", "passwordFile", "caFile")
    ]
    named.append(("kubeconfig", (doc.get("mesh") or {}).get("kubeconfig")))
    paths = {value: key for key, value in named if isinstance(value, str)}  # each path once
    for value, key in paths.items():
        content = {"caFile": ca_pem, "kubeconfig": kubeconfig}.get(key, "dummy\n")
        if value.startswith("/"):  # a path on the reader's machine: one here instead
            local = tmp_path / "abs" / value.lstrip("/")
            text = text.replace(value, str(local))
        else:
            local = tmp_path / value
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(content)
    config = tmp_path / "config.yaml"
    config.write_text(text)
    run = subprocess.run(
        [*CLI, "validate-config", str(config)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, f"{where}: {run.stderr}"
