"""What the Kubernetes API says about the mesh, as the mesh source reads it: dataclasses.

The identity issuer and its cert-manager Certificate, the Service endpoints behind the
boundaries, the trust bundles frozen into meshed proxies, all gathered in `MeshState`,
and Linkerd's identity format (`mesh_identity`). Filled by `monitor.sources.mesh`; read
by the checks. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.certs import CertFacts
from monitor.policy.model import MeshPolicy, PodInfo


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
    `issuer`, `config_anchors`, `proxies`, `policy` and each `services`, `service_accounts`
    and `server_pods` entry.
    `issuer_certificate` is None both when there is no cert-manager Certificate and when
    it could not be read; `unknown` names the optional parts that could not be read.
    With `issuer_source` "certificate" the Secret is not read: `issuer` is the issued
    certificate from cert-manager's CertificateRequest of the current revision (public
    parts), or None with `issuer_note` saying why; `issuer_certificate` describes it too.
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
    issuer_source: str = "secret"  # mesh.issuer.source: "certificate" reads no Secret
    issuer_note: str = ""  # "certificate": why the issued certificate was not read
    # The policy's reach (`monitor.sources.mesh.reach`). A key that is missing was not read.
    # namespace → the names of its ServiceAccounts (None: unreadable), for the namespaces
    # the backends' MeshTLSAuthentications name; an empty set: the namespace does not exist
    service_accounts: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    # "namespace/name" of each Server of the backend namespaces → how many live pods its
    # podSelector selects (None: the namespace's pods could not be read, or not all of them)
    server_pods: Mapping[str, int | None] = field(default_factory=dict)

    @property
    def issuer_dated_only(self) -> CertManagerCertificate | None:
        """The Certificate, when it is all that is known of the issuer (`issuer_source`
        "certificate" without the issued certificate) and it gives the issued dates
        (`status.notAfter`): dates and spec, no fingerprint, key or signature."""
        managed = self.issuer_certificate
        if self.issuer is None and self.issuer_source == "certificate" and managed:
            return managed if managed.not_after is not None else None
        return None


def mesh_identity(service_account: str, namespace: str, linkerd_ns: str, trust_domain: str) -> str:
    """`<sa>.<ns>.serviceaccount.identity.<linkerd-ns>.<trust-domain>` (Linkerd's format)."""
    return f"{service_account}.{namespace}.serviceaccount.identity.{linkerd_ns}.{trust_domain}"
