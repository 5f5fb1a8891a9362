"""Tests for monitor.policy.parse: Linkerd policy JSON, pods, namespaces, values → dataclasses."""

from __future__ import annotations

from operator import attrgetter
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.policy.model import (
    DEFAULT_CLUSTER_NETWORKS,
    AuthorizationPolicy,
    LabelSelector,
    MeshTLSAuthentication,
    NetworkAuthentication,
    ObjectRef,
    Server,
    ServerAuthorization,
)
from monitor.policy.parse import mesh_policy, policy_object
from monitor.policy.pods import cluster_defaults, namespace_defaults, pod_info

F5_ID = "f5-bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def one(text: str) -> tuple[object, object]:
    (obj,) = docs(text)
    return policy_object(obj, linkerd_namespace="linkerd", trust_domain="cluster.local")


# --- one object → its dataclass -----------------------------------------------------------

# (the object as YAML, what it parses to: exactly this, and no problem)
PARSED = [
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata: {namespace: emojivoto, name: emoji-grpc, labels: {app.kubernetes.io/part-of: emojivoto}}
spec:
  podSelector: {matchLabels: {app: emoji-svc}}
  port: grpc
  proxyProtocol: gRPC
""", Server(
        namespace="emojivoto",
        name="emoji-grpc",
        pod_selector=LabelSelector(match_labels=(("app", "emoji-svc"),)),
        port="grpc",
        proxy_protocol="gRPC",
        labels={"app.kubernetes.io/part-of": "emojivoto"},
    ), id="server v1beta1, matchLabels, named port"),
    # a Server for external workloads is left out quietly: no object, no problem
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta2
kind: Server
metadata: {namespace: mixed-env, name: legacy-app}
spec: {externalWorkloadSelector: {matchLabels: {app: legacy}}, port: 8080}
""", None, id="server selecting external workloads is left out"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: edge-clients, namespace: booksapp}
spec:
  identities:
  - "books.booksapp.serviceaccount.identity.linkerd.cluster.local"
  - "spiffe://root.linkerd.cluster.local/external-workload"
  identityRefs:
  - kind: ServiceAccount
    name: webapp
  - kind: ServiceAccount
    name: f5-bigip
    namespace: f5-edge
  - kind: Namespace
    name: f5-edge
""", MeshTLSAuthentication(
        "booksapp",
        "edge-clients",
        (
            "books.booksapp.serviceaccount.identity.linkerd.cluster.local",
            "spiffe://root.linkerd.cluster.local/external-workload",
            "webapp.booksapp.serviceaccount.identity.linkerd.cluster.local",
            F5_ID,
            "*.f5-edge.serviceaccount.identity.linkerd.cluster.local",
        ),
        (
            "identities[0]",
            "identities[1]",
            "identityRefs[0] ServiceAccount booksapp/webapp",
            "identityRefs[1] ServiceAccount f5-edge/f5-bigip",
            "identityRefs[2] Namespace f5-edge",
        ),
    ), id="meshTLS identities, identityRefs and SPIFFE"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: f5-snat, namespace: ingress}
spec:
  networks:
  - cidr: 192.0.2.0/24
    except: [192.0.2.128/25]
  - cidr: 2001:db8:f5::/48
  - cidr: 198.51.100.7
""", NetworkAuthentication(
        "ingress",
        "f5-snat",
        (("192.0.2.0/24", ("192.0.2.128/25",)), ("2001:db8:f5::/48", ()), ("198.51.100.7", ())),
    ), id="network authentication with except and a bare address"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: from-f5, namespace: ingress}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: nginx-https}
  requiredAuthenticationRefs:
  - {name: f5-edge, kind: MeshTLSAuthentication, group: policy.linkerd.io}
  - {name: f5-snat, kind: NetworkAuthentication, group: policy.linkerd.io, namespace: f5-edge}
""", AuthorizationPolicy(
        "ingress",
        "from-f5",
        ObjectRef("policy.linkerd.io", "Server", "nginx-https"),
        (
            ObjectRef("policy.linkerd.io", "MeshTLSAuthentication", "f5-edge"),
            ObjectRef("policy.linkerd.io", "NetworkAuthentication", "f5-snat", "f5-edge"),
        ),
    ), id="authorization policy targeting a Server"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: emojivoto, name: prom-prometheus}
spec:
  server: {name: prom}
  client:
    meshTLS:
      serviceAccounts:
      - {namespace: linkerd-viz, name: prometheus}
      - {name: web}
      identities: ["*.emojivoto.serviceaccount.identity.linkerd.cluster.local"]
""", ServerAuthorization(
        "emojivoto",
        "prom-prometheus",
        server_name="prom",
        server_selector=None,
        identities=(
            "*.emojivoto.serviceaccount.identity.linkerd.cluster.local",
            "prometheus.linkerd-viz.serviceaccount.identity.linkerd.cluster.local",
            "web.emojivoto.serviceaccount.identity.linkerd.cluster.local",
        ),
    ), id="server authorization, meshTLS serviceAccounts"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: emojivoto, name: web-public}
