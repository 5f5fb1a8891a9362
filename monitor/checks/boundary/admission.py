"""Whether the backend's Linkerd policy admits BIG-IP: the policy, the pods, `authorize`.

What `policy`'s checks and `monitor.checks.routes.mesh`'s `open_onramp` need:
- `mesh_policy`: the policy, or unknown (`MeshState.policy` None or listed in `unknown`);
- `backend_pods`: the ready endpoints of the backend Service with their pods' `PodInfo`
  (each pod and port once). A pod the mesh source did not describe is unknown (mesh part);
  an endpoint that names no pod gets no policy at all and is noted;
- `Evaluator`: `authorize` (`monitor.policy.authorize`) for BIG-IP as a client whose
  source address is unknown (SNAT). `authorize` denies an authorization limited to some
  networks when the address is unknown; so a denial is re-tried from probe addresses inside
  every network the policy names (its NetworkAuthentications, ServerAuthorizations and the
  cluster networks, around their `except`s). Admitted from one of them: admitted only from
  some networks, which BIG-IP's SNAT address may or may not be in (noted, not a finding).
  Denied from all of them: denied whatever the source address. Networks are thus never
  matched against BIG-IP's real address; the messages say so.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace

from monitor.checks.matching import endpoint_key
from monitor.checks.outcome import MESH, Unknown
from monitor.checks.resolve import KUBERNETES, backend_endpoints, service_key
from monitor.config.schema import BoundaryConfig
from monitor.model import Endpoint, MeshState
from monitor.policy.authorize import Scopes, authorize
from monitor.policy.model import DEFAULT_CLUSTER_NETWORKS, Client, Decision, MeshPolicy, PodInfo


def mesh_policy(mesh: MeshState) -> MeshPolicy | Unknown:
    if mesh.policy is None or "policy" in mesh.unknown:
        return Unknown(MESH, f"{KUBERNETES}: Linkerd policy of the backend namespaces unknown")
    return mesh.policy


@dataclass(frozen=True, slots=True)
class BackendPod:
    endpoint: Endpoint
    pod: PodInfo

    @property
    def port(self) -> int:
        return self.endpoint.port


@dataclass(frozen=True, slots=True)
class Backend:
    """The ready pods behind a boundary, and what could not be told about the others."""

    service: str  # "namespace/name"
    pods: tuple[BackendPod, ...]
    unknowns: tuple[Unknown, ...] = ()  # mesh part
    notes: tuple[str, ...] = ()


def backend_pods(boundary: BoundaryConfig, mesh: MeshState) -> Backend | Unknown:
    service = backend_endpoints(boundary, mesh)
    if isinstance(service, Unknown):
        return service
    key = service_key(boundary)
    pods: dict[tuple[str, int], BackendPod] = {}
    unknowns: list[Unknown] = []
    notes: list[str] = []
    for endpoint in service.endpoints:
        if not endpoint.ready:
            continue
        if endpoint.pod is None:
            where = endpoint_key(endpoint.address, endpoint.port)
            notes.append(f"endpoint {where} of Service {key} names no pod: no policy evaluated")
            continue
        info = mesh.pods.get(endpoint.pod)
        if info is None:
            detail = f"{KUBERNETES}: pod {endpoint.pod} behind Service {key} unknown"
            unknowns.append(Unknown(MESH, detail))
            continue
        pods.setdefault((endpoint.pod, endpoint.port), BackendPod(endpoint, info))
    return Backend(key, tuple(pods.values()), tuple(unknowns), tuple(notes))


# --- evaluating with the source address unknown ---------------------------------------------

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(text: str) -> _Net | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def probe_addresses(policy: MeshPolicy) -> tuple[str, ...]:
    """An address inside each network entry the policy names (first, last, and next to each
    `except`), skipping addresses an `except` removes."""
    entries = [n for na in policy.network_authentications for n in na.networks]
    entries += [n for saz in policy.server_authorizations for n in saz.networks]
    entries += [(c, ()) for c in policy.cluster_networks or DEFAULT_CLUSTER_NETWORKS]
    found: dict[str, None] = {}
    for cidr, excepts in entries:
        net = _network(cidr)
        if net is None:
            continue
        cuts = [c for c in map(_network, excepts) if c is not None and c.version == net.version]
        low, high = int(net.network_address), int(net.broadcast_address)
        candidates = [low, high]
        for cut in cuts:
            candidates += [int(cut.network_address) - 1, int(cut.broadcast_address) + 1]
        for value in candidates:
            if not low <= value <= high:
                continue
            address = type(net.network_address)(value)
            if not any(address in cut for cut in cuts):
                found.setdefault(str(address), None)
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision  # with the source address unknown
    admitted_from: Decision | None = None  # a probe address that is admitted, when denied

    @property
    def denied(self) -> bool:
        """Denied whatever BIG-IP's source address."""
        return not self.decision.allowed and self.admitted_from is None


