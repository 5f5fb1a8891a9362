"""Linkerd's inbound authorization policy as I/O-free data.

The form the mesh source gives the policy objects it reads (`policy.linkerd.io`
Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication,
ServerAuthorization, and the default inbound policy), the pods they apply to, and the
question and answer of an evaluation (`Client`, `Decision`). Parsing is in
`parse`, evaluation in `authorize`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DEFAULT_POLICIES = (
    *("all-unauthenticated", "all-authenticated", "cluster-unauthenticated"),
    *("cluster-authenticated", "deny", "audit"),
)
# `clusterNetworks` of the current chart (pkg/charts/linkerd2 values); older charts lack fd00::/8.
DEFAULT_CLUSTER_NETWORKS = (
    *("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"),
)
Networks = tuple[tuple[str, tuple[str, ...]], ...]  # (cidr or address, except cidrs)


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A Kubernetes label selector; an empty selector selects everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    # (key, operator In|NotIn|Exists|DoesNotExist, values)
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class PodInfo:
    """What policy evaluation needs to know about one pod.

    Port lists hold annotation entries as written: a number or a range such as `4000-4100`.
    """

    namespace: str
    name: str
    ip: str
    labels: Mapping[str, str]
    service_account: str
    meshed: bool
    container_ports: Mapping[str, int] = field(default_factory=dict)  # port name → number
    default_policy: str | None = None  # its config.linkerd.io/default-inbound-policy annotation
    skip_inbound_ports: tuple[str, ...] = ()  # config.linkerd.io/skip-inbound-ports entries
    # config.linkerd.io/proxy-require-identity-inbound-ports: default policies need an identity
    require_identity_ports: tuple[str, ...] = ()
    # further (name, number) pairs when one name is declared with several numbers
    extra_ports: tuple[tuple[str, int], ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Server:
    """A Server: one port (number or container port name) on the pods it selects."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    port: int | str  # a number or a container port name
    proxy_protocol: str = "unknown"
    access_policy: str | None = None  # v1beta3 `accessPolicy`; None: deny
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A reference as written (`group` "" is the core group); a namespace of None means local."""

    group: str
    kind: str
    name: str
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class MeshTLSAuthentication:
    namespace: str
    name: str
    identities: tuple[str, ...]  # exact, "*", "*.suffix" or spiffe:// ids; refs resolved
    # how each identity was written, in the same order: `identities[0]`, or for a resolved
    # reference `identityRefs[1] ServiceAccount ns/name` (empty: not recorded)
    origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkAuthentication:
    namespace: str
    name: str
    networks: Networks  # (cidr, except cidrs)


@dataclass(frozen=True, slots=True)
class AuthorizationPolicy:
    """Targets a Server, a Namespace (its own) or a route; `required` must ALL be satisfied."""

    namespace: str
    name: str
    target: ObjectRef
    required: tuple[ObjectRef, ...]


@dataclass(frozen=True, slots=True)
class ServerAuthorization:
    namespace: str
    name: str
    server_name: str | None
    server_selector: LabelSelector | None
    networks: Networks = ()  # empty: the cluster networks (policy-controller grpc/inbound.rs)
    unauthenticated: bool = False
    unauthenticated_tls: bool = False
    identities: tuple[str, ...] = ()  # meshTLS identities and resolved serviceAccounts


@dataclass(frozen=True, slots=True)
class MeshPolicy:
    """Every policy object read, plus the defaults that apply when no Server selects a pod.

    Empty `cluster_networks` means the chart default; `linkerd_namespace` and `trust_domain`
    turn AuthorizationPolicy ServiceAccount references into identities.
    """

    cluster_default: str = "all-unauthenticated"
    cluster_networks: tuple[str, ...] = ()
    namespace_defaults: Mapping[str, str] = field(default_factory=dict)
    servers: tuple[Server, ...] = ()
    authorization_policies: tuple[AuthorizationPolicy, ...] = ()
    mesh_tls_authentications: tuple[MeshTLSAuthentication, ...] = ()
    network_authentications: tuple[NetworkAuthentication, ...] = ()
    server_authorizations: tuple[ServerAuthorization, ...] = ()
    linkerd_namespace: str = "linkerd"
    trust_domain: str = "cluster.local"
    # (group, kind, namespace, name) of every object read that an AuthorizationPolicy may
    # target (Server, HTTPRoute, GRPCRoute), whether Linkerd accepts it or not
    present: frozenset[tuple[str, str, str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Client:
    """Who connects to the pod.

    `identity`: the mesh identity of its client certificate (None: no certificate or
    plaintext). `tls`: the pod's proxy terminates the TLS (SNI = the pod's identity); TLS
    the application terminates itself passes the proxy opaquely and counts as plaintext.
    `address`: the source IP the pod sees (after SNAT); None: unknown.
    """

    identity: str | None
    address: str | None
    tls: bool


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict, one human sentence, what decided, and remarks (ignored objects, misses)."""

    allowed: bool
    reason: str
    via: str
    notes: tuple[str, ...] = ()


# Pod labels the proxy injector sets, naming the workload that owns the pod; the kinds
# `kubectl rollout restart` can restart.
OWNER_LABELS: Final = (
    ("linkerd.io/proxy-deployment", "deployment"),
    ("linkerd.io/proxy-statefulset", "statefulset"),
    ("linkerd.io/proxy-daemonset", "daemonset"),
)


def pod_owner(pod: PodInfo | None) -> tuple[str, str] | None:
    """(kind, name) of the workload that owns `pod`, e.g. ("deployment", "web"), from the
    injector's labels; None when the pod is unknown or carries none of them."""
    labels = pod.labels if pod else {}
    for label, kind in OWNER_LABELS:
        if label in labels:
            return kind, labels[label]
    return None
