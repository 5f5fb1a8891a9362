"""Boundary checks: does BIG-IP's server-ssl side agree with the mesh it re-encrypts into?

Holds four checks of the `boundary` family (DESIGN section 5): the CA bundle checks
`bundle_missing_anchor`, `bundle_stale_anchor` and `bundle_cert_expiry`, and `sni_mismatch`.
The family's registry `CHECKS` is in the package's `__init__.py`; the others live beside
this module:
- `profile.py`: the server-ssl profile's own settings (`peer_validation_disabled`,
  `authenticate_name_mismatch`, `expired_cert_accepted`, `untrusted_cert_accepted`,
  `tls13_disabled`);
- `client.py`: the client certificate BIG-IP presents (`client_cert_expiry`,
  `client_cert_chain`, `client_identity_mismatch`, `client_cert_outlives_issuer`);
- `policy.py`: what the backend's Linkerd policy makes of it
  (`client_cert_missing`, `client_identity_unauthorized`).
Each compares the server-ssl profile / CA bundle a boundary uses on each of its devices
with the mesh; findings carry the device, and a device whose inputs are unknown is an
unknown part. These checks apply to `mesh-tls` boundaries only: a plaintext boundary has
no server-ssl side, so it gets no state for them at all.

A bundle member is matched to an anchor by SHA-256 fingerprint. When a member's fingerprint
is unknown, its subject decides only the clear cases: a member that shares no subject with
any anchor is not one; one that does could be, so that comparison is unknown.

A missing anchor is critical when it signs the current identity issuer (found by signature,
through the intermediates of the issuer's PEM): pod certificates issued today do not verify.
One that signs no current issuer (staged for the next rotation, or being retired) is a
warning: today's pod certificates verify, the next issuer rotation onto it would break the
boundary. With the issuer unknown, or signed by no anchor, every missing anchor is critical
(conservative) and a note says why.

`bundle_cert_expiry` grades every certificate of the bundle with `thresholds.boundaryCert`
(expired: critical), one finding per certificate (object: its fingerprint, else its path);
it needs no mesh input, but when the anchors are known the advice follows the member's role:
a current anchor that signs the issuer (rotate it), an anchor that signs no current issuer
(an old one: remove it after the rotation), or no anchor at all (remove it).
"""

from __future__ import annotations

from datetime import datetime

from monitor.catalogue import Severity
from monitor.certs import CertFacts
from monitor.checks.boundary.certs import shown, ssl_cert_evidence
from monitor.checks.common import (
    anchors_or_unknown,
    cert_evidence,
    describe,
    expected_identities,
    expiry_phrase,
    grade,
    iso,
    same_subject,
    short_fp,
)
from monitor.checks.outcome import Drift, Outcome, Unknown
from monitor.checks.resolve import (
    BundleUse,
    Device,
    attached,
    everywhere,
    expiry,
    member_fingerprint,
    per_device,
    profile_evidence,
    resolve_bundle,
    resolve_server_ssl,
    service_key,
)
from monitor.checks.trust.inputs import issuing_anchors, mesh_issuer
from monitor.config.schema import BoundaryConfig, Config
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
        *profile_evidence(use.profile.path, use.configured),
        ("bundle_reader", use.bundle.reader),
        ("bundle_members", str(len(use.members))),
    )


def issuer_signers(mesh: MeshState, anchors: tuple[CertFacts, ...]) -> tuple[CertFacts, ...] | str:
    """The anchors that sign the current identity issuer, or why that cannot be told."""
    issuer = mesh_issuer(mesh)
    if isinstance(issuer, Unknown):
        return f"{issuer.detail}: every missing anchor is graded critical"
    signers = issuing_anchors(issuer, anchors)
    if not signers:
        return (
            "no trust anchor signs the identity issuer (see issuer_chain): every missing"
            " anchor is graded critical"
        )
    return signers


def _missing_anchor_severity(anchor: CertFacts, signers: tuple[CertFacts, ...] | str) -> Severity:
    """Critical when `anchor` signs the current issuer, or when that cannot be told;
    warning for an anchor that signs no current issuer (staged or being retired)."""
    if isinstance(signers, str):
        return "critical"
    signs = any(a.fingerprint_sha256 == anchor.fingerprint_sha256 for a in signers)
    return "critical" if signs else "warning"


