"""The deployment manifests: the kustomize base and the Helm chart under deploy/.

Both are rendered for real (`kubectl kustomize`, `helm template`; scripts/helm.sh installs
both into .tools/bin) and validated with `kubernetes-validate --strict` against Kubernetes
1.30; the Prometheus Operator objects, which it has no schema for, against the minimal
schemas below and, for the rules, with promtool. The tests then hold the manifests to what
the monitor needs: the config validates, the RBAC grants every watch the mesh source plans
for that config (and nothing it does not need), the pod is hardened, and the chart renders
the same objects as the base. Without the tools the tests skip, and under CI=true they fail.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import __version__
from monitor.config.schema import Config, parse_config
from monitor.sources.kube.transport import selected_name, split_path
from monitor.sources.mesh.discovery import GATEWAY_KINDS, POLICY_KINDS
from monitor.sources.mesh.specs import GATEWAY_GROUP, PolicyKind, backends, plan_watches
from tests.support.paths import ROOT
from tests.support.tools import require_tool

BASE = ROOT / "deploy" / "kustomize" / "base"
CHART = ROOT / "deploy" / "helm" / "f5-linkerd-monitor"
RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
KUBE_VERSION = "1.30.0"
RELEASE = NAMESPACE = "f5-linkerd-monitor"
CUSTOM_KINDS = {"PrometheusRule", "ServiceMonitor"}
HELM_ONLY_LABELS = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}

Obj = dict[str, Any]


# --- tools and rendering ---------------------------------------------------------------------


def run(argv: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp / "cache"),
        "HELM_CONFIG_HOME": str(tmp / "config"),
        "HELM_DATA_HOME": str(tmp / "data"),
    }
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env, check=False)


def documents(text: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy")


@pytest.fixture(scope="module")
def kustomize(scratch: Path) -> list[Obj]:
    result = run([require_tool("kubectl"), "kustomize", str(BASE)], scratch)
    assert result.returncode == 0, result.stderr
    (scratch / "kustomize.yaml").write_text(result.stdout)
    return documents(result.stdout)


def helm_template(scratch: Path, values: Obj | None = None, *args: str) -> list[Obj]:
    result = helm_result(scratch, values, *args)
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def helm_result(
    scratch: Path, values: Obj | None = None, *args: str
) -> subprocess.CompletedProcess[str]:
    argv = [require_tool("helm"), "template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    argv += ["--kube-version", KUBE_VERSION, *args]
    if values is not None:
        path = scratch / f"values-{len(list(scratch.glob('values-*')))}.yaml"
        path.write_text(yaml.safe_dump(values))
        argv += ["--values", str(path)]
    return run(argv, scratch)


def helm_lint(scratch: Path, values: Obj, values_dir: Path) -> str:
    """`helm lint --strict` of the chart with `values` (written in `values_dir`); asserts
    that it fails and returns what it said."""
    path = values_dir / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    argv = [require_tool("helm"), "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    result = run([*argv, "--values", str(path)], scratch)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    return out


@pytest.fixture(scope="module")
def helm(scratch: Path) -> list[Obj]:
    return helm_template(scratch)


def one(objs: list[Obj], kind: str, name: str | None = None) -> Obj:
    found = [o for o in objs if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def config_of(objs: list[Obj]) -> Config:
    configmap = one(objs, "ConfigMap")
    return parse_config(yaml.safe_load(configmap["data"]["config.yaml"]), Path("/etc"))


# --- validation ---------------------------------------------------------------------------------


def kubernetes_validate(objs: list[Obj], scratch: Path, name: str) -> None:
    exe = require_tool("kubernetes-validate")
    path = scratch / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(objs))
    result = run([exe, "-k", KUBE_VERSION, "--strict", str(path)], scratch)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    plain = [o for o in objs if o["kind"] not in CUSTOM_KINDS]
    assert out.count(" passed for resource ") == len(plain), out
    assert "ERROR" not in out, out


_DURATION = {"type": "string", "pattern": r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$"}
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_META = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {"name": {"type": "string"}, "namespace": {"type": "string"}},
}

# Minimal schemas for the two Prometheus Operator kinds (monitoring.coreos.com/v1), strict on
# the fields these manifests write.
PROMETHEUS_RULE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "rules": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "alert": {"type": "string"},
                                        "record": {"type": "string"},
                                        "expr": {"type": "string"},
                                        "for": _DURATION,
                                        "keep_firing_for": _DURATION,
                                        "labels": _STRINGS,
                                        "annotations": _STRINGS,
                                    },
                                    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _META,
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "required": ["matchLabels"],
                    "additionalProperties": False,
                    "properties": {"matchLabels": _STRINGS},
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                        },
                    },
                },
            },
        },
    },
}


def validate_custom(objs: list[Obj]) -> None:
    jsonschema = pytest.importorskip("jsonschema")  # installed with kubernetes-validate
    schemas = {"PrometheusRule": PROMETHEUS_RULE_SCHEMA, "ServiceMonitor": SERVICE_MONITOR_SCHEMA}
    for obj in objs:
        if obj["kind"] in schemas:
            jsonschema.validate(obj, schemas[obj["kind"]])


def promtool_check(spec: Obj, scratch: Path, name: str) -> None:
    path = scratch / f"{name}-rules.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = run([require_tool("promtool"), "check", "rules", str(path)], scratch)
    assert result.returncode == 0, result.stdout + result.stderr


def test_helm_lint(scratch: Path) -> None:
    argv = [require_tool("helm"), "lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    result = run(argv, scratch)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


def test_kustomize_base_validates(kustomize: list[Obj], scratch: Path) -> None:
    kubernetes_validate(kustomize, scratch, "kustomize")
    validate_custom(kustomize)


def test_helm_template_validates(helm: list[Obj], scratch: Path) -> None:
    kubernetes_validate(helm, scratch, "helm")
    validate_custom(helm)


def test_custom_schemas_reject_a_broken_object(kustomize: list[Obj]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    rule = yaml.safe_load(yaml.safe_dump(one(kustomize, "PrometheusRule")))
    rule["spec"]["groups"][0]["rules"][0]["for"] = "two minutes"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rule, PROMETHEUS_RULE_SCHEMA)
    monitor = yaml.safe_load(yaml.safe_dump(one(kustomize, "ServiceMonitor")))
    monitor["spec"]["endpoints"][0]["prot"] = "metrics"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(monitor, SERVICE_MONITOR_SCHEMA)


def test_both_embed_the_rule_file(kustomize: list[Obj], helm: list[Obj], scratch: Path) -> None:
    source = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for name, objs in (("kustomize", kustomize), ("helm", helm)):
        spec = one(objs, "PrometheusRule")["spec"]
        assert spec == source, name
        promtool_check(spec, scratch, name)


def test_helm_prefixes_runbook_urls(scratch: Path) -> None:
    base = "https://github.com/example/f5-linkerd-monitor/blob/main/"
    objs = helm_template(scratch, {"prometheusRule": {"runbookBaseURL": base}})
    spec = one(objs, "PrometheusRule")["spec"]
    source = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group, original in zip(spec["groups"], source["groups"], strict=True):
        for rule, before in zip(group["rules"], original["rules"], strict=True):
            assert rule["annotations"]["runbook_url"] == base + before["annotations"]["runbook_url"]


def test_helm_can_leave_out_the_operator_objects(scratch: Path) -> None:
    values = {"serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}}
    kinds = {o["kind"] for o in helm_template(scratch, values)}
    assert not kinds & CUSTOM_KINDS


# --- the chart and the base agree ------------------------------------------------------------


def normalized(obj: Obj) -> Obj:
    """The object without Helm's bookkeeping labels, with the config file parsed."""
    obj = yaml.safe_load(yaml.safe_dump(obj))
    labels = obj["metadata"].get("labels", {})
    for key in HELM_ONLY_LABELS:
        labels.pop(key, None)
    if obj["kind"] == "ConfigMap":
        obj["data"] = {k: yaml.safe_load(v) for k, v in obj["data"].items()}
    return obj


