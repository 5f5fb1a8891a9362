"""Boundary checks against the backend's Linkerd policy, and the policy helpers routes share.

Owns `client_cert_missing` and `client_identity_unauthorized` (registered in
`boundary.CHECKS`, mesh-tls only), and what they and `monitor.checks.routes.mesh`'s
`open_onramp` need:
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

`client_cert_missing`: the server-ssl profile has no `cert`. Critical when `clientIdentity`
is configured, or when the backend's policy denies a TLS client without identity to a ready
pod (whatever its address); otherwise a warning (BIG-IP reaches the mesh as an anonymous TLS
client, indistinguishable from any other). With the policy or a pod unknown it is a warning
and the device's part is unknown (the finding could be critical).

`client_identity_unauthorized`: BIG-IP's identity — the client certificate's SAN, from the
parsed PEM or the ssl-cert's REST fields (`certs.names_of`; `clientIdentity` when it is
among the SANs, else the first), else (SANs unknown on an older TMOS) the configured
`clientIdentity` (noted), else unknown — must be admitted to every ready pod of
the backend on its endpoint port. One critical finding per authorization scope that denies
it: object = the Decision's `via` (the Server, e.g. `Server ingress/nginx-https (denies what
nothing admits)`, or the default policy, e.g. `default policy deny (cluster default)`), a
stable name that does not change with pod names; the pods are in the evidence. No client
certificate passes (noted: `client_cert_missing`). Unknown when the policy, the Service's
endpoints or a pod is unknown.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.checks.boundary.certs import cert_identities, names_of, same_identity
from monitor.checks.common import bounded
from monitor.checks.matching import endpoint_key
from monitor.checks.outcome import MESH, Drift, Evidence, Outcome, Unknown
from monitor.checks.resolve import (
    KUBERNETES,
    ClientCert,
    Device,
    attached,
    backend_endpoints,
    everywhere,
    per_device,
    profile_evidence,
    resolve_client_cert,
    resolve_server_ssl,
    service_key,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Endpoint, MeshState, Observed
from monitor.policy.authorize import authorize
from monitor.policy.model import DEFAULT_CLUSTER_NETWORKS, Client, Decision, MeshPolicy, PodInfo

NOT_EVALUATED: Final = (
    "networks were not matched against BIG-IP's source address, which is unknown after SNAT;"
    " no address in the policy's networks is admitted either"
)


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
        self._scoped: dict[str, MeshPolicy] = {}

    def _in(self, namespace: str) -> MeshPolicy:
        """The policy with only `namespace`'s Servers, AuthorizationPolicies and
        ServerAuthorizations: all of those `authorize` considers for a pod there (it keeps
        only the pod's namespace's), without scanning every namespace's for each pod."""
        if namespace not in self._scoped:
            p = self.policy
            self._scoped[namespace] = replace(
                p,
                servers=tuple(s for s in p.servers if s.namespace == namespace),
                authorization_policies=tuple(
                    a for a in p.authorization_policies if a.namespace == namespace
                ),
                server_authorizations=tuple(
                    a for a in p.server_authorizations if a.namespace == namespace
                ),
            )
        return self._scoped[namespace]

    def admit(self, target: BackendPod, identity: str | None) -> Verdict:
        key = (target.pod.key, target.port, identity)
        if key not in self._memo:
            self._memo[key] = self._admit(target, identity)
        return self._memo[key]

    def _admit(self, target: BackendPod, identity: str | None) -> Verdict:
        pod, port = target.pod, target.port
        policy = self._in(pod.namespace)
        decision = authorize(policy, pod, port, Client(identity, None, tls=True))
        if decision.allowed:
            return Verdict(decision)
        if self._probes is None:
            self._probes = probe_addresses(self.policy)
        for address in self._probes:
            other = authorize(policy, pod, port, Client(identity, address, tls=True))
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


def _pod_evidence(service: str, group: list[tuple[BackendPod, Decision]]) -> Evidence:
    first = group[0][1]
    return (
        ("service", service),
        ("decided_by", first.via),
        ("pods", bounded([t.pod.key for t, _ in group])),
        ("ports", ",".join(str(p) for p in sorted({t.port for t, _ in group}))),
        ("decision", first.reason),
        ("policy_notes", "; ".join(first.notes[:5]) or "none"),
    )


def _pods_phrase(service: str, group: list[tuple[BackendPod, Decision]]) -> str:
    ports = ", ".join(str(p) for p in sorted({t.port for t, _ in group}))
    count = len(group)
    return f"{count} ready pod{'s' if count > 1 else ''} of Service {service} (port {ports})"


# --- client_cert_missing ----------------------------------------------------------------------


def _identity_required(
    boundary: BoundaryConfig, mesh: MeshState
) -> tuple[dict[str, list[tuple[BackendPod, Decision]]], Backend] | Unknown:
    """The pods that deny a TLS client without identity whatever its address, by via."""
    policy = mesh_policy(mesh)
    if isinstance(policy, Unknown):
        return policy
    backend = backend_pods(boundary, mesh)
    if isinstance(backend, Unknown):
        return backend
    denied, _ = denials(Evaluator(policy), backend.pods, None)
    if not denied and backend.unknowns:
        return backend.unknowns[0]
    return denied, backend