spec:
  server:
    selector: {matchLabels: {app: web}}
  client:
    unauthenticated: true
    networks:
    - cidr: 0.0.0.0/0
    - cidr: ::/0
""", ServerAuthorization(
        "emojivoto",
        "web-public",
        server_name=None,
        server_selector=LabelSelector((("app", "web"),)),
        networks=(("0.0.0.0/0", ()), ("::/0", ())),
        unauthenticated=True,
    ), id="server authorization, unauthenticated with networks and a selector"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), PARSED)
def test_object_parses_to(text: str, expected: object) -> None:
    parsed, problem = one(text)
    assert problem is None
    assert parsed == expected


# (the object as YAML, the dataclass it parses to with no problem, and the values of some of
# its fields, each named by an attribute path as `operator.attrgetter` reads it)
PARSED_FIELDS = [
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta2
kind: Server
metadata: {namespace: emojivoto, name: backend-services}
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: In, values: [voting-svc, emoji-svc]}
    - {key: environment, operator: NotIn, values: [dev]}
    - {key: canary, operator: DoesNotExist}
  port: 8080
  proxyProtocol: "HTTP/2"
""", Server, {
        "port": 8080,
        "access_policy": None,
        "pod_selector.match_expressions": (
            ("app", "In", ("voting-svc", "emoji-svc")),
            ("environment", "NotIn", ("dev",)),
            ("canary", "DoesNotExist", ()),
        ),
    }, id="server v1beta2, matchExpressions, numeric port"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-http}
spec: {podSelector: {matchLabels: {app: web}}, port: http, accessPolicy: audit}
""", Server, {"access_policy": "audit"}, id="server v1beta3 accessPolicy"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: authors-policy, namespace: booksapp}
spec:
  targetRef: {kind: Namespace, name: booksapp}
  requiredAuthenticationRefs:
  - {name: webapp, kind: ServiceAccount, group: core}
""", AuthorizationPolicy, {
        "target": ObjectRef("", "Namespace", "booksapp"),
        "required": (ObjectRef("", "ServiceAccount", "webapp"),),
    }, id="authorization policy targeting a Namespace, with a ServiceAccount"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: authors-get-policy, namespace: booksapp}
spec:
  targetRef: {group: gateway.networking.k8s.io, kind: HTTPRoute, name: authors-get-route}
  requiredAuthenticationRefs: []
""", AuthorizationPolicy, {"target.kind": "HTTPRoute"},
        id="authorization policy targeting a Gateway API HTTPRoute is kept"),
    pytest.param("""
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: linkerd, name: identity-grpc}
spec:
  server: {name: identity-grpc}
  client: {meshTLS: {unauthenticatedTLS: true}}
