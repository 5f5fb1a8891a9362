"""Boundary checks: does BIG-IP's server-ssl side agree with the mesh it re-encrypts into?

Owns the checks of the `boundary` family (DESIGN section 5) implemented so far:
`bundle_missing_anchor`, `bundle_stale_anchor`, `sni_mismatch`. Each compares one mesh input
(trust anchors, backend identity) with the server-ssl profile / CA bundle a boundary uses on
each of its devices; findings carry the device, and a device whose inputs are unknown is an
unknown part. These checks apply to `mesh-tls` boundaries only: a plaintext boundary has
no server-ssl side, so it gets no state for them at all.

A bundle member is matched to an anchor by SHA-256 fingerprint. When a member's fingerprint
is unknown, its subject decides only the clear cases: a member that shares no subject with
any anchor is not one; one that does could be, so that comparison is unknown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.certs import CertFacts
from monitor.checks.common import (
    BundleUse,
    Device,
    anchors_or_unknown,
    cert_evidence,
    describe,
    everywhere,
    expected_identities,
    iso,
    member_fingerprint,
    per_device,
    resolve_bundle,
    resolve_server_ssl,
    same_subject,
    service_key,
    short_fp,
)
from monitor.checks.outcome import MESH_TLS, Check, Drift, Outcome, Unknown
from monitor.config import BoundaryConfig, Config
from monitor.model import MeshState, Observed, SslCert


class _Members:
    """A CA bundle's members indexed for "does it hold this certificate?"."""

    def __init__(self, members: tuple[SslCert, ...]) -> None:
        self.by_fingerprint: dict[str, SslCert] = {}
        self.unfingerprinted: list[SslCert] = []
        for member in members:
            fp = member_fingerprint(member)
            if fp is None:
                self.unfingerprinted.append(member)
            else:
                self.by_fingerprint.setdefault(fp, member)

    def holds(self, cert: CertFacts) -> bool | None:
        """True / False, or None when a member without fingerprint might be `cert`."""
        if cert.fingerprint_sha256 in self.by_fingerprint:
            return True
        if any(same_subject(m.subject, cert.subject) for m in self.unfingerprinted):
            return None
        return False


def _bundle_evidence(use: BundleUse) -> tuple[tuple[str, str], ...]:
    return (
        ("bundle", use.bundle.path),
        ("server_ssl_profile", use.profile.path),
        ("bundle_reader", use.bundle.reader),
        ("bundle_members", str(len(use.members))),
    )


def _missing_anchor_severity(anchor: CertFacts, mesh: MeshState) -> Severity:
    """How bad a missing anchor is. Every mesh anchor may sign pod certificates, so
    critical; the place to grade anchors that sign no current issuer differently."""
    return "critical"


def bundle_missing_anchor(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every mesh trust anchor must be in the CA bundle of the boundary's server-ssl profile."""
    anchors = anchors_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown):
        return everywhere(boundary, anchors.detail)

    def on_device(device: Device) -> Outcome:
        use = resolve_bundle(boundary, device)
        if isinstance(use, Unknown):
            return Outcome(unknowns=(use,))
        members = _Members(use.members)
        drifts: list[Drift] = []
        unknowns: list[Unknown] = []
        for anchor in anchors:
            held = members.holds(anchor)
            if held is None:
                detail = (
                    f"{device.name}: {use.where} has a member without fingerprint named like"
                    f" trust anchor {anchor.subject}"
                )
                unknowns.append(Unknown(device.name, detail))
            elif not held:
                message = (
                    f"{device.name}: {use.where} lacks trust anchor {describe(anchor)}; BIG-IP"
                    " cannot verify pod certificates issued under it — add it to the bundle"
                )
                evidence = (*cert_evidence("anchor", anchor), *_bundle_evidence(use))
                severity = _missing_anchor_severity(anchor, observed.mesh)
                drifts.append(Drift(severity, anchor.fingerprint_sha256, message, evidence))
        return Outcome(tuple(drifts), tuple(unknowns), use.notes)

    return per_device(boundary, observed, on_device)


