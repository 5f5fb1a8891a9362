"""The certificate timeline: what the status page and the findings document list.

It lists every certificate the snapshot holds, once per role, source and object (the mesh
side's source is `kubernetes`, a BIG-IP's is its device name), with the role names of
`f5_linkerd_certificate_not_after_timestamp_seconds`:
- `trust_anchor`: the mesh's trust anchors (`anchors_from`);
- `issuer`: the identity issuer and the intermediates after it in its PEM;
- `bundle_cert`: each member of each CA bundle a BIG-IP holds;
- `client_cert`: the certificate and chain file of each server-ssl profile (what BIG-IP
  presents to the mesh);
- `edge_cert`: the certificates and chains of each client-ssl profile (what BIG-IP
  presents to browsers);
- `other`: the rest of the device's certificate store (`monitor.render.store`): every other
  ssl-cert of its configured partitions, less its `excludeCertificates`, a bundle file
  whose contents were not read as the one certificate its REST fields describe (`note`).
A bundle used as a chain file is listed in the chain's role, not as `bundle_cert`; a
bundle whose contents were read is shown through its members. `scope` tells the mesh's
certificates (`mesh`) and a BIG-IP's that a configured boundary uses (`boundary`) from
the rest of its store (`store`), as `f5_linkerd_bigip_certificate_not_after_timestamp_seconds`
does. Rows are sorted soonest expiry first; a certificate whose expiry is unknown comes
last. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.schema import Config
from monitor.model import F5State, SslCert
from monitor.render.parts import Last, Same, inputs
from monitor.render.store import boundary_paths, device_store
from monitor.state.snapshot import Snapshot

PARTIAL_BUNDLE = "bundle: only the certificate its REST fields describe"


@dataclass(frozen=True, slots=True)
class CertRow:
    role: str
    source: str  # "kubernetes" or a BIG-IP device name
    object: str  # where it lives: a ConfigMap/Secret, an ssl-cert or bundle path
    subject: str
    fingerprint: str  # lowercase hex SHA-256, "" when unknown
    not_after: datetime | None
    scope: str = "mesh"  # mesh | boundary | store
    note: str = ""

    def days_left(self, now: datetime) -> int | None:
        """Whole days from `now` to expiry (negative once expired); None when unknown."""
        if self.not_after is None:
            return None
        return (self.not_after - now) // timedelta(days=1)


_ROWS: Last[Same, list[CertRow]] = Last()


def certificate_rows(snapshot: Snapshot) -> list[CertRow]:
    """The certificate timeline, soonest expiry first (worked out again only when what it
    derives from is another object: the page and the findings document both show it,
    cycle after cycle). Do not change the list."""
    return _ROWS.get(inputs(snapshot), lambda: _timeline(snapshot))


def _timeline(snapshot: Snapshot) -> list[CertRow]:
    rows: list[CertRow] = []
    seen: set[tuple[str, str, str, str]] = set()
    for row in _rows(snapshot):
        key = (row.role, row.source, row.object, row.fingerprint)
        if key not in seen:
            seen.add(key)
            rows.append(row)
    far = datetime.max.replace(tzinfo=snapshot.taken_at.tzinfo)
    return sorted(
        rows, key=lambda r: (r.not_after or far, r.not_after is None, r.role, r.source, r.object)
    )


def _rows(snapshot: Snapshot) -> Iterator[CertRow]:
    mesh = snapshot.observed.mesh
    for anchor in mesh.anchors or ():
        yield CertRow(
            "trust_anchor",
            "kubernetes",
            mesh.anchors_from,
            anchor.subject,
            anchor.fingerprint_sha256,
            anchor.not_after,
        )
    if mesh.issuer is not None:
        for cert in (mesh.issuer.cert, *mesh.issuer.chain):
            yield CertRow(
                "issuer", "kubernetes", mesh.issuer_from, cert.subject, cert.fingerprint_sha256,
                cert.not_after,
            )  # fmt: skip
    managed = mesh.issuer_dated_only
    if managed is not None and managed.not_after is not None:
        # mesh.issuer.source certificate: the dates cert-manager reports, no fingerprint
        subject = f"CN={managed.common_name}" if managed.common_name else ""
        yield CertRow(
            "issuer", "kubernetes", mesh.issuer_from, subject, "", managed.not_after
        )  # fmt: skip
    for device, f5 in sorted(snapshot.observed.f5.items()):
        used = boundary_paths(snapshot.config, device, f5, snapshot.known_f5.get(device))
        yield from _device_rows(snapshot.config, device, f5, used)


def _device_rows(
    config: Config | None, device: str, f5: F5State, used: frozenset[str]
) -> Iterator[CertRow]:
    listed: set[str] = set()  # fingerprints (or paths) already on a row for this device

    def row(role: str, obj: str, cert: SslCert) -> CertRow:
        listed.add(cert.fingerprint or cert.path)
        scope = "boundary" if obj in used else "store"
        return CertRow(
            role, device, obj, cert.subject, cert.fingerprint or "", cert.not_after, scope
        )

    uses: set[tuple[str, str]] = set()  # (path, role) of what the profiles present
    for profile in f5.server_ssl.values():
        uses.update(_named((profile.cert, "client_cert"), (profile.chain, "client_cert")))
    for client in f5.client_ssl.values():
        for entry in client.cert_key_chain:
            uses.update(_named((entry.cert, "edge_cert"), (entry.chain, "edge_cert")))
    presented = {path for path, _ in uses}
    for path, bundle in sorted(f5.bundles.items()):
        if path not in presented:  # a trust bundle, not a chain file
            for member in bundle.members or ():
                yield row("bundle_cert", path, member)
    for path, role in sorted(uses):
        if path in f5.bundles:
            for member in f5.bundles[path].members or ():
                yield row(role, path, member)
        elif path in f5.certs and not f5.certs[path].is_bundle:
            yield row(role, path, f5.certs[path])
    for stored in device_store(config, device, f5, used):
        cert = f5.certs[stored.path]
        if stored.bundle_members_known or (cert.fingerprint or cert.path) in listed:
            continue
        note = PARTIAL_BUNDLE if stored.bundle else ""
        yield CertRow(
            "other", device, stored.path, cert.subject, cert.fingerprint or "",
            cert.not_after, stored.scope, note,
        )  # fmt: skip


def _named(*uses: tuple[str | None, str]) -> set[tuple[str, str]]:
    return {(path, role) for path, role in uses if path}
