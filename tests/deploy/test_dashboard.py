"""The Grafana dashboard: the checked-in JSON is fresh, well formed, and queries real metrics."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dashboards import generate, queries
from dashboards.rows import ROWS
from monitor.render.metrics import METRIC_NAMES
from tests.support.tools import require_tool

METRIC = re.compile(r"\bf5_linkerd_[a-z0-9_]+")


@pytest.fixture(scope="module")
def board() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(generate.OUTPUT.read_text(encoding="utf-8"))
    return loaded


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in board["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def test_checked_in_json_is_fresh() -> None:
    assert generate.OUTPUT.read_text(encoding="utf-8") == generate.render(), (
        "dashboards/f5-linkerd-monitor.json is stale: run `make dashboards`"
    )


def test_generation_is_deterministic() -> None:
    assert generate.render() == generate.render()


def test_check_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "board.json"
    assert generate.main(["--check", "--out", str(out)]) == 1
    assert "stale" in capsys.readouterr().err
    assert generate.main(["--out", str(out)]) == 0
    assert generate.main(["--check", "--out", str(out)]) == 0


def test_dashboard_settings(board: dict[str, Any]) -> None:
    assert board["uid"] == "f5-linkerd-monitor"
    assert board["schemaVersion"] == 41  # the Grafana 11.6 build of the SDK
    assert board["refresh"] == "30s"
    assert board["time"] == {"from": "now-6h", "to": "now"}
    assert "f5-linkerd-monitor" in board["tags"]


def test_variables(board: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    boundary = variables["boundary"]
    assert boundary["type"] == "query"
    assert boundary["query"] == "label_values(f5_linkerd_check, boundary)"
    assert boundary["multi"] is True
    assert boundary["includeAll"] is True
    assert boundary["datasource"]["uid"] == "${datasource}"


def test_seven_areas(board: dict[str, Any]) -> None:
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows == list(ROWS)
    assert set(ROWS) == {
        "Boundary status",
        "Trust timeline",
        "Findings",
        "Pool drift",
        "Mesh policy",
        "Source health",
        "Rotation phase",
        "Identity providers (OIDC)",
    }


def test_every_panel_uses_the_datasource_variable(board: dict[str, Any]) -> None:
    panels = [p for p in _panels(board) if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"], panel["title"]
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_panel_ids_unique_and_grid_fits(board: dict[str, Any]) -> None:
    panels = _panels(board)
    ids = [p["id"] for p in panels]
    assert ids == list(range(1, len(panels) + 1))
    titles = [p["title"] for p in panels]
    assert len(titles) == len(set(titles))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_ref_ids_unique_per_panel(board: dict[str, Any]) -> None:
    for panel in _panels(board):
        refs = [t["refId"] for t in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_expressions_substitute_variables() -> None:
    exprs = generate.expressions()
    assert exprs
    assert len(exprs) == len(set(exprs))
    for expr in exprs:
        assert "$" not in expr, expr
    assert any('boundary=~".*"' in e for e in exprs)


def test_expressions_cover_every_target(board: dict[str, Any]) -> None:
    raw = {t["expr"] for p in _panels(board) for t in p.get("targets", [])}
    assert len(generate.expressions()) == len(raw)


def test_expressions_use_only_exported_metrics() -> None:
    names = {name for expr in generate.expressions() for name in METRIC.findall(expr)}
    unknown = names - set(METRIC_NAMES)
    assert not unknown, (
        f"dashboard queries metrics monitor.render.metrics does not export: {unknown}"
    )
    assert METRIC.findall(queries.BOUNDARY_VALUES)[0] in METRIC_NAMES


@pytest.mark.parametrize(
    ("area", "metric"),
    [
        ("Boundary status", "f5_linkerd_check"),
        ("Findings", "f5_linkerd_finding_first_seen_timestamp_seconds"),
        ("Trust timeline", "f5_linkerd_certificate_not_after_timestamp_seconds"),
        ("Rotation phase", "f5_linkerd_rotation_phase"),
        ("Pool drift", "f5_linkerd_pool_members"),
        ("Source health", "f5_linkerd_source_up"),
    ],
)
def test_area_queries_its_metric(board: dict[str, Any], area: str, metric: str) -> None:
    current = None
    exprs: list[str] = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
        elif current == area:
            exprs.extend(t["expr"] for t in panel["targets"])
    assert any(metric in METRIC.findall(e) for e in exprs), area


def test_state_and_phase_codes_match_mappings() -> None:
    codes = [code for code, _, _ in queries.state_codes()]
    assert sorted(codes) == list(range(len(codes)))
    phases = [code for code, _, _ in queries.phase_codes()]
    assert phases == list(range(len(phases)))


def test_expressions_parse_with_promtool(tmp_path: Path) -> None:
    """`promtool check rules` parses each expression (as a recording rule)."""
    promtool = require_tool("promtool")
    rules = [
        {"record": f"dashboard:expression_{i}", "expr": expr}
        for i, expr in enumerate(generate.expressions())
    ]
    path = tmp_path / "rules.json"  # JSON is YAML
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [promtool, "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
