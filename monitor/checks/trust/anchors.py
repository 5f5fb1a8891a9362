"""Trust checks about the anchors themselves: validity start, key algorithm, pinning.

Owns `trust_anchor_not_yet_valid` (Linkerd's check "trust anchors are within their
validity period", the not-before half), `trust_anchor_algorithm` (Linkerd's "trust anchors
are using supported crypto algorithm") and `trust_anchor_pin` (the anchors must be the ones
the expected state pins in `mesh.pinnedTrustAnchors`). Every anchor of the bundle is
judged, each finding's object is its SHA-256 fingerprint; all findings are critical:
Linkerd treats the first two as fatal, and an unpinned anchor can vouch for any identity.
"""

from __future__ import annotations

from datetime import datetime

from monitor.certs import CertFacts, anchor_algorithm_problem
from monitor.checks.common import cert_evidence, describe, humane_duration, iso, short_fp, when
from monitor.checks.outcome import PASS, Drift, Evidence, Outcome, Unknown
from monitor.checks.trust.inputs import fingerprints, mesh_anchors, roots_object, roots_where
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed


def trust_anchor_not_yet_valid(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Critical for every anchor whose validity has not started (not_before after `now`):
    proxies reject it, and an issuer under it cannot verify. Exactly at not_before it is
    valid, as in Go's `x509.Verify`."""
    anchors = mesh_anchors(observed.mesh)
    if isinstance(anchors, Unknown):
        return Outcome(unknowns=(anchors,))
    drifts: list[Drift] = []
    for anchor in anchors:
        if anchor.not_before <= now:
            continue
        message = (
            f"trust anchor {describe(anchor)} is not valid until {when(anchor.not_before)} (in"
            f" {humane_duration(anchor.not_before - now)}); proxies reject it until then —"
            " check the clock where it was made, or reissue it with a validity that has started"
        )
        evidence = (
            *cert_evidence("anchor", anchor),
            ("anchor_not_before", iso(anchor.not_before)),
            ("checked_at", iso(now)),
        )
        drifts.append(Drift("critical", anchor.fingerprint_sha256, message, evidence))
    return Outcome(drifts=tuple(drifts))


def _key_evidence(cert: CertFacts) -> Evidence:
    curve = (("curve", cert.curve),) if cert.curve else ()
    return (
        ("key_type", cert.key_type),
        ("key_size", str(cert.key_size)),
        *curve,
        ("signature_algorithm", cert.signature_algorithm),
    )


def trust_anchor_algorithm(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Critical for every anchor Linkerd would reject: it accepts ECDSA P-256 signed with
    ECDSA-SHA256, or RSA 2048/4096 signed with SHA256-RSA (`anchor_algorithm_problem`)."""
    anchors = mesh_anchors(observed.mesh)
    if isinstance(anchors, Unknown):
        return Outcome(unknowns=(anchors,))
    drifts: list[Drift] = []
    for anchor in anchors:
        problem = anchor_algorithm_problem(anchor)
        if problem is None:
            continue
        message = (
            f"trust anchor {describe(anchor)} uses an algorithm Linkerd rejects ({problem});"
            " replace it with an ECDSA P-256 anchor (or RSA 2048/4096 with SHA256-RSA)"
        )
        evidence = (*cert_evidence("anchor", anchor), *_key_evidence(anchor), ("problem", problem))
        drifts.append(Drift("critical", anchor.fingerprint_sha256, message, evidence))
    return Outcome(drifts=tuple(drifts))


def pins_set(cfg: Config, boundary: BoundaryConfig) -> bool:
    """`trust_anchor_pin` applies only when the expected state pins anchors."""
    del boundary
    return bool(cfg.mesh.pinned_trust_anchors)


def trust_anchor_pin(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The bundle must hold only pinned anchors, and at least one of them.

    Applies only when `mesh.pinnedTrustAnchors` is set; without pins the pair is `pass`
    once the anchors are known (unknown anchors stay unknown, as for every check).
    Every anchor whose fingerprint is not pinned is critical (object: its fingerprint);
    a bundle without any pinned anchor is critical too (object: where the anchors live).
    """
    pinned = cfg.mesh.pinned_trust_anchors
    anchors = mesh_anchors(observed.mesh)
    if isinstance(anchors, Unknown):
        return Outcome(unknowns=(anchors,))
    if not pinned:
        return PASS
    mesh = observed.mesh
    roots = roots_where(cfg, mesh)
    pinned_set = set(pinned)
    drifts: list[Drift] = []
    for anchor in anchors:
        if anchor.fingerprint_sha256 in pinned_set:
            continue
        message = (
            f"the mesh trusts an anchor that is not pinned: {describe(anchor)} in {roots};"
            " remove it, or add its fingerprint to mesh.pinnedTrustAnchors if it is yours"
        )
        evidence = (*cert_evidence("anchor", anchor), ("pinned", ",".join(pinned)))
        drifts.append(Drift("critical", anchor.fingerprint_sha256, message, evidence))
    if not any(a.fingerprint_sha256 in pinned_set for a in anchors):
        shown = ", ".join(short_fp(fp) for fp in pinned)
        message = (
            f"none of the {len(pinned)} pinned trust anchors ({shown}) is in {roots}; the mesh"
            " does not run on an approved anchor — restore a pinned anchor or update the pins"
        )
        evidence = (("pinned", ",".join(pinned)), ("anchors", fingerprints(anchors)))
        drifts.append(Drift("critical", roots_object(cfg, mesh), message, evidence))
    return Outcome(drifts=tuple(drifts))
