"""What a boundary uses, resolved on each device and in the mesh: the checks' inputs.

Owns the resolvers every check and every view of a boundary builds on, so that a metric
and a check never disagree on which object a boundary uses:
- Running a comparison per device (`per_device`): a device that could not be read is an
  unknown part; drifts and unknowns are stamped with the device name.
- Resolving what a boundary uses on one device: its virtual, pool, server-ssl profile (the
  one the virtual carries, which serves the traffic, even when `serverSslProfile` names
  another; `Chosen.configured` then says so, and `attached` / `profile_evidence` word it)
  and CA bundle, the client certificate the server-ssl profile presents (`resolve_client_cert`),
  the client-ssl profiles of the virtual (`resolve_client_ssl`), an ssl-cert file's
  certificates (`cert_file`); and in the mesh, the backend Service's endpoints. Each
  returns the object or an `Unknown` that says which input is missing and why, e.g.
  `bigip-a: could not read ltm/profile/server-ssl (http_403)`. An object absent from a
  collection that was read is absent; the checks that own that drift (`virtual_missing`,
  `peer_validation_disabled`, ...) report it, the others are unknown for that device.
Pairing a pool's members with the backend's endpoints, addresses in canonical form, is
`monitor.checks.matching`'s (`match_members`).

Used by the checks and by `monitor.render` (the certificate and pool-member series). May
import `monitor.model`, `monitor.config`, `monitor.certs` and `monitor.checks.outcome`.
Nothing here does I/O, reads the clock or logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, Generic, TypeVar

from monitor.certs import normalize_fingerprint
from monitor.checks.outcome import MESH, Evidence, Outcome, Unknown
from monitor.config.schema import BoundaryConfig
from monitor.model import (
    CaBundle,
    ClientSslProfile,
    F5State,
    MeshState,
    Observed,
    Pool,
    ServerSslProfile,
    ServiceEndpoints,
    SourceError,
    SslCert,
    Virtual,
)
from monitor.requirements import CLIENT_SSL, POOLS, SERVER_SSL, SSL_CERTS, VIRTUALS


def _reasons(errors: Iterable[SourceError]) -> str:
    codes = sorted({e.reason for e in errors})
    return f" ({', '.join(codes)})" if codes else ""


@dataclass(frozen=True, slots=True)
class Device:
    """One BIG-IP as read this cycle, with the errors its source reported."""

    name: str
    state: F5State
    errors: tuple[SourceError, ...] = ()

    def unreadable(self, *collections: str) -> Unknown | None:
        """An Unknown naming the first collection that could not be read, or None."""
        for collection in collections:
            if collection in self.state.failed:
                why = _reasons(e for e in self.errors if e.target == collection)
                return Unknown(self.name, f"{self.name}: could not read {collection}{why}")
        return None


def _source_errors(observed: Observed, source: str) -> tuple[SourceError, ...]:
    return tuple(e for s in observed.sources if s.source == source for e in s.errors)


def per_device(
    boundary: BoundaryConfig, observed: Observed, evaluate: Callable[[Device], Outcome]
) -> Outcome:
    """Run `evaluate` on each of the boundary's devices, in config order.

    A device missing from `observed.f5` is unknown. Drifts and unknowns are stamped with
    the device's name, so `evaluate` need not set `device` or `part` itself.
    """
    outcomes: list[Outcome] = []
    for name in boundary.devices:
        state = observed.f5.get(name)
        if state is None:
            why = _reasons(_source_errors(observed, name))
            outcomes.append(Outcome(unknowns=(Unknown(name, f"{name}: could not be read{why}"),)))
            continue
        out = evaluate(Device(name, state, _source_errors(observed, name)))
        outcomes.append(
            Outcome(
                drifts=tuple(replace(d, device=name) for d in out.drifts),
                unknowns=tuple(replace(u, part=name) for u in out.unknowns),
                notes=out.notes,
            )
        )
    return Outcome.merge(outcomes)


def everywhere(boundary: BoundaryConfig, detail: str) -> Outcome:
    """Every device of the boundary unknown for one reason (a mesh input the
    per-device comparison needs is unknown)."""
    return Outcome(unknowns=tuple(Unknown(name, detail) for name in boundary.devices))


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Chosen(Generic[_T]):
    """A resolved object and, when there was a choice to make, a note saying how."""

    value: _T
    note: str = ""
    # The profile the expected state names, when the virtual carries another one instead
    # (`virtual_profile_mismatch`): the findings on `value` say so.
    configured: str | None = None

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.note,) if self.note else ()


def resolve_virtual(boundary: BoundaryConfig, device: Device) -> Virtual | Unknown:
    if unknown := device.unreadable(VIRTUALS):
        return unknown
    virtual = device.state.virtuals.get(boundary.virtual)
    if virtual is None:  # reported as drift by virtual_missing
        return Unknown(device.name, f"virtual {boundary.virtual} not found on {device.name}")
    return virtual


def resolve_pool(boundary: BoundaryConfig, device: Device) -> Pool | Unknown:
    """`boundary.pool`, or the pool of the boundary's virtual."""
    path = boundary.pool
    if path is None:
        virtual = resolve_virtual(boundary, device)
        if isinstance(virtual, Unknown):
            return virtual
        if virtual.pool is None:
            return Unknown(device.name, f"{device.name}: virtual {virtual.path} has no pool")
        path = virtual.pool
    if unknown := device.unreadable(POOLS):
        return unknown
    pool = device.state.pools.get(path)
    if pool is None:
        return Unknown(device.name, f"pool {path} not found on {device.name}")
    return pool


