"""Linkerd's inbound authorization policy as data, and who it lets in (pure).

Owns the pure question the boundary checks ask: is a client with identity X (or
none) from network address N authorised to reach pod P on port Q? The data types
live in `model`.

The evaluation follows Linkerd's policy controller (`policy-controller/k8s/index`:
`inbound/index.rs`, `defaults.rs`, `inbound/workload.rs`) and the proxy's matching
(`linkerd/proxy/server-policy/src/authz.rs`): a port gets the one Server that selects it,
else the pod's default policy; a Server's authorizations are ORed; an AuthorizationPolicy
whose referenced authentication is missing is ignored. Parsing lives in `parse`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from monitor.policy.model import (
    DEFAULT_CLUSTER_NETWORKS,
    DEFAULT_POLICIES,
    AuthorizationPolicy,
    Client,
    Decision,
    LabelSelector,
    MeshPolicy,
    Networks,
    PodInfo,
    Server,
    ServerAuthorization,
)
from monitor.policy.ports import port_listed

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NET = ipaddress.IPv4Network | ipaddress.IPv6Network

__all__ = [
    "authorize",
    "identity_matches",
    "open_to_unauthenticated",
    "port_listed",
    "selects",
    "service_account_identity",
]


@dataclass(frozen=True, slots=True)
class _Authz:
    """One authorization as the proxy receives it."""

    via: str
    networks: Networks | None  # None: every address
    authn: str  # "none": any client; "tls": any TLS client; "identity": one of `identities`
    identities: tuple[str, ...] = ()


_Scope = tuple[list[_Authz], str, list[str]]  # authorizations, what denies, notes


class Scopes:
    """Which authorizations apply to a pod's port under one policy, remembered by what
    decides them (the pod's namespace, labels, ports and annotations; not its name):
    the pods of one workload share them. For `authorize` calls on that same policy only."""

    def __init__(self) -> None:
        self._known: dict[tuple[object, ...], _Scope] = {}

    def of(self, policy: MeshPolicy, pod: PodInfo, port: int) -> _Scope:
        key = (
            pod.namespace,
            tuple(sorted(pod.labels.items())),
            tuple(sorted(pod.container_ports.items())),
            pod.extra_ports,
            pod.default_policy,
            pod.require_identity_ports,
            port,
        )
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = _scope(policy, pod, port)
        return found


def authorize(
    policy: MeshPolicy, pod: PodInfo, port: int, client: Client, scopes: Scopes | None = None
) -> Decision:
    """Would Linkerd admit `client` to `pod`:`port`? (connection level, no HTTP routes)
    `scopes`: remembered scopes of earlier calls with the same `policy`."""
    bypass = _bypass(pod, port)
    if bypass is not None:
        return bypass
    authzs, via, notes = scopes.of(policy, pod, port) if scopes else _scope(policy, pod, port)
    who = _describe(client)
    for authz in authzs:
        if not _miss(authz, client):
            return Decision(True, f"{who} is admitted by {authz.via}.", authz.via, tuple(notes))
    misses = [f"{a.via}: {_miss(a, client)}" for a in authzs]
    reason = f"{who} is not admitted to {pod.key} port {port}: {via} decides."
    return Decision(False, reason, via, (*notes, *misses))


def open_to_unauthenticated(policy: MeshPolicy, pod: PodInfo, port: int) -> Decision:
    """Is `pod`:`port` open to plaintext clients from every address outside the cluster
    networks (all of IPv4 or all of IPv6)? Allow-lists of some outside networks are not."""
    bypass = _bypass(pod, port)
    if bypass is not None:
        return bypass
    authzs, via, notes = _scope(policy, pod, port)
    where = f"{pod.key} port {port}"
    for authz in authzs:
        if authz.authn == "none" and _covers_outside(authz.networks, _cluster(policy)):
            reason = f"Plaintext clients from any outside address reach {where}."
            return Decision(True, reason, authz.via, tuple(notes))
    reason = f"No authorization admits plaintext clients from any outside address to {where}."
    return Decision(False, reason, via, tuple(notes))


def selects(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics (requirements ANDed)."""
    if any(labels.get(key) != value for key, value in selector.match_labels):
        return False
    for key, op, values in selector.match_expressions:
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op, False)
        if not ok:
            return False
    return True