def client_cert_missing(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The server-ssl profile should present a client certificate (module docstring)."""
    expected = boundary.client_identity
    required = _identity_required(boundary, observed.mesh) if expected is None else None

    def on_device(device: Device) -> Outcome:
        chosen = resolve_server_ssl(boundary, device)
        if isinstance(chosen, Unknown):
            return Outcome(unknowns=(chosen,))
        profile = chosen.value
        if profile.cert is not None:
            return Outcome(notes=chosen.notes)
        base = (
            f"{device.name}: server-ssl {attached(profile.path, chosen.configured)} presents no"
            " client certificate: the mesh"
            " sees BIG-IP as a TLS client without identity"
        )
        fix = "set the profile's cert/key (and chain) to a certificate issued under a current"
        evidence: Evidence = (
            *profile_evidence(profile.path, chosen.configured),
            ("client_cert", "none"),
        )
        unknowns: tuple[Unknown, ...] = ()
        severity: Severity
        if expected is not None:
            severity = "critical"
            message = (
                f"{base}, while clientIdentity {expected} is expected, so policies that admit"
                f" {expected} reject it — {fix} trust anchor for {expected}"
            )
            evidence += (("expected_identity", expected),)
        elif isinstance(required, tuple) and required[0]:
            denied, backend = required
            via, group = next(iter(denied.items()))
            severity = "critical"
            message = (
                f"{base}, which {via} does not admit to {_pods_phrase(backend.service, group)};"
                f" {NOT_EVALUATED} — {fix} trust anchor, and authorize its identity"
            )
            evidence += (*_pod_evidence(backend.service, group), ("denied_by", ",".join(denied)))
        else:
            severity = "warning"
            message = (
                f"{base}, so the backend's policy cannot tell it from any other client — {fix}"
                " trust anchor (and set clientIdentity), then require that identity"
            )
            if isinstance(required, Unknown):
                why = f"whether the backend requires a client identity: {required.detail}"
                unknowns = (Unknown(device.name, f"{device.name}: {why}"),)
        drift = Drift(severity, profile.path, message, evidence)
        return Outcome((drift,), unknowns, chosen.notes)

    return per_device(boundary, observed, on_device)


# --- client_identity_unauthorized -------------------------------------------------------------


def presented_identity(
    boundary: BoundaryConfig, device: Device, client: ClientCert
) -> tuple[str | None, str, tuple[str, ...]] | Unknown:
    """(identity, where it comes from, notes) of BIG-IP's client certificate."""
    assert client.leaf is not None
    expected = boundary.client_identity
    found = names_of(device, client.leaf, "client certificate", "the identity it names")
    if isinstance(found, Unknown):
        if expected is None:
            return found
        note = f"{found.detail}; clientIdentity {expected} was evaluated instead"
        return expected, "clientIdentity", (note,)
    names = cert_identities(found)
    source = "certificate SAN" if found.source == "certificate" else "ssl-cert SAN"
    if expected is not None and any(same_identity(n, expected) for n in names):
        return expected, source, ()
    return (names[0] if names else None), source, ()


def client_identity_unauthorized(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The backend's policy must admit BIG-IP's identity to every ready pod."""
    policy = mesh_policy(observed.mesh)
    if isinstance(policy, Unknown):
        return everywhere(boundary, policy.detail)
    backend = backend_pods(boundary, observed.mesh)
    if isinstance(backend, Unknown):
        return everywhere(boundary, backend.detail)
    evaluator = Evaluator(policy)

    def on_device(device: Device) -> Outcome:
        client = resolve_client_cert(boundary, device)
        if isinstance(client, Unknown):
            return Outcome(unknowns=(client,))
        if client.leaf is None:
            note = f"{device.name}: {client.where}: BIG-IP presents none (see client_cert_missing)"
            return Outcome(notes=(*client.notes, note))
        found = presented_identity(boundary, device, client)
        if isinstance(found, Unknown):
            return Outcome(unknowns=(found,), notes=client.notes)
        identity, source, id_notes = found
        denied, narrowed = denials(evaluator, backend.pods, identity)
        who = (
            f"BIG-IP's client identity {identity}"
            if identity
            else ("BIG-IP's client certificate, which names no identity,")
        )
        drifts = []
        for via, group in denied.items():
            admit = identity or "BIG-IP's identity"
            message = (
                f"{device.name}: the mesh policy does not admit {who} to"
                f" {_pods_phrase(backend.service, group)}: {via} decides; {NOT_EVALUATED} —"
                f" admit {admit} on the backend's Server (a MeshTLSAuthentication naming it,"
                " referenced by an AuthorizationPolicy)"
            )
            evidence = (
                ("identity", identity or "none"),
                ("identity_from", source),
                *_pod_evidence(backend.service, group),
                *client.evidence(),
            )
            drifts.append(Drift("critical", via, message, evidence))
        unknowns = tuple(Unknown(device.name, u.detail) for u in backend.unknowns)
        notes = (*client.notes, *id_notes, *narrowed, *backend.notes)
        return Outcome(tuple(drifts), unknowns, notes)

    return per_device(boundary, observed, on_device)