def attached(path: str, configured: str | None) -> str:
    """`path`, and when the expected state names another profile, that it is the one the
    virtual carries: `/k8s/x attached to the virtual (configured: /k8s/y)`."""
    return (
        path if configured is None else f"{path} attached to the virtual (configured: {configured})"
    )


def profile_evidence(path: str, configured: str | None) -> Evidence:
    """The server-ssl profile judged, and the configured one when it differs."""
    evidence: Evidence = (("server_ssl_profile", path),)
    return (
        evidence
        if configured is None
        else (*evidence, ("configured_server_ssl_profile", configured))
    )


def resolve_server_ssl(
    boundary: BoundaryConfig, device: Device
) -> Chosen[ServerSslProfile] | Unknown:
    """The server-ssl profile the boundary's virtual carries: the one that serves traffic.

    `boundary.server_ssl_profile` when the virtual carries it; otherwise the profile the
    virtual does carry (`Virtual.server_ssl_in_use`: of several, the SNI default, else the
    first), with `configured` set when the expected state names another
    (`virtual_profile_mismatch` reports that, and a virtual without server-ssl profile).
    A choice among several is noted.
    """
    virtual = resolve_virtual(boundary, device)
    if isinstance(virtual, Unknown):
        return virtual
    paths = virtual.serverside_ssl()
    if not paths:  # reported as drift by virtual_profile_mismatch
        detail = f"{device.name}: virtual {virtual.path} has no server-ssl profile"
        return Unknown(device.name, detail)
    if unknown := device.unreadable(SERVER_SSL):
        return unknown
    expected = boundary.server_ssl_profile
    path = virtual.server_ssl_in_use(expected, device.state.server_ssl) or paths[0]
    profile = device.state.server_ssl.get(path)
    if profile is None:
        return Unknown(device.name, f"server-ssl {path} not found on {device.name}")
    note = ""
    if len(paths) > 1 and path != expected:
        how = "the SNI default" if profile.sni_default else "the first"
        note = (
            f"{device.name}: virtual {virtual.path} has {len(paths)} server-ssl profiles"
            f" ({', '.join(paths)}); checked {path}, {how} (set serverSslProfile to choose)"
        )
    return Chosen(profile, note, expected if expected not in (None, path) else None)


@dataclass(frozen=True, slots=True)
class BundleUse:
    """The CA bundle a boundary's server-ssl profile validates pod certificates with."""

    profile: ServerSslProfile
    bundle: CaBundle
    members: tuple[SslCert, ...]
    note: str = ""
    configured: str | None = None  # as `Chosen.configured`

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.note,) if self.note else ()

    @property
    def where(self) -> str:
        profile = attached(self.profile.path, self.configured)
        return f"CA bundle {self.bundle.path} (server-ssl {profile})"


def resolve_bundle(boundary: BoundaryConfig, device: Device) -> BundleUse | Unknown:
    chosen = resolve_server_ssl(boundary, device)
    if isinstance(chosen, Unknown):
        return chosen
    profile = chosen.value
    if profile.ca_file is None:  # reported as drift by peer_validation_disabled
        return Unknown(device.name, f"{device.name}: server-ssl {profile.path} has no caFile")
    if unknown := device.unreadable(SSL_CERTS):
        return unknown
    bundle = device.state.bundles.get(profile.ca_file)
    if bundle is None:
        return Unknown(device.name, f"{device.name}: CA bundle {profile.ca_file} was not read")
    if bundle.members is None:
        why = f": {bundle.unknown_reason}" if bundle.unknown_reason else ""
        return Unknown(
            device.name, f"{device.name}: contents of CA bundle {bundle.path} unknown{why}"
        )
    return BundleUse(profile, bundle, bundle.members, chosen.note, chosen.configured)


