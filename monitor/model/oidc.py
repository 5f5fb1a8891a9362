"""The OIDC identity layer as the sources read it: the IdP's keys and BIG-IP APM's copy.

`IdpState` is what one identity provider publishes (its discovery document and JWK Set,
research/oidc.md 1.1-1.2), filled by `monitor.sources.oidc`; `ApmState` is what one BIG-IP
device's Access Policy Manager holds for OAuth (providers, JWT and JWK configs, JWT provider
lists and OIDC discovery tasks, research/oidc.md 2), filled by `monitor.sources.f5.apm`.
Key material is public (RSA modulus and exponent, EC points, certificate thumbprints);
nothing secret is ever kept (a jwk-config's `sharedSecret` is never read).

Key identity (`Jwk.identity`) is (`kid`, `kty`), as APM enforces ("All the JWK configs in a
JWT config must have unique key-id for each key-type"); `Jwk.material` is what must agree
for the same identity: the RSA (n, e) pair, else the EC point, else the x5t thumbprint.

Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# JWK `kty` and APM `keyType` name the same key types differently.
KEY_TYPES = {"rsa": "RSA", "ec": "EC", "octet": "oct", "oct": "oct", "okp": "OKP"}


def normal_kty(value: str) -> str:
    """`RSA` for JWK `RSA` and APM `rsa`; other values as given."""
    return KEY_TYPES.get(value.strip().lower(), value.strip())


def b64url_trim(value: str | None) -> str | None:
    """A base64url value without `=` padding (BIG-IP 13.1 padded x5t, research/oidc.md 2.6)."""
    return value.strip().rstrip("=") if value else None


@dataclass(frozen=True, slots=True)
class Jwk:
    """One public key, from the IdP's JWK Set or from an APM jwk-config."""

    kid: str
    kty: str  # normalised: RSA, EC, oct, OKP
    use: str | None = None  # sig | enc | None (absent)
    alg: str | None = None
    n: str | None = None  # RSA modulus, base64url without padding
    e: str | None = None  # RSA public exponent
    crv: str | None = None
    x: str | None = None
    y: str | None = None
    x5t: str | None = None  # base64url SHA-1 thumbprint of the certificate
    x5t_s256: str | None = None
    cert_not_after: datetime | None = None  # of x5c[0], when it parsed
    cert_subject: str = ""
    path: str = ""  # the APM jwk-config's full path; "" for an IdP key
    cert_file: str | None = None  # APM: the ssl-cert file holding its certificate

    @property
    def identity(self) -> tuple[str, str]:
        return (self.kid, self.kty)

    @property
    def material(self) -> tuple[str, ...] | None:
        """What must agree between two keys of one identity; None: nothing to compare."""
        if self.n and self.e:
            return ("rsa", self.n, self.e)
        if self.x and self.crv:
            return ("ec", self.crv, self.x, self.y or "")
        if self.x5t_s256:
            return ("x5t#S256", self.x5t_s256)
        if self.x5t:
            return ("x5t", self.x5t)
        return None

    @property
    def signing(self) -> bool:
        """A signature key: `use` is `sig` or absent (RFC 7517 4.2)."""
        return self.use in (None, "sig")


@dataclass(frozen=True, slots=True)
class IdpState:
    """What one identity provider published, read completely in one poll."""

    provider: str  # the configured provider name
    discovery_url: str
    issuer: str | None  # the discovery document's `issuer`
    jwks_uri: str | None
    algs: tuple[str, ...]  # id_token_signing_alg_values_supported
    keys: tuple[Jwk, ...]
    fetched_at: datetime  # when the discovery document was read
    # how long the JWK Set may be reused (Cache-Control max-age); None: not cacheable
    max_age: timedelta | None = None
    notes: tuple[str, ...] = ()  # keys skipped and why (no kid, unparsable x5c, ...)


# -- BIG-IP APM ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    """An `apm aaa oauth-provider` (REST `apm/aaa/oauth-provider`)."""

    path: str
    type: str
    openid_cfg_uri: str | None
    use_auto_jwt_config: bool
    discovery_interval: int | None  # minutes (REST `discoveryInterval`); None: not reported
    auto_jwt_config: str | None  # `autoJwtConfigName` (UNVERIFIED name), or auto_jwt_<name>
    manual_jwt_config: str | None  # `manualJwtConfigName`
    ignore_expired_cert: bool
    last_discovery: datetime | None = None  # `lastDiscoveryTime` (UNVERIFIED name)

    @property
    def jwt_config(self) -> str | None:
        """The JWT config whose keys APM validates this provider's tokens with."""
        return self.auto_jwt_config if self.use_auto_jwt_config else self.manual_jwt_config


@dataclass(frozen=True, slots=True)
class JwtConfig:
    """An `apm oauth jwt-config`: the issuer, JWKS URI, keys and algorithms APM accepts."""

    path: str
    issuer: str | None
    jwks_uri: str | None
    allowed_keys: tuple[str, ...]  # jwk-config paths
    blocked_keys: tuple[str, ...]
    allowed_algs: tuple[str, ...]
    auto_generated: bool


@dataclass(frozen=True, slots=True)
class DiscoveryTask:
    """One periodic OIDC discovery task (`GET /mgmt/tm/access/oidc/discover`)."""

    id: str
    provider: str  # providerName, as a full path
    status: str  # "" when not reported; CANCEL_REQUESTED when stopped
    interval: int | None = None  # minutes, when reported (UNVERIFIED field)

    @property
    def cancelled(self) -> bool:
        return self.status.upper().startswith("CANCEL")


@dataclass(frozen=True, slots=True)
class ApmState:
    """What one device's APM holds for OAuth, or that APM is not provisioned there.

    A mapping only proves absence when its collection is not in `failed` (the names of
    `monitor.requirements`: `apm/aaa/oauth-provider`, ...). `provisioned` False: APM's
    level is `none` and nothing else was read (no errors either).
    """

    provisioned: bool | None  # None: sys/provision could not be read (APM was read anyway)
    providers: Mapping[str, OAuthProvider] = field(default_factory=dict)
    jwt_configs: Mapping[str, JwtConfig] = field(default_factory=dict)
    jwk_configs: Mapping[str, Jwk] = field(default_factory=dict)
    provider_lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tasks: tuple[DiscoveryTask, ...] = ()
    failed: frozenset[str] = frozenset()

    def readable(self, *collections: str) -> bool:
        return not any(c in self.failed for c in collections)
