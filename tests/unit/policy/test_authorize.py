"""Tests for monitor.policy.authorize: who Linkerd's inbound policy admits, from objects shaped
as the Linkerd docs show them (parsed with monitor.policy.parse)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from monitor.policy.authorize import (
    authorize,
    identity_matches,
    open_to_unauthenticated,
    port_listed,
    selects,
)
from monitor.policy.model import Client, Decision, LabelSelector, MeshPolicy, PodInfo
from monitor.policy.parse import mesh_policy
from monitor.policy.pods import pod_info

F5_ID = "f5-bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"
F5_SPIFFE = "spiffe://cluster.local/ns/f5-edge/sa/f5-bigip"
OTHER_EDGE_ID = "cis-ctlr.f5-edge.serviceaccount.identity.linkerd.cluster.local"
STRANGER_ID = "web.shop.serviceaccount.identity.linkerd.cluster.local"
F5_SELF = "192.0.2.10"  # a BIG-IP self / SNAT IP outside the cluster networks
F5_EXCEPTED = "192.0.2.200"  # in 192.0.2.0/24 but in its except 192.0.2.128/25
F5_SELF6 = "2001:db8:f5::10"
INTERNET = "198.51.100.7"
IN_CLUSTER = "10.1.2.3"

MESH_F5 = Client(F5_ID, F5_SELF, tls=True)
PLAIN_F5 = Client(None, F5_SELF, tls=False)

POLICY_OBJECTS = """
# --- ingress: BIG-IP reaches NGINX over mesh TLS (8443) and in plaintext (8080) ---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: ingress, name: nginx-https}
spec: {podSelector: {matchLabels: {app: nginx-ingress}}, port: https, proxyProtocol: opaque}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {namespace: ingress, name: f5-edge}
spec: {identities: ["f5-bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {namespace: ingress, name: from-f5}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: nginx-https}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: f5-edge}
---
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata: {namespace: ingress, name: nginx-http}
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: In, values: [nginx-ingress, nginx]}
    - {key: env, operator: NotIn, values: [dev]}
  port: 8080
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {namespace: ingress, name: f5-snat}
spec:
  networks:
  - {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}
  - {cidr: "2001:db8:f5::/48"}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {namespace: ingress, name: f5-plaintext}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: nginx-http}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: NetworkAuthentication, name: f5-snat}
---
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata: {namespace: ingress, name: nginx-metrics}
spec: {podSelector: {matchLabels: {app: nginx-ingress}}, port: metrics}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {namespace: ingress, name: any-meshed}
spec: {identities: ["*"]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {namespace: ingress, name: scrape}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: nginx-metrics}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: any-meshed}
  - {group: policy.linkerd.io, kind: NetworkAuthentication, name: monitoring-nets}  # missing
---
# --- shop: ServerAuthorizations (v1beta1) and v1beta3 accessPolicy ---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-http, labels: {policy: f5}}
spec: {podSelector: {matchLabels: {app: web}}, port: 8080, accessPolicy: deny}
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: shop, name: f5-plain}
spec:
  server: {name: web-http}
  client:
    unauthenticated: true
    networks: [{cidr: 192.0.2.0/24}]
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: shop, name: f5-mtls}
spec:
  server: {selector: {matchLabels: {policy: f5}}}
  client:
    meshTLS:
      serviceAccounts: [{name: f5-bigip, namespace: f5-edge}]
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-grpc}
spec: {podSelector: {matchLabels: {app: web}}, port: grpc, proxyProtocol: gRPC}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-debug}
spec: {podSelector: {matchLabels: {app: web}}, port: 7070, accessPolicy: audit}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-metrics}
spec: {podSelector: {matchLabels: {app: web}}, port: 9100, accessPolicy: cluster-unauthenticated}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: shop, name: web-status}
spec: {podSelector: {}, port: 8081}
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: shop, name: status-any-cluster}
spec:
  server: {name: web-status}
  client: {unauthenticated: true}
