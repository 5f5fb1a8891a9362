"""What the mesh-side trust checks share: their inputs, and who signs the issuer.

Owns, for the trust checks beside it (and the boundary checks and rotation planner that
need the same inputs):
- The mesh inputs of the trust family, each returned as the value or an `Unknown` naming
  it. An input is unknown when its `MeshState` field is None or when its field name is
  listed in `MeshState.unknown` (the source read it only in part). With
  `mesh.issuer.source: certificate` the issuer certificate is the one cert-manager's
  CertificateRequest holds; without it (`MeshState.issuer_note` says why) its cert-manager
  Certificate (`issuer_certificate`) stands in where its dates and spec do.
- Where the trust anchors live, worded for messages (the trust-roots ConfigMap, or on
  Linkerd 2.10 `identityTrustAnchorsPEM` in `linkerd-config`) and as a finding object.
- `issuing_anchors`: the anchors that sign the current issuer, by signature (never by
  name: Linkerd's own test issuer has the same subject as its anchor). The issuer itself
  counts when it is byte-identical to an anchor (`linkerd install` without certificates).
- `fingerprints`: fingerprint lists for evidence (bounded name lists are
  `monitor.checks.common.bounded`).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Final

from monitor.certs import CertFacts, signed_by
from monitor.checks.common import anchors_or_unknown
from monitor.checks.outcome import MESH, Unknown
from monitor.checks.resolve import KUBERNETES
from monitor.config.schema import Config
from monitor.model import CertManagerCertificate, Issuer, MeshState, ProxyBundle

TRUST_ROOTS: Final = "linkerd-identity-trust-roots"
LINKERD_CONFIG: Final = "linkerd-config"
ISSUER_SECRET: Final = "linkerd-identity-issuer"
NOT_READ: Final = (
    f"{KUBERNETES}: the issuer certificate is not read with mesh.issuer.source: certificate"
    " (only its cert-manager Certificate)"
)


def not_read(mesh: MeshState) -> str:
    """`NOT_READ`, with why the CertificateRequest gave no certificate when known."""
    return f"{NOT_READ}: {mesh.issuer_note}" if mesh.issuer_note else NOT_READ


def listed_unknown(mesh: MeshState, name: str) -> bool:
    """True when the source says it could not read the `MeshState` field `name`."""
    return name in mesh.unknown


def mesh_anchors(mesh: MeshState) -> tuple[CertFacts, ...] | Unknown:
    """The trust anchors, each once (first occurrence kept)."""
    if listed_unknown(mesh, "anchors"):
        return Unknown(MESH, f"{KUBERNETES}: trust anchors unknown")
    return anchors_or_unknown(mesh)


def mesh_issuer(mesh: MeshState) -> Issuer | Unknown:
    """The issuer certificate; unknown when it could not be read, and with
    `mesh.issuer.source: certificate` when no CertificateRequest gave it (`by_certificate`)."""
    if by_certificate(mesh):
        return Unknown(MESH, not_read(mesh))
    if mesh.issuer is None or listed_unknown(mesh, "issuer"):
        return Unknown(MESH, f"{KUBERNETES}: identity issuer unknown")
    return mesh.issuer


def by_certificate(mesh: MeshState) -> bool:
    """The issuer is known only from its cert-manager Certificate (`mesh.issuer.source:
    certificate` without the issued certificate from its CertificateRequest): dates and
    spec, no certificate, so no fingerprint, key or signature."""
    return mesh.issuer_source == "certificate" and mesh.issuer is None


def issuer_certificate(mesh: MeshState) -> CertManagerCertificate | Unknown:
    """With `mesh.issuer.source: certificate`, the Certificate with the issued certificate's
    dates (`status.notAfter` set); unknown otherwise."""
    managed = cert_manager(mesh)
    if isinstance(managed, Unknown):
        return managed
    if managed is None:
        detail = f"{KUBERNETES}: no cert-manager Certificate writes the issuer Secret"
        return Unknown(MESH, detail)
    if managed.not_after is None:
        detail = f"{KUBERNETES}: cert-manager Certificate {managed.name} has no status.notAfter"
        return Unknown(MESH, detail)
    return managed


def spec_trusted(managed: CertManagerCertificate) -> CertManagerCertificate | Unknown:
    """The Certificate when its spec describes the issued certificate: cert-manager reports
    Ready only while the certificate in the Secret matches the spec."""
    if managed.ready is True:
        return managed
    detail = (
        f"{KUBERNETES}: cert-manager Certificate {managed.name} is not Ready, so its spec"
        " may not describe the issued certificate"
    )
    return Unknown(MESH, detail)


def config_anchors(mesh: MeshState) -> tuple[CertFacts, ...] | Unknown:
    """The copy of the anchors in `linkerd-config` values (`identityTrustAnchorsPEM`)."""
    if mesh.config_anchors is None or listed_unknown(mesh, "config_anchors"):
        detail = f"{KUBERNETES}: identityTrustAnchorsPEM in {LINKERD_CONFIG} values unknown"
        return Unknown(MESH, detail)
    return mesh.config_anchors


def proxies(mesh: MeshState) -> tuple[ProxyBundle, ...] | Unknown:
    """The meshed pods' frozen bundles, each pod once (first occurrence kept)."""
    if mesh.proxies is None or listed_unknown(mesh, "proxies"):
        return Unknown(MESH, f"{KUBERNETES}: trust bundles of the meshed pods unknown")
    first: dict[str, ProxyBundle] = {}
    for proxy in mesh.proxies:
        first.setdefault(proxy.pod, proxy)
    return tuple(first.values())


