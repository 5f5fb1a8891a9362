"""Boundary checks against the backend's Linkerd policy.

Owns `client_cert_missing` and `client_identity_unauthorized` (registered in
`boundary.CHECKS`, mesh-tls only). The policy, the backend's ready pods and `authorize`
with BIG-IP's source address unknown are in `admission`, shared with
`monitor.checks.routes.mesh`'s `open_onramp`.

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

from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.checks.boundary.admission import (
    Backend,
    BackendPod,
    Evaluator,
    backend_pods,
    denials,
    mesh_policy,
)
from monitor.checks.boundary.certs import cert_identities, names_of, same_identity
from monitor.checks.common import bounded
from monitor.checks.outcome import Drift, Evidence, Outcome, Unknown
from monitor.checks.resolve import (
    ClientCert,
    Device,
    attached,
    everywhere,
    per_device,
    profile_evidence,
    resolve_client_cert,
    resolve_server_ssl,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import MeshState, Observed
from monitor.policy.model import Decision

NOT_EVALUATED: Final = (
    "networks were not matched against BIG-IP's source address, which is unknown after SNAT;"
    " no address in the policy's networks is admitted either"
)


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
