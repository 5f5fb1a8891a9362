"""`server.webConfig` on the wire: real TLS clients (httpx over `ssl`) against `WebServer`.

Each test writes a small PKI (`Pki`: a server CA, a client CA, a rogue CA, their
certificates and keys, made with `cryptography`) and an exporter-toolkit web config next to
it, starts the server on a free port, and talks to it as Prometheus or a browser would.
"""

from __future__ import annotations

import ipaddress
import logging
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from monitor.web.server import Published, WebServer
from tests.support.snapshots import snapshot

PATHS = ("/", "/metrics", "/api/findings", "/api/rotation", "/healthz", "/readyz")
PASSWORD = "s3cret-scrape-password"


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def write(self, folder: Path, name: str) -> tuple[Path, Path]:
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        cert.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert, key


def issue(
    cn: str,
    signer: Issued | None = None,
    *,
    dns: Sequence[str] = (),
    ips: Sequence[str] = (),
    uris: Sequence[str] = (),
) -> Issued:
    """A CA (no signer) or a leaf for server and client auth, valid around the real now."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(signer.cert.subject if signer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=signer is None, path_length=None), critical=True)
    )
    if signer is None:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True).add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()),
            critical=False,
        )
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        names += [x509.UniformResourceIdentifier(u) for u in uris]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return Issued(builder.sign(signer.key if signer else key, hashes.SHA256()), key)


class Pki:
    """Server, client and rogue certificates written under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server_ca = issue("Test Server CA")
        self.client_ca = issue("Test Client CA")
        rogue_ca = issue("Rogue CA")
        self.server = issue("monitor", self.server_ca, dns=["localhost"], ips=["127.0.0.1"])
        self.server.write(folder, "server")
        self.server_ca.write(folder, "server-ca")
        self.client_ca.write(folder, "client-ca")
        issue("prometheus", self.client_ca, dns=["prometheus.monitoring.svc"]).write(
            folder, "client"
        )
        issue("grafana", self.client_ca, uris=["spiffe://cluster/grafana"]).write(folder, "other")
        issue("prometheus", rogue_ca, dns=["prometheus.monitoring.svc"]).write(folder, "rogue")

    def client(
        self,
        cert: str | None = None,
        *,
        max_version: ssl.TLSVersion | None = None,
        auth: tuple[str, str] | None = None,
    ) -> httpx.Client:
        """An httpx client trusting the server CA, presenting `cert` (client, other, rogue)."""
        ctx = ssl.create_default_context(cafile=self.folder / "server-ca.crt")
        if cert is not None:
            ctx.load_cert_chain(self.folder / f"{cert}.crt", self.folder / f"{cert}.key")
        if max_version is not None:
            ctx.maximum_version = max_version
        return httpx.Client(verify=ctx, timeout=10, auth=auth)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


def start(folder: Path, config: str) -> WebServer:
    path = folder / "web.yml"
    path.write_text(config)
    server = WebServer("127.0.0.1:0", path)
    server.start()
    return server


@pytest.fixture
def served(pki: Pki) -> Iterator[list[WebServer]]:
    """Servers started by a test (via `start`), stopped after it."""
    servers: list[WebServer] = []
    yield servers
    for server in servers:
        server.stop()


def url(server: WebServer, path: str = "/healthz") -> str:
    return f"https://127.0.0.1:{server.port}{path}"


TLS_ONLY = "tls_server_config: {cert_file: server.crt, key_file: server.key}\n"
MTLS = (
    "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
    "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: client-ca.crt\n"
)


def test_tls_serves_every_endpoint_to_a_client_that_verifies_it(
    pki: Pki, served: list[WebServer]
) -> None:
    server = start(pki.folder, TLS_ONLY)
    served.append(server)
    assert server.scheme == "https"
    server.publish(Published.of(snapshot()))
    with pki.client() as client:
        for path in PATHS:
            response = client.get(url(server, path))
            assert response.status_code == 200, path
            stream = response.extensions["network_stream"]
            assert stream.get_extra_info("ssl_object").version() == "TLSv1.3"
    with (
        httpx.Client(verify=True, timeout=10) as untrusting,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        untrusting.get(url(server))


def test_plain_http_to_the_tls_port_gets_no_answer(pki: Pki, served: list[WebServer]) -> None:
    server = start(pki.folder, TLS_ONLY)
    served.append(server)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=10)
    with pki.client() as client:  # the server is still fine afterwards
        assert client.get(url(server)).status_code == 200


