"""DNS, TCP and TLS towards a management URL, each step as a `Probe`.

Owns the steps under the HTTP client, so that a failure is named where it happens: the
name does not resolve, the port does not answer, or the certificate does not verify
against the configured `caFile`. On a verification failure the certificate chain the
server presented is fetched with an unverified handshake (nothing is sent over it) and
its subjects and issuers are told, which is what one needs to find the right CA.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from monitor.doctor.result import Probe

_NOT_VERIFIED = "not verified (insecure: true): anyone between here and the device can read"


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _names(der: bytes) -> str:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return "a certificate that does not parse"
    return f"subject {cert.subject.rfc4514_string()}, issuer {cert.issuer.rfc4514_string()}"


def presented_chain(host: str, port: int, timeout: float) -> list[str]:
    """Subject and issuer of each certificate the server presents, unverified."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        chain = getattr(tls, "get_unverified_chain", None)  # Python 3.13+
        if chain is not None:
            return [_names(c if isinstance(c, bytes) else c.public_bytes()) for c in chain()]
        der = tls.getpeercert(binary_form=True)
        return [_names(der)] if der else []


def connect(url: str, ca_file: Path | None, insecure: bool, timeout: float) -> list[Probe]:
    """DNS, TCP and TLS; the last probe is `failed` when the device cannot be reached."""
    host, port = host_port(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as err:
        why = getattr(err, "strerror", None) or str(err)
        return [Probe("DNS", "failed", f"{host} does not resolve: {why}")]
    addresses = sorted({str(info[4][0]) for info in infos})
    probes = [Probe("DNS", "ok", f"{host} is {', '.join(addresses)}")]
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        why = err.strerror or type(err).__name__
        probes.append(Probe("TCP", "failed", f"{host}:{port}: {why}"))
        return probes
    probes.append(Probe("TCP", "ok", f"{host}:{port} accepts connections"))
    with raw:
        if insecure:
            return [*probes, Probe("TLS", "note", _NOT_VERIFIED)]
        against = f"caFile {ca_file}" if ca_file else "the system's CA certificates"
        try:
            ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as err:
            why = getattr(err, "strerror", None) or str(err)
            return [*probes, Probe("TLS", "failed", f"cannot load caFile {ca_file}: {why}")]
        try:
            with ctx.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
        except ssl.SSLCertVerificationError as err:
            return [*probes, _unverified(host, port, timeout, against, err)]
        except (OSError, ssl.SSLError) as err:
            why = getattr(err, "reason", None) or str(err)
            return [*probes, Probe("TLS", "failed", f"handshake with {host}:{port}: {why}")]
    presented = _names(der) if der else "no certificate"
    return [*probes, Probe("TLS", "ok", f"verified against {against}: {presented}")]


def _unverified(
    host: str, port: int, timeout: float, against: str, err: ssl.SSLCertVerificationError
) -> Probe:
    why = err.verify_message or err.reason or str(err)
    try:
        chain = presented_chain(host, port, timeout)
    except (OSError, ssl.SSLError):
        chain = []
    shown = "; ".join(f"[{n}] {c}" for n, c in enumerate(chain)) or "nothing readable"
    return Probe(
        "TLS",
        "failed",
        f"does not verify against {against} ({why}); the device presented {shown}."
        " Set caFile to the CA that issued it (docs/getting-started.md#the-management-ca)",
    )
