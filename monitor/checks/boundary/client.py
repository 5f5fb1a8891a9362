"""Boundary checks of the client certificate BIG-IP presents to the mesh (server-ssl `cert`).

Owns `client_cert_expiry`, `client_cert_chain`, `client_identity_mismatch` and
`client_cert_outlives_issuer` (registered in `boundary.CHECKS`, mesh-tls only). They and
`policy` judge what `monitor.checks.resolve.resolve_client_cert` resolves: the server-ssl
profile, its `cert` (an ssl-cert object) and the certificates of its `chain` file. A
profile without `cert` passes these checks (`client_cert_missing` reports it).

BIG-IP's REST API gives a certificate's subject, issuer, fingerprint, end date and (TMOS
14.1+) subject alternative names, never its PEM: expiry and the identity are judged from
those (`certs.names_of`); the chain and what the certificate hangs from need signatures,
so the parsed certificate (`SslCert.facts`, read through util/bash), else the check is
unknown for that device (`certs.facts_of` words why).

- `client_cert_expiry`: the earliest of the certificate and its chain certificates, graded
  with `thresholds.boundaryCert` (expired: critical); object: the certificate's path.
- `client_cert_chain`: the certificate, with the chain file's certificates as
  intermediates (what BIG-IP sends), must verify against the current mesh trust anchors now
  for clientAuth (`verify_chain`) — critical otherwise, with a hint when the identity issuer
  would have completed the chain. A chain file known only in part makes a failure to find
  the anchor ("unknown_authority") unknown.
- `client_identity_mismatch` (only with `clientIdentity` configured): the identity the
  certificate names (its DNS SAN, Linkerd leaf style, or a SPIFFE URI SAN) must be
  `clientIdentity` — critical otherwise.
- `client_cert_outlives_issuer`: warning when the certificate ends more than
  `OUTLIVE_SLACK` after a certificate it hangs from (found by signature among the chain
  file, the identity issuer and its intermediates, and the anchors): from that date on the
  mesh rejects it although it has not expired.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, NamedTuple

from monitor.certs import CertFacts, signed_by, verify_chain
from monitor.checks.boundary.certs import (
    cert_identities,
    earliest,
    facts_of,
    names_of,
    same_identity,
    shown,
    ssl_cert_evidence,
)
from monitor.checks.common import (
    anchors_or_unknown,
    cert_evidence,
    describe,
    expiry_phrase,
    grade,
    humane_duration,
    iso,
    when,
)
from monitor.checks.outcome import Drift, Outcome, Unknown
from monitor.checks.resolve import (
    ClientCert,
    Device,
    everywhere,
    expiry,
    per_device,
    resolve_client_cert,
)
from monitor.checks.trust.inputs import by_certificate
from monitor.checks.trust.issuer import OUTLIVE_SLACK
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed, SslCert

CLIENT_AUTH: Final = "clientAuth"
UNKNOWN_AUTHORITY: Final = "unknown_authority"
MAX_PATH: Final = 10  # certificates walked up from the client certificate


def _no_cert(client: ClientCert) -> Outcome:
    return Outcome(notes=client.notes)


def _facts(
    cfg: Config, device: Device, client: ClientCert, what: str
) -> tuple[CertFacts, tuple[CertFacts, ...]] | Unknown:
    """The parsed client certificate and chain certificates, or why they are unknown."""
    assert client.leaf is not None
    leaf = facts_of(cfg, device, client.leaf, "client certificate", what)
    if isinstance(leaf, Unknown):
        return leaf
    chain: list[CertFacts] = []
    for cert in client.chain_certs():
        facts = facts_of(cfg, device, cert, "client certificate chain", what)
        if isinstance(facts, Unknown):
            return facts
        chain.append(facts)
    return leaf, tuple(chain)


class _Parsed(NamedTuple):
    client: ClientCert
    cert: SslCert  # the client certificate as BIG-IP lists it
    leaf: CertFacts  # ... parsed
    chain: tuple[CertFacts, ...]  # its chain file's certificates, parsed


def _parsed(cfg: Config, boundary: BoundaryConfig, device: Device, what: str) -> _Parsed | Outcome:
    """The boundary's client certificate on `device` with its chain, parsed; or the outcome
    when there is nothing to judge (unknown, or no client certificate)."""
    client = resolve_client_cert(boundary, device)
    if isinstance(client, Unknown):
        return Outcome(unknowns=(client,))
    if client.leaf is None:
        return _no_cert(client)
    facts = _facts(cfg, device, client, what)
    if isinstance(facts, Unknown):
        return Outcome(unknowns=(facts,), notes=client.notes)
    return _Parsed(client, client.leaf, *facts)


def client_identity_configured(cfg: Config, boundary: BoundaryConfig) -> bool:
    return boundary.client_identity is not None


# --- client_cert_expiry -----------------------------------------------------------------------


def client_cert_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The earliest of the client certificate and its chain, graded with boundaryCert."""

    def on_device(device: Device) -> Outcome:
        client = resolve_client_cert(boundary, device)
        if isinstance(client, Unknown):
            return Outcome(unknowns=(client,))
        if client.leaf is None:
            return _no_cert(client)
        needed = (client.leaf, *client.chain_certs())
        unknowns = tuple(
            Unknown(device.name, f"{device.name}: expiry of {c.path} unknown")
            for c in needed
            if expiry(c) is None
        )
        first = earliest(needed)
        end = expiry(first) if first is not None else None
        if first is None or end is None:
            return Outcome(unknowns=unknowns, notes=client.notes)
        severity = grade(end - now, cfg.thresholds.boundary_cert)
        if severity is None:
            return Outcome(unknowns=unknowns, notes=client.notes)
        if first is client.leaf:
            what = f"{device.name}: {client.where} {expiry_phrase(end, now)}"
        else:
            what = (
                f"{device.name}: chain certificate {shown(first)} of {client.where}"
                f" {expiry_phrase(end, now)}"
            )
        message = (
            f"{what}; from then on the mesh rejects BIG-IP's client certificate — renew it"
            " (and its chain) under a current trust anchor"
        )
        evidence = (
            *ssl_cert_evidence("earliest", first),
            ("earliest_role", "client certificate" if first is client.leaf else "chain"),
            ("checked_at", iso(now)),
            *client.evidence(),
        )
        drift = Drift(severity, client.leaf.path, message, evidence)
        return Outcome((drift,), unknowns, client.notes)

    return per_device(boundary, observed, on_device)


