"""`server.webConfig`: TLS, client certificates and basic auth in the exporter-toolkit format.

The file has the layout of the Prometheus exporter-toolkit's web configuration
(`docs/web-configuration.md` there), so one file can serve this monitor and the exporters
beside it:

    tls_server_config:
      cert_file: server.crt            # relative paths: from this file's directory
      key_file: server.key
      client_auth_type: RequireAndVerifyClientCert
      client_ca_file: clients-ca.crt
      client_allowed_sans: [prometheus.monitoring.svc]
      min_version: TLS13               # TLS12 (default) or TLS13
      max_version: TLS13
    http_server_config:
      headers: {Strict-Transport-Security: max-age=31536000}
    basic_auth_users:
      prometheus: $2y$10$...           # bcrypt hashes (htpasswd -nBC 10 "" | tr -d ':\\n')

It is read strictly: unknown keys, wrong types, missing files, a certificate that does not
match its key and malformed bcrypt hashes are `WebConfigError`s naming the file and the
key (`tls_server_config.client_ca_file: ...`); hashes and passwords are never echoed.
Differences from the Go toolkit, all stated at load time:
- `cipher_suites`, `curve_preferences`, `prefer_server_cipher_suites` and `rate_limit` are
  ignored with a warning (OpenSSL's defaults apply);
- `http_server_config.http2: true` is accepted with a warning: HTTP/1.1 is served;
- inline `cert`, `key`, `client_ca` are refused (use the `*_file` keys);
- `RequestClientCert` asks for nothing, as `NoClientCert` (the certificate would not be
  used either way); `RequireAnyClientCert` is refused: Python's `ssl` cannot accept a
  certificate it has not verified, use `RequireAndVerifyClientCert`;
- TLS 1.0 and 1.1 are refused as versions.

`monitor.web.server` applies it to every endpoint, re-reading it when it or a file it names
changes.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from monitor.config import strictyaml
from monitor.config.decode import ConfigError, describe, did_you_mean
from monitor.config.files import CA_LIMIT, CONFIG_LIMIT, read_limited
from monitor.config.strictyaml import quote

CLIENT_AUTH_TYPES: Final = (
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
)
TLS_VERSIONS: Final = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
# The headers the toolkit lets a file set, with their allowed values (empty: any).
HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "Strict-Transport-Security": (),
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": (),
    "Content-Security-Policy": (),
}
_BCRYPT: Final = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
_IGNORED_TLS = ("cipher_suites", "curve_preferences", "prefer_server_cipher_suites")
_INLINE = {"cert": "cert_file", "key": "key_file", "client_ca": "client_ca_file"}
_TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_auth_type",
    "client_ca_file",
    "client_allowed_sans",
    "min_version",
    "max_version",
)


class WebConfigError(ConfigError):
    """A problem with the web config file, located by file and YAML path."""

    def __init__(self, path: str, message: str, file: Path | None = None) -> None:
        super().__init__(path, message)
        self.file = file

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file is not None else ""
        return where + super().__str__()


@dataclass(frozen=True, slots=True)
class TlsServerConfig:
    """`tls_server_config`, with paths made absolute."""

    cert_file: Path
    key_file: Path
    client_auth_type: str = "NoClientCert"
    client_ca_file: Path | None = None
    client_allowed_sans: tuple[str, ...] = ()
    min_version: str = "TLS12"
    max_version: str = "TLS13"

    @property
    def verifies_clients(self) -> bool:
        return self.client_auth_type in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert")

    def files(self) -> tuple[Path, ...]:
        extra = (self.client_ca_file,) if self.client_ca_file is not None else ()
        return (self.cert_file, self.key_file, *extra)

    def context(self) -> ssl.SSLContext:
        """A server-side SSLContext for these settings; WebConfigError if a file is bad."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = TLS_VERSIONS[self.min_version]
        ctx.maximum_version = TLS_VERSIONS[self.max_version]
        ctx.set_alpn_protocols(["http/1.1"])
        for key, path in (("cert_file", self.cert_file), ("key_file", self.key_file)):
            _readable(f"tls_server_config.{key}", path)
        try:
            # A password callback, so that an encrypted key fails instead of prompting.
            ctx.load_cert_chain(self.cert_file, self.key_file, password=lambda: b"")
        except (ssl.SSLError, ValueError) as err:
            raise WebConfigError(
                "tls_server_config",
                f"cert_file {self.cert_file} and key_file {self.key_file} are not a usable"
                f" certificate and unencrypted key ({_reason(err)})",
            ) from None
        if self.verifies_clients and self.client_ca_file is not None:
            _readable("tls_server_config.client_ca_file", self.client_ca_file)
            try:
                ctx.load_verify_locations(cafile=self.client_ca_file)
            except ssl.SSLError as err:
                raise WebConfigError(
                    "tls_server_config.client_ca_file",
                    f"{self.client_ca_file} holds no usable PEM certificate ({_reason(err)})",
                ) from None
            required = self.client_auth_type == "RequireAndVerifyClientCert"
            ctx.verify_mode = ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL
        return ctx


