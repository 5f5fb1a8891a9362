"""Facts about X.509 certificates: `CertFacts`, `CertError`, `ParsedCerts`, fingerprints.

Pure: turns one parsed certificate into the facts the checks compare (names, SANs,
key, signature, CA flag, validity) and normalises fingerprints between our hex form
and BIG-IP's `SHA256/AA:BB:…`. Key material is never kept. Callers import from
`monitor.certs`, which re-exports this module.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_ERROR_CODES = (
    "empty",
    "no_certificate",
    "truncated_pem",
    "bad_base64",
    "bad_der",
    "bad_encoding",
)
CERTIFICATE_LABEL = "CERTIFICATE"


@dataclass(frozen=True, slots=True)
class CertFacts:
    """What the monitor knows about one certificate; derived from `der` alone."""

    der: bytes = field(repr=False)
    fingerprint_sha256: str
    subject: str
    issuer: str
    common_name: str | None
    dns_sans: tuple[str, ...]
    uri_sans: tuple[str, ...]
    ip_sans: tuple[str, ...]  # canonical text (`ipaddress`)
    serial: int
    key_type: str
    key_size: int
    curve: str | None
    signature_algorithm: str
    signature_hash: str | None
    is_ca: bool
    path_length: int | None
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...] | None
    not_before: datetime
    not_after: datetime

    @property
    def f5_fingerprint(self) -> str:
        """The fingerprint as BIG-IP shows it: `SHA256/AA:BB:…`."""
        hexd = self.fingerprint_sha256.upper()
        return "SHA256/" + ":".join(hexd[i : i + 2] for i in range(0, len(hexd), 2))

    def certificate(self) -> x509.Certificate:
        """The `x509.Certificate` for this DER (parsed once and cached)."""
        return _load_der(self.der)


@dataclass(frozen=True, slots=True)
class CertError:
    """One thing wrong with the input; `block` is the 1-based PEM block or DER item."""

    code: str
    message: str
    block: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedCerts:
    """Everything a parse produced: the certificates, the errors, the skipped labels."""

    certs: tuple[CertFacts, ...] = ()
    errors: tuple[CertError, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """At least one certificate and no errors."""
        return bool(self.certs) and not self.errors


@functools.lru_cache(maxsize=4096)
def _load_der(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


# --- facts -------------------------------------------------------------------------------

_KEY_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "nonRepudiation"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)

_E = TypeVar("_E", bound=x509.ExtensionType)

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
}


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = oid._name
    return oid.dotted_string if name == "Unknown OID" else name


def _key_info(cert: x509.Certificate) -> tuple[str, int, str | None]:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "unknown", 0, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ecdsa", key.curve.key_size, key.curve.name
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa", key.key_size, None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "ed448", 448, None
    if isinstance(key, dsa.DSAPublicKey):
        return "dsa", key.key_size, None
    return "unknown", 0, None


def _key_usage(ku: x509.KeyUsage | None) -> tuple[str, ...]:
    if ku is None:
        return ()
    names = [name for attr, name in _KEY_USAGE_NAMES if getattr(ku, attr)]
    if ku.key_agreement:  # encipher_only/decipher_only are only defined with keyAgreement
        names += [
            n
            for a, n in (("encipher_only", "encipherOnly"), ("decipher_only", "decipherOnly"))
            if getattr(ku, a)
        ]
    return tuple(names)


def _ext(exts: x509.Extensions, cls: type[_E]) -> _E | None:
    try:
        return exts.get_extension_for_class(cls).value
    except x509.ExtensionNotFound:
        return None


def cert_facts(cert: x509.Certificate) -> CertFacts:
    """Facts about `cert`. Raises one of `DECODE_ERRORS` when cryptography cannot decode
    one of its fields; `parse_*` turn that into a `bad_der` error."""
    der = cert.public_bytes(serialization.Encoding.DER)
    exts = cert.extensions
    key_type, key_size, curve = _key_info(cert)
    bc = _ext(exts, x509.BasicConstraints)
    eku = _ext(exts, x509.ExtendedKeyUsage)
    san = _ext(exts, x509.SubjectAlternativeName)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn: str | None = None
    if cns:
        value = cns[0].value
        cn = value if isinstance(value, str) else value.decode("utf-8", "replace")
    try:
        hash_alg = cert.signature_hash_algorithm
        signature_hash = hash_alg.name if hash_alg is not None else None
    except UnsupportedAlgorithm:
        signature_hash = None
    return CertFacts(
        der=der,
        fingerprint_sha256=hashlib.sha256(der).hexdigest(),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=cn,
        dns_sans=tuple(san.get_values_for_type(x509.DNSName)) if san else (),
        uri_sans=tuple(san.get_values_for_type(x509.UniformResourceIdentifier)) if san else (),
        ip_sans=tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)) if san else (),
        serial=cert.serial_number,
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        signature_algorithm=_oid_name(cert.signature_algorithm_oid),
        signature_hash=signature_hash,
        is_ca=bool(bc and bc.ca),
        path_length=bc.path_length if bc and bc.ca else None,
        key_usage=_key_usage(_ext(exts, x509.KeyUsage)),
        extended_key_usage=(
            tuple(_EKU_NAMES.get(oid, _oid_name(oid)) for oid in eku) if eku is not None else None
        ),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


# What cryptography raises for DER it cannot read: ValueError, and three exceptions that are
# not ValueErrors (a version other than v1/v3, an extension given twice, a general name
# of an unknown type), found by fuzzing.
DECODE_ERRORS = (
    ValueError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def facts_from_der(der: bytes) -> CertFacts | str:
    """CertFacts, or the reason the bytes are not a usable certificate."""
    try:
        cert = _load_der(der)
    except DECODE_ERRORS as exc:
        return f"not an X.509 certificate ({len(der)} bytes of DER): {exc}"
    try:
        return cert_facts(cert)
    except DECODE_ERRORS as exc:
        return f"certificate fields cannot be decoded: {exc}"


# --- fingerprints ------------------------------------------------------------------------

_FP_PREFIX = re.compile(r"^sha-?256(?:\s*fingerprint)?\s*[/=:]\s*", re.IGNORECASE)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_HEX2 = re.compile(r"[0-9a-fA-F]{2}")


def normalize_fingerprint(text: str) -> str | None:
    """Lowercase hex SHA-256 from `ab12…`, `AB:12:…`, BIG-IP's `SHA256/AB:12:…` or
    openssl's `sha256 Fingerprint=AB:12:…`; None when `text` is none of these."""
    s = _FP_PREFIX.sub("", text.strip(), count=1)
    if ":" in s:
        parts = s.split(":")
        if len(parts) != 32 or not all(_HEX2.fullmatch(p) for p in parts):
            return None
        s = "".join(parts)
    return s.lower() if _HEX64.fullmatch(s) else None