# --- client_cert_chain ------------------------------------------------------------------------


def client_cert_chain(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The client certificate and its chain must verify against the mesh anchors now."""
    anchors = anchors_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown):
        return everywhere(boundary, anchors.detail)
    issuer = observed.mesh.issuer

    def on_device(device: Device) -> Outcome:
        parsed = _parsed(cfg, boundary, device, "its chain to the trust anchors")
        if isinstance(parsed, Outcome):
            return parsed
        client, cert, leaf, chain = parsed
        result = verify_chain(leaf, chain, anchors, now, usage=CLIENT_AUTH)
        if result.ok:
            return Outcome(notes=client.notes)
        if client.chain is not None and client.chain.note and result.code == UNKNOWN_AUTHORITY:
            detail = (
                f"{device.name}: {client.where} does not verify with the certificates known of"
                f" its chain {client.chain.path}, which is known only in part"
            )
            return Outcome(unknowns=(Unknown(device.name, detail),), notes=client.notes)
        hint = ""
        if issuer is not None and result.code == UNKNOWN_AUTHORITY:
            fuller = (*chain, issuer.cert, *issuer.chain)
            if verify_chain(leaf, fuller, anchors, now, usage=CLIENT_AUTH).ok:
                hint = (
                    f"; it verifies with the identity issuer {describe(issuer.cert)} as"
                    " intermediate: set the profile's chain to it"
                )
        message = (
            f"{device.name}: {client.where} does not verify against the mesh trust anchors"
            f" ({result.code}: {result.message}), so the Linkerd proxy rejects BIG-IP's client"
            f" certificate{hint or ' — issue it under a current trust anchor and set the chain'}"
        )
        evidence = (
            *cert_evidence("client_cert", leaf),
            ("chain_code", result.code or ""),
            ("chain_path", ",".join(c.fingerprint_sha256 for c in result.path)),
            ("anchors", ",".join(a.fingerprint_sha256 for a in anchors)),
            ("checked_at", iso(now)),
            *client.evidence(),
        )
        drift = Drift("critical", cert.path, message, evidence)
        return Outcome(drifts=(drift,), notes=client.notes)

    return per_device(boundary, observed, on_device)


# --- client_identity_mismatch -----------------------------------------------------------------


def client_identity_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The certificate's identity (DNS SAN or SPIFFE URI SAN) must be `clientIdentity`."""
    expected = boundary.client_identity
    assert expected is not None  # applies only with clientIdentity

    def on_device(device: Device) -> Outcome:
        client = resolve_client_cert(boundary, device)
        if isinstance(client, Unknown):
            return Outcome(unknowns=(client,))
        if client.leaf is None:
            return _no_cert(client)
        found = names_of(device, client.leaf, "client certificate", "the identity it names")
        if isinstance(found, Unknown):
            return Outcome(unknowns=(found,), notes=client.notes)
        names = cert_identities(found)
        if any(same_identity(n, expected) for n in names):
            if len(names) > 1:
                note = (
                    f"{device.name}: {client.where} names several identities"
                    f" ({', '.join(names)}); a Linkerd leaf names exactly one"
                )
                return Outcome(notes=(*client.notes, note))
            return Outcome(notes=client.notes)
        named = f"names {', '.join(names)}" if names else "names no identity (no DNS or SPIFFE SAN)"
        message = (
            f"{device.name}: {client.where} {named}, but clientIdentity is {expected}: the mesh"
            f" policy sees BIG-IP under another identity — reissue the certificate with DNS SAN"
            f" {expected} (or correct clientIdentity)"
        )
        evidence = (
            *ssl_cert_evidence("client_cert", client.leaf),
            ("cert_identities", ",".join(names) or "none"),
            ("names_from", found.source),
            ("expected_identity", expected),
            *client.evidence(),
        )
        drift = Drift("critical", client.leaf.path, message, evidence)
        return Outcome(drifts=(drift,), notes=client.notes)

    return per_device(boundary, observed, on_device)


# --- client_cert_outlives_issuer --------------------------------------------------------------


def signers_of(
    leaf: CertFacts, candidates: Sequence[CertFacts], anchors: Sequence[CertFacts]
) -> tuple[CertFacts, ...]:
    """The certificates above `leaf`, found by signature among `candidates` (then the
    anchors), up to the first anchor; each certificate at most once."""
    pool = [*candidates, *anchors]
    roots = {a.der for a in anchors}
    path: list[CertFacts] = []
    current = leaf
    seen = {leaf.der}
    while len(path) < MAX_PATH and current.der not in roots:
        parent = next((c for c in pool if c.der not in seen and signed_by(current, c)), None)
        if parent is None:
            break
        path.append(parent)
        seen.add(parent.der)
        current = parent
    return tuple(path)


def client_cert_outlives_issuer(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Warning when the client certificate ends after a certificate it hangs from."""
    anchors = anchors_or_unknown(observed.mesh)
    if isinstance(anchors, Unknown):
        return everywhere(boundary, anchors.detail)
    issuer = observed.mesh.issuer
    mesh_certs = (issuer.cert, *issuer.chain) if issuer is not None else ()

    def on_device(device: Device) -> Outcome:
        parsed = _parsed(cfg, boundary, device, "what it hangs from")
        if isinstance(parsed, Outcome):
            return parsed
        client, cert, leaf, chain = parsed
        above = signers_of(leaf, (*chain, *mesh_certs), anchors)
        if not above and by_certificate(observed.mesh):  # the issuer may sign it: unread
            detail = (
                f"{device.name}: nothing of the chain or the anchors signs {client.where},"
                " and the identity issuer, which may, is not read with mesh.issuer.source:"
                " certificate"
            )
            return Outcome(unknowns=(Unknown(device.name, detail),), notes=client.notes)
        if not above:
            note = (
                f"{device.name}: no certificate of the chain, the identity issuer or the"
                f" anchors signs {client.where} (see client_cert_chain)"
            )
            return Outcome(notes=(*client.notes, note))
        limit = min(above, key=lambda c: c.not_after)
        if leaf.not_after - limit.not_after <= OUTLIVE_SLACK:
            return Outcome(notes=client.notes)
        role = "trust anchor" if any(a.der == limit.der for a in anchors) else "issuer"
        message = (
            f"{device.name}: {client.where} ends {when(leaf.not_after)}, after the {role}"
            f" {describe(limit)} it hangs from ({when(limit.not_after)}): from then on the mesh"
            " rejects it although it has not expired, and client_cert_expiry counts down to"
            f" the wrong date — reissue it to end before its {role}, or renew the {role}"
        )
        evidence = (
            *cert_evidence("client_cert", leaf),
            *cert_evidence("limit", limit),
            ("limit_role", role),
            ("outlives_by", humane_duration(leaf.not_after - limit.not_after)),
            *client.evidence(),
        )
        drift = Drift("warning", cert.path, message, evidence)
        return Outcome(drifts=(drift,), notes=client.notes)

    return per_device(boundary, observed, on_device)
