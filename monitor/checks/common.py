"""Shared helpers of the checks: resolving a boundary's inputs, and expiry wording.

Owns what every check module builds on besides the contract (`monitor.checks.outcome`):
- Running a comparison per device (`per_device`): a device that could not be read is an
  unknown part; drifts and unknowns are stamped with the device name.
- Resolving what a boundary uses on one device (virtual, pool, server-ssl profile, CA bundle)
  and on the mesh (trust anchors, the backend Service's endpoints, the expected backend
  identity). Each resolver returns the object or an `Unknown` that says which input is
  missing and why, e.g. `bigip-a: could not read ltm/profile/server-ssl (http_403)`.
  An object absent from a collection that was read is absent; the checks that own that
  drift (`virtual_missing`, `peer_validation_disabled`, ...) report it, the others are
  unknown for that device.
- Grading a remaining lifetime against a `Threshold` and wording dates, durations and
  certificates the same way in every message.

Nothing here does I/O, reads the clock or logs.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Final, Generic, TypeVar

from monitor.catalogue import Severity
from monitor.certs import CertFacts, normalize_fingerprint
from monitor.checks.outcome import MESH, Evidence, Outcome, Unknown
from monitor.config.schema import BoundaryConfig, Config, Threshold
from monitor.model import (
    CaBundle,
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

# Addresses remembered by `endpoint_key` (and `routes_members.canonical_address`): tens of
# thousands of endpoints and pool members parsed once, not once per check and device.
ADDRESS_CACHE: Final = 1 << 16

KUBERNETES: Final = "kubernetes"  # the source name of the mesh side

# F5State.failed names: a mapping proves absence only when its collection is readable.
VIRTUALS: Final = "ltm/virtual"
POOLS: Final = "ltm/pool"
SERVER_SSL: Final = "ltm/profile/server-ssl"
CLIENT_SSL: Final = "ltm/profile/client-ssl"
SSL_CERTS: Final = "sys/file/ssl-cert"


# --- Devices --------------------------------------------------------------------------------


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


# --- Resolving a boundary's objects on one device -------------------------------------------

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Chosen(Generic[_T]):
    """A resolved object and, when there was a choice to make, a note saying how."""

    value: _T
    note: str = ""

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


def resolve_server_ssl(
    boundary: BoundaryConfig, device: Device
) -> Chosen[ServerSslProfile] | Unknown:
    """`boundary.server_ssl_profile`, or the virtual's server-ssl profile.

    With several server-ssl profiles on the virtual the first is used, and the choice is
    noted (BIG-IP picks among them by SNI; the expected state should name one).
    """
    path = boundary.server_ssl_profile
    note = ""
    if path is None:
        virtual = resolve_virtual(boundary, device)
        if isinstance(virtual, Unknown):
            return virtual
        paths = virtual.serverside_ssl()
        if not paths:
            detail = f"{device.name}: virtual {virtual.path} has no server-ssl profile"
            return Unknown(device.name, detail)
        path = paths[0]
        if len(paths) > 1:
            note = (
                f"{device.name}: virtual {virtual.path} has {len(paths)} server-ssl profiles"
                f" ({', '.join(paths)}); checked {path} (set serverSslProfile to choose)"
            )
    if unknown := device.unreadable(SERVER_SSL):
        return unknown
    profile = device.state.server_ssl.get(path)
    if profile is None:
        return Unknown(device.name, f"server-ssl {path} not found on {device.name}")
    return Chosen(profile, note)


@dataclass(frozen=True, slots=True)
class BundleUse:
    """The CA bundle a boundary's server-ssl profile validates pod certificates with."""

    profile: ServerSslProfile
    bundle: CaBundle
    members: tuple[SslCert, ...]
    note: str = ""

    @property
    def notes(self) -> tuple[str, ...]:
        return (self.note,) if self.note else ()

    @property
    def where(self) -> str:
        return f"CA bundle {self.bundle.path} (server-ssl {self.profile.path})"


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
    return BundleUse(profile, bundle, bundle.members, chosen.note)


# --- Resolving the mesh side ----------------------------------------------------------------


def service_key(boundary: BoundaryConfig) -> str:
    service = boundary.backend.service
    return f"{service.namespace}/{service.name}"


def backend_endpoints(boundary: BoundaryConfig, mesh: MeshState) -> ServiceEndpoints | Unknown:
    key = service_key(boundary)
    endpoints = mesh.services.get(key)
    if endpoints is None:
        return Unknown(MESH, f"{KUBERNETES}: endpoints of Service {key} unknown")
    return endpoints