def bundle_missing_anchor(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every mesh trust anchor must be in the CA bundle of the boundary's server-ssl profile."""
    anchors = anchors_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown):
        return everywhere(boundary, anchors.detail)
    signers = issuer_signers(observed.mesh, anchors)
    signer_note = (signers,) if isinstance(signers, str) else ()

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
                continue
            if held:
                continue
            severity = _missing_anchor_severity(anchor, signers)
            lacks = f"{device.name}: {use.where} lacks trust anchor {describe(anchor)}"
            if severity == "critical":
                message = (
                    f"{lacks}; BIG-IP cannot verify pod certificates issued under it — add it"
                    " to the bundle"
                )
            else:
                message = (
                    f"{lacks}, which signs no current identity issuer (staged for the next"
                    " rotation, or being retired): pod certificates verify today, but an"
                    " issuer reissued from it would break the boundary — add it to the bundle"
                )
            signs = "unknown" if isinstance(signers, str) else _yes(severity == "critical")
            evidence = (
                *cert_evidence("anchor", anchor),
                ("signs_current_issuer", signs),
                *_bundle_evidence(use),
            )
            drifts.append(Drift(severity, anchor.fingerprint_sha256, message, evidence))
        notes = (*use.notes, *(signer_note if drifts else ()))
        return Outcome(tuple(drifts), tuple(unknowns), notes)

    return per_device(boundary, observed, on_device)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


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


def bundle_cert_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every certificate of the CA bundle graded by its remaining lifetime (boundaryCert)."""
    anchors = anchors_or_unknown(observed.mesh)
    current = None if isinstance(anchors, Unknown) else {a.fingerprint_sha256 for a in anchors}
    signers = () if isinstance(anchors, Unknown) else issuer_signers(observed.mesh, anchors)
    signing = None if isinstance(signers, str) else {a.fingerprint_sha256 for a in signers}
    threshold = cfg.thresholds.boundary_cert

    def on_device(device: Device) -> Outcome:
        use = resolve_bundle(boundary, device)
        if isinstance(use, Unknown):
            return Outcome(unknowns=(use,))
        drifts: list[Drift] = []
        unknowns: list[Unknown] = []
        for member in use.members:
            end = expiry(member)
            if end is None:
                where = use.bundle.path
                detail = f"{device.name}: expiry of {member.path} in CA bundle {where} unknown"
                unknowns.append(Unknown(device.name, detail))
                continue
            severity = grade(end - now, threshold)
            if severity is None:
                continue
            fp = member_fingerprint(member)
            message = (
                f"{device.name}: {use.where} holds {shown(member)}, which"
                f" {expiry_phrase(end, now)}{_expiry_advice(fp, current, signing)}"
            )
            evidence = (
                *ssl_cert_evidence("cert", member),
                ("current_anchor", "unknown" if current is None else _yes(fp in current)),
                ("checked_at", iso(now)),
                *_bundle_evidence(use),
            )
            drifts.append(Drift(severity, fp or member.path, message, evidence))
        return Outcome(tuple(drifts), tuple(unknowns), use.notes)

    return per_device(boundary, observed, on_device)


def _expiry_advice(fp: str | None, current: set[str] | None, signing: set[str] | None) -> str:
    """What to do about an expiring bundle member, by its role in the mesh."""
    if current is None:
        return " — replace it before then"
    if fp not in current:
        return (
            "; it is not a current Linkerd trust anchor (see bundle_stale_anchor) — remove it"
            " from the bundle"
        )
    if signing is not None and fp not in signing:
        return (
            "; it is a Linkerd trust anchor that signs no current identity issuer (an old"
            " anchor) — remove it from the mesh bundle, then from this one, once every proxy"
            " has a leaf from the current issuer"
        )
    return (
        "; it is a current Linkerd trust anchor: once it expires BIG-IP rejects every pod"
        " certificate issued under it — rotate the anchor (mesh first, then this bundle)"
    )


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
        label = attached(profile.path, chosen.configured)
        evidence = (
            *profile_evidence(profile.path, chosen.configured),
            ("server_name", sent if sent is not None else "none"),
            ("expected_identity", ",".join(expected)),
        )
        if len(expected) > 1:
            message = (
                f"{device.name}: server-ssl {label} {shown}, but the ready endpoints of"
                f" Service {service_key(boundary)} run as several ServiceAccounts"
                f" ({', '.join(expected)}); one SNI cannot match them all — run the backend"
                " under one ServiceAccount, or set backend.identity"
            )
        elif sent is None or sent.lower() != expected[0].lower():
            message = (
                f"{device.name}: server-ssl {label} {shown}, but the backend's mesh"
                f" identity is {expected[0]}; set the profile's serverName (tmsh server-name,"
                " AS3 sendSNI) to it"
            )
        else:
            return Outcome(notes=chosen.notes)
        return Outcome(
            drifts=(Drift("critical", profile.path, message, evidence),), notes=chosen.notes
        )

    return per_device(boundary, observed, on_device)
