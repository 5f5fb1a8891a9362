"""RBAC per `mesh.issuer.source`: the `secrets` grant exists only where the monitor reads
the issuer Secret (`secret`, the default); `certificate` and `configMap` drop it (Helm:
from `config.mesh.issuer.source`; kustomize: the components under
deploy/kustomize/components). Rendered for real, like test_manifests."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.test_manifests import (
    BASE,
    Obj,
    allowed,
    config_of,
    documents,
    grants,
    helm_result,
    helm_template,
    kubernetes_validate,
    one,
    planned_watches,
    run,
)
from tests.support.paths import ROOT
from tests.support.tools import require_tool

COMPONENTS = BASE.parent / "components"
PUBLISHED = "linkerd-identity-issuer-public"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("issuer-rbac")


def secret_grants(objs: list[Obj]) -> list[tuple[str | None, Obj]]:
    return [(scope, rule) for scope, rule in grants(objs) if "secrets" in rule["resources"]]


def assert_fits(objs: list[Obj]) -> None:
    """Every watch the monitor plans for the rendered config is granted, and no named
    object beyond them (as test_rbac_grants_every_planned_watch_and_no_more)."""
    config = config_of(objs)
    rules = grants(objs)
    watches = list(planned_watches(config))
    for group, plural, namespace, name in watches:
        assert allowed(rules, "watch", group, plural, namespace, name), (plural, name)
        assert allowed(rules, "list", group, plural, namespace, name), (plural, name)
    granted = {
        (scope, resource, name)
        for scope, rule in rules
        for resource in rule["resources"]
        for name in rule.get("resourceNames", [])
        if resource != "leases"
    }
    assert granted == {(ns, plural, name) for _, plural, ns, name in watches if name}


def with_issuer(issuer: dict[str, Any]) -> Obj:
    defaults = yaml.safe_load((BASE.parent.parent / "helm" / "f5-linkerd-monitor" /
                               "values.yaml").read_text(encoding="utf-8"))  # fmt: skip
    mesh = {**defaults["config"]["mesh"], "issuer": issuer}
    return {"config": {"mesh": mesh}}


def test_helm_grants_the_secret_by_default(scratch: Path) -> None:
    objs = helm_template(scratch)
    assert config_of(objs).mesh.issuer.source == "secret"
    ((scope, rule),) = secret_grants(objs)
    assert (scope, rule["resourceNames"]) == ("linkerd", ["linkerd-identity-issuer"])
    assert_fits(objs)


@pytest.mark.parametrize(
    ("issuer", "config_map"),
    [({"source": "certificate"}, None), ({"source": "configMap"}, PUBLISHED),
     ({"source": "configMap", "configMap": "issuer-pem"}, "issuer-pem")],
)  # fmt: skip
def test_helm_drops_the_secret_when_the_issuer_is_read_elsewhere(
    scratch: Path, issuer: dict[str, Any], config_map: str | None
) -> None:
    objs = helm_template(scratch, with_issuer(issuer))
    assert config_of(objs).mesh.issuer.source == issuer["source"]
    assert secret_grants(objs) == []
    names = {n for _, r in grants(objs) if r["resources"] == ["configmaps"]
             for n in r.get("resourceNames", [])}  # fmt: skip
    assert (config_map in names) == (config_map is not None)
    assert_fits(objs)
    kubernetes_validate(objs, scratch, f"helm-issuer-{issuer['source']}")


def test_helm_refuses_an_unknown_issuer_source(scratch: Path) -> None:
    result = helm_result(scratch, with_issuer({"source": "vault"}))
    assert result.returncode != 0
    assert 'config.mesh.issuer.source: expected secret, certificate or configMap, got "vault"' in (
        result.stderr
    )


def overlay(tmp: Path, component: str, source: str) -> list[Obj]:
    """An overlay of the base with `component`, its config.yaml set to `source`."""
    base_config = one(documents((BASE / "configmap.yaml").read_text(encoding="utf-8")),
                      "ConfigMap")["data"]["config.yaml"]  # fmt: skip
    config = yaml.safe_load(base_config)
    config["mesh"]["issuer"] = {"source": source}
    here = tmp / f"overlay-{component}"
    here.mkdir()
    patch = [{"op": "replace", "path": "/data/config.yaml", "value": yaml.safe_dump(config)}]
    kustomization = {
        "resources": [os.path.relpath(BASE, here)],
        "components": [os.path.relpath(COMPONENTS / component, here)],
        "patches": [{"target": {"kind": "ConfigMap", "name": "f5-linkerd-monitor-config"},
                     "patch": yaml.safe_dump(patch)}],
    }  # fmt: skip
    (here / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    result = run([require_tool("kubectl"), "kustomize", str(here)], tmp)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def test_the_kustomize_base_grants_the_secret(scratch: Path) -> None:
    result = run([require_tool("kubectl"), "kustomize", str(BASE)], scratch)
    assert result.returncode == 0, result.stderr
    objs = documents(result.stdout)
    assert config_of(objs).mesh.issuer.source == "secret"
    assert [s for s, _ in secret_grants(objs)] == ["linkerd"]
    assert_fits(objs)


@pytest.mark.parametrize(
    ("component", "source"),
    [("issuer-from-certificate", "certificate"), ("issuer-from-configmap", "configMap")],
)
def test_kustomize_components_drop_the_secret(scratch: Path, component: str, source: str) -> None:
    objs = overlay(scratch, component, source)
    assert config_of(objs).mesh.issuer.source == source
    assert secret_grants(objs) == []
    assert_fits(objs)
    kubernetes_validate(objs, scratch, f"kustomize-{component}")


def test_the_documented_overlay_builds_without_the_secret(scratch: Path) -> None:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    header = "# kustomization.yaml of an overlay that never reads the issuer Secret\n"
    (block,) = re.findall(rf"```yaml\n({re.escape(header)}.*?)```", text, re.S)
    overlay = scratch / "documented" / "overlays" / "mine"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(block)
    (scratch / "documented" / "base").symlink_to(BASE)
    (scratch / "documented" / "components").symlink_to(COMPONENTS)
    result = run([require_tool("kubectl"), "kustomize", str(overlay)], scratch)
    assert result.returncode == 0, result.stderr
    assert secret_grants(documents(result.stdout)) == []