---
# --- payments: identityRefs, SPIFFE, and a Namespace-wide policy ---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: payments, name: pay-api}
spec: {podSelector: {matchLabels: {app: pay}}, port: 8443}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: MeshTLSAuthentication
metadata: {namespace: payments, name: edge-namespace}
spec:
  identities: ["spiffe://cluster.local/ns/f5-edge/sa/f5-bigip"]
  identityRefs: [{kind: Namespace, name: f5-edge}]
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {namespace: payments, name: edge-any}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: pay-api}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: edge-namespace}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: payments, name: pay-admin}
spec: {podSelector: {matchLabels: {app: pay}}, port: 9443}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {namespace: payments, name: ns-wide}
spec:
  targetRef: {kind: Namespace, name: payments}
  requiredAuthenticationRefs:
  - {kind: ServiceAccount, name: f5-bigip, namespace: f5-edge}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {namespace: payments, name: everyone}
spec: {networks: [{cidr: 0.0.0.0/0}, {cidr: "::/0"}]}
---
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {namespace: payments, name: open-health}
spec:
  targetRef: {group: policy.linkerd.io, kind: Server, name: pay-health}
  requiredAuthenticationRefs:
  - {group: policy.linkerd.io, kind: NetworkAuthentication, name: everyone}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: payments, name: pay-health}
spec: {podSelector: {matchLabels: {app: pay}}, port: 8086}
---
# --- other: a Server selecting every pod of ITS namespace on the same ports ---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: other, name: everything}
spec: {podSelector: {}, port: 8443, accessPolicy: all-unauthenticated}
---
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: other, name: everything-7000}
spec: {podSelector: {}, port: 7000, accessPolicy: deny}
"""

PODS = """
metadata:
  namespace: ingress
  name: nginx-7d9f-abcde
  labels: {app: nginx-ingress, env: prod}
spec:
  initContainers:
  - {name: linkerd-init, args: [--inbound-ports-to-ignore, "4190,4191,4567,4568"]}
  containers:
  - name: controller
    ports:
    - {name: https, containerPort: 8443}
    - {name: http, containerPort: 8080}
    - {name: metrics, containerPort: 10254}
  - {name: linkerd-proxy, ports: [{name: linkerd-admin, containerPort: 4191}]}
status: {podIP: 10.42.0.17}
---
metadata: {namespace: shop, name: web-0, labels: {app: web}}
spec:
  containers:
  - name: web
    ports: [{name: http, containerPort: 8080}, {name: grpc, containerPort: 9090}]
  - {name: linkerd-proxy}
---
metadata: {namespace: payments, name: pay-0, labels: {app: pay}}
spec:
  containers: [{name: pay, ports: [{name: api, containerPort: 8443}]}, {name: linkerd-proxy}]