def test_require_and_verify_client_cert(pki: Pki, served: list[WebServer]) -> None:
    server = start(pki.folder, MTLS)
    served.append(server)
    for cert, alert in ((None, "CERTIFICATE_REQUIRED"), ("rogue", "UNKNOWN_CA")):
        with pki.client(cert) as client, pytest.raises(httpx.TransportError, match=alert):
            client.get(url(server))
    with pki.client("client") as client:
        for path in PATHS:
            assert client.get(url(server, path)).status_code in (200, 503), path


def test_verify_client_cert_if_given(pki: Pki, served: list[WebServer]) -> None:
    config = MTLS.replace("RequireAndVerifyClientCert", "VerifyClientCertIfGiven")
    server = start(pki.folder, config)
    served.append(server)
    with pki.client() as client:
        assert client.get(url(server)).status_code == 200
    with pki.client("client") as client:
        assert client.get(url(server)).status_code == 200
    with pki.client("rogue") as client, pytest.raises(httpx.TransportError, match="UNKNOWN_CA"):
        client.get(url(server))


def test_client_allowed_sans_are_matched_exactly(pki: Pki, served: list[WebServer]) -> None:
    server = start(pki.folder, MTLS + "  client_allowed_sans: [prometheus.monitoring.svc]\n")
    served.append(server)
    with pki.client("client") as client:
        assert client.get(url(server)).status_code == 200
    with pki.client("other") as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(url(server))  # verified, but none of the allowed SANs: closed unanswered


def test_min_version_tls13_refuses_a_tls12_client(pki: Pki, served: list[WebServer]) -> None:
    server = start(pki.folder, TLS_ONLY.replace("}", ", min_version: TLS13}"))
    served.append(server)
    with (
        pki.client(max_version=ssl.TLSVersion.TLSv1_2) as old,
        pytest.raises(httpx.ConnectError, match="PROTOCOL_VERSION"),
    ):
        old.get(url(server))
    with pki.client() as client:
        assert client.get(url(server)).status_code == 200


def test_max_version_tls12_is_respected(pki: Pki, served: list[WebServer]) -> None:
    server = start(pki.folder, TLS_ONLY.replace("}", ", max_version: TLS12}"))
    served.append(server)
    with pki.client() as client:
        response = client.get(url(server))
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object").version() == "TLSv1.2"


def test_basic_auth_over_mtls_with_headers_on_every_answer(
    pki: Pki, served: list[WebServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    server = start(
        pki.folder,
        MTLS
        + "http_server_config:\n  headers: {Strict-Transport-Security: max-age=31536000}\n"
        + f"basic_auth_users:\n  prometheus: {hashed}\n",
    )
    served.append(server)
    for auth in (None, ("prometheus", "wrong"), ("nobody", PASSWORD)):
        with pki.client("client", auth=auth) as client:
            for path in PATHS:
                response = client.get(url(server, path))
                assert response.status_code == 401, (auth, path)
                assert response.headers["WWW-Authenticate"].startswith("Basic ")
                assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    with pki.client("client", auth=("prometheus", PASSWORD)) as client:
        response = client.get(url(server, "/metrics"))
        assert response.status_code == 200
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    with (
        pki.client(auth=("prometheus", PASSWORD)) as client,
        pytest.raises(httpx.TransportError, match="CERTIFICATE_REQUIRED"),
    ):
        client.get(url(server))  # the password does not replace the client certificate
    assert PASSWORD not in caplog.text
    assert hashed not in caplog.text


def peer_certificate(server: WebServer, pki: Pki) -> x509.Certificate:
    with pki.client() as client:
        response = client.get(url(server))
        der = response.extensions["network_stream"].get_extra_info("ssl_object").getpeercert(True)
    return x509.load_der_x509_certificate(der)


def test_a_renewed_certificate_is_served_without_a_restart(
    pki: Pki, served: list[WebServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = start(pki.folder, TLS_ONLY)
    served.append(server)
    assert peer_certificate(server, pki) == pki.server.cert
    renewed = issue("monitor-renewed", pki.server_ca, ips=["127.0.0.1"])
    renewed.write(pki.folder, "server")
    time.sleep(1.1)
    assert peer_certificate(server, pki) == renewed.cert
    # a broken renewal (certificate and key do not match) keeps the last good pair
    other = issue("monitor-broken", pki.server_ca, ips=["127.0.0.1"])
    (pki.folder / "server.crt").write_bytes(other.cert.public_bytes(serialization.Encoding.PEM))
    time.sleep(1.1)
    with caplog.at_level(logging.WARNING):
        assert peer_certificate(server, pki) == renewed.cert
    assert "web config not reloaded, the previous one stays in force" in caplog.text
