"""The expected state: the config file (DESIGN section 3) as frozen dataclasses.

Owns the schema, its defaults and the cross-field and cross-reference rules (boundary
devices, ignore rules, thresholds, credentials). The field shapes (URLs, names,
fingerprints, listen addresses) are in monitor.config.fields; the generic
YAML-to-dataclass mechanics in monitor.config.decode; durations in
monitor.config.durations. Every error is a ConfigError naming its YAML path, e.g.
`boundaries[2].backend.service: required`. Secrets are never read from the file itself:
only file paths and environment variable names are, and their values are never echoed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from monitor.catalogue import Severity
from monitor.config.decode import NON_EMPTY, UNIQUE, between, camel_case, decode, load_yaml
from monitor.config.decode import ConfigError as ConfigError
from monitor.config.durations import format_duration
from monitor.config.durations import parse_duration as parse_duration
from monitor.config.fields import (
    CertGlob,
    CheckId,
    DnsName,
    EnvName,
    Fingerprint,
    FullPath,
    Listen,
    Name,
    Partition,
    Port,
    PortName,
    PositiveDuration,
    Url,
)
from monitor.config.files import CONFIG_LIMIT, read_limited
from monitor.config.identity import IdentityProviderConfig, check_identity_providers
from monitor.config.strictyaml import quote

# The schema -------------------------------------------------------------------------------


def _days(count: int) -> timedelta:
    return timedelta(days=count)


ISSUER_CONFIG_MAP = "linkerd-identity-issuer-public"  # mesh.issuer.configMap's default


@dataclass(frozen=True, slots=True)
class IssuerSourceConfig:
    """Where the identity issuer is read: the Secret (its certificate; the key is dropped on
    arrival), the cert-manager Certificate's spec and status, or a ConfigMap publishing the
    certificate only. The last two never read the Secret."""

    source: Literal["secret", "certificate", "configMap"] = "secret"
    config_map: Name | None = None  # source configMap; None = ISSUER_CONFIG_MAP

    @property
    def config_map_name(self) -> str:
        return self.config_map or ISSUER_CONFIG_MAP


@dataclass(frozen=True, slots=True)
class MeshConfig:
    kubeconfig: Path | None = None  # None = in-cluster
    context: str | None = None
    linkerd_namespace: Name = "linkerd"
    trust_domain: str = "cluster.local"
    pinned_trust_anchors: Annotated[tuple[Fingerprint, ...], UNIQUE] = ()  # lowercase hex
    issuer: IssuerSourceConfig = IssuerSourceConfig()
    # the backends' kinds watched per backend namespace (Roles there) or cluster-wide (one
    # ClusterRole; a number of watches that does not grow with the namespaces)
    watch_scope: Literal["namespaces", "cluster"] = "namespaces"


@dataclass(frozen=True, slots=True)
class BigIPConfig:
    forbidden_keys: ClassVar[dict[str, str]] = {
        "password": "inline passwords are not allowed; use passwordFile or passwordEnv",
    }

    name: Name
    url: Url
    username: str | None = None
    username_file: Path | None = None
    username_env: EnvName | None = None
    password_file: Path | None = None
    password_env: EnvName | None = None
    ca_file: Path | None = None
    insecure: bool = False
    partitions: Annotated[tuple[Partition, ...], NON_EMPTY, UNIQUE] = ("Common",)
    # ssl-cert paths left out of the certificate store's series and listing (fnmatch globs)
    exclude_certificates: Annotated[tuple[CertGlob, ...], UNIQUE] = ()
    ha_group: str | None = None
    bundle_reader: Literal["auto", "ca-bundle-manager", "bash", "none"] = "auto"
    auth_type: Literal["token", "basic"] = "token"
    login_provider_name: str = "tmos"


@dataclass(frozen=True, slots=True)
class ServiceRef:
    namespace: Name
    name: Name
    port: Port | PortName


@dataclass(frozen=True, slots=True)
class BackendConfig:
    service: ServiceRef
    identity: str = "auto"  # "auto" = from the backend pods' ServiceAccount


@dataclass(frozen=True, slots=True)
class BoundaryConfig:
    name: str
    mode: Literal["mesh-tls", "plaintext"]
    devices: Annotated[tuple[str, ...], NON_EMPTY, UNIQUE]
    virtual: FullPath
    backend: BackendConfig
    pool: FullPath | None = None  # None = the virtual's pool
    server_ssl_profile: FullPath | None = None  # None = the virtual's server-ssl profile
    client_identity: str | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    """Remaining lifetime below which a certificate is a warning / critical finding."""

    warning: timedelta
    critical: timedelta


@dataclass(frozen=True, slots=True)
class Thresholds:
    trust_anchor: Threshold = Threshold(_days(60), _days(14))
    issuer: Threshold = Threshold(_days(30), _days(7))
    boundary_cert: Threshold = Threshold(_days(28), _days(14))
    edge_cert: Threshold = Threshold(_days(28), _days(14))


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    check: CheckId
    boundary: str  # a boundary name or "*"
    reason: str
    object: str | None = None  # None = any object
    until: date | None = None  # None = no end date


@dataclass(frozen=True, slots=True)
class PollConfig:
    interval: PositiveDuration = timedelta(seconds=60)
    timeout: PositiveDuration = timedelta(seconds=30)
    f5_page_size: Annotated[int, between(1, 1000)] = 100
    f5_concurrency: Annotated[int, between(1, 32)] = 4
    max_response_mib: Annotated[int, between(1, 1024)] = 64  # per response, BIG-IP and k8s


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: Listen = ":9879"
    web_config: Path | None = None  # exporter-toolkit web config file


@dataclass(frozen=True, slots=True)
class AlertmanagerConfig:
    forbidden_keys: ClassVar[dict[str, str]] = {
        "password": "inline passwords are not allowed; use passwordFile or passwordEnv",
        "bearerToken": "inline tokens are not allowed; use bearerTokenFile",
    }

    url: Url
    resend_interval: PositiveDuration = timedelta(minutes=1)
    min_severity: Severity = "warning"
    ca_file: Path | None = None  # None = the system's CA certificates
    username: str | None = None  # basic auth, with passwordFile or passwordEnv
    password_file: Path | None = None
    password_env: EnvName | None = None
    bearer_token_file: Path | None = None  # read for every push (rotated tokens)


@dataclass(frozen=True, slots=True)
class LeaderElectionConfig:
    enabled: bool = False
    lease_name: DnsName = "f5-linkerd-monitor"
    namespace: Name | None = None  # None = the pod's own namespace


@dataclass(frozen=True, slots=True)
class StateConfig:
    """Where the daemon keeps its memory across restarts (monitor.state.file)."""

    file: Path | None = None  # None = in memory only


@dataclass(frozen=True, slots=True)
class Config:
    bigip: Annotated[tuple[BigIPConfig, ...], NON_EMPTY]
    boundaries: Annotated[tuple[BoundaryConfig, ...], NON_EMPTY]
    mesh: MeshConfig = MeshConfig()
    thresholds: Thresholds = Thresholds()
    ignore: tuple[IgnoreRule, ...] = ()
    poll: PollConfig = PollConfig()
    server: ServerConfig = ServerConfig()
    alertmanager: AlertmanagerConfig | None = None
    leader_election: LeaderElectionConfig = LeaderElectionConfig()
    state: StateConfig = StateConfig()
    identity_providers: tuple[IdentityProviderConfig, ...] = ()  # monitor.config.identity

    def device(self, name: str) -> BigIPConfig:
        """The BIG-IP device called `name`; KeyError if there is none."""
        for device in self.bigip:
            if device.name == name:
                return device
        raise KeyError(name)

    def boundary(self, name: str) -> BoundaryConfig:
        """The boundary called `name`; KeyError if there is none."""
        for boundary in self.boundaries:
            if boundary.name == name:
                return boundary
        raise KeyError(name)


# Loading ----------------------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """Read, parse and validate the config file; raises ConfigError."""
    try:
        text = read_limited(path, CONFIG_LIMIT).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("", f"config file {path} is not valid UTF-8") from None
    except OSError as err:
        raise ConfigError("", f"cannot read config file {path}: {err.strerror or err}") from None
    data = load_yaml(text)
    # absolute(), not resolve(): a mounted ConfigMap is a symlink into a directory that
    # changes on every update, so relative paths stay relative to the path as given.
    return parse_config(data, path.absolute().parent)


def parse_config(data: object, base_dir: Path) -> Config:
    """Validate parsed YAML (e.g. from yaml.safe_load); relative paths join `base_dir`."""
    if data is None:
        raise ConfigError("", "the config file is empty")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise ConfigError("", f"the config file must be a mapping of sections, not {kind}")
    config = decode(Config, data, base_dir)
    _validate(config)
    return config


# Cross-field and cross-reference checks ---------------------------------------------------


def _validate(config: Config) -> None:
    _check_unique_names("bigip", [device.name for device in config.bigip])
    for index, device in enumerate(config.bigip):
        _check_device(f"bigip[{index}]", device)
    _check_unique_names("boundaries", [boundary.name for boundary in config.boundaries])
    devices = {device.name for device in config.bigip}
    for index, boundary in enumerate(config.boundaries):
        _check_boundary(f"boundaries[{index}]", boundary, devices)
    for role in ("trust_anchor", "issuer", "boundary_cert", "edge_cert"):
        threshold: Threshold = getattr(config.thresholds, role)
        if threshold.critical > threshold.warning:
            raise ConfigError(
                f"thresholds.{camel_case(role)}.critical",
                f"{format_duration(threshold.critical)} is longer than warning "
                f"{format_duration(threshold.warning)}",
            )
    boundaries = {boundary.name for boundary in config.boundaries}
    check_identity_providers(config.identity_providers, devices, boundaries)
    scopes = boundaries | {idp.name for idp in config.identity_providers}
    what = "boundary or identity provider" if config.identity_providers else "boundary"
    for index, rule in enumerate(config.ignore):
        if rule.boundary != "*" and rule.boundary not in scopes:
            raise ConfigError(
                f"ignore[{index}].boundary",
                f"unknown {what} {quote(rule.boundary)}",
            )
    if config.alertmanager is not None:
        _check_alertmanager("alertmanager", config.alertmanager)
    issuer = config.mesh.issuer
    if issuer.config_map is not None and issuer.source != "configMap":
        message = f"only used with source: configMap (source is {quote(issuer.source)})"
        raise ConfigError("mesh.issuer.configMap", message)
    if config.poll.timeout > config.poll.interval:
        raise ConfigError(
            "poll.timeout",
            f"{format_duration(config.poll.timeout)} is longer than interval "
            f"{format_duration(config.poll.interval)}",
        )


def _check_unique_names(section: str, names: list[str]) -> None:
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in first:
            raise ConfigError(
                f"{section}[{index}].name",
                f"duplicate name {quote(name)} (already used by {section}[{first[name]}])",
            )
        first[name] = index


def _check_device(path: str, device: BigIPConfig) -> None:
    if not device.url.lower().startswith("https://"):
        raise ConfigError(
            f"{path}.url",
            "must be https:// (iControl REST over http:// would send the password and"
            " tokens in cleartext)",
        )
    _exactly_one(
        path,
        username=device.username,
        usernameFile=device.username_file,
        usernameEnv=device.username_env,
    )
    _exactly_one(path, passwordFile=device.password_file, passwordEnv=device.password_env)
    if device.insecure and device.ca_file is not None:
        raise ConfigError(f"{path}.caFile", "not allowed together with insecure: true")
    if not device.insecure and device.ca_file is None:
        raise ConfigError(
            f"{path}.caFile",
            "required to verify the BIG-IP's TLS certificate (or set insecure: true)",
        )


def _check_alertmanager(path: str, am: AlertmanagerConfig) -> None:
    passwords = [
        key
        for key, v in (("passwordFile", am.password_file), ("passwordEnv", am.password_env))
        if v
    ]
    if len(passwords) > 1:
        raise ConfigError(path, "only one of passwordFile, passwordEnv may be set")
    if am.username is not None and not passwords:
        raise ConfigError(f"{path}.username", "needs passwordFile or passwordEnv")
    if passwords and am.username is None:
        raise ConfigError(f"{path}.{passwords[0]}", "needs username")
    if am.bearer_token_file is not None and am.username is not None:
        raise ConfigError(f"{path}.bearerTokenFile", "not allowed together with username")
    if not am.url.lower().startswith("https://"):
        credential = next(
            (key for key, v in (("username", am.username),
                                ("bearerTokenFile", am.bearer_token_file)) if v),
            None,
        )  # fmt: skip
        if credential is not None:
            raise ConfigError(
                f"{path}.url",
                f"must be https:// with {credential} (http:// would send the credentials in"
                " cleartext)",
            )
    if am.ca_file is not None and not am.url.lower().startswith("https://"):
        raise ConfigError(f"{path}.caFile", "only used with an https:// url")


def _exactly_one(path: str, **settings: object) -> None:
    present = [key for key, value in settings.items() if value is not None]
    if not present:
        raise ConfigError(path, f"one of {', '.join(settings)} is required")
    if len(present) > 1:
        raise ConfigError(
            path, f"set only one of {', '.join(settings)} (found {', '.join(present)})"
        )


def _check_boundary(path: str, boundary: BoundaryConfig, devices: set[str]) -> None:
    if boundary.name == "*":
        raise ConfigError(f"{path}.name", '"*" is reserved (it means any boundary in ignore)')
    for index, name in enumerate(boundary.devices):
        if name not in devices:
            raise ConfigError(f"{path}.devices[{index}]", f"unknown device {quote(name)}")
    if boundary.mode == "plaintext":
        for key, value in (
            ("serverSslProfile", boundary.server_ssl_profile),
            ("clientIdentity", boundary.client_identity),
        ):
            if value is not None:
                raise ConfigError(f"{path}.{key}", "not used with mode: plaintext (remove it)")
