"""Trust checks about the identity issuer certificate: algorithm, CA flag, lifetime fit.

Owns `issuer_algorithm` (Linkerd's "issuer cert is using supported crypto algorithm"),
`issuer_not_ca` (the identity controller refuses a non-CA issuer: "issuer cert is not a
CA", linkerd2#10391) and `issuer_outlives_anchor` (an issuer that ends after the anchor it
hangs from gives a false sense of time: its leaves stop verifying when the anchor expires).
Each finding's object is the issuer's SHA-256 fingerprint. With `mesh.issuer.source:
certificate` there is no certificate: each check then reads the cert-manager Certificate
(the finding's object is its name): `issuer_not_ca` from `spec.isCA` and `issuer_algorithm`
from `spec.privateKey` while it is Ready (the signature algorithm stays unknown), and
`issuer_outlives_anchor` from `status.notAfter` against every anchor (unknown when the
answer depends on which anchor signs it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from monitor.certs import CertFacts, issuer_algorithm_problem
from monitor.checks.common import cert_evidence, describe, humane_duration, iso, when
from monitor.checks.outcome import MESH, PASS, Drift, Evidence, Outcome, Unknown
from monitor.checks.trust.inputs import (
    by_certificate,
    direct_signer,
    fingerprints,
    issuer_certificate,
    issuing_anchors,
    mesh_anchors,
    mesh_issuer,
    spec_trusted,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import CertManagerCertificate, Issuer, MeshState, Observed

# How much longer than its anchor an issuer may run before `issuer_outlives_anchor` warns.
# An anchor and an issuer made together with the same lifetime end seconds or minutes
# apart (Linkerd's own valid-crt.pem outlives its anchor by 60 s); nobody plans by that.
OUTLIVE_SLACK: Final = timedelta(days=1)


def _issuer_evidence(issuer: Issuer) -> Evidence:
    cert = issuer.cert
    curve = (("curve", cert.curve),) if cert.curve else ()
    return (
        *cert_evidence("issuer", cert),
        ("key_type", cert.key_type),
        ("key_size", str(cert.key_size)),
        *curve,
        ("signature_algorithm", cert.signature_algorithm),
        ("scheme", issuer.scheme),
    )


def issuer_algorithm(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Critical when Linkerd would reject the issuer's algorithm: an ECDSA P-256 key signed
    with ECDSA-SHA256, or with SHA256-RSA when the certificate that signed it is RSA.

    The signer is found by signature among the intermediates in the issuer's PEM and the
    anchors; when none signed it (`issuer_chain` reports that), any RSA anchor in the
    bundle allows SHA256-RSA. The anchors are needed only when the verdict depends on them.
    """
    if by_certificate(observed.mesh):
        return _algorithm_by_spec(observed.mesh)
    issuer = mesh_issuer(observed.mesh)
    if isinstance(issuer, Unknown):
        return Outcome(unknowns=(issuer,))
    cert = issuer.cert
    problem = issuer_algorithm_problem(cert, anchor_is_rsa=False)
    if problem is None:
        return PASS
    signer: CertFacts | None = None
    if issuer_algorithm_problem(cert, anchor_is_rsa=True) is None:  # RSA-signed: ask anchors
        anchors = mesh_anchors(observed.mesh)
        if isinstance(anchors, Unknown):
            return Outcome(unknowns=(anchors,))
        signer = direct_signer(issuer, anchors)
        rsa = signer.key_type == "rsa" if signer else any(a.key_type == "rsa" for a in anchors)
        if rsa:
            return PASS
    message = (
        f"identity issuer {describe(cert)} uses an algorithm Linkerd rejects ({problem});"
        " reissue it with an ECDSA P-256 key, signed with ECDSA-SHA256 (or SHA256-RSA by an"
        " RSA anchor)"
    )
    evidence = (*_issuer_evidence(issuer), ("problem", problem))
    if signer is not None:
        evidence += (("signer_fingerprint", signer.fingerprint_sha256),)
    return Outcome(drifts=(Drift("critical", cert.fingerprint_sha256, message, evidence),))


