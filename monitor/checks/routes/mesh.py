"""Route checks about the pods behind a boundary: are they meshed, and who may reach them?

Owns `pool_member_unmeshed` (mesh-tls boundaries) and `open_onramp` (plaintext boundaries),
registered in `routes.CHECKS`. Both judge the ready endpoints of the backend Service, so
their findings are about the mesh side (`device` ""), not about one BIG-IP.

- `pool_member_unmeshed`: a ready endpoint whose pod runs no `linkerd-proxy`
  (`Endpoint.meshed` False) cannot answer BIG-IP's SNI/mTLS hop: critical, one finding per
  pod (object: `namespace/name`, else the endpoint's `address:port`). `meshed` None (the pod
  could not be read) is unknown.
- `open_onramp`: `open_to_unauthenticated` (`monitor.policy.authorize`) for each ready pod
  on its endpoint port.
  It says open only when plaintext clients from every address outside the cluster networks
  (all of IPv4 or all of IPv6) are admitted — an allow-list of BIG-IP's SNAT addresses is
  not open — or when the traffic bypasses the proxy (pod not meshed, port in
  skip-inbound-ports). There is therefore no narrower "open" to grade lower, and plaintext
  mode is legal by design (DESIGN section 1): every finding is a warning, worded with the
  Decision's reason. One finding per scope that opens it (object: the Decision's `via`,
  e.g. `default policy all-unauthenticated (cluster default)`; the pods are in the
  evidence). Unknown when the policy, the Service's endpoints or a pod is unknown.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from monitor.checks.boundary.admission import BackendPod, backend_pods, mesh_policy
from monitor.checks.common import bounded
from monitor.checks.matching import endpoint_key
from monitor.checks.outcome import MESH, Drift, Outcome, Unknown
from monitor.checks.resolve import KUBERNETES, backend_endpoints, service_key
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed
from monitor.policy.authorize import open_to_unauthenticated
from monitor.policy.model import Decision

PLAINTEXT: Final[frozenset[str]] = frozenset({"plaintext"})


def pool_member_unmeshed(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every ready endpoint of a mesh-tls boundary's backend must run linkerd-proxy."""
    service = backend_endpoints(boundary, observed.mesh)
    if isinstance(service, Unknown):
        return Outcome(unknowns=(service,))
    key = service_key(boundary)
    drifts: list[Drift] = []
    unknowns: list[Unknown] = []
    for endpoint in service.endpoints:
        if not endpoint.ready or endpoint.meshed is True:
            continue
        address = endpoint_key(endpoint.address, endpoint.port)
        what = f"pod {endpoint.pod}" if endpoint.pod else f"endpoint {address}"
        if endpoint.meshed is None:
            detail = f"{KUBERNETES}: whether {what} of Service {key} runs linkerd-proxy is unknown"
            unknowns.append(Unknown(MESH, detail))
            continue
        message = (
            f"{what} ({address}), a ready endpoint of Service {key}, runs no linkerd-proxy:"
            " BIG-IP's SNI/mTLS hop to it cannot work (nothing answers with a mesh identity) —"
            " inject the proxy (linkerd.io/inject: enabled) and restart the pod"
        )
        evidence = (
            ("pod", endpoint.pod or ""),
            ("endpoint", address),
            ("service", key),
            ("service_account", endpoint.service_account or "unknown"),
        )
        drifts.append(Drift("critical", endpoint.pod or address, message, evidence))
    return Outcome(tuple(drifts), tuple(unknowns))


def open_onramp(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """A plaintext boundary's backend should not admit plaintext clients from anywhere."""
    policy = mesh_policy(observed.mesh)
    backend = backend_pods(boundary, observed.mesh)
    if isinstance(policy, Unknown) or isinstance(backend, Unknown):
        return Outcome(unknowns=tuple(u for u in (policy, backend) if isinstance(u, Unknown)))
    opened: dict[str, list[tuple[BackendPod, Decision]]] = {}
    for target in backend.pods:
        decision = open_to_unauthenticated(policy, target.pod, target.port)
        if decision.allowed:
            opened.setdefault(decision.via, []).append((target, decision))
    drifts = []
    for via, group in sorted(opened.items()):
        first = group[0][1]
        ports = ", ".join(str(p) for p in sorted({t.port for t, _ in group}))
        rest = len(group) - 1
        more = f" ({rest} more pod{'s' if rest > 1 else ''} alike)" if rest else ""
        message = (
            f"{first.reason.rstrip('.')}{more}: Service {backend.service} behind plaintext"
            f" boundary {boundary.name} is an open on-ramp ({via}) that anyone who can route"
            " to the pods may use — admit only BIG-IP's SNAT/self addresses (a"
            " NetworkAuthentication referenced by an AuthorizationPolicy on a Server), or"
            " make the boundary mesh-tls"
        )
        evidence = (
            ("service", backend.service),
            ("decided_by", via),
            ("pods", bounded([t.pod.key for t, _ in group])),
            ("ports", ports),
            ("policy_notes", "; ".join(first.notes[:5]) or "none"),
        )
        drifts.append(Drift("warning", via, message, evidence))
    return Outcome(tuple(drifts), backend.unknowns, backend.notes)
