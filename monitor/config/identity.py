"""The `identityProviders:` section: OIDC identity providers BIG-IP APM is expected to trust.

Owns `IdentityProviderConfig` (one IdP: its issuer, an optional Entra `appid`, the CA
that verifies its TLS, the BIG-IP devices and the APM OAuth provider path expected to
trust it, and the thresholds of the `oidc` checks) and its cross-field rules
(`check_identity_providers`). Every error names its YAML path, e.g.
`identityProviders[0].devices[1]: unknown device "bigip-c"`.

The OIDC checks report under the provider's name where the other families put a boundary
name (the `boundary` label), so provider names may not be boundary names.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from monitor.config.decode import NON_EMPTY, UNIQUE, ConfigError
from monitor.config.durations import format_duration
from monitor.config.fields import FullPath, Name, PositiveDuration, Url
from monitor.config.strictyaml import quote

__all__ = [
    "DISCOVERY_PATH",
    "IdentityProviderConfig",
    "OidcThresholds",
    "check_identity_providers",
]

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Entra's pseudo-tenants never appear in a token's `iss` (research/oidc.md 1.1).
ENTRA_PSEUDO_TENANTS = ("common", "organizations", "consumers")


@dataclass(frozen=True, slots=True)
class CertThreshold:
    """Remaining lifetime of an IdP signing certificate (x5c) below which it is a finding."""

    warning: timedelta = timedelta(days=30)
    critical: timedelta = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class OidcThresholds:
    """How long a gap may last before it is critical (the debounce of the key checks)."""

    # An IdP key BIG-IP lacks: critical after this long (None = twice the provider's
    # discoveryInterval as BIG-IP reports it, 2h when it does not).
    key_missing_critical: PositiveDuration | None = None
    # A key BIG-IP still accepts that the IdP no longer publishes: critical after this long.
    stale_key_critical: PositiveDuration = timedelta(hours=24)
    signing_cert: CertThreshold = CertThreshold()


@dataclass(frozen=True, slots=True)
class IdentityProviderConfig:
    """One OIDC identity provider and the APM OAuth provider expected to follow its keys."""

    name: Name
    issuer: Url  # https, no query or fragment: the `iss` of its tokens
    devices: Annotated[tuple[str, ...], NON_EMPTY, UNIQUE]
    oauth_provider: FullPath  # the APM OAuth provider object, e.g. /Common/okta-provider
    kind: Literal["generic", "okta", "entra"] = "generic"
    appid: str | None = None  # Entra: the app with custom signing keys (`?appid=`)
    ca_file: Path | None = None  # None = the system's CA certificates
    # Manual keys by design (`useAutoJwtConfig false`): oidc_jwks_refresh_disabled passes
    # while no key is missing.
    manual_keys: bool = False
    thresholds: OidcThresholds = OidcThresholds()

    @property
    def discovery_url(self) -> str:
        """`<issuer>/.well-known/openid-configuration`, with `?appid=` when configured."""
        url = self.issuer.rstrip("/") + DISCOVERY_PATH
        return f"{url}?appid={self.appid}" if self.appid else url

    @property
    def source(self) -> str:
        """The source name of its IdP poll (`source` label): `oidc:<name>`."""
        return f"oidc:{self.name}"

    def key_missing_critical(self, discovery_interval: timedelta | None) -> timedelta:
        """How long an IdP key may be missing on BIG-IP before it is critical."""
        if self.thresholds.key_missing_critical is not None:
            return self.thresholds.key_missing_critical
        if discovery_interval is not None and discovery_interval > timedelta(0):
            return 2 * discovery_interval
        return timedelta(hours=2)


def check_identity_providers(
    providers: tuple[IdentityProviderConfig, ...],
    devices: Collection[str],
    boundaries: Collection[str],
) -> None:
    """The cross-field rules of `identityProviders`; ConfigError naming the path."""
    first: dict[str, int] = {}
    for index, idp in enumerate(providers):
        path = f"identityProviders[{index}]"
        if idp.name in first:
            raise ConfigError(
                f"{path}.name",
                f"duplicate name {quote(idp.name)} (already used by"
                f" identityProviders[{first[idp.name]}])",
            )
        first[idp.name] = index
        if idp.name in boundaries:
            raise ConfigError(
                f"{path}.name",
                f"{quote(idp.name)} is also a boundary name (the oidc checks report under the"
                " provider's name in the boundary label)",
            )
        _check_issuer(f"{path}.issuer", idp)
        for at, device in enumerate(idp.devices):
            if device not in devices:
                raise ConfigError(f"{path}.devices[{at}]", f"unknown device {quote(device)}")
        if idp.appid is not None and not idp.appid.replace("-", "").isalnum():
            raise ConfigError(
                f"{path}.appid", f"expected an application id, got {quote(idp.appid)}"
            )
        cert = idp.thresholds.signing_cert
        if cert.critical > cert.warning:
            raise ConfigError(
                f"{path}.thresholds.signingCert.critical",
                f"{format_duration(cert.critical)} is longer than warning"
                f" {format_duration(cert.warning)}",
            )


def _check_issuer(path: str, idp: IdentityProviderConfig) -> None:
    parts = urlsplit(idp.issuer)
    if parts.scheme != "https":
        raise ConfigError(path, "must be https:// (OpenID Connect Discovery requires it)")
    if parts.query or parts.fragment:
        raise ConfigError(
            path,
            "an issuer has no query or fragment (for Entra's app-specific keys set appid)",
        )
    if idp.kind == "entra":
        tenant = parts.path.strip("/").split("/", 1)[0].lower()
        if tenant in ENTRA_PSEUDO_TENANTS:
            raise ConfigError(
                path,
                f"{quote(tenant)} is an Entra pseudo-tenant that never appears in a token's"
                " iss; use the tenant id",
            )
