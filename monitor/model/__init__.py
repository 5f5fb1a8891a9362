"""What the sources observe and what the checks conclude: I/O-free dataclasses.

The sources (`monitor.sources.*`) fill these from the BIG-IP and Kubernetes APIs;
the checks (`monitor.checks`) read them and produce `CheckState`s and `Finding`s;
`monitor.state.snapshot`, `monitor.render.exposition` and `monitor.web.server` render them.
Nothing here does I/O or reads the clock.

Unknown is neither fine nor drift: an object that was looked for and is absent
is represented as absent (a key missing from a mapping whose collection was read
completely), while an object that could not be read at all shows up as a failed
collection (`F5State.failed`) or a `None` field with the reason in `errors`.

The package is imported as one (`from monitor.model import ...`, the only import path):
what a BIG-IP device holds is defined in `bigip`, what the Kubernetes API says about the
mesh in `mesh`, the OIDC identity layer (an IdP's keys, APM's copy) in `oidc`; this module
defines how a source's poll went, what a cycle observed and what the checks concluded. May
import `monitor.catalogue`, `monitor.certs` and `monitor.policy` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from monitor.catalogue import Severity, State
from monitor.model.bigip import (
    CaBundle,
    CertKeyChain,
    ClientSslProfile,
    DeviceInfo,
    F5State,
    Pool,
    PoolMember,
    ProfileRef,
    ServerSslProfile,
    SslCert,
    SyncStatus,
    Virtual,
    partition_of,
)
from monitor.model.mesh import (
    CertManagerCertificate,
    Endpoint,
    Issuer,
    MeshState,
    ProxyBundle,
    ServiceEndpoints,
    mesh_identity,
)
from monitor.model.oidc import (
    ApmState,
    DiscoveryTask,
    IdpState,
    Jwk,
    JwtConfig,
    OAuthProvider,
)

__all__ = [
    "REASONS",
    "ApmState",
    "CaBundle",
    "CertKeyChain",
    "CertManagerCertificate",
    "CheckFailure",
    "CheckResult",
    "CheckState",
    "ClientSslProfile",
    "DeviceInfo",
    "DiscoveryTask",
    "Endpoint",
    "F5State",
    "Finding",
    "IdpState",
    "Issuer",
    "Jwk",
    "JwtConfig",
    "MeshState",
    "OAuthProvider",
    "Observed",
    "Pool",
    "PoolMember",
    "ProfileRef",
    "ProxyBundle",
    "ServerSslProfile",
    "ServiceEndpoints",
    "SourceError",
    "SourceStatus",
    "SslCert",
    "SyncStatus",
    "Virtual",
    "mesh_identity",
    "partition_of",
    "worst",
]

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
    kind: Literal["bigip", "kubernetes", "oidc"]
    up: bool  # everything the checks need was read
    errors: tuple[SourceError, ...] = ()
    duration_seconds: float = 0.0
    requests: Mapping[str, int] = field(default_factory=dict)  # by HTTP status code or "error"


# --- What a cycle observed, and what the checks concluded -------------------------------


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything one poll cycle read. A device missing from `f5` could not be read at all."""

    f5: Mapping[str, F5State]
    mesh: MeshState
    sources: tuple[SourceStatus, ...]
    # identity provider name → what it published; missing: it could not be read
    idp: Mapping[str, IdpState] = field(default_factory=dict)

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
