"""Mesh-side trust checks: the Linkerd trust anchors, the identity issuer, the proxies' bundles.

Holds `trust_anchor_expiry` and `issuer_chain` of the `trust` family (DESIGN section 5);
the family's registry `CHECKS` is in the package's `__init__.py`, and the others live
beside this module:
- `anchors.py`: `trust_anchor_not_yet_valid`, `trust_anchor_algorithm`,
  `trust_anchor_pin`;
- `renewal.py`: `issuer_expiry` (thresholds, or cert-manager's renewal health);
- `issuer.py`: `issuer_algorithm`, `issuer_not_ca`, `issuer_outlives_anchor`;
- `bundles.py`: `trust_roots_config_mismatch`, `proxy_trust_bundle_stale`;
- `inputs.py`: the inputs they share and which anchors sign the issuer.

Every finding of the family is about the mesh (`device` is ""), the only part is the mesh
side, and every check applies to every boundary mode: a plaintext boundary still reaches
pods whose proxies need valid anchors and a valid issuer. The rules restate Linkerd's own
(`linkerd check`, research/linkerd.md §2.2 and §2.4) where Linkerd has one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from monitor.certs import verify_chain
from monitor.checks.common import cert_evidence, describe, expiry_phrase, grade, iso
from monitor.checks.outcome import PASS, Drift, Outcome, Unknown
from monitor.checks.trust.inputs import issuing_anchors, mesh_anchors, mesh_issuer, roots_where
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed


def trust_anchor_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every trust anchor in the bundle graded by its remaining lifetime.

    Like Linkerd's check, every anchor counts, also an old one kept after a rotation
    (linkerd2#5800): an expiring anchor in the bundle still breaks whoever trusts it.
    When the issuer is known and signed by another anchor of the bundle that was issued
    later than this one, the message says this is an old anchor to remove once the rotation
    is complete (an anchor issued later than the issuer's is an incoming one, not old).
    Not-yet-valid anchors are `trust_anchor_not_yet_valid`'s business.
    """
    anchors = mesh_anchors(observed.mesh)
    if isinstance(anchors, Unknown):
        return Outcome(unknowns=(anchors,))
    issuer = mesh_issuer(observed.mesh)
    signers = () if isinstance(issuer, Unknown) else issuing_anchors(issuer, anchors)
    signer_fps = {a.fingerprint_sha256 for a in signers}
    newest_signer = max((a.not_before for a in signers), default=None)
    roots = roots_where(cfg, observed.mesh)
    drifts: list[Drift] = []
    for anchor in anchors:
        severity = grade(anchor.not_after - now, cfg.thresholds.trust_anchor)
        if severity is None:
            continue
        expiry = f"trust anchor {describe(anchor)} {expiry_phrase(anchor.not_after, now)}"
        evidence = (*cert_evidence("anchor", anchor), ("checked_at", iso(now)))
        if signer_fps:
            signs = anchor.fingerprint_sha256 in signer_fps
            evidence += (("signs_current_issuer", "yes" if signs else "no"),)
        old = (
            newest_signer is not None
            and anchor.fingerprint_sha256 not in signer_fps
            and anchor.not_before < newest_signer
        )
        if old:
            message = (
                f"{expiry}; it no longer signs the current issuer, so it is an old anchor;"
                " remove it from the bundle once every proxy has a leaf from the new issuer"
                f" ({roots}, then the BIG-IP CA bundles)"
            )
        else:
            message = (
                f"{expiry}; add its successor to {roots} and to the BIG-IP CA bundles,"
                " then reissue the issuer from it"
            )
        drifts.append(Drift(severity, anchor.fingerprint_sha256, message, evidence))
    return Outcome(drifts=tuple(drifts))


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
    anchors = mesh_anchors(observed.mesh)
    issuer = mesh_issuer(observed.mesh)
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
