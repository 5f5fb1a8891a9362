"""What one BIG-IP device holds, as the F5 source reads it: I/O-free dataclasses.

The objects the boundaries use (virtuals, pools and members, server-ssl and client-ssl
profiles, ssl-cert files and CA bundles) and the device's HA view (`cm/sync-status`,
`cm/device`), gathered per device in `F5State`. Filled by `monitor.sources.f5`; read
by the checks. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from monitor.certs import CertFacts, CertNames
from monitor.model.oidc import ApmState


@dataclass(frozen=True, slots=True)
class SslCert:
    """A `sys/file/ssl-cert` object; for a bundle its top-level fields describe ONE member."""

    path: str
    is_bundle: bool
    fingerprint: str | None  # lowercase hex SHA-256 of the DER, from BIG-IP's "SHA256/AA:…"
    not_after: datetime | None
    subject: str
    issuer: str
    facts: CertFacts | None = None  # only when the PEM itself was read
    # From `subjectAlternativeName` (with the CN of `subject`); None when the field is
    # absent, which means "no SAN extension" only on a TMOS version that reports it
    # (`monitor.certs.reports_san` of `F5State.version`).
    alt_names: CertNames | None = None


@dataclass(frozen=True, slots=True)
class CaBundle:
    """The certificates a CA bundle file really holds, or why that is unknown."""

    path: str
    members: tuple[SslCert, ...] | None  # None: contents unknown
    reader: str  # "ca-bundle-manager", "bash", "none"
    unknown_reason: str = ""


@dataclass(frozen=True, slots=True)
class ServerSslProfile:
    path: str
    ca_file: str | None  # None for "none"
    peer_cert_mode: str
    server_name: str | None  # the SNI BIG-IP sends
    authenticate_name: str | None  # the name the server certificate must match
    expire_cert_response_control: str
    untrusted_cert_response_control: str
    tm_options: tuple[str, ...]
    cert: str | None
    key: str | None
    chain: str | None
    sni_default: bool = False  # REST "sniDefault": BIG-IP's fallback among a virtual's several


@dataclass(frozen=True, slots=True)
class CertKeyChain:
    name: str
    cert: str | None
    key: str | None
    chain: str | None


@dataclass(frozen=True, slots=True)
class ClientSslProfile:
    path: str
    cert_key_chain: tuple[CertKeyChain, ...]
    server_name: str | None
    sni_default: bool


@dataclass(frozen=True, slots=True)
class ProfileRef:
    path: str
    context: str  # clientside | serverside | all
    kind: str  # the profile type from nameReference.link: server-ssl, client-ssl, tcp, http, ...


@dataclass(frozen=True, slots=True)
class Virtual:
    path: str
    destination: str
    enabled: bool
    pool: str | None
    profiles: tuple[ProfileRef, ...]

    def serverside_ssl(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.profiles if p.kind == "server-ssl")

    def clientside_ssl(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.profiles if p.kind == "client-ssl")

    def server_ssl_in_use(
        self, configured: str | None, profiles: Mapping[str, ServerSslProfile]
    ) -> str | None:
        """The server-ssl profile that carries this virtual's traffic to its pool, as the
        checks judge it (None: the virtual carries none).

        `configured` (a boundary's `serverSslProfile`) when the virtual carries it; else the
        virtual's only one; of several (BIG-IP chooses among them by SNI), the one marked
        `sniDefault` (BIG-IP's fallback for every connection no other profile's
        `serverName` matches), else the first in the virtual's order.
        """
        paths = self.serverside_ssl()
        if configured is not None and configured in paths:
            return configured
        defaults = [p for p in paths if (found := profiles.get(p)) and found.sni_default]
        if len(defaults) == 1:
            return defaults[0]
        return paths[0] if paths else None


@dataclass(frozen=True, slots=True)
class PoolMember:
    address: str  # without route domain
    port: int
    name: str
    partition: str
    session: str
    state: str

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Pool:
    path: str
    members: tuple[PoolMember, ...]


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """`cm/sync-status` as the device reports it; `status` alone is not to be trusted
    (a real capture says `offline` while every detail says in sync)."""

    color: str  # green | blue | yellow | red | gray
    status: str  # In Sync | Changes Pending | Standalone | Disconnected | ...
    mode: str  # high-availability | standalone
    summary: str
    details: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One `cm/device` entry: a member of the device's trust domain."""

    name: str
    hostname: str
    failover_state: str  # active | standby | offline | ...
    version: str
    management_ip: str
    self_device: bool  # the device that answered


@dataclass(frozen=True, slots=True)
class F5State:
    """What one BIG-IP device holds, for the objects the boundaries use.

    A mapping only proves absence when its collection is not in `failed`.
    """

    device: str
    virtuals: Mapping[str, Virtual] = field(default_factory=dict)
    pools: Mapping[str, Pool] = field(default_factory=dict)
    server_ssl: Mapping[str, ServerSslProfile] = field(default_factory=dict)
    client_ssl: Mapping[str, ClientSslProfile] = field(default_factory=dict)
    certs: Mapping[str, SslCert] = field(default_factory=dict)
    bundles: Mapping[str, CaBundle] = field(default_factory=dict)
    failed: frozenset[str] = frozenset()  # collections that could not be read completely
    version: str = ""
    sync: SyncStatus | None = None  # None: "cm/sync-status" in failed (or not read)
    devices: tuple[DeviceInfo, ...] = ()  # cm/device; empty with "cm/device" in failed
    # APM's OAuth objects, read only when an identity provider names the device
    apm: ApmState | None = None

    def readable(self, *collections: str) -> bool:
        return not any(c in self.failed for c in collections)
