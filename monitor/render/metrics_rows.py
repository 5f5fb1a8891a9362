"""What the metrics count about the boundaries: certificates by role and pool members.

Owns the derivation behind `f5_linkerd_certificate_*` and `f5_linkerd_pool_members`
(`monitor.render.metrics` names them, `monitor.render.exposition` renders them): which
certificates a boundary depends on, by role, resolved with the checks' own resolvers (the CA
bundle named by the server-ssl `caFile`: `bundle_cert`; the server-ssl `cert` and its
`chain`: `client_cert`; the client-ssl `certKeyChain` certificates and chains: `edge_cert`;
the mesh's anchors and issuer), and
how a boundary's pool members pair with the backend's ready endpoints, by the checks' own
matching (`monitor.checks.matching.match_members`). A certificate that cannot be read this cycle (a
device or the mesh not read, a collection that failed) keeps its rows from the last read
that had it (`Snapshot.known_f5`, `known_mesh`): a failed poll never makes an expiry
series disappear. Pool members are counted only on this cycle's reads.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Final, NamedTuple, TypeVar

from monitor.checks.matching import match_members
from monitor.checks.outcome import Unknown
from monitor.checks.resolve import (
    Device,
    backend_endpoints,
    cert_file,
    expiry,
    member_fingerprint,
    resolve_bundle,
    resolve_client_cert,
    resolve_client_ssl,
    resolve_pool,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import MeshState, Pool, ServiceEndpoints, SslCert
from monitor.render.parts import LastBy
from monitor.state.snapshot import Snapshot

T = TypeVar("T")

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
    for row in _mesh_rows(snapshot.observed.mesh, snapshot.known_mesh):
        rows.setdefault(row[:4], row)
    cfg = snapshot.config
    if cfg is not None:
        for boundary in cfg.boundaries:
            for name in boundary.devices:
                read = (snapshot.observed.f5.get(name), snapshot.known_f5.get(name))
                devices = tuple(Device(name, state) for state in read if state is not None)
                for row in _device_rows(boundary, devices):
                    rows.setdefault(row[:4], row)
    return sorted(rows.values(), key=lambda r: (ROLES.index(r.role), r[1], r[2], r[3]))


def _mesh_rows(mesh: MeshState, known: MeshState | None) -> Iterator[CertRow]:
    """The anchors and the issuer as read this cycle; each from the last read that had it
    while it is unknown now."""
    anchors = known if mesh.anchors is None and known is not None else mesh
    issuing = known if _no_issuer(mesh) and known is not None else mesh
    issuer = (issuing.issuer.cert,) if issuing.issuer is not None else ()
    for role, where, certs in (
        ("trust_anchor", anchors.anchors_from, anchors.anchors or ()),
        ("issuer", issuing.issuer_from, issuer),
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
    managed = issuing.issuer_dated_only
    if managed is not None and managed.not_after is not None:
        # the dates cert-manager reports for the certificate it wrote; no fingerprint
        not_before = managed.not_before.timestamp() if managed.not_before else None
        yield CertRow(
            "issuer", "kubernetes", issuing.issuer_from, "", managed.not_after.timestamp(),
            not_before,
        )  # fmt: skip


def _no_issuer(mesh: MeshState) -> bool:
    """Nothing about the issuer's dates was read this cycle."""
    if mesh.issuer_source == "certificate":
        return mesh.issuer_certificate is None
    return mesh.issuer is None


def _device_rows(boundary: BoundaryConfig, devices: tuple[Device, ...]) -> Iterator[CertRow]:
    """The boundary's CA bundle (server-ssl `caFile`), client certificate (server-ssl `cert`
    and `chain`) and edge certificates (client-ssl `certKeyChain` certs and chains) on one
    device, each from the first of `devices` (this cycle's read, then the last complete
    one) where it resolves; what resolves in neither has no series."""
    use = _first(devices, lambda device: resolve_bundle(boundary, device))
    if use is not None:
        device, bundle = use
        yield from _file_rows("bundle_cert", device.name, bundle.bundle.path, bundle.members)
    client_use = _first(devices, lambda device: resolve_client_cert(boundary, device))
    if client_use is not None:
        device, client = client_use
        if client.leaf is not None:
            yield from _file_rows("client_cert", device.name, client.leaf.path, (client.leaf,))
        if client.leaf is not None and client.chain is not None:
            yield from _file_rows("client_cert", device.name, client.chain.path, client.chain.certs)
    profiles = _first(devices, lambda device: resolve_client_ssl(boundary, device))
    for profile in profiles[1] if profiles is not None else ():
        for entry in profile.cert_key_chain:
            for path in (entry.cert, entry.chain):
                found = (
                    _first(devices, partial(cert_file, path=path, role="edge certificate"))
                    if path
                    else None
                )
                if found is not None:
                    device, certs = found
                    yield from _file_rows("edge_cert", device.name, certs.path, certs.certs)


def _first(
    devices: tuple[Device, ...], resolve: Callable[[Device], T | Unknown]
) -> tuple[Device, T] | None:
    """The first device where `resolve` gives a value, with that value."""
    for device in devices:
        value = resolve(device)
        if not isinstance(value, Unknown):
            return device, value
    return None


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
            counts = _COUNTS.get(
                (boundary.name, name), (service, pool), partial(_count, service, pool)
            )
            out.append((boundary.name, name, counts))
    _COUNTS.keep((b.name, d) for b in cfg.boundaries for d in b.devices)
    return out


# Each pair's counts, made again when its Service's endpoints or its pool change.
_COUNTS: LastBy[tuple[ServiceEndpoints, Pool], dict[str, int]] = LastBy()


def _count(service: ServiceEndpoints, pool: Pool) -> dict[str, int]:
    found = match_members(service, pool)
    wrong = len(found.extra) + len(found.port_mismatch)
    return {
        "matched": len(pool.members) - wrong,
        "extra": len(found.extra),
        "missing": len(found.missing),
        "port_mismatch": len(found.port_mismatch),
    }
