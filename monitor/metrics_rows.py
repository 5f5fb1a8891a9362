"""What the metrics count about the boundaries: certificates by role and pool members.

Owns the derivation behind `f5_linkerd_certificate_*` and `f5_linkerd_pool_members`
(`monitor.metrics` names and renders them): which certificates a boundary depends on, by
role, resolved with the checks' own resolvers (the CA bundle named by the server-ssl
`caFile`: `bundle_cert`; the server-ssl `cert` and its `chain`: `client_cert`; the client-ssl
`certKeyChain` certificates and chains: `edge_cert`; the mesh's anchors and issuer), and
how a boundary's pool members pair with the backend's ready endpoints, by the checks' own
matching (`routes_members.match_members`). What does not resolve this cycle (a device not
read, a collection that failed, a Service whose endpoints are unknown) has no rows.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final, NamedTuple

from monitor.checks.boundary_certs import cert_file, expiry
from monitor.checks.boundary_client import resolve_client_cert
from monitor.checks.common import (
    Device,
    backend_endpoints,
    member_fingerprint,
    resolve_bundle,
    resolve_pool,
)
from monitor.checks.edge import resolve_client_ssl
from monitor.checks.outcome import Unknown
from monitor.checks.routes_members import match_members
from monitor.config import BoundaryConfig, Config
from monitor.model import SslCert
from monitor.state import Snapshot

# The `role` label of the certificate families, in exposition order.
ROLES: Final = ("trust_anchor", "issuer", "bundle_cert", "client_cert", "edge_cert")
# The `state` label of f5_linkerd_pool_members (see `pool_counts`).
POOL_STATES: Final = ("matched", "extra", "missing", "port_mismatch")


class CertRow(NamedTuple):
    """One certificate series: its labels and its two timestamps."""

    role: str
    source: str
    object: str
    fingerprint: str
    not_after: float
    not_before: float | None


def cert_rows(snapshot: Snapshot) -> list[CertRow]:
    """Every certificate the boundaries depend on, once per (role, source, object,
    fingerprint), ordered by role (`ROLES`), source, object and fingerprint."""
    rows: dict[tuple[str, str, str, str], CertRow] = {}
    for row in _mesh_rows(snapshot):
        rows.setdefault(row[:4], row)
    cfg = snapshot.config
    if cfg is not None:
        for boundary in cfg.boundaries:
            for name in boundary.devices:
                state = snapshot.observed.f5.get(name)
                if state is None:
                    continue  # not read this cycle: nothing is known
                for row in _device_rows(boundary, Device(name, state)):
                    rows.setdefault(row[:4], row)
    return sorted(rows.values(), key=lambda r: (ROLES.index(r.role), r[1], r[2], r[3]))


def _mesh_rows(snapshot: Snapshot) -> Iterator[CertRow]:
    mesh = snapshot.observed.mesh
    issuer = (mesh.issuer.cert,) if mesh.issuer is not None else ()
    for role, where, certs in (
        ("trust_anchor", mesh.anchors_from, mesh.anchors or ()),
        ("issuer", mesh.issuer_from, issuer),
    ):
        for cert in certs:
            yield CertRow(
                role,
                "kubernetes",
                where,
                cert.fingerprint_sha256,
                cert.not_after.timestamp(),
                cert.not_before.timestamp(),
            )


def _device_rows(boundary: BoundaryConfig, device: Device) -> Iterator[CertRow]:
    """The boundary's CA bundle (server-ssl `caFile`), client certificate (server-ssl `cert`
    and `chain`) and edge certificates (client-ssl `certKeyChain` certs and chains) on one
    device, as far as they resolve; what does not resolve has no series."""
    use = resolve_bundle(boundary, device)
    if not isinstance(use, Unknown):
        yield from _file_rows("bundle_cert", device.name, use.bundle.path, use.members)
    client = resolve_client_cert(boundary, device)
    if not isinstance(client, Unknown) and client.leaf is not None:
        yield from _file_rows("client_cert", device.name, client.leaf.path, (client.leaf,))
        if client.chain is not None:
            yield from _file_rows("client_cert", device.name, client.chain.path, client.chain.certs)
    profiles = resolve_client_ssl(boundary, device)
    if isinstance(profiles, Unknown):
        return
    for profile in profiles:
        for entry in profile.cert_key_chain:
            for path in (entry.cert, entry.chain):
                found = cert_file(device, path, "edge certificate") if path else None
                if found is not None and not isinstance(found, Unknown):
                    yield from _file_rows("edge_cert", device.name, found.path, found.certs)


def _file_rows(role: str, source: str, path: str, certs: Iterable[SslCert]) -> Iterator[CertRow]:
    for cert in certs:
        end = expiry(cert)
        if end is None:
            continue  # no date to export
        start = cert.facts.not_before.timestamp() if cert.facts is not None else None
        fingerprint = member_fingerprint(cert) or ""
        yield CertRow(role, source, path, fingerprint, end.timestamp(), start)


def pool_counts(snapshot: Snapshot) -> list[tuple[str, str, dict[str, int]]]:
    """(boundary, device, count by `POOL_STATES`) for every boundary and device whose pool
    and backend endpoints are both known this cycle, in config order.

    matched: a member at a ready endpoint's address:port; extra, port_mismatch, missing: as
    the pool_member_* checks define them (ignore rules do not apply to these counts).
    """
    cfg: Config | None = snapshot.config
    out: list[tuple[str, str, dict[str, int]]] = []
    if cfg is None:
        return out
    for boundary in cfg.boundaries:
        service = backend_endpoints(boundary, snapshot.observed.mesh)
        if isinstance(service, Unknown):
            continue
        for name in boundary.devices:
            state = snapshot.observed.f5.get(name)
            pool = resolve_pool(boundary, Device(name, state)) if state is not None else None
            if pool is None or isinstance(pool, Unknown):
                continue
            found = match_members(service, pool)
            wrong = len(found.extra) + len(found.port_mismatch)
            counts = {
                "matched": len(pool.members) - wrong,
                "extra": len(found.extra),
                "missing": len(found.missing),
                "port_mismatch": len(found.port_mismatch),
            }
            out.append((boundary.name, name, counts))
    return out