def test_helm_defaults_render_the_kustomize_base(kustomize: list[Obj], helm: list[Obj]) -> None:
    def key(o: Obj) -> tuple[str, str, str]:
        return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])

    base = {key(o): normalized(o) for o in kustomize if o["kind"] != "Namespace"}
    chart = {key(o): normalized(o) for o in helm}
    assert sorted(chart) == sorted(base)
    for k, obj in base.items():
        assert chart[k] == obj, k


def test_chart_version_follows_the_package() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == __version__


# --- what the monitor needs ---------------------------------------------------------------------


@pytest.mark.parametrize("renderer", ["kustomize", "helm"])
def test_config_and_pod_fit_together(renderer: str, request: pytest.FixtureRequest) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    config = config_of(objs)
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert container["args"] == ["run", "--config", "/etc/f5-linkerd-monitor/config.yaml"]
    configmap = one(objs, "ConfigMap")["metadata"]["name"]
    assert volumes[mounts["/etc/f5-linkerd-monitor"]["name"]]["configMap"]["name"] == configmap
    assert all("subPath" not in m for m in container["volumeMounts"])  # edits must reach it
    secret = volumes[mounts["/var/run/secrets/bigip"]["name"]]["secret"]
    assert secret["secretName"].endswith("-bigip")
    for device in config.bigip:
        for path in (device.username_file, device.password_file, device.ca_file):
            assert path is not None
            assert str(path.parent) == "/var/run/secrets/bigip"
    assert config.state.file is not None
    state = mounts[str(config.state.file.parent)]
    assert not state.get("readOnly")
    assert "emptyDir" in volumes[state["name"]]
    port = int(config.server.listen.rpartition(":")[2])
    assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    service = one(objs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert service["spec"]["selector"].items() <= pod_labels(objs).items()


def pod_labels(objs: list[Obj]) -> dict[str, str]:
    labels: dict[str, str] = one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.mark.parametrize("renderer", ["kustomize", "helm"])
def test_pod_is_hardened(renderer: str, request: pytest.FixtureRequest) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    deployment = one(objs, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert "memory" in container["resources"]["limits"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == 0
    secret = next(v for v in pod["volumes"] if "secret" in v)["secret"]
    assert secret["defaultMode"] == 0o440


def grants(objs: list[Obj]) -> list[tuple[str | None, Obj]]:
    """(namespace or None for cluster-wide, rule) of every rule bound to the monitor's SA."""
    (account,) = (o for o in objs if o["kind"] == "ServiceAccount")
    subject = {
        "kind": "ServiceAccount",
        "name": account["metadata"]["name"],
        "namespace": account["metadata"]["namespace"],
    }
    roles = {
        (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o
        for o in objs
        if o["kind"] in ("Role", "ClusterRole")
    }
    found: list[tuple[str | None, Obj]] = []
    for binding in objs:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        assert binding["subjects"] == [subject], binding["metadata"]
        scope = binding["metadata"].get("namespace")
        ref = binding["roleRef"]
        role = roles[(ref["kind"], scope if ref["kind"] == "Role" else None, ref["name"])]
        found += [(scope, rule) for rule in role["rules"]]
    return found


def allowed(
    rules: list[tuple[str | None, Obj]],
    verb: str,
    group: str,
    resource: str,
    namespace: str | None,
    name: str | None,
) -> bool:
    for scope, rule in rules:
        if scope is not None and scope != namespace:
            continue
        names = rule.get("resourceNames")
        if (
            group in rule["apiGroups"]
            and resource in rule["resources"]
            and verb in rule["verbs"]
            and (not names or (name is not None and name in names))
        ):
            return True
    return False


def planned_watches(config: Config) -> Iterator[tuple[str, str, str | None, str | None]]:
    """(group, plural, namespace, name) of everything the mesh source would watch, with
    every optional kind served (policy CRDs, Gateway API routes, cert-manager), every
    backend Service there, and ServiceAccounts read in the backend namespaces and the
    namespaces of the boundaries' clientIdentity (the ones the deployments grant)."""
    wanted = backends(config)
    services = {b.key: {"spec": {"selector": {"app": b.name}}} for b in wanted}
    kinds = tuple(PolicyKind(plural, kind, "v1beta3") for plural, kind in POLICY_KINDS.items())
    kinds += tuple(PolicyKind(p, k, "v1", GATEWAY_GROUP) for p, k in GATEWAY_KINDS.items())
    accounts = {b.namespace for b in wanted}
    accounts |= {
        b.client_identity.split(".serviceaccount.")[0].rpartition(".")[2]
        for b in config.boundaries
        if b.client_identity
    }
    plan = plan_watches(
        config.mesh.linkerd_namespace, config.mesh.trust_domain, wanted, services, kinds, True,
        config.mesh.issuer, config.mesh.watch_scope, accounts=tuple(sorted(accounts)),
    )  # fmt: skip
    for spec in plan.specs():
        group, _, namespace, plural = split_path(spec.api_path)
        yield group, plural, namespace, selected_name(spec.field_selector)


def values_with_three_backend_namespaces() -> Obj:
    return {
        "config": {
            "boundaries": [
                boundary("shop", "ingress", "nginx-ingress"),
                boundary("shop-admin", "ingress", "admin-ingress"),
                boundary("api", "api-gw", "gateway"),
                boundary("viz", "linkerd", "web"),
            ]
        }
    }


def boundary(name: str, namespace: str, service: str) -> Obj:
    return {
        "name": name,
        "mode": "mesh-tls",
        "devices": ["bigip-a", "bigip-b"],
        "virtual": f"/k8s/Shared/{name}_443",
        "backend": {"service": {"namespace": namespace, "name": service, "port": 443}},
    }


@pytest.fixture(scope="module")
def helm_many(scratch: Path) -> list[Obj]:
    values = values_with_three_backend_namespaces()
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    values["config"]["bigip"] = defaults["config"]["bigip"]
    values["config"]["mesh"] = {"linkerdNamespace": "linkerd", "trustDomain": "cluster.local"}
    return helm_template(scratch, values, "--set", "replicas=2")


@pytest.fixture(scope="module")
def helm_cluster(scratch: Path) -> list[Obj]:
    values = values_with_three_backend_namespaces()
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    values["config"]["bigip"] = defaults["config"]["bigip"]
    values["config"]["mesh"] = {"linkerdNamespace": "linkerd", "trustDomain": "cluster.local",
                                "watchScope": "cluster"}  # fmt: skip
    # an identity outside the backend namespaces: the ClusterRole covers its ServiceAccounts
    identity = "bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"
    values["config"]["boundaries"][0]["clientIdentity"] = identity
    return helm_template(scratch, values, "--set", "replicas=2")


@pytest.fixture(scope="module")
def kustomize_cluster(scratch: Path) -> list[Obj]:
    """The base with the cluster-wide-watches component and `mesh.watchScope: cluster`."""
    overlay = scratch / "cluster-overlay"
    overlay.mkdir(exist_ok=True)
    (overlay / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(BASE, overlay)],
                "components": [
                    os.path.relpath(BASE.parent / "components" / "cluster-wide-watches", overlay)
                ],
            }
        )
    )
    result = run([require_tool("kubectl"), "kustomize", "--load-restrictor", "LoadRestrictionsNone",
                  str(overlay)], scratch)  # fmt: skip
    assert result.returncode == 0, result.stderr
    objs = documents(result.stdout)
    configmap = one(objs, "ConfigMap")
    config = yaml.safe_load(configmap["data"]["config.yaml"])
    config.setdefault("mesh", {})["watchScope"] = "cluster"
    configmap["data"]["config.yaml"] = yaml.safe_dump(config)
    return objs


@pytest.mark.parametrize(
    "renderer", ["kustomize", "helm", "helm_many", "helm_cluster", "kustomize_cluster"]
)
def test_rbac_grants_every_planned_watch_and_no_more(
    renderer: str, request: pytest.FixtureRequest
) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    config = config_of(objs)
    rules = grants(objs)
    watches = list(planned_watches(config))
    assert len(watches) > 5
    for group, plural, namespace, name in watches:
        for verb in ("list", "watch"):
            assert allowed(rules, verb, group, plural, namespace, name), (
                f"{verb} {plural}.{group} {namespace}/{name}"
            )
    # No more: the named objects are narrowed to their names, nothing is cluster-wide
    # but the backend Namespaces (and, with watchScope cluster, the kinds it watches once),
    # nothing is written but the Lease.
    cluster_wide = {"namespaces"}
    if config.mesh.watch_scope == "cluster":
        cluster_wide |= {plural for group, plural, ns, _ in watches if ns is None}
    for scope, rule in rules:
        if rule["verbs"] != ["list", "watch"]:
            assert rule["apiGroups"] == ["coordination.k8s.io"], rule
            assert rule["resources"] == ["leases"], rule
            assert scope == config.leader_election.namespace, rule
            assert rule.get("resourceNames") or rule["verbs"] == ["create"], rule
        if {"secrets", "configmaps"} & set(rule["resources"]):
            assert rule.get("resourceNames"), rule
        if "namespaces" in rule["resources"] and config.mesh.watch_scope != "cluster":
            assert rule.get("resourceNames"), rule
        if scope is None:
            assert set(rule["resources"]) <= cluster_wide, rule
    granted_names = {
        (scope, resource, name)
        for scope, rule in rules
        for resource in rule["resources"]
        for name in rule.get("resourceNames", [])
        if resource != "leases"
    }
    planned_names = {(ns, plural, name) for _, plural, ns, name in watches if name}
    assert granted_names == planned_names


@pytest.mark.parametrize("renderer", ["kustomize", "helm", "helm_many"])
def test_rbac_allows_leader_election(renderer: str, request: pytest.FixtureRequest) -> None:
    objs: list[Obj] = request.getfixturevalue(renderer)
    election = config_of(objs).leader_election
    assert election.enabled
    assert election.namespace == NAMESPACE
    rules = grants(objs)
    for verb in ("get", "update", "create"):
        assert allowed(rules, verb, "coordination.k8s.io", "leases", NAMESPACE, election.lease_name)
    assert not allowed(rules, "update", "coordination.k8s.io", "leases", NAMESPACE, "other")


def test_helm_derives_rbac_from_the_boundaries(helm_many: list[Obj], scratch: Path) -> None:
    kubernetes_validate(helm_many, scratch, "helm-many")
    roles = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in helm_many
        if o["kind"] == "Role"
    }
    assert set(roles) == {
        ("linkerd", RELEASE),
        ("linkerd", f"{RELEASE}-backends"),
        ("ingress", RELEASE),
        ("api-gw", RELEASE),
        (NAMESPACE, f"{RELEASE}-leader-election"),
    }
    services = roles[("ingress", RELEASE)]["rules"][0]
    assert services["resources"] == ["services"]  # one watch for the namespace's Services
    cluster = one(helm_many, "ClusterRole")
    assert cluster["rules"][0]["resourceNames"] == ["api-gw", "ingress", "linkerd"]
    assert one(helm_many, "Deployment")["spec"]["replicas"] == 2