def identity_matches(pattern: str, identity: str) -> bool:
    """`*` any identity; `*.suffix` any identity ending in `.suffix`; otherwise exact."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return identity.endswith(pattern[1:])
    return identity == pattern


def service_account_identity(sa: str, namespace: str, linkerd_ns: str, trust_domain: str) -> str:
    """Linkerd's identity format, the same as `monitor.model.mesh_identity` (which this
    package may not import: `monitor.policy` imports nothing else of the monitor)."""
    return f"{sa}.{namespace}.serviceaccount.identity.{linkerd_ns}.{trust_domain}"


# --- which authorizations apply ----------------------------------------------------------


def _bypass(pod: PodInfo, port: int) -> Decision | None:
    if not pod.meshed:
        reason = f"Pod {pod.key} has no linkerd-proxy, so no Linkerd policy applies to it."
        return Decision(True, reason, "pod not meshed: no Linkerd proxy")
    if port_listed(pod.skip_inbound_ports, port):
        reason = f"Port {port} of {pod.key} is in skip-inbound-ports: it reaches the app directly."
        return Decision(True, reason, "skip-inbound-ports: traffic bypasses the proxy")
    return None


def _scope(policy: MeshPolicy, pod: PodInfo, port: int) -> _Scope:
    """The port's Server (the first by name if several conflict) and its authorizations,
    ORed as the proxy does, or the pod's default policy."""
    servers = [
        s for s in policy.servers if s.namespace == pod.namespace and _selected(s, pod, port)
    ]
    if not servers:
        return _default_scope(policy, pod, port)
    server, *others = sorted(servers, key=lambda s: s.name)
    notes = [f"Server {o.name} selects the same port (a conflict); ignored" for o in others]
    sv = f"Server {server.namespace}/{server.name}"
    authzs: list[_Authz] = []
    for ap in sorted(policy.authorization_policies, key=lambda a: a.name):
        kind = ap.target.kind.lower()
        if ap.namespace != server.namespace or kind in ("httproute", "grpcroute"):
            continue  # route-level policies add to what a route admits: not modelled
        if kind == "namespace" or (kind == "server" and ap.target.name == server.name):
            authz = _policy_authz(policy, ap, sv)
            if isinstance(authz, str):
                notes.append(f"AuthorizationPolicy {ap.namespace}/{ap.name} is ignored: {authz}")
            else:
                authzs.append(authz)
    cluster = _cluster(policy)
    for saz in sorted(policy.server_authorizations, key=lambda a: a.name):
        if saz.namespace == server.namespace and _saz_selects(saz, server):
            authn = (
                "none" if saz.unauthenticated else "tls" if saz.unauthenticated_tls else "identity"
            )
            via = f"{sv} + ServerAuthorization {saz.namespace}/{saz.name}"
            authzs.append(_Authz(via, saz.networks or cluster, authn, saz.identities))
    access = server.access_policy
    if access is not None and access not in DEFAULT_POLICIES:
        notes.append(f"accessPolicy {access!r} is not a policy name; Linkerd denies")
        access = None
    if access is not None:
        authzs += _default_authzs(access, f"{sv} accessPolicy {access}", cluster)
    denies = f"{sv} accessPolicy {access}" if access else f"{sv} (denies what nothing admits)"
    return authzs, denies, notes


def _default_scope(policy: MeshPolicy, pod: PodInfo, port: int) -> _Scope:
    """The pod's annotation, else the cluster default: the policy controller reads only the
    pod; the injector copied the namespace annotation onto pods created after it was set."""
    notes: list[str] = []
    ns_value = policy.namespace_defaults.get(pod.namespace)
    if pod.default_policy in DEFAULT_POLICIES:
        name = pod.default_policy
        copied = ns_value == name
        source = "namespace annotation, copied to the pod" if copied else "pod annotation"
    else:
        if pod.default_policy is not None:
            notes.append(f"pod annotation {pod.default_policy!r} is invalid; Linkerd ignores it")
        if ns_value is not None and ns_value != policy.cluster_default:
            notes.append(
                f"namespace annotation {ns_value} is not on this pod (set after the pod was"
                " created): it applies once the pod is recreated"
            )
        name, source = policy.cluster_default, "cluster default"
    if port_listed(pod.require_identity_ports, port) and name.endswith("-unauthenticated"):
        name = name.replace("-unauthenticated", "-authenticated")
        source += "; port requires identity"
    via = f"default policy {name} ({source})"
    return _default_authzs(name, via, _cluster(policy)), via, notes


def _default_authzs(name: str, via: str, cluster: Networks) -> list[_Authz]:
    """The authorization a default policy stands for (`defaults.rs`); deny has none."""
    nets = cluster if name.startswith("cluster-") else None
    if name in ("all-unauthenticated", "cluster-unauthenticated", "audit"):
        return [_Authz(via, nets, "none")]
    if name in ("all-authenticated", "cluster-authenticated"):
        return [_Authz(via, nets, "identity", ("*",))]
    return []