def expected_identities(
    cfg: Config, boundary: BoundaryConfig, mesh: MeshState
) -> tuple[str, ...] | Unknown:
    """The backend's mesh identity: the configured one, or (identity `auto`) those of the
    ready endpoints' ServiceAccounts. Several is possible only with `auto`."""
    if boundary.backend.identity != "auto":
        return (boundary.backend.identity,)
    endpoints = backend_endpoints(boundary, mesh)
    if isinstance(endpoints, Unknown):
        return endpoints
    identities = endpoints.identities(cfg.mesh.linkerd_namespace, cfg.mesh.trust_domain)
    if not identities:
        key = service_key(boundary)
        return Unknown(MESH, f"no ready endpoints with a ServiceAccount behind {key}")
    return identities


def anchors_or_unknown(mesh: MeshState) -> tuple[CertFacts, ...] | Unknown:
    """The mesh trust anchors, each once (by fingerprint, first occurrence kept)."""
    if mesh.anchors is None:
        return Unknown(MESH, f"{KUBERNETES}: trust anchors unknown")
    return unique_certs(mesh.anchors)


def unique_certs(certs: Iterable[CertFacts]) -> tuple[CertFacts, ...]:
    """`certs` without repeats (same fingerprint), in the order of first occurrence."""
    first: dict[str, CertFacts] = {}
    for cert in certs:
        first.setdefault(cert.fingerprint_sha256, cert)
    return tuple(first.values())


@functools.lru_cache(maxsize=ADDRESS_CACHE)
def endpoint_key(address: str, port: int) -> str:
    """`address:port` with IPv6 in brackets and in canonical (compressed) form (remembered:
    each cycle asks it for every endpoint and pool member, in several checks and metrics)."""
    with contextlib.suppress(ValueError):  # not an IP address: compare as written
        address = ipaddress.ip_address(address).compressed
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


def member_fingerprint(member: SslCert) -> str | None:
    """A bundle member's lowercase hex SHA-256, from BIG-IP's field or the parsed PEM."""
    if member.fingerprint and (fp := normalize_fingerprint(member.fingerprint)):
        return fp
    return member.facts.fingerprint_sha256 if member.facts else None


def same_subject(a: str, b: str) -> bool:
    """Loose distinguished-name equality: `CN=x,O=y` = `/O=y/CN=x` = `o=y, cn=x`."""
    return _rdns(a) == _rdns(b)


def _rdns(name: str) -> frozenset[str]:
    parts = name.strip().lstrip("/").replace("/", ",").split(",")
    return frozenset(p.strip().lower().replace(" = ", "=") for p in parts if p.strip())


# --- Expiry -----------------------------------------------------------------------------------


def grade(remaining: timedelta, threshold: Threshold) -> Severity | None:
    """Critical when expired or less than `critical` remains; warning when less than
    `warning` remains; None otherwise. Exactly at a threshold is the milder side."""
    if remaining <= timedelta(0) or remaining < threshold.critical:
        return "critical"
    if remaining < threshold.warning:
        return "warning"
    return None


_UNITS: Final = (
    ("day", timedelta(days=1)),
    ("hour", timedelta(hours=1)),
    ("minute", timedelta(minutes=1)),
)


def humane_duration(span: timedelta) -> str:
    """A length of time the way a person says it: `20 days`, `36 hours`, `5 minutes`.

    Whole units, rounded down, in the largest unit that counts at least two (so `1 day
    20 hours` reads `44 hours`); below two minutes, seconds.
    """
    span = abs(span)
    for unit, size in _UNITS:
        count = span // size
        if count >= 2:
            return f"{count} {unit}s"
    seconds = int(span.total_seconds())
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def humane_remaining(remaining: timedelta) -> str:
    """`20 days` while time remains; `expired 3 days ago` (or `expired just now`) after."""
    if remaining > timedelta(0):
        return humane_duration(remaining)
    if remaining > timedelta(seconds=-1):
        return "expired just now"
    return f"expired {humane_duration(remaining)} ago"


def expiry_phrase(not_after: datetime, now: datetime) -> str:
    """`expires in 20 days, on 2026-12-16 05:00 UTC` or `expired 3 days ago, on …`."""
    remaining = not_after - now
    if remaining > timedelta(0):
        return f"expires in {humane_remaining(remaining)}, on {when(not_after)}"
    return f"{humane_remaining(remaining)}, on {when(not_after)}"


def when(moment: datetime) -> str:
    """A date for a message: `2026-12-16 05:00 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(moment: datetime) -> str:
    """A date for evidence: ISO 8601 in UTC, `2026-12-16T05:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_fp(fingerprint: str) -> str:
    return f"sha256 {fingerprint[:16]}…"


def describe(cert: CertFacts) -> str:
    """`CN=root.linkerd.cluster.local (sha256 ab12cd34ef56ab78…)`."""
    return f"{cert.subject} ({short_fp(cert.fingerprint_sha256)})"


def cert_evidence(prefix: str, cert: CertFacts) -> Evidence:
    return (
        (f"{prefix}_fingerprint", cert.fingerprint_sha256),
        (f"{prefix}_subject", cert.subject),
        (f"{prefix}_not_after", iso(cert.not_after)),
    )