def test_helm_with_cluster_wide_watches(helm_cluster: list[Obj], scratch: Path) -> None:
    """watchScope cluster: no Role per backend namespace (nor for the identities' namespace),
    one read-only ClusterRole with every kind the backends and the policy family read."""
    kubernetes_validate(helm_cluster, scratch, "helm-cluster")
    roles = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in helm_cluster
             if o["kind"] == "Role"}  # fmt: skip
    assert roles == {("linkerd", RELEASE), (NAMESPACE, f"{RELEASE}-leader-election")}
    cluster = one(helm_cluster, "ClusterRole")
    assert {r for rule in cluster["rules"] for r in rule["resources"]} == {
        "services", "endpointslices", "pods", "namespaces", "servers", "serverauthorizations",
        "authorizationpolicies", "meshtlsauthentications", "networkauthentications",
        "serviceaccounts", "httproutes", "grpcroutes",
    }  # fmt: skip
    groups = {g for rule in cluster["rules"] if "grpcroutes" in rule["resources"]
              for g in rule["apiGroups"]}  # fmt: skip
    assert groups == {"gateway.networking.k8s.io"}
    assert all(rule["verbs"] == ["list", "watch"] for rule in cluster["rules"])


def test_helm_probes_follow_the_web_config(helm_many: list[Obj], scratch: Path) -> None:
    (container,) = one(helm_many, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"  # followers are ready
    values = {"config": {"server": {"webConfig": "/etc/f5-linkerd-monitor/web.yaml"}}}
    objs = helm_template(scratch, values)
    (container,) = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "metrics"}
        assert "httpGet" not in container[probe]