def issuer_not_ca(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Critical when the issuer lacks basicConstraints cA=true: the identity controller
    will not load it ("issuer cert is not a CA") and no proxy gets a certificate."""
    if by_certificate(observed.mesh):
        return _ca_by_spec(observed.mesh)
    issuer = mesh_issuer(observed.mesh)
    if isinstance(issuer, Unknown):
        return Outcome(unknowns=(issuer,))
    cert = issuer.cert
    if cert.is_ca:
        return PASS
    message = (
        f"issuer cert is not a CA: identity issuer {describe(cert)} lacks basicConstraints"
        " cA=true, so Linkerd's identity controller refuses it; reissue it as a CA"
        " (cert-manager: isCA: true)"
    )
    evidence = (
        *_issuer_evidence(issuer),
        ("basic_constraints_ca", "false"),
        ("key_usage", ",".join(cert.key_usage) or "none"),
    )
    return Outcome(drifts=(Drift("critical", cert.fingerprint_sha256, message, evidence),))


def issuer_outlives_anchor(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Warning when the issuer ends more than `OUTLIVE_SLACK` after the last anchor that
    signs it (found by signature, `issuing_anchors`): from the anchor's expiry on, the
    leaves it issues stop verifying, while the issuer would still be in use.

    An issuer that is itself an anchor (same DER, `linkerd install` defaults) passes;
    so does one no anchor signs (a note says so; `issuer_chain` reports it). When several
    anchors sign it (a re-issued anchor with the same key), the latest one decides.
    """
    anchors = mesh_anchors(observed.mesh)
    if by_certificate(observed.mesh) and not isinstance(anchors, Unknown):
        return _outlives_by_dates(observed.mesh, anchors, now)
    issuer = mesh_issuer(observed.mesh)
    if isinstance(anchors, Unknown) or isinstance(issuer, Unknown):
        return Outcome(unknowns=tuple(u for u in (anchors, issuer) if isinstance(u, Unknown)))
    cert = issuer.cert
    signers = issuing_anchors(issuer, anchors)
    if not signers:
        return Outcome(notes=("no trust anchor signs the issuer (see issuer_chain)",))
    if any(a.der == cert.der for a in signers):
        return PASS
    anchor = max(signers, key=lambda a: a.not_after)
    if cert.not_after - anchor.not_after <= OUTLIVE_SLACK:
        return PASS
    stop, expires = ("stopped", "expired") if anchor.not_after <= now else ("will stop", "expires")
    message = (
        f"identity issuer {describe(cert)} outlives its trust anchor {describe(anchor)}:"
        f" leaves {stop} verifying when the anchor {expires} at {when(anchor.not_after)}, while"
        f" the issuer would still be in use until {when(cert.not_after)}; rotate the anchor"
        " before then, or reissue the issuer to end before its anchor"
    )
    evidence = (
        *cert_evidence("issuer", cert),
        *cert_evidence("anchor", anchor),
        ("signing_anchors", fingerprints(signers)),
        ("outlives_by", humane_duration(cert.not_after - anchor.not_after)),
        ("checked_at", iso(now)),
    )
    return Outcome(drifts=(Drift("warning", cert.fingerprint_sha256, message, evidence),))


# --- mesh.issuer.source: certificate: the Certificate's spec and dates, no certificate -------


def _spec_evidence(managed: CertManagerCertificate) -> Evidence:
    return (
        ("certificate", managed.name),
        ("issuer_common_name", managed.common_name),
        ("issuer_ref", managed.issuer_ref),
        ("issuer_source", "certificate"),
    )


def _algorithm_by_spec(mesh: MeshState) -> Outcome:
    """Critical when the spec's key is not ECDSA P-256 (cert-manager generates the key the
    spec asks for: RSA 2048 unless told); otherwise unknown, since the algorithm that
    signed the issuer is in the certificate only."""
    managed = issuer_certificate(mesh)
    managed = managed if isinstance(managed, Unknown) else spec_trusted(managed)
    if isinstance(managed, Unknown):
        return Outcome(unknowns=(managed,))
    algorithm = managed.key_algorithm.upper()
    size = managed.key_size or {"RSA": 2048, "ECDSA": 256}.get(algorithm)
    if algorithm == "ECDSA" and size == 256:
        detail = (
            f"the issuer's signature algorithm is not read with mesh.issuer.source: certificate"
            f" (Certificate {managed.name} asks for an ECDSA P-256 key, as Linkerd requires)"
        )
        return Outcome(unknowns=(Unknown(MESH, detail),))
    key = f"{managed.key_algorithm} {size}" if size else managed.key_algorithm
    message = (
        f"identity issuer of cert-manager Certificate {managed.name} has a {key} key, which"
        " Linkerd rejects (ECDSA P-256 only); set spec.privateKey: {algorithm: ECDSA, size:"
        " 256} (with rotationPolicy: Always) and renew it"
    )
    evidence = (*_spec_evidence(managed), ("key_algorithm", managed.key_algorithm),
                ("key_size", str(size or "")))  # fmt: skip
    return Outcome(drifts=(Drift("critical", managed.name, message, evidence),))


def _ca_by_spec(mesh: MeshState) -> Outcome:
    """`issuer_not_ca` from `spec.isCA`, trusted while the Certificate is Ready."""
    managed = issuer_certificate(mesh)
    managed = managed if isinstance(managed, Unknown) else spec_trusted(managed)
    if isinstance(managed, Unknown):
        return Outcome(unknowns=(managed,))
    if managed.is_ca:
        return PASS
    message = (
        f"issuer cert is not a CA: cert-manager Certificate {managed.name} issues the identity"
        " issuer without isCA: true, so Linkerd's identity controller refuses it; set"
        " spec.isCA: true and renew it"
    )
    evidence = (*_spec_evidence(managed), ("is_ca", "false"))
    return Outcome(drifts=(Drift("critical", managed.name, message, evidence),))


def _outlives_by_dates(mesh: MeshState, anchors: tuple[CertFacts, ...], now: datetime) -> Outcome:
    """Which anchor signs the issuer needs its certificate; its notAfter alone still
    decides when it ends before every anchor (pass) or after every one (warning)."""
    managed = issuer_certificate(mesh)
    if isinstance(managed, Unknown):
        return Outcome(unknowns=(managed,))
    assert managed.not_after is not None  # issuer_certificate says so
    end = managed.not_after
    if not anchors or end - min(a.not_after for a in anchors) <= OUTLIVE_SLACK:
        return PASS
    anchor = max(anchors, key=lambda a: a.not_after)
    if end - anchor.not_after <= OUTLIVE_SLACK:
        detail = (
            "which trust anchor signs the issuer is not read with mesh.issuer.source:"
            f" certificate, and the issuer ({iso(end)}) outlives some anchors of the bundle"
        )
        return Outcome(unknowns=(Unknown(MESH, detail),))
    stop, expires = ("stopped", "expired") if anchor.not_after <= now else ("will stop", "expires")
    message = (
        f"identity issuer of cert-manager Certificate {managed.name} outlives every trust"
        f" anchor, the last {describe(anchor)}: leaves {stop} verifying when it {expires} at"
        f" {when(anchor.not_after)}, while the issuer would still be in use until {when(end)};"
        " rotate the anchor before then, or shorten the Certificate's spec.duration"
    )
    evidence = (
        *_spec_evidence(managed),
        ("issuer_not_after", iso(end)),
        *cert_evidence("anchor", anchor),
        ("outlives_by", humane_duration(end - anchor.not_after)),
        ("checked_at", iso(now)),
    )
    return Outcome(drifts=(Drift("warning", managed.name, message, evidence),))