@dataclass(frozen=True)
class WebConfig:
    """The whole file. `users` maps user names to bcrypt hashes (never shown in repr)."""

    path: Path | None = None
    tls: TlsServerConfig | None = None
    headers: tuple[tuple[str, str], ...] = ()
    users: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = ()

    def files(self) -> tuple[Path, ...]:
        """The file itself and every file it names: a change to any of them reloads it."""
        own = (self.path,) if self.path is not None else ()
        return own + (self.tls.files() if self.tls is not None else ())

    def summary(self) -> str:
        """One line for the log: what protects the endpoints (no secrets)."""
        if self.tls is None:
            tls = "TLS off"
        else:
            tls = f"TLS on ({self.tls.min_version}-{self.tls.max_version}"
            tls += f", client certificates: {self.tls.client_auth_type})"
        users = len(self.users)
        auth = f"basic auth for {users} user{'s' if users != 1 else ''}" if users else "no auth"
        return f"{tls}; {auth}"


def load_web_config(path: Path) -> WebConfig:
    """Read and check the file at `path`, including the files it names."""
    try:
        text = read_limited(path, CONFIG_LIMIT).decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise WebConfigError("", f"cannot read: {_reason(err)}", path) from None
    try:
        return parse_web_config(text, path)
    except WebConfigError as err:
        raise WebConfigError(err.path, err.message, path) from None


def parse_web_config(text: str, path: Path) -> WebConfig:
    """The file's text → WebConfig; relative paths are taken from `path`'s directory."""
    try:
        doc = strictyaml.load(text)
    except strictyaml.YamlError as err:
        raise WebConfigError(err.path, err.message) from None
    if doc is None:
        return WebConfig(path=path)
    top = _mapping(doc, "")
    warnings: list[str] = []
    _known(
        top, "", ("tls_server_config", "http_server_config", "basic_auth_users"), ("rate_limit",)
    )
    if "rate_limit" in top:
        warnings.append("rate_limit is ignored: requests are not rate limited")
    tls = _tls(top.get("tls_server_config"), path.parent, warnings)
    headers = _http(top.get("http_server_config"), warnings)
    users = _users(top.get("basic_auth_users"))
    return WebConfig(path, tls, headers, users, tuple(warnings))


def _tls(value: object, base: Path, warnings: list[str]) -> TlsServerConfig | None:
    where = "tls_server_config"
    if value is None:
        return None
    tls = _mapping(value, where)
    for inline, instead in _INLINE.items():
        if inline in tls:
            raise WebConfigError(
                f"{where}.{inline}", f"inline PEM is not supported; put it in a file ({instead})"
            )
    _known(tls, where, _TLS_KEYS, _IGNORED_TLS)
    warnings.extend(
        f"{where}.{key} is ignored: OpenSSL's defaults apply" for key in _IGNORED_TLS if key in tls
    )
    if not any(key in tls for key in _TLS_KEYS):
        return None  # as in the toolkit: nothing set means plain HTTP
    auth = _string(tls.get("client_auth_type", "NoClientCert"), f"{where}.client_auth_type")
    auth = "RequireAnyClientCert" if auth == "RequireClientCert" else auth  # toolkit's alias
    if auth not in CLIENT_AUTH_TYPES:
        raise WebConfigError(
            f"{where}.client_auth_type",
            f"unknown value {quote(auth)}{did_you_mean(auth, CLIENT_AUTH_TYPES)} (one of "
            + ", ".join(CLIENT_AUTH_TYPES)
            + ")",
        )
    if auth == "RequireAnyClientCert":
        raise WebConfigError(
            f"{where}.client_auth_type",
            "RequireAnyClientCert accepts certificates without verifying them, which Python's"
            " ssl cannot do; use RequireAndVerifyClientCert with client_ca_file",
        )
    ca = _path(tls.get("client_ca_file"), f"{where}.client_ca_file", base)
    if ca is not None and auth == "NoClientCert":
        raise WebConfigError(
            f"{where}.client_ca_file",
            "set, but client_auth_type is NoClientCert (nothing to verify)",
        )
    if ca is None and auth in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert"):
        raise WebConfigError(f"{where}.client_ca_file", f"required with {auth}")
    if auth == "RequestClientCert":
        warnings.append(
            f"{where}.client_auth_type: RequestClientCert does not restrict access and client"
            " certificates are not requested; use RequireAndVerifyClientCert to require them"
        )
    sans = _strings(tls.get("client_allowed_sans", []), f"{where}.client_allowed_sans")
    if sans and auth != "RequireAndVerifyClientCert":
        raise WebConfigError(
            f"{where}.client_allowed_sans", "needs client_auth_type RequireAndVerifyClientCert"
        )
    low = _version(tls.get("min_version", "TLS12"), f"{where}.min_version")
    high = _version(tls.get("max_version", "TLS13"), f"{where}.max_version")
    if TLS_VERSIONS[low] > TLS_VERSIONS[high]:
        raise WebConfigError(f"{where}.min_version", f"{low} is above max_version {high}")
    cert = _path(tls.get("cert_file"), f"{where}.cert_file", base)
    key = _path(tls.get("key_file"), f"{where}.key_file", base)
    if cert is None or key is None:
        missing = "cert_file" if cert is None else "key_file"
        raise WebConfigError(f"{where}.{missing}", "required when TLS is configured")
    used_ca = ca if auth != "RequestClientCert" else None  # not verified, so not loaded
    config = TlsServerConfig(cert, key, auth, used_ca, sans, low, high)
    config.context()  # every file readable, the key matches the certificate
    return config