class Evaluator:
    """`authorize` for a client whose source address is unknown (module docstring)."""

    def __init__(self, policy: MeshPolicy) -> None:
        self.policy = policy
        self._probes: tuple[str, ...] | None = None
        self._memo: dict[tuple[str, int, str | None], Verdict] = {}
        self._scoped: dict[str, tuple[MeshPolicy, Scopes]] = {}

    def _in(self, namespace: str) -> tuple[MeshPolicy, Scopes]:
        """The policy with only `namespace`'s Servers, AuthorizationPolicies and
        ServerAuthorizations: all of those `authorize` considers for a pod there (it keeps
        only the pod's namespace's), without scanning every namespace's for each pod; and
        the scopes worked out with it (the pods of one workload share theirs)."""
        if namespace not in self._scoped:
            p = self.policy
            narrowed = replace(
                p,
                servers=tuple(s for s in p.servers if s.namespace == namespace),
                authorization_policies=tuple(
                    a for a in p.authorization_policies if a.namespace == namespace
                ),
                server_authorizations=tuple(
                    a for a in p.server_authorizations if a.namespace == namespace
                ),
            )
            self._scoped[namespace] = (narrowed, Scopes())
        return self._scoped[namespace]

    def admit(self, target: BackendPod, identity: str | None) -> Verdict:
        key = (target.pod.key, target.port, identity)
        if key not in self._memo:
            self._memo[key] = self._admit(target, identity)
        return self._memo[key]

    def _admit(self, target: BackendPod, identity: str | None) -> Verdict:
        pod, port = target.pod, target.port
        policy, scopes = self._in(pod.namespace)
        decision = authorize(policy, pod, port, Client(identity, None, tls=True), scopes)
        if decision.allowed:
            return Verdict(decision)
        if self._probes is None:
            self._probes = probe_addresses(self.policy)
        for address in self._probes:
            other = authorize(policy, pod, port, Client(identity, address, tls=True), scopes)
            if other.allowed:
                return Verdict(decision, other)
        return Verdict(decision)


def denials(
    evaluator: Evaluator, pods: Iterable[BackendPod], identity: str | None
) -> tuple[dict[str, list[tuple[BackendPod, Decision]]], list[str]]:
    """The pods that deny `identity` whatever the address, by what decides; and notes on
    the pods admitted only from some networks."""
    denied: dict[str, list[tuple[BackendPod, Decision]]] = {}
    narrowed: dict[str, None] = {}
    for target in pods:
        verdict = evaluator.admit(target, identity)
        if verdict.denied:
            denied.setdefault(verdict.decision.via, []).append((target, verdict.decision))
        elif verdict.admitted_from is not None:
            narrowed.setdefault(verdict.admitted_from.via, None)
    who = f"identity {identity}" if identity else "a TLS client without identity"
    notes = [
        f"{via} admits {who} only from some source addresses; whether BIG-IP's (after SNAT) is"
        " among them was not evaluated"
        for via in narrowed
    ]
    return dict(sorted(denied.items())), notes