def _policy_authz(policy: MeshPolicy, ap: AuthorizationPolicy, sv: str) -> _Authz | str:
    """The authorization an AuthorizationPolicy stands for, or why Linkerd ignores it
    (a missing reference; two identity or two network references: `policy_client_authz`)."""
    ids: tuple[str, ...] | None = None
    nets: Networks | None = None
    names: list[str] = []
    for ref in ap.required:
        ns = ref.namespace or ap.namespace
        label = f"{ref.kind} {ns}/{ref.name}"
        kind = ref.kind.lower()
        if kind == "networkauthentication":
            na = [
                n for n in policy.network_authentications if (n.namespace, n.name) == (ns, ref.name)
            ]
            if not na or nets is not None:
                return f"{label} does not exist" if not na else "two NetworkAuthentications"
            nets = na[0].networks
        elif kind in ("meshtlsauthentication", "serviceaccount"):
            if ids is not None:
                return "two MeshTLSAuthentications or ServiceAccounts"
            if kind == "serviceaccount":
                td = policy.trust_domain
                ids = (service_account_identity(ref.name, ns, policy.linkerd_namespace, td),)
            else:
                m = [
                    a
                    for a in policy.mesh_tls_authentications
                    if (a.namespace, a.name) == (ns, ref.name)
                ]
                if not m:
                    return f"{label} does not exist"
                ids = m[0].identities
        else:
            return f"{label} is not a supported authentication"
        names.append(label)
    needs = ", ".join(names) or "no authentication required"
    via = f"{sv} + AuthorizationPolicy {ap.namespace}/{ap.name} ({needs})"
    return _Authz(via, nets, "none" if ids is None else "identity", ids or ())


def _selected(server: Server, pod: PodInfo, port: int) -> bool:
    if not selects(server.pod_selector, pod.labels):
        return False
    if isinstance(server.port, int):
        return server.port == port
    return pod.container_ports.get(server.port) == port or (server.port, port) in pod.extra_ports


def _saz_selects(saz: ServerAuthorization, server: Server) -> bool:
    if saz.server_name is not None:
        return saz.server_name == server.name
    return selects(saz.server_selector or LabelSelector(), server.labels)


def _cluster(policy: MeshPolicy) -> Networks:
    return tuple((n, ()) for n in policy.cluster_networks or DEFAULT_CLUSTER_NETWORKS)


# --- matching a client ---------------------------------------------------------------------


def _miss(authz: _Authz, client: Client) -> str:
    """Why `authz` does not admit `client` ("" when it does), as the proxy matches."""
    if authz.networks is not None:
        addr = _ip(client.address)
        if addr is None:
            return "the client address is unknown and only some networks are admitted"
        if not _in_networks(addr, authz.networks):
            return f"{addr} is not in {_render(authz.networks)}"
    if authz.authn == "none":
        return ""
    if authz.authn == "tls":
        return "" if client.tls or client.identity else "TLS terminated by the proxy is required"
    if client.identity is None:
        return "a client identity (mTLS) is required"
    if any(identity_matches(p, client.identity) for p in authz.identities):
        return ""
    return f"identity {client.identity} is not among {', '.join(authz.identities)}"


def _describe(client: Client) -> str:
    where = f"from {client.address}" if client.address else "from an unknown address"
    if client.identity:
        return f"A client with identity {client.identity} {where}"
    return f"A {'TLS client without identity' if client.tls else 'plaintext client'} {where}"


def _render(networks: Networks) -> str:
    return ", ".join(c + (f" except {'/'.join(ex)}" if ex else "") for c, ex in networks)


def _ip(text: str | None) -> _IP | None:
    try:
        addr = ipaddress.ip_address((text or "").strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@lru_cache(maxsize=1024)
def _net(text: str) -> _NET | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _in_networks(addr: _IP, networks: Networks) -> bool:
    def inside(cidr: str) -> bool:
        net = _net(cidr)
        return net is not None and addr in net

    return any(inside(c) and not any(inside(e) for e in ex) for c, ex in networks)


def _covers_outside(networks: Networks | None, cluster: Networks) -> bool:
    """Whether `networks` holds every IPv4 (or every IPv6) address outside `cluster`."""
    if networks is None:
        return True
    for version, bits in ((4, 32), (6, 128)):
        outside = _subtract([(0, 2**bits - 1)], _spans(cluster, version))
        if outside and not _subtract(outside, _spans(networks, version)):
            return True
    return False


def _spans(networks: Networks, version: int) -> list[tuple[int, int]]:
    """Integer address ranges of `networks` (excepts removed) of one IP version."""
    out: list[tuple[int, int]] = []
    for cidr, excepts in networks:
        net = _net(cidr)
        if net is not None and net.version == version:
            cuts = [_span(e) for e in map(_net, excepts) if e is not None]
            out += _subtract([_span(net)], cuts)
    return out


def _span(net: _NET) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _subtract(spans: list[tuple[int, int]], cuts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    for cut_lo, cut_hi in cuts:
        kept: list[tuple[int, int]] = []
        for lo, hi in spans:
            if cut_hi < lo or cut_lo > hi:
                kept.append((lo, hi))
                continue
            kept += [(lo, cut_lo - 1)] if lo < cut_lo else []
            kept += [(cut_hi + 1, hi)] if cut_hi < hi else []
        spans = kept
    return spans