def test_helm_refuses_replicas_without_leader_election(scratch: Path) -> None:
    result = helm_result(scratch, {"replicas": 2, "leaderElection": {"enabled": False}})
    assert result.returncode != 0
    assert "replicas > 1 needs leaderElection.enabled" in result.stderr


def test_helm_without_leader_election(scratch: Path) -> None:
    objs = helm_template(scratch, {"replicas": 1, "leaderElection": {"enabled": False}})
    assert not config_of(objs).leader_election.enabled
    assert not any("leases" in r["resources"] for _, r in grants(objs))


def test_helm_creates_the_secret_when_asked(scratch: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    files = {"username": "monitor", "password": "s3cret", "ca.pem": pem}
    objs = helm_template(scratch, {"bigipSecret": {"create": True, "files": files}})
    secret = one(objs, "Secret")
    assert secret["metadata"]["name"] == f"{RELEASE}-bigip"
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == files
    kubernetes_validate(objs, scratch, "helm-secret")


def test_helm_extra_config_files_and_restart_on_change(scratch: Path) -> None:
    web = "tls_server_config:\n  cert_file: /x/tls.crt\n  key_file: /x/tls.key\n"
    values = {"configFiles": {"web.yaml": web}, "restartOnConfigChange": True}
    objs = helm_template(scratch, values)
    assert one(objs, "ConfigMap")["data"]["web.yaml"] == web
    annotations = one(objs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert len(annotations["checksum/config"]) == 64


@cache
def _readme() -> str:
    return (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def test_readme_documents_deploying() -> None:
    assert _readme().startswith("# Deploying\n")
    for needle in ("kubectl kustomize", "helm install", "f5-linkerd-monitor-bigip", "make deploy"):
        assert needle in _readme(), needle


def test_readme_overlay_example_builds(scratch: Path) -> None:
    blocks = re.findall(r"```yaml\n(# kustomization.yaml of an overlay\n.*?)```", _readme(), re.S)
    assert len(blocks) == 1
    overlay = scratch / "example" / "overlays" / "mine"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text(blocks[0])
    (scratch / "example" / "base").symlink_to(BASE)
    result = run([require_tool("kubectl"), "kustomize", str(overlay)], scratch)
    assert result.returncode == 0, result.stderr
    objs = documents(result.stdout)
    assert not {o["kind"] for o in objs} & CUSTOM_KINDS
    (container,) = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.internal/f5-linkerd-monitor:0.1.0"