def service_key(boundary: BoundaryConfig) -> str:
    service = boundary.backend.service
    return f"{service.namespace}/{service.name}"


def backend_endpoints(boundary: BoundaryConfig, mesh: MeshState) -> ServiceEndpoints | Unknown:
    key = service_key(boundary)
    endpoints = mesh.services.get(key)
    if endpoints is None:
        return Unknown(MESH, f"{KUBERNETES}: endpoints of Service {key} unknown")
    return endpoints


def member_fingerprint(member: SslCert) -> str | None:
    """A bundle member's lowercase hex SHA-256, from BIG-IP's field or the parsed PEM."""
    if member.fingerprint and (fp := normalize_fingerprint(member.fingerprint)):
        return fp
    return member.facts.fingerprint_sha256 if member.facts else None


@dataclass(frozen=True, slots=True)
class CertFile:
    """An ssl-cert file and the certificates known to be in it (file order)."""

    path: str
    certs: tuple[SslCert, ...]
    note: str = ""  # set when only part of the file is known

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.note,) if self.note else ()


def cert_file(device: Device, path: str, role: str) -> CertFile | Unknown:
    """The certificates of the ssl-cert file `path` (`role` words the messages: "client
    certificate", "chain"); unknown when the ssl-cert collection or the file is missing."""
    if unknown := device.unreadable(SSL_CERTS):
        return unknown
    bundle = device.state.bundles.get(path)
    if bundle is not None and bundle.members is not None:
        return CertFile(path, bundle.members)
    cert = device.state.certs.get(path)
    if cert is None:
        return Unknown(device.name, f"{device.name}: ssl-cert {path} ({role}) not found")
    if not cert.is_bundle:
        return CertFile(path, (cert,))
    note = (
        f"{device.name}: {role} {path} is a bundle whose other certificates are unknown (its"
        " REST fields describe one of them); only that one was checked"
    )
    return CertFile(path, (cert,), note)


def expiry(cert: SslCert) -> datetime | None:
    """When `cert` ends: BIG-IP's `expirationDate`, else the parsed PEM's notAfter."""
    if cert.not_after is not None:
        return cert.not_after
    return cert.facts.not_after if cert.facts is not None else None


@dataclass(frozen=True, slots=True)
class ClientCert:
    """The client certificate side of a boundary's server-ssl profile on one device."""

    profile: ServerSslProfile
    leaf: SslCert | None  # None: the profile has no `cert`
    chain: CertFile | None  # None: no `chain`
    notes: tuple[str, ...] = ()
    configured: str | None = None  # as `Chosen.configured`

    @property
    def where(self) -> str:
        leaf = self.leaf.path if self.leaf else "none"
        return (
            f"client certificate {leaf} (server-ssl {attached(self.profile.path, self.configured)})"
        )

    def chain_certs(self) -> tuple[SslCert, ...]:
        return self.chain.certs if self.chain else ()

    def evidence(self) -> Evidence:
        return (
            *profile_evidence(self.profile.path, self.configured),
            ("client_cert", self.profile.cert or "none"),
            ("chain", self.profile.chain or "none"),
        )


def resolve_client_cert(boundary: BoundaryConfig, device: Device) -> ClientCert | Unknown:
    chosen = resolve_server_ssl(boundary, device)
    if isinstance(chosen, Unknown):
        return chosen
    profile = chosen.value
    if profile.cert is None:
        return ClientCert(profile, None, None, chosen.notes, chosen.configured)
    leaf = cert_file(device, profile.cert, "client certificate")
    if isinstance(leaf, Unknown):
        return leaf
    chain: CertFile | None = None
    if profile.chain is not None:
        found = cert_file(device, profile.chain, "client certificate chain")
        if isinstance(found, Unknown):
            return found
        chain = found
    notes = (*chosen.notes, *(chain.notes if chain else ()))
    return ClientCert(profile, leaf.certs[0], chain, notes, chosen.configured)


def resolve_client_ssl(
    boundary: BoundaryConfig, device: Device
) -> list[ClientSslProfile] | Unknown:
    """The client-ssl profiles of the boundary's virtual, in the virtual's order."""
    virtual = resolve_virtual(boundary, device)
    if isinstance(virtual, Unknown):
        return virtual
    paths = virtual.clientside_ssl()
    if paths and (unknown := device.unreadable(CLIENT_SSL)):
        return unknown
    profiles = []
    for path in paths:
        profile = device.state.client_ssl.get(path)
        if profile is None:
            return Unknown(device.name, f"client-ssl {path} not found on {device.name}")
        profiles.append(profile)
    return profiles


KUBERNETES: Final = "kubernetes"  # the source name of the mesh side
