"""Test helper: builds X.509 certificates with `cryptography` for the certificate tests.

Anchors, intermediates and leaves with a chosen key type, validity window, CA flag, path
length, key usage, EKU and SANs. Keys are generated per call; RSA keys are slow to make,
so `key_for(kind, slot)` caches them by slot for tests that only need "some RSA key".
These keys exist only inside the test process.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from monitor.certs import CertFacts, cert_facts

KeyKind = Literal["ec256", "ec384", "ec521", "rsa1024", "rsa2048", "rsa4096", "ed25519"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

T0 = datetime(2025, 1, 1, tzinfo=UTC)
"""The reference "now" of the tests; default certificates are valid a year either side."""

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
_UNSET = object()


def new_key(kind: KeyKind = "ec256") -> PrivateKey:
    """A fresh private key of the given kind."""
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    curves: dict[str, ec.EllipticCurve] = {
        "ec256": ec.SECP256R1(),
        "ec384": ec.SECP384R1(),
        "ec521": ec.SECP521R1(),
    }
    return ec.generate_private_key(curves[kind])


@functools.cache
def key_for(kind: KeyKind, slot: int = 0) -> PrivateKey:
    """A key of `kind` shared by every caller asking for the same slot."""
    return new_key(kind)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key (the key stays in the test)."""

    cert: x509.Certificate
    key: PrivateKey

    @property
    def facts(self) -> CertFacts:
        return cert_facts(self.cert)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def make_cert(
    cn: str,
    *,
    signer: Issued | None = None,
    key: PrivateKey | None = None,
    key_kind: KeyKind = "ec256",
    not_before: datetime = T0 - timedelta(days=365),
    not_after: datetime = T0 + timedelta(days=365),
    ca: bool | None = False,
    path_length: int | None = None,
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    key_usage: object = _UNSET,
    dns: Sequence[str] = (),
    uris: Sequence[str] = (),
    organization: str | None = None,
    hash_alg: hashes.HashAlgorithm | object | None = _UNSET,
    serial: int | None = None,
) -> Issued:
    """One certificate. `signer=None` makes it self-signed. `ca=None` leaves out
    basicConstraints entirely; `eku=None` leaves out the EKU extension. `key_usage`
    defaults to keyCertSign+cRLSign for CAs and digitalSignature+keyEncipherment for
    leaves; pass None to leave it out."""
    key = key if key is not None else new_key(key_kind)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if organization:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    subject = x509.Name(attrs)
    issuer_name = signer.cert.subject if signer else subject
    signing_key = signer.key if signer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca is not None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    if key_usage is _UNSET:
        key_usage = _ca_usage() if ca else _leaf_usage()
    if key_usage is not None:
        assert isinstance(key_usage, x509.KeyUsage)
        builder = builder.add_extension(key_usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if hash_alg is _UNSET:
        hash_alg = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    assert hash_alg is None or isinstance(hash_alg, hashes.HashAlgorithm)
    return Issued(builder.sign(signing_key, hash_alg), key)


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def anchor(cn: str = "root.test", **kw: Any) -> Issued:
    """A self-signed CA (no path length limit unless `path_length` is given)."""
    kw.setdefault("ca", True)
    return make_cert(cn, **kw)


def intermediate(cn: str, signer: Issued, **kw: Any) -> Issued:
    """A CA signed by `signer`."""
    kw.setdefault("ca", True)
    return make_cert(cn, signer=signer, **kw)


def leaf(cn: str, signer: Issued, **kw: Any) -> Issued:
    """An end-entity certificate (serverAuth+clientAuth, DNS SAN = cn) signed by `signer`."""
    kw.setdefault("eku", (SERVER_AUTH, CLIENT_AUTH))
    kw.setdefault("dns", (cn,))
    return make_cert(cn, signer=signer, **kw)


def pem_of(*items: Issued) -> str:
    """The PEM bundle of `items`, in order."""
    return "".join(i.pem for i in items)