def _http(value: object, warnings: list[str]) -> tuple[tuple[str, str], ...]:
    where = "http_server_config"
    if value is None:
        return ()
    http = _mapping(value, where)
    _known(http, where, ("headers", "http2"), ())
    if "http2" in http:
        if not isinstance(http["http2"], bool):
            raise WebConfigError(
                f"{where}.http2", f"expected true or false, got {describe(http['http2'])}"
            )
        if http["http2"]:
            warnings.append(f"{where}.http2: HTTP/2 is not served; clients use HTTP/1.1")
    headers: list[tuple[str, str]] = []
    raw = http.get("headers")
    for name, header in (_mapping(raw, f"{where}.headers") if raw is not None else {}).items():
        at = f"{where}.headers.{name}"
        if name not in HEADERS:
            raise WebConfigError(at, f"cannot be set (allowed: {', '.join(HEADERS)})")
        text = _string(header, at)
        if "\r" in text or "\n" in text:
            raise WebConfigError(at, "a header value cannot contain a line break")
        if HEADERS[name] and text and text not in HEADERS[name]:
            raise WebConfigError(
                at, f"expected one of {', '.join(HEADERS[name])}, got {quote(text)}"
            )
        if text:
            headers.append((name, text))
    return tuple(headers)


def _users(value: object) -> dict[str, bytes]:
    where = "basic_auth_users"
    if value is None:
        return {}
    users: dict[str, bytes] = {}
    for user, hashed in _mapping(value, where).items():
        if not user or ":" in user:
            raise WebConfigError(where, f"invalid user name {quote(user)} (non-empty, no colon)")
        if not isinstance(hashed, str) or not _BCRYPT.fullmatch(hashed):
            raise WebConfigError(
                f"{where}.{user}",
                "not a bcrypt hash (expected $2a$, $2b$ or $2y$, a cost of 04-31 and 53"
                " characters, e.g. from: htpasswd -nBC 10 \"\" | tr -d ':\\n')",
            )
        users[user] = hashed.encode()
    return users


# --- small readers ---------------------------------------------------------------------------


def _mapping(value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise WebConfigError(where, f"expected a mapping with string keys, got {describe(value)}")
    return value


def _known(
    value: Mapping[str, object], where: str, known: tuple[str, ...], ignored: tuple[str, ...]
) -> None:
    for key in value:
        if key not in known and key not in ignored:
            at = f"{where}.{key}" if where else key
            raise WebConfigError(at, f"unknown key{did_you_mean(key, known + ignored)}")


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise WebConfigError(where, f"expected a string, got {describe(value)}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise WebConfigError(where, f"expected a list of strings, got {describe(value)}")
    return tuple(_string(item, f"{where}[{index}]") for index, item in enumerate(value))


def _path(value: object, where: str, base: Path) -> Path | None:
    if value is None or value == "":
        return None
    text = _string(value, where)
    if "\0" in text or not text.isprintable() or _unencodable(text):
        # YAML's "\0" and "\ud800" escapes: no file can have such a name (open() raises
        # ValueError), and the name is not echoed, since it cannot be printed either
        raise WebConfigError(where, "not a file name (a NUL, control or invalid character)")
    try:
        return base / Path(text).expanduser()
    except RuntimeError:  # `~name` of a user this system does not know
        raise WebConfigError(
            where, f"cannot expand {quote(text.split('/')[0])}: no such user"
        ) from None


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _version(value: object, where: str) -> str:
    text = _string(value, where)
    if text in ("TLS10", "TLS11"):
        raise WebConfigError(where, f"{text} is not supported (use TLS12 or TLS13)")
    if text not in TLS_VERSIONS:
        raise WebConfigError(where, f"unknown TLS version {quote(text)} (TLS12 or TLS13)")
    return text


def _readable(where: str, path: Path) -> None:
    try:
        read_limited(path, CA_LIMIT)  # PEM files; OpenSSL would read /dev/zero forever
    except (OSError, ValueError) as err:
        raise WebConfigError(where, f"cannot read {path}: {_reason(err)}") from None


def _reason(err: Exception) -> str:
    if isinstance(err, ssl.SSLError) and err.reason:
        return str(err.reason).lower().replace("_", " ")
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return " ".join(str(err).split()) or type(err).__name__
