"""What the sources observe and what the checks conclude: I/O-free dataclasses.

The sources (`monitor.sources.*`) fill these from the BIG-IP and Kubernetes APIs;
the checks (`monitor.checks`) read them and produce `CheckState`s and `Finding`s;
`monitor.state.snapshot`, `monitor.render.exposition` and `monitor.web.server` render them.
Nothing here does I/O or reads the clock.

Unknown is neither fine nor drift: an object that was looked for and is absent
is represented as absent (a key missing from a mapping whose collection was read
completely), while an object that could not be read at all shows up as a failed
collection (`F5State.failed`) or a `None` field with the reason in `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from monitor.catalogue import Severity, State
from monitor.certs import CertFacts, CertNames
from monitor.policy.model import MeshPolicy, PodInfo

# Reason codes of source errors: a public contract (the `reason` label), documented in
# docs/configuration.md (Source errors).
REASONS = (
    "timeout",
    "connect_error",
    "tls_error",
    "http_401",
    "http_403",
    "http_404",
    "http_4xx",
    "http_5xx",
    "bad_json",
    "bad_pem",
    "rate_limited",
    "watch_expired",
    "auth_failed",
    "credentials_unreadable",
    "protocol_error",
    "paging_loop",
    "internal_error",
    "response_too_large",
)


@dataclass(frozen=True, slots=True)
class SourceError:
    """One thing a source could not read, with a fixed reason code and a human message."""

    reason: str
    message: str
    target: str = ""  # what was being read, e.g. "ltm/virtual" or "configmap linkerd/x"


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How one poll of one source went."""

    source: str  # "bigip-a", "kubernetes"
    kind: Literal["bigip", "kubernetes"]
    up: bool  # everything the checks need was read
    errors: tuple[SourceError, ...] = ()
    duration_seconds: float = 0.0
    requests: Mapping[str, int] = field(default_factory=dict)  # by HTTP status code or "error"


# --- BIG-IP -----------------------------------------------------------------------------


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

    def readable(self, *collections: str) -> bool:
        return not any(c in self.failed for c in collections)


# --- Kubernetes / Linkerd -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Issuer:
    scheme: str  # linkerd.io/tls | kubernetes.io/tls
    cert: CertFacts
    chain: tuple[CertFacts, ...]  # extra intermediates after the issuer in its PEM
    ca_bundle: tuple[CertFacts, ...] = ()  # ca.crt of a kubernetes.io/tls Secret


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint of a Service port, as its EndpointSlices and Pod say."""

    address: str
    port: int
    ready: bool
    pod: str | None  # "namespace/name" when the targetRef names a Pod
    service_account: str | None
    meshed: bool | None  # None: the pod could not be read

    @property
    def key(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServiceEndpoints:
    namespace: str
    name: str
    port: str  # the Service port as configured (number or name)
    endpoints: tuple[Endpoint, ...]

    def identities(self, linkerd_namespace: str, trust_domain: str) -> tuple[str, ...]:
        """The mesh identities of the ready endpoints' ServiceAccounts, sorted."""
        accounts = {e.service_account for e in self.endpoints if e.ready and e.service_account}
        return tuple(
            sorted(
                mesh_identity(sa, self.namespace, linkerd_namespace, trust_domain)
                for sa in accounts
            )
        )


@dataclass(frozen=True, slots=True)
class ProxyBundle:
    """The trust bundle frozen into one meshed pod's proxy at injection time."""

    pod: str  # "namespace/name"
    anchors: tuple[str, ...] | None  # SHA-256 fingerprints, in order; None: unreadable
    problem: str = ""  # why `anchors` is None

    @property
    def namespace(self) -> str:
        return self.pod.partition("/")[0]


@dataclass(frozen=True, slots=True)
class CertManagerCertificate:
    """The cert-manager `Certificate` that renews the issuer, as its spec and status say."""

    name: str  # "namespace/name"
    duration: timedelta | None
    renew_before: timedelta | None
    not_after: datetime | None
    renewal_time: datetime | None
    ready: bool | None
    message: str = ""
    # What the spec asks of the issued certificate (its status says nothing else about it):
    not_before: datetime | None = None  # status.notBefore
    is_ca: bool = False  # spec.isCA (cert-manager's default: false)
    common_name: str = ""
    dns_names: tuple[str, ...] = ()
    key_algorithm: str = "RSA"  # spec.privateKey.algorithm (cert-manager's default: RSA)
    key_size: int | None = None  # spec.privateKey.size; None: the algorithm's default
    issuer_ref: str = ""  # spec.issuerRef as "Kind/name"


