"""Trust checks about the identity issuer certificate: algorithm, CA flag, lifetime fit.

Owns `issuer_algorithm` (Linkerd's "issuer cert is using supported crypto algorithm"),
`issuer_not_ca` (the identity controller refuses a non-CA issuer: "issuer cert is not a
CA", linkerd2#10391) and `issuer_outlives_anchor` (an issuer that ends after the anchor it
hangs from gives a false sense of time: its leaves stop verifying when the anchor expires).
Each finding's object is the issuer's SHA-256 fingerprint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from monitor.certs import CertFacts, issuer_algorithm_problem
from monitor.checks.common import cert_evidence, describe, humane_duration, iso, when
from monitor.checks.outcome import PASS, Drift, Evidence, Outcome, Unknown
from monitor.checks.trust.inputs import (
    direct_signer,
    fingerprints,
    issuing_anchors,
    mesh_anchors,
    mesh_issuer,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Issuer, Observed

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
