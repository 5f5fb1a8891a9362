"""The certificate store: every ssl-cert a BIG-IP holds in its configured partitions.

Owns which certificates of a device's store are shown and exported, reduced to the few
facts a person needs (`StoreCert`): full path (folders included, so `/k8s/app1/a.crt` and
`/Common/a.crt` never collide), partition, expiry, subject CN, issuer DN, SHA-256
fingerprint, whether some boundary uses it (`scope`: `boundary` or `store`) and whether it
is a bundle file. Paths that match one of the device's `excludeCertificates` globs
(`fnmatch`, case-sensitive, `*` also crosses `/`) are left out; nothing is by default.

A certificate is a boundary certificate when a configured boundary of that device uses
the file, resolved like the checks resolve it (`monitor.checks.resolve`): the server-ssl
profile's `caFile`, `cert` and `chain`, the member ssl-certs of its CA bundle, and the
`certKeyChain` certificates and chains of the virtual's client-ssl profiles.

A bundle file (`isBundle`) is one entry: its earliest member when its contents were read
(a boundary's CA bundle), else the one certificate its REST fields describe
(research/f5.md §2.3): then the bundle's first expiry may come sooner than shown
(`bundle_members_known` is False). `store_certs(snapshot, carry=True)` is what `/metrics`
exports: a device whose ssl-certs could not be read completely this cycle keeps the store
of its last complete read (`Snapshot.known_f5`), like the boundary certificates; without
`carry` (the status page, the findings document) a view shows this cycle's reads. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from monitor.checks.outcome import Unknown
from monitor.checks.resolve import (
    Device,
    expiry,
    resolve_bundle,
    resolve_client_ssl,
    resolve_server_ssl,
)
from monitor.config.schema import Config
from monitor.model import F5State, SslCert, partition_of
from monitor.requirements import CA_BUNDLES, CLIENT_SSL, SERVER_SSL, SSL_CERTS, VIRTUALS
from monitor.state.snapshot import Snapshot

WIRING = (VIRTUALS, SERVER_SSL, CLIENT_SSL, CA_BUNDLES)  # what tells a boundary's files
_CN = re.compile(r"(?:^|[,/])\s*CN\s*=\s*([^,/]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class StoreCert:
    """One ssl-cert of a device's store, as shown and exported."""

    device: str
    path: str  # full path: /Partition[/folder]/name
    partition: str
    not_after: datetime | None
    subject_cn: str
    issuer: str
    fingerprint: str  # lowercase hex SHA-256, "" when BIG-IP gave none
    boundary: bool  # some configured boundary uses the file
    bundle: bool = False  # a multi-certificate file
    bundle_members_known: bool = False  # not_after is the earliest of all its members

    @property
    def scope(self) -> str:
        return "boundary" if self.boundary else "store"


def common_name(dn: str) -> str:
    """The CN of a distinguished name as BIG-IP prints it (`CN=x,O=y`), or in OpenSSL's
    one-line form (`/O=y/CN=x`); "" when none."""
    match = _CN.search(dn)
    return match.group(1).strip() if match else ""


def excluded(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(path, pattern) for pattern in patterns)


def boundary_paths(
    config: Config | None, name: str, state: F5State, known: F5State | None = None
) -> frozenset[str]:
    """The ssl-cert paths the configured boundaries use on device `name` (what resolves).
    When `state` cannot tell (a collection of the wiring was not read), the answer of
    `known`, the device's last complete read: an unknown wiring moves no file between
    `boundary` and `store`."""
    if config is None:
        return frozenset()
    if known is not None and not state.readable(*WIRING):
        state = known
    device = Device(name, state)
    paths: set[str] = set()
    for boundary in config.boundaries:
        if name not in boundary.devices:
            continue
        chosen = resolve_server_ssl(boundary, device)
        if not isinstance(chosen, Unknown):
            profile = chosen.value
            paths.update(p for p in (profile.ca_file, profile.cert, profile.chain) if p)
        bundle = resolve_bundle(boundary, device)
        if not isinstance(bundle, Unknown):
            paths.update(member.path for member in bundle.members)
        profiles = resolve_client_ssl(boundary, device)
        for client in profiles if not isinstance(profiles, Unknown) else ():
            for entry in client.cert_key_chain:
                paths.update(p for p in (entry.cert, entry.chain) if p)
    return frozenset(paths)


def device_store(
    config: Config | None, name: str, state: F5State, used: frozenset[str]
) -> Iterator[StoreCert]:
    """The store of one device as `state` holds it, by path, less the device's excluded
    paths; `used`: its `boundary_paths`."""
    patterns = exclusions(config, name)
    for path, cert in sorted(state.certs.items()):
        if patterns and excluded(path, patterns):
            continue
        yield _entry(name, cert, state, path in used)


def _entry(device: str, cert: SslCert, state: F5State, used: bool) -> StoreCert:
    shown, known = cert, False
    if cert.is_bundle:
        bundle = state.bundles.get(cert.path)
        members = [m for m in (bundle.members or ()) if expiry(m) is not None] if bundle else []
        if members:
            shown, known = min(members, key=lambda m: expiry(m) or datetime.max), True
    return StoreCert(
        device=device,
        path=cert.path,
        partition=partition_of(cert.path),
        not_after=expiry(shown),
        subject_cn=common_name(shown.subject),
        issuer=shown.issuer,
        fingerprint=shown.fingerprint or (shown.facts.fingerprint_sha256 if shown.facts else ""),
        boundary=used,
        bundle=cert.is_bundle,
        bundle_members_known=known,
    )


def store_certs(snapshot: Snapshot, carry: bool = False) -> list[StoreCert]:
    """Every device's store, by device then path. With `carry`, a device whose ssl-certs
    were not read completely this cycle shows its last complete read, if any."""
    config = snapshot.config
    names = [d.name for d in config.bigip] if config is not None else []
    names += sorted(n for n in snapshot.observed.f5 if n not in names)
    out: list[StoreCert] = []
    for name in names:
        state = snapshot.observed.f5.get(name)
        known = snapshot.known_f5.get(name)
        if carry and (state is None or not state.readable(SSL_CERTS)):
            state = known or state
        if state is None:
            continue
        out.extend(device_store(config, name, state, boundary_paths(config, name, state, known)))
    return sorted(out, key=lambda c: (c.device, c.path))


def exclusions(config: Config | None, name: str) -> tuple[str, ...]:
    """The `excludeCertificates` globs of device `name` (none for an unknown device)."""
    if config is None:
        return ()
    try:
        return config.device(name).exclude_certificates
    except KeyError:
        return ()
