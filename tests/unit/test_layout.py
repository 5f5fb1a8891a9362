"""The package layout holds: layers that only import downwards, no cycle, no prefix families.

Read from the source as text (`ast`), nothing imported. The layers are the path of a poll,
bottom to top; a module may import its own package and the packages of lower layers only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support.paths import ROOT

MONITOR = ROOT / "monitor"

# Bottom to top. A package's `__init__` docstring says what it may import; this is the rule.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"catalogue", "requirements", "certs", "policy"}),
    frozenset({"config", "model"}),
    frozenset({"checks", "sources", "simulate"}),
    frozenset({"rotation"}),
    frozenset({"state"}),
    frozenset({"render", "alerts"}),
    frozenset({"web"}),
    frozenset({"daemon"}),
    frozenset({"demo"}),
    frozenset({"doctor"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(MONITOR.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """The monitor modules `name` imports (`from pkg import submodule` counts the module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("monitor"):
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("monitor."))
    return found - {name}


GRAPH = {name: imports(name) for name in MODULES}


def top(name: str) -> str:
    return name.split(".")[1] if "." in name else name


def test_every_top_level_package_and_module_has_a_layer() -> None:
    tops = {top(n) for n in MODULES if n != "monitor"}
    assert tops == set(LAYER)


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n != "monitor"))
def test_imports_run_down_the_layers(name: str) -> None:
    mine = top(name)
    upward = sorted(
        f"{dep} (layer {LAYER[top(dep)]})"
        for dep in GRAPH[name]
        if dep != "monitor" and top(dep) != mine and LAYER[top(dep)] >= LAYER[mine]
    )
    assert not upward, f"{name} (layer {LAYER[mine]}) imports {upward}"


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for dep in sorted(GRAPH[node]):
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep) :], dep]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if dep not in state:
                visit(dep)
        path.pop()
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_at_most_ten_modules_directly_in_monitor() -> None:
    direct = sorted(p.name for p in MONITOR.glob("*.py"))
    assert len(direct) <= 10, direct


def test_no_family_of_three_prefix_named_modules_in_one_folder() -> None:
    families: dict[tuple[Path, str], list[str]] = defaultdict(list)
    for path in MONITOR.rglob("*.py"):
        if path.stem != "__init__":
            families[(path.parent, path.stem.split("_")[0])].append(path.name)
    crowded = {f"{d.relative_to(ROOT)}/{p}_*": n for (d, p), n in families.items() if len(n) >= 3}
    assert not crowded, f"prefix families, make them a package: {crowded}"


@pytest.mark.parametrize(
    "package", sorted(str(p.parent.relative_to(ROOT)) for p in MONITOR.rglob("__init__.py"))
)
def test_every_package_says_what_it_owns(package: str) -> None:
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
    assert doc, f"{package}/__init__.py needs a docstring"
    assert len(doc.splitlines()) >= 2, f"{package}/__init__.py: say what it owns and may import"
