"""The NetworkPolicy, the PodDisruptionBudget, the image reference and the values schema of
the Helm chart and the kustomize base: rendered for real, validated strictly, and held to
what the monitor talks to (and nothing else)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.deploy.test_manifests import (
    BASE,
    CHART,
    KUBE_VERSION,
    Obj,
    documents,
    helm_lint,
    helm_result,
    helm_template,
    kubernetes_validate,
    one,
    pod_labels,
    run,
)
from tests.support.tools import require_tool


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("network")


@pytest.fixture(scope="module")
def kustomize(scratch: Path) -> list[Obj]:
    result = run([require_tool("kubectl"), "kustomize", str(BASE)], scratch)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


@pytest.fixture(scope="module")
def helm(scratch: Path) -> list[Obj]:
    return helm_template(scratch)


@pytest.mark.parametrize("renderer", ["kustomize", "helm"])
def test_both_validate_strictly(renderer: str, request: pytest.FixtureRequest) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    assert {"NetworkPolicy", "PodDisruptionBudget"} <= {o["kind"] for o in objs}
    kubernetes_validate(objs, request.getfixturevalue("scratch"), f"{renderer}-network")


def egress_ports(policy: Obj) -> set[tuple[str, int]]:
    return {(p["protocol"], p["port"]) for rule in policy["spec"]["egress"] for p in rule["ports"]}


@pytest.mark.parametrize("renderer", ["kustomize", "helm"])
def test_network_policy_allows_only_what_the_monitor_needs(
    renderer: str, request: pytest.FixtureRequest
) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    policy = one(objs, "NetworkPolicy")
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels(objs).items()
    (ingress,) = spec["ingress"]
    assert ingress["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    assert ingress["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    assert egress_ports(policy) == {
        ("UDP", 53), ("TCP", 53), ("TCP", 443), ("TCP", 6443), ("TCP", 9093)
    }  # fmt: skip
    for rule in spec["egress"]:
        assert rule["to"], rule  # an empty `to` would allow every destination
        for peer in rule["to"]:
            assert peer.get("ipBlock", {}).get("cidr") != "0.0.0.0/0", rule
    cidrs = {
        peer["ipBlock"]["cidr"] for r in spec["egress"] for peer in r["to"] if "ipBlock" in peer
    }
    assert cidrs == {"192.0.2.0/24", "198.51.100.0/24"}


def test_helm_network_policy_follows_the_values(scratch: Path) -> None:
    extra = {
        "to": [{"ipBlock": {"cidr": "203.0.113.5/32"}}],
        "ports": [{"port": 9093, "protocol": "TCP"}],
    }
    values = {
        "networkPolicy": {
            "scrapeNamespaces": ["prometheus", "observability"],
            "apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [443]},
            "bigip": {"cidrs": ["10.20.0.10/32", "10.20.0.11/32"], "ports": [443, 8443]},
            "alertmanager": {"namespaces": [], "podLabels": {"app": "am"}, "ports": [9093]},
            "extraEgress": [extra],
        }
    }
    objs = helm_template(scratch, values)
    kubernetes_validate(objs, scratch, "helm-network")
    spec = one(objs, "NetworkPolicy")["spec"]
    sources = [p["namespaceSelector"]["matchLabels"] for p in spec["ingress"][0]["from"]]
    assert sources == [
        {"kubernetes.io/metadata.name": "prometheus"},
        {"kubernetes.io/metadata.name": "observability"},
    ]
    dns, api, bigip, external = spec["egress"]  # no Alertmanager pods without namespaces
    assert external == extra
    assert dns["ports"] == [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    assert api == {
        "to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}],
        "ports": [{"port": 443, "protocol": "TCP"}],
    }
    assert [p["ipBlock"]["cidr"] for p in bigip["to"]] == ["10.20.0.10/32", "10.20.0.11/32"]
    assert [p["port"] for p in bigip["ports"]] == [443, 8443]


def test_helm_network_policy_without_scrapers_denies_ingress(scratch: Path) -> None:
    objs = helm_template(scratch, {"networkPolicy": {"scrapeNamespaces": []}})
    assert one(objs, "NetworkPolicy")["spec"]["ingress"] == []
    objs = helm_template(scratch, {"networkPolicy": {"enabled": False}})
    assert not [o for o in objs if o["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize("renderer", ["kustomize", "helm"])
def test_pod_disruption_budget_lets_one_replica_go(
    renderer: str, request: pytest.FixtureRequest
) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    assert one(objs, "Deployment")["spec"]["replicas"] == 2
    budget = one(objs, "PodDisruptionBudget")["spec"]
    assert budget["maxUnavailable"] == 1
    assert "minAvailable" not in budget
    assert budget["selector"]["matchLabels"].items() <= pod_labels(objs).items()


def test_helm_has_no_budget_for_a_single_replica(scratch: Path) -> None:
    objs = helm_template(scratch, {"replicas": 1})
    assert not [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    objs = helm_template(scratch, {"replicas": 3, "podDisruptionBudget": {"enabled": False}})
    assert not [o for o in objs if o["kind"] == "PodDisruptionBudget"]


def image_of(objs: list[Obj]) -> str:
    (container,) = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    image: str = container["image"]
    return image


def test_helm_image_by_tag_or_digest(scratch: Path) -> None:
    assert image_of(helm_template(scratch)) == "registry.example.com/f5-linkerd-monitor:0.1.0"
    values = {"image": {"repository": "registry.internal/mon", "tag": "1.2.3"}}
    assert image_of(helm_template(scratch, values)) == "registry.internal/mon:1.2.3"
    digest = "sha256:" + "ab" * 32
    values = {"image": {"repository": "registry.internal/mon", "digest": digest}}
    assert image_of(helm_template(scratch, values)) == f"registry.internal/mon@{digest}"


BAD_VALUES = [
    ({"replicas": "two"}, "replicas: Invalid type"),
    ({"port": "9879"}, "port: Invalid type"),
    ({"networkPolicy": {"enabled": "yes"}}, "networkPolicy.enabled: Invalid type"),
    ({"networkPolicy": {"bigip": {"cidrs": "192.0.2.0/24", "ports": [443]}}}, "cidrs"),
    ({"networkPolicy": {"bigip": {"cidrs": ["bigip-a"], "ports": [443]}}}, "cidrs.0"),
    ({"networkPolicy": {"scrapeNamespaces": [{"name": "x"}]}}, "scrapeNamespaces.0"),
    ({"podDisruptionBudget": {"enabled": 1}}, "podDisruptionBudget.enabled"),
    ({"image": {"digest": "latest"}}, "image.digest"),
    ({"networkPolicy": {"extraEgress": [{"to": []}]}}, "extraEgress.0.to"),
    ({"replica": 2}, "replica"),  # a misspelt key
]


@pytest.mark.parametrize(("values", "message"), BAD_VALUES, ids=[m for _, m in BAD_VALUES])
def test_helm_lint_rejects_wrong_values(
    values: Obj, message: str, scratch: Path, tmp_path: Path
) -> None:
    out = helm_lint(scratch, values, tmp_path)
    assert "values don't meet the specifications of the schema" in out, out
    assert message in out, out
    install = helm_result(scratch, values)  # `helm install` validates the same way
    assert install.returncode != 0
    assert message in install.stderr


def test_helm_lint_accepts_the_documented_values(scratch: Path, tmp_path: Path) -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(defaults))
    argv = [require_tool("helm"), "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    result = run([*argv, "--values", str(path)], scratch)
    assert result.returncode == 0, result.stdout + result.stderr
