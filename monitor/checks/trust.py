"""Mesh-side trust checks: the Linkerd trust anchors and identity issuer themselves.

Owns the checks of the `trust` family (DESIGN section 5) that need only the mesh state:
`trust_anchor_expiry`, `issuer_expiry`, `issuer_chain`. Their findings are about the mesh
(`device` is ""), their only part is the mesh side, and they apply to every boundary mode:
a plaintext boundary still reaches pods whose proxies need a valid issuer and anchors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from monitor.certs import verify_chain
from monitor.checks.common import (
    anchors_or_unknown,
    cert_evidence,
    describe,
    expiry_phrase,
    grade,
    iso,
)
from monitor.checks.outcome import MESH, PASS, Check, Drift, Outcome, Unknown
from monitor.config import BoundaryConfig, Config
from monitor.model import Issuer, MeshState, Observed


def _issuer_or_unknown(mesh: MeshState) -> Issuer | Unknown:
    if mesh.issuer is None:
        return Unknown(MESH, "kubernetes: identity issuer unknown")
    return mesh.issuer


def trust_anchor_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every trust anchor graded by its remaining lifetime (not-yet-valid is not ours)."""
    anchors = anchors_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown):
        return Outcome(unknowns=(anchors,))
    roots = f"ConfigMap {cfg.mesh.linkerd_namespace}/linkerd-identity-trust-roots"
    drifts: list[Drift] = []
    for anchor in anchors:
        severity = grade(anchor.not_after - now, cfg.thresholds.trust_anchor)
        if severity is None:
            continue
        message = (
            f"trust anchor {describe(anchor)} {expiry_phrase(anchor.not_after, now)}; add its"
            f" successor to {roots} and to the BIG-IP CA bundles, then reissue the issuer from it"
        )
        evidence = (*cert_evidence("anchor", anchor), ("checked_at", iso(now)))
        drifts.append(Drift(severity, anchor.fingerprint_sha256, message, evidence))
    return Outcome(drifts=tuple(drifts))


def issuer_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The identity issuer certificate graded by its remaining lifetime."""
    issuer = _issuer_or_unknown(observed.mesh)
    if isinstance(issuer, Unknown):
        return Outcome(unknowns=(issuer,))
    cert = issuer.cert
    severity = grade(cert.not_after - now, cfg.thresholds.issuer)
    if severity is None:
        return PASS
    secret = f"Secret {cfg.mesh.linkerd_namespace}/linkerd-identity-issuer"
    message = (
        f"identity issuer {describe(cert)} {expiry_phrase(cert.not_after, now)}; rotate the"
        f" issuer certificate in {secret} (proxies cannot renew their certificates once it expires)"
    )
    evidence = (*cert_evidence("issuer", cert), ("scheme", issuer.scheme), ("checked_at", iso(now)))
    return Outcome(drifts=(Drift(severity, cert.fingerprint_sha256, message, evidence),))


_CHAIN_FIX: Final = {
    "unknown_authority": "reissue it from a current trust anchor, or add its anchor to the roots",
    "expired": "rotate the expired certificate on its path",
    "not_yet_valid": "check the clocks, or reissue it with a validity that has started",
    "not_ca": "reissue it with basicConstraints cA=true",
    "path_length": "reissue the path without the extra intermediate, or raise pathLenConstraint",
    "bad_eku": "reissue it without extendedKeyUsage restrictions (or with serverAuth)",
}


def issuer_chain(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The issuer must chain to the current trust anchors now, as Linkerd verifies it."""
    anchors = anchors_or_unknown(observed.mesh)
    issuer = _issuer_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown) or isinstance(issuer, Unknown):
        return Outcome(unknowns=tuple(u for u in (anchors, issuer) if isinstance(u, Unknown)))
    result = verify_chain(issuer.cert, issuer.chain, anchors, now)
    if result.ok:
        return PASS
    fix = _CHAIN_FIX.get(result.code or "", "reissue it from a current trust anchor")
    message = (
        f"identity issuer {describe(issuer.cert)} does not verify against the mesh trust"
        f" anchors: {result.message}; {fix}"
    )
    evidence = (
        *cert_evidence("issuer", issuer.cert),
        ("code", result.code or ""),
        ("path", " <- ".join(c.fingerprint_sha256 for c in result.path)),
        ("anchors", ",".join(a.fingerprint_sha256 for a in anchors)),
        ("checked_at", iso(now)),
    )
    if result.culprit is not None:
        evidence += (("culprit_fingerprint", result.culprit.fingerprint_sha256),)
    drift = Drift("critical", issuer.cert.fingerprint_sha256, message, evidence)
    return Outcome(drifts=(drift,))


CHECKS: Final[tuple[Check, ...]] = (
    Check("trust_anchor_expiry", trust_anchor_expiry),
    Check("issuer_expiry", issuer_expiry),
    Check("issuer_chain", issuer_chain),
)
