"""Fuzzing Linkerd policy parsing (`monitor.policy.parse`, `monitor.policy.pods`) and the
authorization built on it.

Contract (the module's): nothing raises on bad input; an object Linkerd would reject comes
back as a problem, and what parses can be evaluated (`authorize`,
`open_to_unauthenticated`) for any pod and client without raising.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.policy.authorize import authorize, open_to_unauthenticated
from monitor.policy.model import Client
from monitor.policy.parse import mesh_policy
from monitor.policy.pods import pod_info
from monitor.sources.mesh.specs import slim_pod
from tests.fuzz import FUZZ
from tests.fuzz.samples import ODD_TEXT, kube_objects, mutated

EXTRA = yaml.safe_load_all("""
apiVersion: policy.linkerd.io/v1alpha1
kind: NetworkAuthentication
metadata: {name: f5-snat, namespace: ingress}
spec:
  networks:
  - {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}
  - {cidr: "2001:db8:f5::/48"}
---
apiVersion: policy.linkerd.io/v1beta1
kind: ServerAuthorization
metadata: {namespace: ingress, name: from-f5}
spec:
  server: {selector: {matchLabels: {app: nginx-ingress}}}
  client:
    meshTLS:
      serviceAccounts: [{namespace: f5-edge, name: bigip}, {name: web}]
      identities: ["*.f5-edge.serviceaccount.identity.linkerd.cluster.local"]
    networks: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]
---
apiVersion: policy.linkerd.io/v1beta1
kind: Server
metadata: {namespace: ingress, name: by-expression}
spec:
  podSelector:
    matchExpressions:
    - {key: app, operator: In, values: [nginx-ingress]}
    - {key: tier, operator: DoesNotExist}
  port: 4191
  proxyProtocol: HTTP/1
  accessPolicy: cluster-authenticated
""")
POLICY = [
    o
    for o in kube_objects()
    if str(o.get("apiVersion", "")).startswith("policy.linkerd.io/")
] + list(EXTRA)  # fmt: skip
NAMESPACES = kube_objects("Namespace")
PODS = [slim_pod(p) for p in kube_objects("Pod") if p["metadata"]["namespace"] == "ingress"]
VALUES = yaml.safe_load(
    next(o for o in kube_objects("ConfigMap") if o["metadata"]["name"] == "linkerd-config")["data"][
        "values"
    ]
)
F5_ID = "bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"
CLIENTS = st.builds(
    Client,
    identity=st.none() | st.sampled_from([F5_ID, "", "*"]),
    address=st.none() | st.sampled_from(["192.0.2.10", "10.1.2.3", "2001:db8:f5::1", "x", ""]),
    tls=st.booleans(),
)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"kind": "Server", "spec": value}


@FUZZ
@given(
    objects=st.lists(st.sampled_from(range(len(POLICY))), max_size=6).flatmap(
        lambda picks: st.tuples(*(mutated(POLICY[i], most=4).map(_dict) for i in picks))
    ),
    values=mutated(VALUES, most=3),
    namespaces=st.lists(mutated(NAMESPACES[0], most=3).map(_dict), max_size=2),
    pod=mutated(PODS[0], most=4).map(_dict),
    port=st.sampled_from([443, 4191, 0, 65535]),
    client=CLIENTS,
)
def test_policy_never_raises(
    objects: tuple[dict[str, Any], ...],
    values: Any,
    namespaces: list[dict[str, Any]],
    pod: dict[str, Any],
    port: int,
    client: Client,
) -> None:
    policy, problems = mesh_policy(
        objects, values=values if isinstance(values, dict) else None, namespaces=namespaces
    )
    assert all(isinstance(message, str) for _, message in problems)
    info, pod_problems = pod_info(pod)
    assert all(isinstance(message, str) for _, message in pod_problems)
    if info is not None:
        authorize(policy, info, port, client)
        open_to_unauthenticated(policy, info, port)


ANNOTATIONS = (
    "config.linkerd.io/default-inbound-policy",
    "config.linkerd.io/skip-inbound-ports",
    "config.linkerd.io/opaque-ports",
    "config.linkerd.io/proxy-require-identity-inbound-ports",
    "config.linkerd.io/proxy-inbound-connect-timeout",
)


@FUZZ
@given(
    annotations=st.dictionaries(
        st.sampled_from(ANNOTATIONS),
        st.sampled_from(ODD_TEXT)
        | st.text(max_size=20)
        | st.sampled_from(["443", "1-²", "4000-4100,²"]),
    ),
    port=st.sampled_from([443, 4191, 0, 65535]),
    client=CLIENTS,
)
@example(
    annotations={"config.linkerd.io/skip-inbound-ports": "²"},
    port=443,
    client=Client(None, None, False),
)
def test_pod_annotations_never_raise(
    annotations: dict[str, str], port: int, client: Client
) -> None:
    """Entries of Unicode digits ("²", "١٢") are no ports, to `pod_info` and `authorize`."""
    pod = {**PODS[0], "metadata": {**PODS[0]["metadata"], "annotations": annotations}}
    namespace = {
        **NAMESPACES[0],
        "metadata": {**NAMESPACES[0]["metadata"], "annotations": annotations},
    }
    policy, _ = mesh_policy(POLICY, values=VALUES, namespaces=[namespace])
    info, _ = pod_info(pod)
    if info is not None:
        authorize(policy, info, port, client)
        open_to_unauthenticated(policy, info, port)
