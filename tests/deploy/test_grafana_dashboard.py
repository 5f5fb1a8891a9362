"""The Grafana dashboard as a ConfigMap for Grafana's dashboard sidecar: optional in the Helm
chart (`grafanaDashboard.enabled`) and a kustomize component (`grafana-dashboard`), both
carrying `dashboards/f5-linkerd-monitor.json` as `make deploy` copies it, rendered for real
and validated strictly like the other objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.test_manifests import (
    BASE,
    Obj,
    documents,
    helm_lint,
    helm_template,
    kubernetes_validate,
    normalized,
    one,
    run,
)
from tests.support.paths import ROOT
from tests.support.tools import require_tool

COMPONENT = ROOT / "deploy" / "kustomize" / "components" / "grafana-dashboard"
BOARD = ROOT / "dashboards" / "f5-linkerd-monitor.json"
GEN = ROOT / "scripts" / "gen_deploy.py"
KEY = "f5-linkerd-monitor.json"
# kubectl apply (client-side) keeps the whole object in an annotation of at most 256 KiB.
LAST_APPLIED_LIMIT = 262144


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("grafana")


@pytest.fixture(scope="module")
def kustomize(scratch: Path) -> list[Obj]:
    overlay = scratch / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "resources": [os.path.relpath(BASE, overlay)],
                "components": [os.path.relpath(COMPONENT, overlay)],
            }
        )
    )
    result = run([require_tool("kubectl"), "kustomize", str(overlay)], scratch)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


@pytest.fixture(scope="module")
def helm(scratch: Path) -> list[Obj]:
    return helm_template(scratch, {"grafanaDashboard": {"enabled": True}})


def dashboard(objs: list[Obj]) -> Obj:
    return one(objs, "ConfigMap", "f5-linkerd-monitor-dashboard")


@pytest.mark.parametrize("renderer", ["kustomize", "helm"])
def test_dashboard_configmap_validates_and_carries_the_board(
    renderer: str, request: pytest.FixtureRequest, scratch: Path
) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    kubernetes_validate(objs, scratch, f"{renderer}-grafana")
    configmap = dashboard(objs)
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["namespace"] == "f5-linkerd-monitor"
    assert list(configmap["data"]) == [KEY]
    assert configmap["data"][KEY] == BOARD.read_text(encoding="utf-8")
    assert json.loads(configmap["data"][KEY])["uid"] == "f5-linkerd-monitor"
    assert len(json.dumps(configmap).encode()) < LAST_APPLIED_LIMIT


def test_chart_and_component_render_the_same_configmap(
    kustomize: list[Obj], helm: list[Obj]
) -> None:
    assert normalized(dashboard(helm)) == normalized(dashboard(kustomize))


def test_off_by_default_in_the_chart_and_the_base(scratch: Path) -> None:
    assert "f5-linkerd-monitor-dashboard" not in {
        o["metadata"]["name"] for o in helm_template(scratch) if o["kind"] == "ConfigMap"
    }
    base = (BASE / "kustomization.yaml").read_text(encoding="utf-8")
    assert "grafana-dashboard" not in base


def test_helm_values_place_and_label_it(scratch: Path) -> None:
    values = {
        "grafanaDashboard": {
            "enabled": True,
            "namespace": "monitoring",
            "labels": {"grafana_dashboard": "yes"},
            "annotations": {"grafana_folder": "Edge"},
        }
    }
    configmap = dashboard(helm_template(scratch, values))
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "yes"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Edge"}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"grafanaDashboard": {"enabled": "yes"}}, "grafanaDashboard.enabled"),
        ({"grafanaDashboard": {"labels": {"grafana_dashboard": 1}}}, "grafana_dashboard"),
        ({"grafanaDashboard": {"namespace": "Monitoring"}}, "grafanaDashboard.namespace"),
        ({"grafanaDashboard": {"folder": "x"}}, "folder"),
    ],
)
def test_helm_lint_rejects_wrong_dashboard_values(
    values: Obj, message: str, scratch: Path, tmp_path: Path
) -> None:
    out = helm_lint(scratch, values, tmp_path)
    assert message in out, out


def test_gen_deploy_notices_a_stale_dashboard(tmp_path: Path) -> None:
    sources = [Path("deploy/prometheus/rules.yaml"), Path("dashboards/f5-linkerd-monitor.json")]
    for path in sources:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((ROOT / path).read_text(encoding="utf-8"), encoding="utf-8")
    script = [sys.executable, str(GEN), "--root", str(tmp_path)]
    subprocess.run(script, capture_output=True, check=True)
    fresh = subprocess.run([*script, "--check"], capture_output=True, text=True, check=False)
    assert fresh.returncode == 0, fresh.stderr
    board = tmp_path / sources[1]
    board.write_text(board.read_text(encoding="utf-8").replace('"30s"', '"1m"', 1))
    stale = subprocess.run([*script, "--check"], capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "files/f5-linkerd-monitor.json is stale" in stale.stderr
    assert "grafana-dashboard/configmap.yaml is stale" in stale.stderr
    assert "rules.yaml" not in stale.stderr
