"""What every check needs to read: the one table `doctor`, docs/checks.md and the tests share.

A *need* is one thing the monitor's accounts must be allowed to read: a BIG-IP REST
collection (per device, in every configured partition), util/bash, or one Kubernetes
collection the mesh source watches (list/watch). `REQUIREMENTS` maps every check id of
`monitor.catalogue` to the needs without which it is `unknown`. A test denies each need in
turn on the simulated world and holds this table to what the checks really do; another
holds docs/checks.md to it.

The `oidc` checks also need the identity provider's discovery document and JWK Set, which
are public (no account): reaching them is a network matter, not a grant, so it is not a
need here; an IdP that cannot be read makes them `unknown` all the same.

`certificaterequests` is optional and no check's need in this table: the table holds for
the default `mesh.issuer.source: secret`, where it is not read. With `certificate` it stands
in for `issuer-secret` (the issued certificate, public), and without it the checks that
need the certificate itself stay `unknown` as they always were in that mode.

Least privilege first: everything except `util/bash` is an ordinary read-only grant; only
`client_cert_chain` and `client_cert_outlives_issuer` need the certificate files themselves
(signature chains), which only util/bash can read. Pure data, imports nothing of the
monitor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

__all__ = ["NEEDS", "REQUIREMENTS", "Need", "checks_without"]

Side = Literal["bigip", "kubernetes"]


@dataclass(frozen=True, slots=True)
class Need:
    key: str
    side: Side
    what: str  # how a person grants it


# BIG-IP: REST collections the source reads in every configured partition (the names the
# source reads by, F5State.failed holds and the checks test), and util/bash.
VIRTUALS: Final = "ltm/virtual"
POOLS: Final = "ltm/pool"
SERVER_SSL: Final = "ltm/profile/server-ssl"
CLIENT_SSL: Final = "ltm/profile/client-ssl"
SSL_CERTS: Final = "sys/file/ssl-cert"
CA_BUNDLES: Final = "sys/crypto/ca-bundle-manager"
DEVICES: Final = "cm/device"
SYNC_STATUS: Final = "cm/sync-status"
BASH: Final = "util/bash"
# BIG-IP APM (read only for devices an identity provider names; never sharedSecret)
PROVISION: Final = "sys/provision"
OAUTH_PROVIDERS: Final = "apm/aaa/oauth-provider"
JWT_CONFIGS: Final = "apm/oauth/jwt-config"
JWK_CONFIGS: Final = "apm/oauth/jwk-config"
JWT_PROVIDER_LISTS: Final = "apm/oauth/jwt-provider-list"
OIDC_TASKS: Final = "access/oidc/discover"
# Kubernetes: the collections of `monitor.sources.mesh.specs.Plan`, by what they hold.
TRUST_ROOTS: Final = "trust-roots"
LINKERD_CONFIG: Final = "linkerd-config"
ISSUER_SECRET: Final = "issuer-secret"
CONTROL_PODS: Final = "control-plane-pods"
CERTIFICATES: Final = "certificates"
CERTIFICATE_REQUESTS: Final = "certificaterequests"
SERVICES: Final = "services"
SLICES: Final = "endpointslices"
NAMESPACES: Final = "namespaces"
PODS: Final = "pods"
POLICY: Final = "policy"
SERVICE_ACCOUNTS: Final = "serviceaccounts"

_ALL: Final = (
    Need(VIRTUALS, "bigip", "REST GET /mgmt/tm/ltm/virtual (read-only role)"),
    Need(POOLS, "bigip", "REST GET /mgmt/tm/ltm/pool (read-only role)"),
    Need(SERVER_SSL, "bigip", "REST GET /mgmt/tm/ltm/profile/server-ssl (read-only role)"),
    Need(CLIENT_SSL, "bigip", "REST GET /mgmt/tm/ltm/profile/client-ssl (read-only role)"),
    Need(SSL_CERTS, "bigip", "REST GET /mgmt/tm/sys/file/ssl-cert (read-only role)"),
    Need(
        CA_BUNDLES,
        "bigip",
        "REST GET /mgmt/tm/sys/crypto/ca-bundle-manager (read-only role); with"
        " bundleReader bash, util/bash instead",
    ),
    Need(DEVICES, "bigip", "REST GET /mgmt/tm/cm/device (read-only role)"),
    Need(SYNC_STATUS, "bigip", "REST GET /mgmt/tm/cm/sync-status (read-only role)"),
    Need(
        BASH,
        "bigip",
        "POST /mgmt/tm/util/bash: a role that may run bash (Administrator, Resource Administrator)",
    ),
    Need(PROVISION, "bigip", "REST GET /mgmt/tm/sys/provision (read-only role)"),
    Need(OAUTH_PROVIDERS, "bigip", "REST GET /mgmt/tm/apm/aaa/oauth-provider (read-only role)"),
    Need(JWT_CONFIGS, "bigip", "REST GET /mgmt/tm/apm/oauth/jwt-config (read-only role)"),
    Need(JWK_CONFIGS, "bigip", "REST GET /mgmt/tm/apm/oauth/jwk-config (read-only role)"),
    Need(
        JWT_PROVIDER_LISTS,
        "bigip",
        "REST GET /mgmt/tm/apm/oauth/jwt-provider-list (read-only role)",
    ),
    Need(
        OIDC_TASKS,
        "bigip",
        "REST GET /mgmt/tm/access/oidc/discover (a role that may read it: UNVERIFIED for"
        " Guest/Auditor)",
    ),
    Need(TRUST_ROOTS, "kubernetes", "list/watch ConfigMap linkerd-identity-trust-roots"),
    Need(LINKERD_CONFIG, "kubernetes", "list/watch ConfigMap linkerd-config"),
    Need(ISSUER_SECRET, "kubernetes", "list/watch Secret linkerd-identity-issuer"),
    Need(CONTROL_PODS, "kubernetes", "list/watch the pods of the Linkerd namespace"),
    Need(
        CERTIFICATES,
        "kubernetes",
        "list/watch cert-manager Certificates in the Linkerd namespace (when served)",
    ),
    Need(
        CERTIFICATE_REQUESTS,
        "kubernetes",
        "list/watch cert-manager CertificateRequests in the Linkerd namespace (optional; only"
        " with mesh.issuer.source: certificate)",
    ),
    Need(SERVICES, "kubernetes", "list/watch the backend Services"),
    Need(SLICES, "kubernetes", "list/watch EndpointSlices in the backend namespaces"),
    Need(NAMESPACES, "kubernetes", "list/watch the backend Namespaces"),
    Need(PODS, "kubernetes", "list/watch pods in the backend namespaces"),
    Need(POLICY, "kubernetes", "list/watch policy.linkerd.io objects in the backend namespaces"),
    Need(
        SERVICE_ACCOUNTS,
        "kubernetes",
        "list/watch ServiceAccounts in the namespaces the backends' MeshTLSAuthentications name",
    ),
)
NEEDS: Final[Mapping[str, Need]] = MappingProxyType({n.key: n for n in _ALL})

_SERVER_SIDE = (VIRTUALS, SERVER_SSL)
_BUNDLE = (*_SERVER_SIDE, SSL_CERTS, CA_BUNDLES)
_ISSUER = (ISSUER_SECRET, LINKERD_CONFIG)
_ENDPOINTS = (SERVICES, SLICES, PODS)
_CHAIN = (*_BUNDLE, BASH, TRUST_ROOTS)
_POLICY = (LINKERD_CONFIG, NAMESPACES, POLICY)
_APM_KEYS = (OAUTH_PROVIDERS, JWT_CONFIGS, JWK_CONFIGS)

REQUIREMENTS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        check: frozenset(needs)
        for check, needs in {
            "trust_anchor_expiry": (TRUST_ROOTS,),
            "trust_anchor_not_yet_valid": (TRUST_ROOTS,),
            "trust_anchor_algorithm": (TRUST_ROOTS,),
            "trust_anchor_pin": (TRUST_ROOTS,),
            "issuer_expiry": (*_ISSUER, CERTIFICATES),
            "issuer_algorithm": _ISSUER,
            "issuer_not_ca": _ISSUER,
            "issuer_chain": (*_ISSUER, TRUST_ROOTS),
            "issuer_outlives_anchor": (*_ISSUER, TRUST_ROOTS),
            "trust_roots_config_mismatch": (TRUST_ROOTS, LINKERD_CONFIG),
            "proxy_trust_bundle_stale": (TRUST_ROOTS, SERVICES, PODS),
            "bundle_missing_anchor": (*_BUNDLE, TRUST_ROOTS),
            "bundle_stale_anchor": (*_BUNDLE, TRUST_ROOTS),
            "bundle_cert_expiry": _BUNDLE,
            "peer_validation_disabled": _SERVER_SIDE,
            "sni_mismatch": (*_SERVER_SIDE, *_ENDPOINTS),
            "authenticate_name_mismatch": (*_SERVER_SIDE, *_ENDPOINTS),
            "expired_cert_accepted": _SERVER_SIDE,
            "untrusted_cert_accepted": _SERVER_SIDE,
            "tls13_disabled": _SERVER_SIDE,
            "client_cert_missing": _SERVER_SIDE,
            "client_cert_expiry": (*_SERVER_SIDE, SSL_CERTS),
            "client_cert_chain": _CHAIN,
            "client_identity_mismatch": (*_SERVER_SIDE, SSL_CERTS),
            "client_identity_unauthorized": (
                *_SERVER_SIDE,
                SSL_CERTS,
                LINKERD_CONFIG,
                *_ENDPOINTS,
                NAMESPACES,
                POLICY,
            ),
            "client_cert_outlives_issuer": _CHAIN,
            "virtual_missing": (VIRTUALS,),
            "virtual_disabled": (VIRTUALS,),
            "virtual_pool_mismatch": (VIRTUALS,),
            "virtual_profile_mismatch": (VIRTUALS,),
            "pool_member_missing": (VIRTUALS, POOLS, SERVICES, SLICES),
            "pool_member_extra": (VIRTUALS, POOLS, SERVICES, SLICES),
            "pool_member_port_mismatch": (VIRTUALS, POOLS, SERVICES, SLICES),
            "pool_member_unmeshed": _ENDPOINTS,
            "open_onramp": (LINKERD_CONFIG, *_ENDPOINTS, NAMESPACES, POLICY),
            "edge_cert_expiry": (VIRTUALS, CLIENT_SSL, SSL_CERTS),
            "edge_sni_uncovered": (VIRTUALS, CLIENT_SSL, SSL_CERTS),
            "ha_sync_status": (SYNC_STATUS,),
            "ha_peer_divergence": (VIRTUALS, POOLS, SERVER_SSL, CLIENT_SSL, SSL_CERTS, CA_BUNDLES),
            # policy: the policy objects are read whole or not at all (with the
            # namespaces' and linkerd-config's defaults)
            "policy_identity_unknown": (*_POLICY, SERVICE_ACCOUNTS),
            "policy_target_missing": _POLICY,
            "policy_server_selects_nothing": (*_POLICY, PODS),
            "oidc_discovery_issuer_mismatch": (OAUTH_PROVIDERS, JWT_CONFIGS),
            "oidc_jwks_uri_mismatch": (OAUTH_PROVIDERS, JWT_CONFIGS),
            "oidc_jwks_key_missing_on_bigip": _APM_KEYS,
            "oidc_jwks_key_material_mismatch": _APM_KEYS,
            "oidc_jwks_stale_key_on_bigip": _APM_KEYS,
            "oidc_jwks_refresh_disabled": (OAUTH_PROVIDERS, OIDC_TASKS),
            "oidc_signing_alg_mismatch": (OAUTH_PROVIDERS, JWT_CONFIGS),
            "oidc_signing_cert_expiry": _APM_KEYS,
        }.items()
    }
)


def checks_without(missing: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The checks that will be unknown when the needs `missing` are not granted: check id →
    the missing needs it depends on (in `NEEDS` order), for every affected check."""
    gone = set(missing)
    order = list(NEEDS)
    out: dict[str, tuple[str, ...]] = {}
    for check, needs in REQUIREMENTS.items():
        lacking = sorted(needs & gone, key=order.index)
        if lacking:
            out[check] = tuple(lacking)
    return out