@dataclass(frozen=True, slots=True)
class MeshState:
    """What the Kubernetes API says about the mesh.

    None means unknown (the reason is among the source's errors) for `anchors`,
    `issuer`, `config_anchors`, `proxies`, `policy` and each `services` entry.
    `issuer_certificate` is None both when there is no cert-manager Certificate and when
    it could not be read; `unknown` names the optional parts that could not be read.
    With `issuer_source` "certificate" no issuer certificate is read (`issuer` is always
    None): `issuer_certificate` is then the issuer's only source.
    """

    anchors: tuple[CertFacts, ...] | None = None
    issuer: Issuer | None = None
    services: Mapping[str, ServiceEndpoints | None] = field(default_factory=dict)  # "ns/name"
    linkerd_version: str = ""
    anchors_from: str = ""  # where they were read: "linkerd/linkerd-identity-trust-roots"
    issuer_from: str = ""  # e.g. "linkerd/linkerd-identity-issuer"
    config_anchors: tuple[CertFacts, ...] | None = None  # linkerd-config values copy
    external_ca: bool | None = None  # identity.externalCA: trust-manager writes the ConfigMap
    proxies: tuple[ProxyBundle, ...] | None = None  # meshed pods behind the boundaries
    pods: Mapping[str, PodInfo] = field(default_factory=dict)  # "ns/name" behind boundaries
    policy: MeshPolicy | None = None
    issuer_certificate: CertManagerCertificate | None = None
    unknown: frozenset[str] = frozenset()  # e.g. {"issuer_certificate"}
    issuer_source: str = "secret"  # mesh.issuer.source: "certificate" reads no issuer cert


def mesh_identity(service_account: str, namespace: str, linkerd_ns: str, trust_domain: str) -> str:
    """`<sa>.<ns>.serviceaccount.identity.<linkerd-ns>.<trust-domain>` (Linkerd's format)."""
    return f"{service_account}.{namespace}.serviceaccount.identity.{linkerd_ns}.{trust_domain}"


# --- What a cycle observed, and what the checks concluded -------------------------------


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything one poll cycle read. A device missing from `f5` could not be read at all."""

    f5: Mapping[str, F5State]
    mesh: MeshState
    sources: tuple[SourceStatus, ...]

    def source_up(self, source: str) -> bool:
        return any(s.source == source and s.up for s in self.sources)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a person can act on; (check, boundary, device, object) identifies it."""

    check: str
    severity: Severity
    boundary: str
    device: str  # "" for findings about the mesh side
    object: str  # stable and bounded: a path, an address:port, a fingerprint
    message: str
    evidence: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.check, self.boundary, self.device, self.object)


@dataclass(frozen=True, slots=True)
class CheckState:
    check: str
    boundary: str
    state: State
    detail: str = ""  # for unknown: which input is missing and why
    # The `Finding.device` values ("" = the mesh side) whose findings could not be evaluated
    # this run because an input was unknown; their previous findings are carried over.
    unknown_parts: tuple[str, ...] = ()
    ignored: int = (
        0  # findings of this pair silenced by `ignore` rules (set by monitor.state.ignore)
    )


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """A check that raised on a boundary: the runner made it `unknown`; the caller logs it."""

    check: str
    boundary: str
    error: BaseException


@dataclass(frozen=True, slots=True)
class CheckResult:
    states: tuple[CheckState, ...] = ()
    findings: tuple[Finding, ...] = ()
    failures: tuple[CheckFailure, ...] = ()


def worst(findings: tuple[Finding, ...] | list[Finding]) -> State:
    """The state a set of findings gives a (check, boundary): pass when there are none."""
    if any(f.severity == "critical" for f in findings):
        return "critical"
    return "warning" if findings else "pass"