""", ServerAuthorization, {
        "unauthenticated": False,
        "unauthenticated_tls": True,
        "identities": (),
    }, id="server authorization, unauthenticatedTLS"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "kind", "fields"), PARSED_FIELDS)
def test_object_parses_with_fields(text: str, kind: type, fields: dict[str, object]) -> None:
    parsed, problem = one(text)
    assert problem is None
    assert isinstance(parsed, kind)
    assert {path: attrgetter(path)(parsed) for path in fields} == fields


def test_meshtls_refs_use_the_configured_control_plane_namespace_and_trust_domain() -> None:
    (obj,) = docs("""
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {name: edge, namespace: ingress}
spec: {identityRefs: [{kind: ServiceAccount, name: f5}, {kind: Namespace, name: edge}]}
""")
    authn, _ = policy_object(obj, linkerd_namespace="l5d", trust_domain="prod.example")
    assert isinstance(authn, MeshTLSAuthentication)
    assert authn.identities == (
        "f5.ingress.serviceaccount.identity.l5d.prod.example",
        "*.edge.serviceaccount.identity.l5d.prod.example",
    )


# --- malformed objects ---------------------------------------------------------------------

SERVER = ("policy.linkerd.io/v1beta1", "Server")
MESH_TLS = ("policy.linkerd.io/v1alpha1", "MeshTLSAuthentication")
NETWORK = ("policy.linkerd.io/v1alpha1", "NetworkAuthentication")
AUTHORIZATION_POLICY = ("policy.linkerd.io/v1alpha1", "AuthorizationPolicy")
SERVER_AUTHORIZATION = ("policy.linkerd.io/v1beta1", "ServerAuthorization")


def malformed(kind: tuple[str, str], spec: object, words: str | None, case: str) -> Any:
    return pytest.param(kind, spec, words, id=f"{kind[1]}: {case}")


# (kind, spec, words the problem must contain: None where a row asserts no wording)
MALFORMED = [
    malformed(SERVER, {"port": 8080}, "podSelector is missing", "no podSelector"),
    malformed(SERVER, {"podSelector": {}, "port": 0}, "spec.port", "port 0"),
    malformed(SERVER, {"podSelector": {}, "port": True}, "spec.port", "port true"),
    malformed(SERVER, {"podSelector": {}}, "spec.port", "no port"),
    malformed(
        SERVER,
        {"podSelector": {"matchLabels": {"app": 1}}, "port": 80},
        "matchLabels",
        "a matchLabels value not a string",
    ),
    malformed(
        SERVER,
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}, "port": 80},
        "operator",
        "an unknown operator",
    ),
    malformed(
        SERVER,
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}, "port": 80},
        "no values",
        "In without values",
    ),
    malformed(SERVER, "not-an-object", "spec is not an object", "spec not an object"),
    malformed(MESH_TLS, {}, "no identities", "empty spec"),
    malformed(MESH_TLS, {"identities": []}, "no identities", "empty identities"),
    malformed(
        MESH_TLS,
        {"identityRefs": [{"kind": "Deployment", "name": "x"}]},
        "unsupported kind",
        "an identityRef to a Deployment",
    ),
    malformed(MESH_TLS, {"identityRefs": [{"kind": "ServiceAccount"}]}, "no name", "no name"),
    malformed(
        MESH_TLS, {"identities": ["ok", 3]}, "not a list of strings", "an identity not a string"
    ),
    malformed(NETWORK, {"networks": []}, None, "no networks"),
    malformed(NETWORK, {"networks": [{"cidr": "10.0.0.0/33"}]}, None, "a bad prefix length"),
    malformed(
        NETWORK, {"networks": [{"cidr": "10.0.0.0/8", "except": ["nope"]}]}, None, "a bad except"
    ),
    malformed(NETWORK, {"networks": "10.0.0.0/8"}, None, "networks not a list"),
    malformed(
        AUTHORIZATION_POLICY,
        {"targetRef": {"kind": "Deployment", "name": "x"}, "requiredAuthenticationRefs": []},
        "kind",
        "a Deployment target",
    ),
    malformed(
        AUTHORIZATION_POLICY,
        {"targetRef": {"kind": "Server", "name": "x"}, "requiredAuthenticationRefs": []},
        "group",
        "a Server target without its group",
    ),
    malformed(
        AUTHORIZATION_POLICY,
        {"targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": "x"}},
        "missing",
        "no requiredAuthenticationRefs",
    ),
    malformed(
        AUTHORIZATION_POLICY,
        {
            "targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": "x"},
            # a Linkerd kind without its group is not supported (`targets_kind`)
            "requiredAuthenticationRefs": [{"kind": "MeshTLSAuthentication", "name": "m"}],
        },
        "unsupported kind",
        "an authentication ref without its group",
    ),
    malformed(
        SERVER_AUTHORIZATION, {"server": {"name": "s"}, "client": {}}, None, "an empty client"
    ),
    malformed(
        SERVER_AUTHORIZATION,
        {"server": {"name": "s"}, "client": {"meshTLS": {}}},
        None,
        "an empty meshTLS",
    ),
    malformed(
        SERVER_AUTHORIZATION,
        {"server": {"name": "s", "selector": {}}, "client": {"unauthenticated": True}},
        None,
        "server by name and selector",
    ),
    malformed(
        SERVER_AUTHORIZATION,
        {"server": {}, "client": {"unauthenticated": True}},
        None,
        "server by neither",
    ),
    malformed(
        SERVER_AUTHORIZATION,
        {"server": {"name": "s"}, "client": {"meshTLS": {"serviceAccounts": [{"namespace": "x"}]}}},
        None,
        "a serviceAccount without a name",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "words"), MALFORMED)
def test_malformed_object_is_a_problem(
    kind: tuple[str, str], spec: object, words: str | None
) -> None:
    api_version, kind_name = kind
    obj = {
        "apiVersion": api_version,
        "kind": kind_name,
        "metadata": {"namespace": "shop", "name": "bad"},
        "spec": spec,
    }
    parsed, problem = policy_object(obj, linkerd_namespace="linkerd", trust_domain="cluster.local")
    assert parsed is None
    assert problem is not None
    assert problem[0] == ObjectRef("policy.linkerd.io", kind_name, "bad", "shop")
    if words is not None:
        assert words in problem[1]


# --- the whole policy ----------------------------------------------------------------------

VALUES_212 = {
    "clusterNetworks": "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16",
    "proxy": {"defaultInboundPolicy": "cluster-authenticated"},
}


def test_mesh_policy_sorts_objects_by_kind_and_reports_problems() -> None:
    objects = docs("""
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-http}
spec: {podSelector: {matchLabels: {app: web}}, port: 8080}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {namespace: shop, name: f5}
spec: {networks: [{cidr: 192.0.2.0/24}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: HTTPRoute
metadata: {namespace: shop, name: not-modelled}
spec: {}
---
apiVersion: example.com/v1
kind: Server
metadata: {namespace: shop, name: someone-elses-server}
spec: {}
---
kind: Server
metadata: {name: no-namespace}
spec: {podSelector: {}, port: 80}
""")
    annotations = {"config.linkerd.io/default-inbound-policy": "deny"}
    namespaces = [{"metadata": {"name": "shop", "annotations": annotations}}]
    policy, problems = mesh_policy(
        objects, values=VALUES_212, namespaces=namespaces, trust_domain="prod.example"
    )
    assert [s.name for s in policy.servers] == ["web-http"]
    assert [n.name for n in policy.network_authentications] == ["f5"]
    assert policy.cluster_default == "cluster-authenticated"
    assert policy.cluster_networks == (
        "10.0.0.0/8",
        "100.64.0.0/10",
        "172.16.0.0/12",
        "192.168.0.0/16",
    )
    assert policy.namespace_defaults == {"shop": "deny"}
    assert policy.trust_domain == "prod.example"
    assert [(p[0].name, "group" in p[1] or "namespace" in p[1]) for p in problems] == [
        ("someone-elses-server", True),
        ("no-namespace", True),
    ]


@pytest.mark.parametrize(
    ("values", "default", "networks", "problems"),
    [
        (VALUES_212, "cluster-authenticated", 4, 0),
        ({"policyController": {"defaultAllowPolicy": "deny"}}, "deny", 5, 0),  # 2.11
        ({}, "all-unauthenticated", 5, 0),
        ({"proxy": {"defaultInboundPolicy": "allow-all"}}, "all-unauthenticated", 5, 1),
        ({"clusterNetworks": "10.0.0.0/8, bogus ,fd00::/8"}, "all-unauthenticated", 2, 1),
        ({"clusterNetworks": 42}, "all-unauthenticated", 5, 1),
    ],
)
def test_cluster_defaults(
    values: dict[str, Any], default: str, networks: int, problems: int
) -> None:
    got_default, got_networks, got_problems = cluster_defaults(values)
    assert got_default == default
    assert len(got_networks) == networks
    assert len(got_problems) == problems
    if networks == 5:
        assert got_networks == DEFAULT_CLUSTER_NETWORKS


def test_namespace_defaults_skip_unannotated_and_report_invalid() -> None:
    key = "config.linkerd.io/default-inbound-policy"
    found, problems = namespace_defaults(
        [
            {"metadata": {"name": "a", "annotations": {key: "audit"}}},
            {"metadata": {"name": "b"}},
            {"metadata": {"name": "c", "annotations": {key: "open"}}},
            {"metadata": "junk"},
        ]
    )
    assert found == {"a": "audit"}
    assert [(p[0], "open" in p[1]) for p in problems] == [(ObjectRef("", "Namespace", "c"), True)]


# --- pods ----------------------------------------------------------------------------------

NATIVE_SIDECAR_POD = """
apiVersion: v1
kind: Pod
metadata:
  namespace: ingress
  name: nginx-7d9f-abcde
  labels: {app: nginx-ingress, env: prod}
  annotations:
    linkerd.io/inject: enabled
    config.linkerd.io/default-inbound-policy: cluster-authenticated
    config.linkerd.io/skip-inbound-ports: "10254, 4000-4100,99999,x"
    config.linkerd.io/proxy-require-identity-inbound-ports: "8443"
spec:
  serviceAccountName: nginx-ingress
  initContainers:
  - name: linkerd-init
    args: [--incoming-proxy-port, "4143", --inbound-ports-to-ignore, "4190,4191,4567,4568"]
  - name: linkerd-proxy
    restartPolicy: Always
    ports:
    - {name: linkerd-proxy, containerPort: 4143}
    - {name: linkerd-admin, containerPort: 4191}
  containers:
  - name: controller
    ports:
    - {name: https, containerPort: 8443, protocol: TCP}
    - {name: http, containerPort: 8080}
    - {name: dns, containerPort: 53, protocol: UDP}
    - {containerPort: 10254}
  - name: sidecar
    ports:
    - {name: http, containerPort: 8081}
status: {podIP: 10.42.0.17}
"""


def test_pod_info_native_sidecar() -> None:
    (raw,) = docs(NATIVE_SIDECAR_POD)
    pod, problems = pod_info(raw)
    assert pod is not None
    assert pod.key == "ingress/nginx-7d9f-abcde"
    assert pod.meshed
    assert pod.ip == "10.42.0.17"
    assert pod.service_account == "nginx-ingress"
    assert pod.labels == {"app": "nginx-ingress", "env": "prod"}
    assert pod.container_ports == {
        "linkerd-proxy": 4143,
        "linkerd-admin": 4191,
        "https": 8443,
        "http": 8080,
    }
    assert pod.extra_ports == (("http", 8081),)
    assert pod.default_policy == "cluster-authenticated"
    assert pod.skip_inbound_ports == ("10254", "4000-4100")
    assert pod.require_identity_ports == ("8443",)
    assert sorted(p[1].split(" entry ")[1] for p in problems) == [
        "'99999' is not a port or port range",
        "'x' is not a port or port range",
    ]


def test_pod_info_falls_back_to_linkerd_init_ignored_ports() -> None:
    (raw,) = docs("""
metadata:
  namespace: shop
  name: web-0
  annotations: {config.linkerd.io/default-inbound-policy: nope}
spec:
  initContainers:
  - name: linkerd-init
    args: ["--inbound-ports-to-ignore=4190,4191,4567,4568,9000-9010"]
  containers:
  - {name: web}
  - {name: linkerd-proxy}
""")
    pod, problems = pod_info(raw)
    assert pod is not None
    assert pod.meshed
    assert pod.service_account == "default"
    assert pod.skip_inbound_ports == ("4567", "4568", "9000-9010")
    assert pod.default_policy == "nope"  # kept; evaluation ignores it, as Linkerd does
    assert len(problems) == 1
    assert "nope" in problems[0][1]


def test_pod_info_unmeshed_and_nameless() -> None:
    pod, problems = pod_info({"metadata": {"namespace": "shop", "name": "db-0"}, "spec": {}})
    assert pod is not None
    assert (pod.meshed, pod.container_ports, pod.skip_inbound_ports, problems) == (
        False,
        {},
        (),
        (),
    )
    pod, problems = pod_info({"metadata": {"namespace": "shop"}})
    assert pod is None
    assert problems[0][0] == ObjectRef("", "Pod", "?", "shop")


# --- nothing raises ------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
KINDS = st.sampled_from([
    "Server", "ServerAuthorization", "AuthorizationPolicy", "MeshTLSAuthentication",
    "NetworkAuthentication", "Pod",
])  # fmt: skip
FIELDS = st.sampled_from([
    "podSelector", "port", "accessPolicy", "server", "client", "targetRef",
    "requiredAuthenticationRefs", "identities", "identityRefs", "networks", "containers",
])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(kind=KINDS, spec=st.dictionaries(FIELDS, JSON, max_size=4), meta=JSON)
def test_malformed_objects_never_raise(kind: str, spec: dict[str, Any], meta: object) -> None:
    for metadata in (meta, {"namespace": "ns", "name": "n"}):
        obj = {"apiVersion": "policy.linkerd.io/v1beta1", "kind": kind, "metadata": metadata}
        obj["spec"] = spec
        if kind == "Pod":
            pod_info(obj)
        else:
            policy_object(obj, linkerd_namespace="linkerd", trust_domain="cluster.local")
    mesh_policy([spec], values=spec, namespaces=[spec])
