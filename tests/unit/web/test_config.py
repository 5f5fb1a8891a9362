"""Reading `server.webConfig` (`monitor.web.config`): the exporter-toolkit format, strictly."""

from __future__ import annotations

import ssl
from pathlib import Path

import bcrypt
import pytest
from cryptography.hazmat.primitives import serialization

from monitor.web.config import WebConfig, WebConfigError, load_web_config
from tests.unit.web.test_server_tls import Pki

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
FULL = f"""
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: client-ca.crt
  client_allowed_sans: [prometheus.monitoring.svc, 10.0.0.1]
  min_version: TLS13
  max_version: TLS13
http_server_config:
  headers:
    Strict-Transport-Security: max-age=31536000
    X-Frame-Options: deny
    X-XSS-Protection: ""
basic_auth_users:
  prometheus: {HASH}
  grafana: "{HASH.replace("$2b$", "$2y$")}"
"""


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def load(folder: Path, text: str) -> WebConfig:
    path = folder / "web.yml"
    path.write_text(text)
    return load_web_config(path)


def error(folder: Path, text: str) -> str:
    with pytest.raises(WebConfigError) as caught:
        load(folder, text)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'web.yml'}: ")
    return message.removeprefix(f"{folder / 'web.yml'}: ")


def test_a_full_file_is_read_with_paths_from_its_directory(pki: Pki) -> None:
    config = load(pki.folder, FULL)
    assert config.tls is not None
    assert config.tls.cert_file == pki.folder / "server.crt"
    assert config.tls.client_ca_file == pki.folder / "client-ca.crt"
    assert config.tls.client_allowed_sans == ("prometheus.monitoring.svc", "10.0.0.1")
    assert (config.tls.min_version, config.tls.max_version) == ("TLS13", "TLS13")
    assert config.headers == (
        ("Strict-Transport-Security", "max-age=31536000"),
        ("X-Frame-Options", "deny"),
    )
    assert sorted(config.users) == ["grafana", "prometheus"]
    assert config.warnings == ()
    assert config.files() == (
        pki.folder / "web.yml",
        pki.folder / "server.crt",
        pki.folder / "server.key",
        pki.folder / "client-ca.crt",
    )
    assert config.summary() == (
        "TLS on (TLS13-TLS13, client certificates: RequireAndVerifyClientCert);"
        " basic auth for 2 users"
    )
    context = config.tls.context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert HASH not in repr(config)


@pytest.mark.parametrize("text", ["", "# nothing\n", "tls_server_config: {}\n"])
def test_an_empty_file_means_plain_http_without_auth(pki: Pki, text: str) -> None:
    config = load(pki.folder, text)
    assert (config.tls, config.users, config.headers) == (None, {}, ())
    assert config.summary() == "TLS off; no auth"


def test_basic_auth_alone_keeps_plain_http(pki: Pki) -> None:
    config = load(pki.folder, f"basic_auth_users: {{prometheus: '{HASH}'}}\n")
    assert config.tls is None
    assert config.summary() == "TLS off; basic auth for 1 user"


def test_what_python_cannot_honour_is_ignored_with_a_warning(pki: Pki) -> None:
    config = load(
        pki.folder,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
        "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519]\n"
        "  prefer_server_cipher_suites: true\n"
        "  client_auth_type: RequestClientCert\n  client_ca_file: client-ca.crt\n"
        "http_server_config: {http2: true}\nrate_limit: {interval: 1s, burst: 5}\n",
    )
    assert config.tls is not None
    assert config.tls.client_ca_file is None  # RequestClientCert verifies nothing
    assert config.tls.context().verify_mode == ssl.CERT_NONE
    assert [w.split(" ", 1)[0] for w in config.warnings] == [
        "rate_limit",
        "tls_server_config.cipher_suites",
        "tls_server_config.curve_preferences",
        "tls_server_config.prefer_server_cipher_suites",
        "tls_server_config.client_auth_type:",
        "http_server_config.http2:",
    ]


