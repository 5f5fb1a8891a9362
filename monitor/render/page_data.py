"""What the status page shows, before any HTML: boundaries, check groups, the certificate
timeline, and how times read. Pure: "now" is always the snapshot's `taken_at`.

The certificate timeline lists every certificate the snapshot holds, once per role, source
and object (the mesh side's source is `kubernetes`, a BIG-IP's is its device name), with the
role names of `f5_linkerd_certificate_not_after_timestamp_seconds`:
- `trust_anchor`: the mesh's trust anchors (`anchors_from`);
- `issuer`: the identity issuer and the intermediates after it in its PEM;
- `bundle_cert`: each member of each CA bundle a BIG-IP holds;
- `client_cert`: the certificate and chain file of each server-ssl profile (what BIG-IP
  presents to the mesh);
- `edge_cert`: the certificates and chains of each client-ssl profile (what BIG-IP
  presents to browsers);
- `other`: any other single certificate a BIG-IP holds that is not listed above.
A bundle used as a chain file is listed in the chain's role, not as `bundle_cert`; an
ssl-cert object that is a bundle is only shown through its members. Rows are sorted
soonest expiry first; a certificate whose expiry is unknown comes last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.catalogue import CHECKS_BY_FAMILY, FAMILIES, family_of
from monitor.model import CheckState, F5State, SslCert
from monitor.state.snapshot import Snapshot, TrackedFinding

STATE_RANK = {"pass": 0, "unknown": 1, "warning": 2, "critical": 3}


@dataclass(frozen=True, slots=True)
class CertRow:
    role: str
    source: str  # "kubernetes" or a BIG-IP device name
    object: str  # where it lives: a ConfigMap/Secret, an ssl-cert or bundle path
    subject: str
    fingerprint: str  # lowercase hex SHA-256, "" when unknown
    not_after: datetime | None

    def days_left(self, now: datetime) -> int | None:
        """Whole days from `now` to expiry (negative once expired); None when unknown."""
        if self.not_after is None:
            return None
        return (self.not_after - now) // timedelta(days=1)


def certificate_rows(snapshot: Snapshot) -> list[CertRow]:
    """The certificate timeline, soonest expiry first."""
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
    for device, f5 in sorted(snapshot.observed.f5.items()):
        yield from _device_rows(device, f5)


def _device_rows(device: str, f5: F5State) -> Iterator[CertRow]:
    listed: set[str] = set()  # fingerprints (or paths) already on a row for this device

    def row(role: str, obj: str, cert: SslCert) -> CertRow:
        listed.add(cert.fingerprint or cert.path)
        return CertRow(role, device, obj, cert.subject, cert.fingerprint or "", cert.not_after)

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
    for path, cert in sorted(f5.certs.items()):
        if not cert.is_bundle and (cert.fingerprint or cert.path) not in listed:
            yield row("other", path, cert)


def _named(*uses: tuple[str | None, str]) -> set[tuple[str, str]]:
    return {(path, role) for path, role in uses if path}


@dataclass(frozen=True, slots=True)
class Boundary:
    """One boundary as the page shows it."""

    name: str
    state: str  # the worst of its checks' states
    families: tuple[tuple[str, tuple[CheckState, ...]], ...]  # catalogue order
    findings: tuple[TrackedFinding, ...]


def boundaries(snapshot: Snapshot) -> list[Boundary]:
    """Every boundary the snapshot mentions: the configured ones in config order, then any
    other its checks, findings or rotation plans name."""
    names: dict[str, None] = {}
    for configured in snapshot.config.boundaries if snapshot.config is not None else ():
        names.setdefault(configured.name)
    for state in snapshot.states:
        names.setdefault(state.boundary)
    for tracked in snapshot.findings:
        names.setdefault(tracked.finding.boundary)
    for plan in snapshot.rotation:
        names.setdefault(plan.boundary)
    order = {check: i for i, check in enumerate(c for f in FAMILIES for c in CHECKS_BY_FAMILY[f])}
    out: list[Boundary] = []
    for name in names:
        states = sorted(
            (s for s in snapshot.states if s.boundary == name),
            key=lambda s: order.get(s.check, len(order)),
        )
        families = tuple(
            (family, grouped)
            for family in (*FAMILIES, "other")
            if (grouped := tuple(s for s in states if _family(s.check) == family))
        )
        worst = max((s.state for s in states), key=STATE_RANK.__getitem__, default="pass")
        findings = tuple(t for t in snapshot.findings if t.finding.boundary == name)
        out.append(Boundary(name, worst, families, findings))
    return out


def _family(check: str) -> str:
    try:
        return family_of(check)
    except KeyError:
        return "other"


def when(moment: datetime) -> str:
    """A time as the page prints it: `2026-08-23 07:47 UTC`."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def age(delta: timedelta) -> str:
    """A duration, coarse and short: `just now`, `12 min`, `5 h 3 min`, `3 d 4 h`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(delta: timedelta) -> str:
    """`just now`, `12 min ago`, `3 d 4 h ago`."""
    text = age(delta)
    return text if text == "just now" else f"{text} ago"


def days_text(days: int | None) -> str:
    """Days left, in words that do not need colour: `12 days`, `expired 3 days ago`."""
    if days is None:
        return "unknown"
    if days < 0:
        return f"expired {-days} day{'s' if -days != 1 else ''} ago"
    return f"{days} day{'s' if days != 1 else ''}"
