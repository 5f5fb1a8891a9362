"""The Linkerd install the simulated cluster renders, per version, and scenario errors."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from monitor.simulate.kube.releases import parse_release
from monitor.simulate.spec import Node, ScenarioError
from tests.support.sim_kube import (
    CERTS,
    b64,
    env_of,
    find,
    linkerd,
    pem_certs,
    pods_of,
    render,
    scenario,
    serve,
)

A, B = CERTS["anchor-a"], CERTS["anchor-b"]
TRUST = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS"


def values(world: Any) -> dict[str, Any]:
    return yaml.safe_load(find(world, "ConfigMap", "linkerd-config", "linkerd")["data"]["values"])


def trust_roots(world: Any) -> str:
    cm = find(world, "ConfigMap", "linkerd-identity-trust-roots", "linkerd")
    return str(cm["data"]["ca-bundle.crt"])


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- versions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minor", "proxy"),
    [
        ("stable-2.10.2", 10, "v2.141.1"),
        ("stable-2.12.0", 12, "v2.188.0"),
        ("stable-2.14.10", 14, "v2.210.4"),
        ("version-2.15", 15, "v2.221.0"),
        ("version-2.20", 20, "v2.359.0"),
        ("edge-22.9.1", 13, "v2.203.4"),
        ("edge-24.2.4", 15, "v2.221.0"),
        ("edge-26.8.3", 21, "v2.366.0"),
    ],
)
def test_release_parsing(text: str, minor: int, proxy: str) -> None:
    release = parse_release(Node(text, "v"))
    assert (release.minor, release.proxy_release) == (minor, proxy)


def test_sha256_annotation_starts_with_2_12_1_and_edge_22_9_1() -> None:
    flags = {
        t: parse_release(Node(t, "v")).trust_root_sha256
        for t in ("stable-2.11.5", "stable-2.12.0", "stable-2.12.1", "edge-22.8.4", "edge-22.9.1")
    }
    assert flags == {
        "stable-2.11.5": False,
        "stable-2.12.0": False,
        "stable-2.12.1": True,
        "edge-22.8.4": False,
        "edge-22.9.1": True,
    }


def test_2_10_keeps_anchors_only_in_linkerd_config() -> None:
    world = render(scenario(linkerd=linkerd(version="stable-2.10.2"), objects=[]))
    with pytest.raises(KeyError):
        trust_roots(world)
    vals = values(world)
    assert vals["identityTrustAnchorsPEM"] == A.pem + B.pem
    assert vals["identity"]["issuer"]["scheme"] == "linkerd.io/tls"
    assert "tls" not in vals["identity"]["issuer"]  # crtPEM is kept from 2.11 on
    assert (
        "linkerd.io/is-control-plane"
        not in find(world, "Namespace", "linkerd")["metadata"]["labels"]
    )
    secret = find(world, "Secret", "linkerd-identity-issuer", "linkerd")
    assert "linkerd.io/identity-issuer-expiry" in secret["metadata"]["annotations"]
    pod = pods_of(world, "ingress", "nginx-ingress")[0]
    assert env_of(pod, "linkerd-proxy", TRUST)["value"] == A.pem + B.pem
    assert "linkerd.io/trust-root-sha256" not in pod["metadata"]["annotations"]
    identity = pods_of(world, "linkerd", "linkerd-identity")[0]
    assert env_of(identity, "linkerd-proxy", TRUST) == {"name": TRUST, "value": A.pem + B.pem}
    assert not any(r.group == "policy.linkerd.io" for r in world.resources)


def test_config_anchors_feed_the_values_and_on_2_10_the_proxies() -> None:
    old = render(
        scenario(linkerd=linkerd(version="stable-2.10.2", configAnchors=["anchor-a"]), objects=[])
    )
    assert values(old)["identityTrustAnchorsPEM"] == A.pem
    pod = pods_of(old, "ingress", "nginx-ingress")[0]
    assert env_of(pod, "linkerd-proxy", TRUST)["value"] == A.pem  # the injector read the values
    identity = pods_of(old, "linkerd", "linkerd-identity")[0]
    controller = env_of(identity, "identity", "LINKERD2_IDENTITY_TRUST_ANCHORS")["value"]
    assert pem_certs(b64(controller)) == [A.der, B.der]
    new = render(scenario(linkerd=linkerd(configAnchors=["anchor-a"])))
    assert values(new)["identityTrustAnchorsPEM"] == A.pem
    assert pem_certs(trust_roots(new)) == [A.der, B.der]
    pod = pods_of(new, "ingress", "nginx-ingress")[0]
    assert pem_certs(env_of(pod, "linkerd-proxy", TRUST)["value"]) == [A.der, B.der]


def test_ingress_mode() -> None:
    doc = scenario()
    doc["workloads"][0]["annotations"] = {"linkerd.io/inject": "ingress"}
    pod = pods_of(render(doc), "ingress", "nginx-ingress")[0]
    assert pod["metadata"]["annotations"]["linkerd.io/inject"] == "ingress"
    assert env_of(pod, "linkerd-proxy", "LINKERD2_PROXY_INGRESS_MODE")["value"] == "true"


def test_2_12_bundle_keeps_its_trailing_newline() -> None:
    world = render(scenario(linkerd=linkerd(version="stable-2.12.6")))
    assert trust_roots(world) == A.pem + B.pem  # `|`: ends in "\n"
    assert trust_roots(world).endswith("-----END CERTIFICATE-----\n")
    pod = pods_of(world, "ingress", "nginx-ingress")[0]
    assert pod["metadata"]["annotations"]["linkerd.io/trust-root-sha256"] == sha(A.pem + B.pem)
    assert values(world)["policyController"].get("defaultAllowPolicy") is None
    assert values(world)["proxy"]["defaultInboundPolicy"] == "all-unauthenticated"
    assert (
        values(render(scenario(linkerd=linkerd(version="stable-2.11.5"), objects=[])))[
            "policyController"
        ]["defaultAllowPolicy"]
        == "all-unauthenticated"
    )


def test_2_14_layout() -> None:
    world = render(scenario())
    bundle = trust_roots(world)
    assert bundle == (A.pem + B.pem).rstrip("\n")  # `|-`: no trailing newline
    assert pem_certs(bundle) == [A.der, B.der]
    ns = find(world, "Namespace", "linkerd")["metadata"]
    assert ns["labels"]["linkerd.io/is-control-plane"] == "true"
    assert ns["labels"]["config.linkerd.io/admission-webhooks"] == "disabled"
    vals = values(world)
    assert vals["linkerdVersion"] == "stable-2.14.10"
    assert vals["identityTrustDomain"] == "cluster.local"
    assert pem_certs(vals["identity"]["issuer"]["tls"]["crtPEM"]) == [CERTS["issuer"].der]
    assert "keyPEM" not in vals["identity"]["issuer"]["tls"]
    for component in ("identity", "destination", "proxy-injector"):
        (pod,) = pods_of(world, "linkerd", f"linkerd-{component}")
        meta = pod["metadata"]
        assert meta["labels"]["linkerd.io/control-plane-component"] == component
        assert meta["labels"]["linkerd.io/control-plane-ns"] == "linkerd"
        assert meta["annotations"]["linkerd.io/created-by"] == "linkerd/helm stable-2.14.10"
        assert meta["annotations"]["linkerd.io/proxy-version"] == "stable-2.14.10"
        assert env_of(pod, "linkerd-proxy", TRUST)["valueFrom"] == {
            "configMapKeyRef": {"name": "linkerd-identity-trust-roots", "key": "ca-bundle.crt"}
        }
    (pod, pinned, _) = pods_of(world, "ingress", "nginx-ingress")
    ann, labels = pod["metadata"]["annotations"], pod["metadata"]["labels"]
    assert ann["linkerd.io/created-by"] == "linkerd/proxy-injector stable-2.14.10"
    assert ann["linkerd.io/trust-root-sha256"] == sha(bundle)
    assert "linkerd.io/inject" not in ann  # requested on the namespace, not the pod
    assert labels["linkerd.io/control-plane-ns"] == "linkerd"
    assert labels["linkerd.io/workload-ns"] == "ingress"
    assert labels["linkerd.io/proxy-deployment"] == "nginx-ingress"
    assert labels["pod-template-hash"] in pod["metadata"]["name"]
    names = [c["name"] for c in pod["spec"]["containers"]]
    assert names == ["linkerd-proxy", "nginx-ingress"]
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["linkerd-init"]
    proxy = pod["spec"]["containers"][0]
    assert {p["containerPort"] for p in proxy["ports"]} == {4143, 4191}
    assert env_of(pod, "linkerd-proxy", "LINKERD2_PROXY_IDENTITY_LOCAL_NAME")["value"] == (
        "$(_pod_sa).$(_pod_ns).serviceaccount.identity.linkerd.cluster.local"
    )
    assert env_of(pod, "linkerd-proxy", "LINKERD2_PROXY_IDENTITY_SVC_NAME")["value"] == (
        "linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local"
    )
    assert pod["spec"]["serviceAccountName"] == "nginx-ingress"
    assert pod["status"]["podIP"] == "10.42.0.11"
    assert pod["status"]["podIPs"] == [{"ip": "10.42.0.11"}]
    # the pinned pod keeps the bundle it was injected with, frozen in its env
    frozen = env_of(pinned, "linkerd-proxy", TRUST)["value"]
    assert frozen == A.pem.rstrip("\n")
    assert pinned["metadata"]["annotations"]["linkerd.io/trust-root-sha256"] == sha(frozen)
    assert env_of(pod, "linkerd-proxy", TRUST)["value"] == bundle


def test_version_2_18_native_sidecar(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(version="version-2.18"))
    doc["workloads"][0]["nativeSidecar"] = True
    world = render(doc)
    pod = pods_of(world, "ingress", "nginx-ingress")[0]
    assert [c["name"] for c in pod["spec"]["containers"]] == ["nginx-ingress"]
    inits = pod["spec"]["initContainers"]
    assert [c["name"] for c in inits] == ["linkerd-init", "linkerd-proxy"]
    assert inits[1]["restartPolicy"] == "Always"
    assert (
        pod["metadata"]["annotations"]["config.alpha.linkerd.io/proxy-enable-native-sidecar"]
        == "true"
    )
    assert env_of(pod, "linkerd-proxy", TRUST)["value"] == trust_roots(world)
    policy = {r.plural: r.versions for r in world.resources if r.group == "policy.linkerd.io"}
    assert policy["servers"][0] == "v1beta3"
    with serve(world, tmp_path) as (_, api):
        got = client.CoreV1Api(api).read_namespaced_pod(pod["metadata"]["name"], "ingress")
        assert got.spec.init_containers[1].restart_policy == "Always"
        servers = client.CustomObjectsApi(api).list_namespaced_custom_object(
            "policy.linkerd.io", "v1beta3", "ingress", "servers"
        )
        assert servers["items"][0]["apiVersion"] == "policy.linkerd.io/v1beta3"


# -- issuer ------------------------------------------------------------------------------------


def test_linkerd_io_tls_issuer_secret(tmp_path: Path) -> None:
    world = render(scenario())
    with serve(world, tmp_path) as (_, api):
        secret = client.CoreV1Api(api).read_namespaced_secret("linkerd-identity-issuer", "linkerd")
    assert secret.type == "Opaque"
    assert set(secret.data) == {"crt.pem", "key.pem"}
    assert pem_certs(b64(secret.data["crt.pem"])) == [CERTS["issuer"].der]
    assert "EC PRIVATE KEY" in b64(secret.data["key.pem"])
    assert secret.metadata.labels["linkerd.io/control-plane-component"] == "identity"


def test_kubernetes_io_tls_issuer_with_cert_manager(tmp_path: Path) -> None:
    issuer = {"scheme": "kubernetes.io/tls", "cert": "issuer-2", "chain": ["inter"]}
    world = render(scenario(linkerd=linkerd(issuer=issuer, certManager={"renewBefore": "25h"})))
    secret = find(world, "Secret", "linkerd-identity-issuer", "linkerd")
    assert secret["type"] == "kubernetes.io/tls"
    assert pem_certs(b64(secret["data"]["tls.crt"])) == [CERTS["issuer-2"].der, CERTS["inter"].der]
    assert pem_certs(b64(secret["data"]["ca.crt"])) == [A.der]
    ann = secret["metadata"]["annotations"]
    assert ann["cert-manager.io/certificate-name"] == "linkerd-identity-issuer"
    assert ann["cert-manager.io/issuer-kind"] == "ClusterIssuer"
    assert values(world)["identity"]["issuer"]["scheme"] == "kubernetes.io/tls"
    with serve(world, tmp_path) as (_, api):
        cert = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "cert-manager.io", "v1", "linkerd", "certificates", "linkerd-identity-issuer"
        )
    not_after = CERTS["issuer-2"].cert.not_valid_after_utc
    assert cert["spec"]["renewBefore"] == "25h0m0s"
    assert cert["spec"]["duration"] == "48h0m0s"
    assert cert["spec"]["isCA"] is True
    assert cert["spec"]["secretName"] == "linkerd-identity-issuer"
    assert cert["status"]["notAfter"] == not_after.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cert["status"]["conditions"][0]["status"] == "True"
    renewal = not_after - timedelta(hours=25)
    assert cert["status"]["renewalTime"] == renewal.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_issuer_may_be_the_anchor() -> None:
    world = render(scenario(linkerd=linkerd(anchors=["anchor-a"], issuer={"cert": "anchor-a"})))
    secret = find(world, "Secret", "linkerd-identity-issuer", "linkerd")
    assert pem_certs(b64(secret["data"]["crt.pem"])) == [A.der]
    assert pem_certs(trust_roots(world)) == [A.der]


def test_external_ca_trust_roots_written_by_trust_manager(tmp_path: Path) -> None:
    issuer = {"scheme": "kubernetes.io/tls", "cert": "issuer"}
    world = render(scenario(linkerd=linkerd(externalCA=True, issuer=issuer)))
    cm = find(world, "ConfigMap", "linkerd-identity-trust-roots", "linkerd")
    meta = cm["metadata"]
    assert meta["labels"] == {"trust.cert-manager.io/bundle": "linkerd-identity-trust-roots"}
    assert meta["ownerReferences"][0]["kind"] == "Bundle"
    assert "linkerd.io/created-by" not in meta.get("annotations", {})
    assert values(world)["identity"]["externalCA"] is True
    with serve(world, tmp_path) as (_, api):
        bundle = client.CustomObjectsApi(api).get_cluster_custom_object(
            "trust.cert-manager.io", "v1alpha1", "bundles", "linkerd-identity-trust-roots"
        )
        assert bundle["metadata"]["uid"] == meta["ownerReferences"][0]["uid"]
        served = client.CoreV1Api(api).read_namespaced_config_map(
            "linkerd-identity-trust-roots", "linkerd"
        )
    assert pem_certs(served.data["ca-bundle.crt"]) == [A.der, B.der]


# -- EndpointSlices -------------------------------------------------------------------------------


def test_endpoint_slices_follow_readiness(tmp_path: Path) -> None:
    doc = scenario()
    doc["workloads"][0]["pods"].append({"ip": "10.42.4.14", "terminating": True})
    nothing = {"namespace": "shop", "name": "nothing", "selector": {"app": "none"}}
    doc["services"].append({**nothing, "ports": [{"port": 1}]})
    world = render(doc)
    with serve(world, tmp_path) as (_, api):
        disc = client.DiscoveryV1Api(api)
        (ingress,) = disc.list_namespaced_endpoint_slice(
            "ingress", label_selector="kubernetes.io/service-name=nginx-ingress"
        ).items
        (web,) = disc.list_namespaced_endpoint_slice(
            "shop", label_selector="kubernetes.io/service-name=web"
        ).items
        (empty,) = disc.list_namespaced_endpoint_slice(
            "shop", label_selector="kubernetes.io/service-name=nothing"
        ).items
    state = {
        e.addresses[0]: (e.conditions.ready, e.conditions.serving, e.conditions.terminating)
        for e in ingress.endpoints
    }
    assert state == {
        "10.42.0.11": (True, True, False),
        "10.42.1.12": (True, True, False),
        "10.42.2.13": (False, False, False),
        "10.42.4.14": (False, True, True),
    }
    assert [(p.name, p.port, p.protocol) for p in ingress.ports] == [("https", 8443, "TCP")]
    assert ingress.metadata.owner_references[0].kind == "Service"
    ref = next(e for e in ingress.endpoints if e.addresses[0] == "10.42.2.13").target_ref
    pod = find(world, "Pod", ref.name, "ingress")
    assert (ref.kind, ref.uid) == ("Pod", pod["metadata"]["uid"])
    assert [e.addresses for e in web.endpoints] == [["10.42.3.21"]]  # the Succeeded pod is out
    assert web.endpoints[0].node_name == "node-3"
    assert empty.endpoints is None
    assert empty.ports is None


# -- scenario errors ------------------------------------------------------------------------------

TWICE = {"namespace": "ingress", "name": "w", "pods": []}
ERRORS = [
    ({"bogus": 1}, 'kubernetes.bogus: unknown key'),
    ({"linkerd": linkerd(anchor=["anchor-a"])}, 'kubernetes.linkerd.anchor: unknown key (did you '
     'mean "anchors"?)'),
    ({"linkerd": linkerd(anchors=["anchor-a", "anchor-c"])},
     'kubernetes.linkerd.anchors[1]: unknown certificate "anchor-c" (did you mean "anchor-b"?)'),
    ({"linkerd": linkerd(version="stable-2.9.5")},
     'kubernetes.linkerd.version: unsupported Linkerd version "stable-2.9.5" (use stable-2.10.x '
     "… stable-2.14.x, version-2.15 … version-2.20, edge-YY.M.P)"),
    ({"linkerd": linkerd(version="2.14")},
     'kubernetes.linkerd.version: unsupported Linkerd version "2.14" (use stable-2.10.x … '
     "stable-2.14.x, version-2.15 … version-2.20, edge-YY.M.P)"),
    ({"serverVersion": "1.30"},
     'kubernetes.serverVersion: expected a Kubernetes version like v1.30.4, got "1.30"'),
    ({"services": [{"namespace": "ingress", "name": "x", "selector": {"app": "nginx-ingress"},
                    "ports": [{"port": 80, "targetPort": "http"}]}]},
     'kubernetes.services[0].ports[0].targetPort: no container port named "http" in workload '
     "ingress/nginx-ingress"),
    ({"services": [{"namespace": "ingress", "name": "x", "ports": [{"port": 80}, {"port": 81}]}]},
     "kubernetes.services[0].ports[0].name: required when a Service has more than one port"),
    ({"workloads": [TWICE, TWICE]},
     "kubernetes.workloads[1].name: workload ingress/w is declared twice"),
    ({"workloads": [{"namespace": "nowhere", "name": "w"}]},
     'kubernetes.workloads[0].namespace: namespace "nowhere" is not declared'),
    ({"workloads": [{"namespace": "ingress", "name": "w", "pods": [{"ip": "10.42.0.11"}]},
                    {"namespace": "shop", "name": "v", "pods": [{"ip": "10.42.0.11"}]}]},
     "kubernetes.workloads[1].pods[0].ip: 10.42.0.11 is already the IP of a pod of ingress/w"),
    ({"workloads": [{"namespace": "ingress", "name": "w", "nativeSidecar": True}]},
     "kubernetes.workloads[0].nativeSidecar: native sidecars need Linkerd 2.15 or later (this is "
     "stable-2.14.10)"),
    ({"workloads": [{"namespace": "ingress", "name": "w", "pods": [{"ip": "300.1.1.1"}]}]},
     'kubernetes.workloads[0].pods[0].ip: "300.1.1.1" is not an IP address'),
    ({"objects": [{"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "linkerd-config", "namespace": "linkerd"}}]},
     "kubernetes.objects[0]: ConfigMap linkerd/linkerd-config already exists (from "
     "kubernetes.linkerd)"),
    ({"objects": [{"apiVersion": "policy.linkerd.io/v1beta3", "kind": "Server",
                   "metadata": {"name": "s", "namespace": "ingress"}}]},
     "kubernetes.objects[0]: policy.linkerd.io/v1beta3 Server is not served by this simulated "
     "cluster"),
    ({"objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]},
     "kubernetes.objects[0].metadata.namespace: required for a namespaced ConfigMap"),
    ({"withhold": [{"resource": "secret", "namespace": "linkerd"}]},
     'kubernetes.withhold[0].resource: unknown resource "secret" (did you mean "secrets"?)'),
    ({"faults": [{"target": "bigip-a", "type": "http503", "count": 1}]},
     'kubernetes.faults[0].target: faults under kubernetes have target "kubernetes"'),
    ({"faults": [{"type": "http503"}]},
     "kubernetes.faults[0]: a http503 fault needs exactly one of count or seconds"),
    ({"linkerd": linkerd(certManager={"renewBefore": "25h"})},
     "kubernetes.linkerd.certManager: cert-manager writes a kubernetes.io/tls Secret: set "
     "issuer.scheme: kubernetes.io/tls"),
    ({"linkerd": linkerd(issuer={"scheme": "kubernetes.io/tls", "cert": "issuer"},
                         certManager={"duration": "2 days"})},
     'kubernetes.linkerd.certManager.duration: expected a duration like 48h or 25h0m0s, got '
     '"2 days"'),
    ({"linkerd": linkerd(version="stable-2.10.2", externalCA=True)},
     "kubernetes.linkerd.externalCA: Linkerd stable-2.10.2 has no linkerd-identity-trust-roots "
     "ConfigMap (2.11+)"),
    ({"linkerd": None, "objects": []},
     "kubernetes.workloads[0].meshed: a meshed workload needs kubernetes.linkerd"),
    ({"namespaces": [{"name": "Ingress"}]},
     'kubernetes.namespaces[0].name: "Ingress" is not a valid name (lower-case DNS label)'),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "message"), ERRORS)
def test_scenario_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        render(scenario(**changes))
    assert str(err.value) == message


def test_rendering_is_deterministic() -> None:
    first, second = render(scenario()), render(scenario())
    assert first.objects == second.objects
    uids = [o["metadata"]["uid"] for o in first.objects]
    assert len(set(uids)) == len(uids)