"""


def load() -> tuple[MeshPolicy, dict[str, PodInfo]]:
    objects = [d for d in yaml.safe_load_all(POLICY_OBJECTS) if d]
    policy, problems = mesh_policy(objects, values={"proxy": {}})
    assert problems == ()
    pods: dict[str, PodInfo] = {}
    for raw in yaml.safe_load_all(PODS):
        pod, pod_problems = pod_info(raw)
        assert pod is not None
        assert pod_problems == ()
        pods[pod.name] = pod
    return policy, pods


POLICY, PODS_BY_NAME = load()
NGINX, WEB, PAY = (PODS_BY_NAME[n] for n in ("nginx-7d9f-abcde", "web-0", "pay-0"))

# (case, pod, port, client, allowed, words of `via`)
TABLE: list[tuple[str, PodInfo, int, Client, bool, tuple[str, ...]]] = [
    # MeshTLSAuthentication via a named port (https → 8443)
    ("mesh identity admitted", NGINX, 8443, MESH_F5, True,
     ("Server ingress/nginx-https", "AuthorizationPolicy ingress/from-f5",
      "MeshTLSAuthentication ingress/f5-edge")),
    ("other identity denied", NGINX, 8443, Client(STRANGER_ID, F5_SELF, True), False,
     ("Server ingress/nginx-https",)),
    ("plaintext denied on a mesh-TLS server", NGINX, 8443, PLAIN_F5, False,
     ("Server ingress/nginx-https",)),
    # NetworkAuthentication with except, IPv4 and IPv6
    ("network in cidr", NGINX, 8080, PLAIN_F5, True,
     ("Server ingress/nginx-http", "NetworkAuthentication ingress/f5-snat")),
    ("network in except", NGINX, 8080, Client(None, F5_EXCEPTED, False), False,
     ("Server ingress/nginx-http",)),
    ("network outside", NGINX, 8080, Client(None, INTERNET, False), False, ("nginx-http",)),
    ("network IPv6", NGINX, 8080, Client(None, F5_SELF6, False), True, ("f5-snat",)),
    ("network IPv4-mapped IPv6", NGINX, 8080, Client(None, "::ffff:192.0.2.10", False), True,
     ("f5-snat",)),
    ("network needs an address", NGINX, 8080, Client(None, None, False), False, ("nginx-http",)),
    ("network policy admits identities too", NGINX, 8080, MESH_F5, True, ("f5-plaintext",)),
    # two required refs, one missing: the policy is ignored, so the Server denies
    ("missing authn ignores the policy", NGINX, 10254, Client(STRANGER_ID, IN_CLUSTER, True),
     False, ("Server ingress/nginx-metrics",)),
    # skip-inbound-ports from linkerd-init's args (cluster-wide proxyInit.ignoreInboundPorts)
    ("linkerd-init ignored port", NGINX, 4567, PLAIN_F5, True, ("skip-inbound-ports",)),
    # ServerAuthorization v1beta1
    ("saz unauthenticated in networks", WEB, 8080, PLAIN_F5, True,
     ("Server shop/web-http", "ServerAuthorization shop/f5-plain")),
    ("saz unauthenticated outside networks", WEB, 8080, Client(None, INTERNET, False), False,
     ("Server shop/web-http accessPolicy deny",)),
    ("saz serviceAccounts by selector", WEB, 8080, Client(F5_ID, IN_CLUSTER, True), True,
     ("ServerAuthorization shop/f5-mtls",)),
    # no `networks`: the cluster networks, for mesh TLS clients too (grpc/src/inbound.rs)
    ("saz serviceAccounts from outside", WEB, 8080, Client(F5_ID, INTERNET, True), False,
     ("Server shop/web-http accessPolicy deny",)),
    ("saz without networks: cluster networks only", WEB, 8081, Client(None, F5_SELF, False),
     False, ("Server shop/web-status",)),
    ("saz without networks admits the cluster", WEB, 8081, Client(None, IN_CLUSTER, False), True,
     ("ServerAuthorization shop/status-any-cluster",)),
    # a Server nothing authorizes denies; named port grpc → 9090
    ("server without authorizations", WEB, 9090, MESH_F5, False, ("Server shop/web-grpc",)),
    # v1beta3 accessPolicy
    ("accessPolicy audit", WEB, 7070, PLAIN_F5, True, ("shop/web-debug accessPolicy audit",)),
    ("accessPolicy cluster-unauthenticated, outside", WEB, 9100, PLAIN_F5, False,
     ("web-metrics accessPolicy cluster-unauthenticated",)),
    ("accessPolicy cluster-unauthenticated, inside", WEB, 9100, Client(None, IN_CLUSTER, False),
     True, ("web-metrics accessPolicy cluster-unauthenticated",)),
    # identityRefs Namespace wildcard, SPIFFE id, Namespace-targeted policy with ServiceAccount
    ("namespace wildcard", PAY, 8443, Client(OTHER_EDGE_ID, INTERNET, True), True,
     ("AuthorizationPolicy payments/edge-any",)),
    ("spiffe id", PAY, 8443, Client(F5_SPIFFE, INTERNET, True), True, ("edge-namespace",)),
    ("wildcard is not a prefix match", PAY, 8443,
     Client("x.f5-edge-2.serviceaccount.identity.linkerd.cluster.local", INTERNET, True), False,
     ("Server payments/pay-api",)),
    ("namespace-targeted policy", PAY, 9443, MESH_F5, True,
     ("Server payments/pay-admin", "AuthorizationPolicy payments/ns-wide",
      "ServiceAccount f5-edge/f5-bigip")),
    ("namespace-targeted policy, other identity", PAY, 9443, Client(OTHER_EDGE_ID, None, True),
     False, ("Server payments/pay-admin",)),
    # a Server in another namespace does not apply: the default policy does
    ("server in another namespace", PAY, 7000, PLAIN_F5, True,
     ("default policy all-unauthenticated (cluster default)",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("pod", "port", "client", "allowed", "via"),
    [row[1:] for row in TABLE],
    ids=[row[0] for row in TABLE],
)
def test_decisions(
    pod: PodInfo, port: int, client: Client, allowed: bool, via: tuple[str, ...]
) -> None:
    decision = authorize(POLICY, pod, port, client)
    assert decision.allowed is allowed, decision
    for words in via:
        assert words in decision.via, decision
    assert decision.reason.endswith(".")


def test_missing_authentication_is_named_in_the_notes() -> None:
    decision = authorize(POLICY, NGINX, 10254, Client(STRANGER_ID, IN_CLUSTER, True))
    assert any(
        "AuthorizationPolicy ingress/scrape is ignored" in n and "monitoring-nets" in n
        for n in decision.notes
    ), decision.notes


def test_denial_notes_say_why_each_authorization_missed() -> None:
    decision = authorize(POLICY, NGINX, 8443, PLAIN_F5)
    assert any("a client identity (mTLS) is required" in n for n in decision.notes)
    decision = authorize(POLICY, NGINX, 8080, Client(None, F5_EXCEPTED, False))
    assert any(
        "192.0.2.200 is not in 192.0.2.0/24 except 192.0.2.128/25" in n for n in decision.notes
    )


def test_server_in_another_namespace_would_have_decided() -> None:
    moved = dataclasses.replace(PAY, namespace="other")
    assert "Server other/everything-7000" in authorize(POLICY, moved, 7000, PLAIN_F5).via


# --- default policies ----------------------------------------------------------------------

BARE = PodInfo("apps", "api-0", "10.42.1.5", {"app": "api"}, "api", meshed=True)

# (default, client, allowed)
DEFAULTS = [
    ("all-unauthenticated", Client(None, INTERNET, False), True),
    ("all-authenticated", Client(None, IN_CLUSTER, False), False),
    ("all-authenticated", Client(F5_ID, INTERNET, True), True),
    ("all-authenticated", Client(F5_SPIFFE, None, True), True),
    ("cluster-unauthenticated", Client(None, IN_CLUSTER, False), True),
    ("cluster-unauthenticated", Client(None, "fd00::7", False), True),
    ("cluster-unauthenticated", Client(None, F5_SELF, False), False),
    ("cluster-unauthenticated", Client(None, None, False), False),
    ("cluster-authenticated", Client(F5_ID, IN_CLUSTER, True), True),
    ("cluster-authenticated", Client(F5_ID, F5_SELF, True), False),
    ("cluster-authenticated", Client(None, IN_CLUSTER, True), False),
    ("deny", Client(F5_ID, IN_CLUSTER, True), False),
    ("audit", Client(None, INTERNET, False), True),
]


@pytest.mark.parametrize(("default", "client", "allowed"), DEFAULTS)
def test_cluster_default_policies(default: str, client: Client, allowed: bool) -> None:
    decision = authorize(MeshPolicy(cluster_default=default), BARE, 8080, client)
    assert decision.allowed is allowed
    assert decision.via == f"default policy {default} (cluster default)"


def test_cluster_networks_from_the_values_replace_the_chart_default() -> None:
    policy = MeshPolicy(
        cluster_default="cluster-unauthenticated", cluster_networks=("192.0.2.0/24",)
    )
    assert authorize(policy, BARE, 8080, PLAIN_F5).allowed
    assert not authorize(policy, BARE, 8080, Client(None, IN_CLUSTER, False)).allowed


@pytest.mark.parametrize(
    ("pod_value", "ns_value", "cluster", "allowed", "via", "note"),
    [
        ("deny", "all-unauthenticated", "all-unauthenticated", False, "deny (pod annotation)", ""),
        ("all-unauthenticated", None, "deny", True, "all-unauthenticated (pod annotation)", ""),
        ("deny", "deny", "all-unauthenticated", False, "deny (namespace annotation", ""),
        (None, None, "deny", False, "deny (cluster default)", ""),
        # the policy controller reads the pod's annotation only; the injector copies the
        # namespace's onto pods created after it was set
        (None, "deny", "all-unauthenticated", True, "all-unauthenticated (cluster default)",
         "namespace annotation deny is not on this pod"),
        ("bogus", "deny", "all-unauthenticated", True, "(cluster default)", "'bogus' is invalid"),
    ],
)  # fmt: skip
def test_default_policy_precedence(
    pod_value: str | None, ns_value: str | None, cluster: str, allowed: bool, via: str, note: str
) -> None:
    pod = dataclasses.replace(BARE, default_policy=pod_value)
    ns_defaults = {} if ns_value is None else {"apps": ns_value}
    policy = MeshPolicy(cluster_default=cluster, namespace_defaults=ns_defaults)
    decision = authorize(policy, pod, 8080, Client(None, INTERNET, False))
    assert decision.allowed is allowed
    assert via in decision.via
    assert any(note in n for n in decision.notes) if note else decision.notes == ()


def test_require_identity_ports_tighten_unauthenticated_defaults() -> None:
    pod = dataclasses.replace(BARE, require_identity_ports=("8443", "9000-9100"))
    policy = MeshPolicy(cluster_default="cluster-unauthenticated")
    denied = authorize(policy, pod, 9050, Client(None, IN_CLUSTER, False))
    assert not denied.allowed
    assert "cluster-authenticated" in denied.via
    assert authorize(policy, pod, 9050, Client(F5_ID, IN_CLUSTER, True)).allowed
    assert authorize(policy, pod, 8080, Client(None, IN_CLUSTER, False)).allowed


def test_skip_inbound_ports_bypass_even_deny() -> None:
    pod = dataclasses.replace(BARE, skip_inbound_ports=("443", "4000-4100"))
    policy = MeshPolicy(cluster_default="deny")
    for port in (443, 4000, 4050, 4100):
        decision = authorize(policy, pod, port, PLAIN_F5)
        assert decision.allowed
        assert decision.via == "skip-inbound-ports: traffic bypasses the proxy"
    assert not authorize(policy, pod, 4101, PLAIN_F5).allowed


def test_unmeshed_pod_has_no_policy() -> None:
    pod = dataclasses.replace(BARE, meshed=False)
    decision = authorize(MeshPolicy(cluster_default="deny"), pod, 8080, PLAIN_F5)
    assert decision.allowed
    assert "not meshed" in decision.via


def test_conflicting_servers_use_the_first_and_say_so() -> None:
    policy = dataclasses.replace(
        POLICY, servers=(*POLICY.servers, dataclasses.replace(POLICY.servers[0], name="a-dup"))
    )
    decision = authorize(policy, NGINX, 8443, MESH_F5)
    assert not decision.allowed  # a-dup has no authorization policy
    assert "Server ingress/a-dup" in decision.via
    assert any("nginx-https selects the same port" in n for n in decision.notes)


def test_multiple_identity_authentications_make_a_policy_ignored() -> None:
    (ap,) = [a for a in POLICY.authorization_policies if a.name == "from-f5"]
    doubled = dataclasses.replace(ap, required=(*ap.required, *ap.required))
    policy = dataclasses.replace(POLICY, authorization_policies=(doubled,))
    decision = authorize(policy, NGINX, 8443, MESH_F5)
    assert not decision.allowed
    assert any("two MeshTLSAuthentications" in n for n in decision.notes)


# --- open to unauthenticated ---------------------------------------------------------------


def open_case(policy: MeshPolicy, pod: PodInfo, port: int) -> Decision:
    return open_to_unauthenticated(policy, pod, port)


@pytest.mark.parametrize(
    ("pod", "port", "is_open", "via"),
    [
        (NGINX, 8443, False, "Server ingress/nginx-https"),  # mesh TLS only
        (NGINX, 8080, False, "Server ingress/nginx-http"),  # only the BIG-IP networks
        (NGINX, 4568, True, "skip-inbound-ports"),
        (WEB, 7070, True, "accessPolicy audit"),
        (WEB, 9100, False, "web-metrics"),  # cluster-unauthenticated
        (WEB, 8081, False, "web-status"),  # ServerAuthorization without networks
        (PAY, 8086, True, "AuthorizationPolicy payments/open-health"),  # 0.0.0.0/0 and ::/0
        (PAY, 7000, True, "default policy all-unauthenticated"),
    ],
)
def test_open_to_unauthenticated(pod: PodInfo, port: int, is_open: bool, via: str) -> None:
    decision = open_case(POLICY, pod, port)
    assert decision.allowed is is_open, decision
    assert via in decision.via


@pytest.mark.parametrize(
    ("networks", "is_open"),
    [
        ([{"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}], True),  # only cluster carved out
        ([{"cidr": "0.0.0.0/0", "except": ["203.0.113.0/24"]}], False),  # an outside hole
        ([{"cidr": "0.0.0.0/1"}, {"cidr": "128.0.0.0/1"}], True),
        ([{"cidr": "0.0.0.0/1"}], False),
        ([{"cidr": "::/0"}], True),  # every IPv6 address outside the cluster
    ],
)
def test_open_means_every_outside_address(networks: list[Any], is_open: bool) -> None:
    authn = {
        "apiVersion": "policy.linkerd.io/v1alpha1",
        "kind": "NetworkAuthentication",
        "metadata": {"namespace": "apps", "name": "nets"},
        "spec": {"networks": networks},
    }
    server = {
        "apiVersion": "policy.linkerd.io/v1beta3",
        "kind": "Server",
        "metadata": {"namespace": "apps", "name": "api"},
        "spec": {"podSelector": {}, "port": 8080},
    }
    ap = {
        "apiVersion": "policy.linkerd.io/v1alpha1",
        "kind": "AuthorizationPolicy",
        "metadata": {"namespace": "apps", "name": "nets"},
        "spec": {
            "targetRef": {"group": "policy.linkerd.io", "kind": "Server", "name": "api"},
            "requiredAuthenticationRefs": [
                {"group": "policy.linkerd.io", "kind": "NetworkAuthentication", "name": "nets"}
            ],
        },
    }
    policy, problems = mesh_policy([authn, server, ap])
    assert problems == ()
    assert open_case(policy, BARE, 8080).allowed is is_open


@pytest.mark.parametrize(
    ("default", "is_open"),
    [
        ("all-unauthenticated", True),
        ("audit", True),
        ("all-authenticated", False),
        ("cluster-unauthenticated", False),
        ("cluster-authenticated", False),
        ("deny", False),
    ],
)
def test_open_default_policies(default: str, is_open: bool) -> None:
    decision = open_case(MeshPolicy(cluster_default=default), BARE, 8080)
    assert decision.allowed is is_open
    assert decision.via == f"default policy {default} (cluster default)"


# --- primitives ----------------------------------------------------------------------------


LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        pytest.param(LabelSelector(), True, id="empty selects everything"),
        pytest.param(
            LabelSelector(match_expressions=(("env", "NotIn", ("dev",)),)),
            True,
            id="NotIn on a missing label",
        ),
        pytest.param(
            LabelSelector(match_expressions=(("env", "In", ("dev",)),)),
            False,
            id="In on a missing label",
        ),
        pytest.param(LabelSelector(match_expressions=(("tier", "Exists", ()),)), True, id="Exists"),
        pytest.param(
            LabelSelector(match_expressions=(("tier", "DoesNotExist", ()),)),
            False,
            id="DoesNotExist on a present label",
        ),
        pytest.param(
            LabelSelector((("app", "web"), ("tier", "back"))),
            False,
            id="matchLabels, one of two differs",
        ),
    ],
)
def test_selects_follows_kubernetes_semantics(selector: LabelSelector, selected: bool) -> None:
    assert selects(selector, LABELS) is selected


EDGE = "f5-edge.serviceaccount.identity.linkerd.cluster.local"


@pytest.mark.parametrize(
    ("pattern", "identity", "matches"),
    [
        pytest.param("*", F5_SPIFFE, True, id="star matches any identity"),
        pytest.param(f"*.{EDGE}", F5_ID, True, id="wildcard of the namespace"),
        # a suffix, any number of labels
        pytest.param("*.cluster.local", F5_ID, True, id="wildcard of several labels"),
        # the suffix includes the leading dot
        pytest.param(f"*.{EDGE}", EDGE, False, id="wildcard needs a label before the suffix"),
        pytest.param(F5_ID.upper(), F5_ID, False, id="case-sensitive"),
    ],
)
def test_identity_matches_as_the_proxy_does(pattern: str, identity: str, matches: bool) -> None:
    assert identity_matches(pattern, identity) is matches


def test_port_listed() -> None:
    assert port_listed(("80", " 4000-4100 "), 4100)
    assert not port_listed(("80", "x", "5-3", ""), 4)