def bundle_stale_anchor(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every member of the CA bundle should be a current mesh trust anchor."""
    anchors = anchors_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown):
        return everywhere(boundary, anchors.detail)
    current = {a.fingerprint_sha256 for a in anchors}

    def on_device(device: Device) -> Outcome:
        use = resolve_bundle(boundary, device)
        if isinstance(use, Unknown):
            return Outcome(unknowns=(use,))
        drifts: list[Drift] = []
        unknowns: list[Unknown] = []
        for member in use.members:
            fp = member_fingerprint(member)
            if fp in current:
                continue
            if fp is None and any(same_subject(member.subject, a.subject) for a in anchors):
                detail = (
                    f"{device.name}: fingerprint of {member.path} in CA bundle"
                    f" {use.bundle.path} unknown"
                )
                unknowns.append(Unknown(device.name, detail))
                continue
            shown = (
                f"{member.subject} ({short_fp(fp)}, {member.path})"
                if fp
                else (f"{member.subject} ({member.path}, fingerprint unknown)")
            )
            message = (
                f"{device.name}: {use.where} trusts {shown}, which is not a current Linkerd"
                " trust anchor; remove it unless a rotation still needs it (a retired anchor,"
                " or an unrelated CA that could vouch for the backend identity)"
            )
            evidence: tuple[tuple[str, str], ...] = (
                ("member_path", member.path),
                ("member_fingerprint", fp or "unknown"),
                ("member_subject", member.subject),
            )
            if member.not_after is not None:
                evidence += (("member_not_after", iso(member.not_after)),)
            evidence += _bundle_evidence(use)
            drifts.append(Drift("warning", fp or member.path, message, evidence))
        return Outcome(tuple(drifts), tuple(unknowns), use.notes)

    return per_device(boundary, observed, on_device)


def sni_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The SNI BIG-IP sends (REST `serverName`) must be the backend's mesh identity:
    Linkerd's proxy expects its own identity in the ClientHello."""
    expected = expected_identities(cfg, boundary, observed.mesh)
    if isinstance(expected, Unknown):
        return everywhere(boundary, expected.detail)

    def on_device(device: Device) -> Outcome:
        chosen = resolve_server_ssl(boundary, device)
        if isinstance(chosen, Unknown):
            return Outcome(unknowns=(chosen,))
        profile = chosen.value
        sent = profile.server_name
        shown = f'sends SNI "{sent}"' if sent is not None else "sends no SNI"
        evidence = (
            ("server_ssl_profile", profile.path),
            ("server_name", sent if sent is not None else "none"),
            ("expected_identity", ",".join(expected)),
        )
        if len(expected) > 1:
            message = (
                f"{device.name}: server-ssl {profile.path} {shown}, but the ready endpoints of"
                f" Service {service_key(boundary)} run as several ServiceAccounts"
                f" ({', '.join(expected)}); one SNI cannot match them all — run the backend"
                " under one ServiceAccount, or set backend.identity"
            )
        elif sent is None or sent.lower() != expected[0].lower():
            message = (
                f"{device.name}: server-ssl {profile.path} {shown}, but the backend's mesh"
                f" identity is {expected[0]}; set the profile's serverName (tmsh server-name,"
                " AS3 sendSNI) to it"
            )
        else:
            return Outcome(notes=chosen.notes)
        return Outcome(
            drifts=(Drift("critical", profile.path, message, evidence),), notes=chosen.notes
        )

    return per_device(boundary, observed, on_device)


CHECKS: Final[tuple[Check, ...]] = (
    Check("bundle_missing_anchor", bundle_missing_anchor, MESH_TLS),
    Check("bundle_stale_anchor", bundle_stale_anchor, MESH_TLS),
    Check("sni_mismatch", sni_mismatch, MESH_TLS),
)