TLS = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a list\n", "expected a mapping with string keys, got a list"),
        ("tls_config: {}\n", 'tls_config: unknown key (did you mean "tls_server_config"?)'),
        (TLS + "  cert: x\n", "tls_server_config.cert: inline PEM is not supported;"),
        (TLS + "  clientAuthType: x\n", "tls_server_config.clientAuthType: unknown key"),
        (
            TLS + "  client_auth_type: RequireAndVerify\n",
            'tls_server_config.client_auth_type: unknown value "RequireAndVerify" (did you mean',
        ),
        (
            TLS + "  client_auth_type: RequireAnyClientCert\n",
            "tls_server_config.client_auth_type: RequireAnyClientCert accepts certificates",
        ),
        (
            TLS + "  client_ca_file: client-ca.crt\n",
            "tls_server_config.client_ca_file: set, but client_auth_type is NoClientCert",
        ),
        (
            TLS + "  client_auth_type: RequireAndVerifyClientCert\n",
            "tls_server_config.client_ca_file: required with RequireAndVerifyClientCert",
        ),
        (
            TLS + "  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: c.crt\n"
            "  client_allowed_sans: [x]\n",
            "tls_server_config.client_allowed_sans: needs client_auth_type",
        ),
        (TLS + "  min_version: TLS11\n", "tls_server_config.min_version: TLS11 is not supported"),
        (TLS + "  max_version: TLS14\n", 'max_version: unknown TLS version "TLS14"'),
        (
            TLS + "  min_version: TLS13\n  max_version: TLS12\n",
            "tls_server_config.min_version: TLS13 is above max_version TLS12",
        ),
        ("tls_server_config: {cert_file: server.crt}\n", "key_file: required when TLS is"),
        (
            "tls_server_config: {cert_file: nope.crt, key_file: server.key}\n",
            "tls_server_config.cert_file: cannot read ",
        ),
        (
            "tls_server_config: {cert_file: server.crt, key_file: client.key}\n",
            "tls_server_config: cert_file ",
        ),
        (
            TLS + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.key\n",
            "tls_server_config.client_ca_file: ",
        ),
        (TLS + "  min_version: 12\n", "min_version: expected a string, got integer 12"),
        (
            "http_server_config: {headers: {Server: x}}\n",
            "http_server_config.headers.Server: cannot be set (allowed: Strict-Transport-Security",
        ),
        (
            "http_server_config: {headers: {X-Frame-Options: allow}}\n",
            'X-Frame-Options: expected one of deny, sameorigin, got "allow"',
        ),
        (
            'http_server_config: {headers: {Content-Security-Policy: "a\\nb"}}\n',
            "Content-Security-Policy: a header value cannot contain a line break",
        ),
        ("http_server_config: {http2: yes please}\n", "http2: expected true or false"),
        ("basic_auth_users: {'a:b': x}\n", 'basic_auth_users: invalid user name "a:b"'),
        ("basic_auth_users: {a: 1}\n", "basic_auth_users.a: not a bcrypt hash"),
        ("a: 1\na: 2\n", "a: duplicate key at line 2, column 1"),
        ("a: [\n", "invalid YAML at line 2"),
    ],
)
def test_mistakes_are_named_by_file_and_key(pki: Pki, text: str, message: str) -> None:
    got = error(pki.folder, text)
    assert message in got, got


def test_a_bad_hash_or_password_is_never_echoed(pki: Pki) -> None:
    secret = "$2b$10$thisIsNotLongEnoughToBeAHash"
    message = error(pki.folder, f"basic_auth_users: {{prometheus: '{secret}'}}\n")
    assert secret not in message
    assert "thisIsNot" not in message


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WebConfigError, match=r"missing\.yml: cannot read: No such file"):
        load_web_config(tmp_path / "missing.yml")


def test_an_encrypted_key_is_refused_without_prompting(pki: Pki) -> None:
    encrypted = pki.server.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )
    (pki.folder / "encrypted.key").write_bytes(encrypted)
    message = error(
        pki.folder, "tls_server_config: {cert_file: server.crt, key_file: encrypted.key}"
    )
    assert "are not a usable certificate and unencrypted key" in message