def cert_manager(mesh: MeshState) -> CertManagerCertificate | Unknown | None:
    """The cert-manager Certificate that renews the issuer; None when there is none."""
    if listed_unknown(mesh, "issuer_certificate"):
        detail = f"{KUBERNETES}: cert-manager Certificate of the identity issuer unknown"
        return Unknown(MESH, detail)
    return mesh.issuer_certificate


def on_linkerd_config(mesh: MeshState) -> bool:
    """The anchors were read from `linkerd-config` itself (Linkerd 2.10: no trust-roots
    ConfigMap, so there is one copy only)."""
    return mesh.anchors_from.endswith(f"/{LINKERD_CONFIG}")


def roots_object(cfg: Config, mesh: MeshState) -> str:
    """`namespace/name` of the object the anchors were read from."""
    return mesh.anchors_from or f"{cfg.mesh.linkerd_namespace}/{TRUST_ROOTS}"


def roots_where(cfg: Config, mesh: MeshState) -> str:
    """`ConfigMap linkerd/linkerd-identity-trust-roots`, or on Linkerd 2.10
    `identityTrustAnchorsPEM in ConfigMap linkerd/linkerd-config`."""
    where = f"ConfigMap {roots_object(cfg, mesh)}"
    return f"identityTrustAnchorsPEM in {where}" if on_linkerd_config(mesh) else where


def issuer_secret(cfg: Config, mesh: MeshState) -> str:
    """The issuer Secret, where the issuer is rotated (whatever it is read from)."""
    if mesh.issuer_source == "secret" and mesh.issuer_from:
        return f"Secret {mesh.issuer_from}"
    return f"Secret {cfg.mesh.linkerd_namespace}/{ISSUER_SECRET}"


def issuer_where(cfg: Config, mesh: MeshState) -> str:
    """The object the issuer certificate was read from: the Secret, or the ConfigMap that
    publishes it."""
    if mesh.issuer_source == "configMap" and mesh.issuer_from:
        return f"ConfigMap {mesh.issuer_from}"
    return issuer_secret(cfg, mesh)


@functools.lru_cache(maxsize=1024)
def _signed(child: CertFacts, parent: CertFacts) -> bool:
    """`signed_by`, remembered: every boundary asks the same questions each cycle."""
    return child.der != parent.der and signed_by(child, parent)


def direct_signer(issuer: Issuer, anchors: Sequence[CertFacts]) -> CertFacts | None:
    """The certificate (an intermediate from the issuer's PEM, else an anchor) whose key
    signed the issuer; the issuer itself when it is one of the anchors; else None."""
    cert = issuer.cert
    if any(a.der == cert.der for a in anchors):
        return cert
    for candidate in (*issuer.chain, *anchors):
        if _signed(cert, candidate):
            return candidate
    return None


def issuing_anchors(issuer: Issuer, anchors: Sequence[CertFacts]) -> tuple[CertFacts, ...]:
    """The anchors the issuer hangs from: the issuer itself when it is an anchor, and every
    anchor that signed the issuer or one of the intermediates in its PEM."""
    path = (issuer.cert, *issuer.chain)
    found: list[CertFacts] = []
    for anchor in anchors:
        if anchor.der == issuer.cert.der or any(_signed(c, anchor) for c in path):
            found.append(anchor)
    return tuple(found)


def fingerprints(certs: Iterable[CertFacts]) -> str:
    """Comma-separated SHA-256 fingerprints, for evidence."""
    return ",".join(c.fingerprint_sha256 for c in certs)
