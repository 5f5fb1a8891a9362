"""Deterministic certificates for the simulated world.

A scenario names its certificates and describes each one with a small spec
(`cn`, `sans`, `key`, `signer`, `ca`, `pathLen`, `notBefore`/`notAfter` relative
to the world's start time).  This module turns those specs into real X.509
certificates signed with real keys, so that everything downstream (the BIG-IP's
ssl-cert objects, Linkerd's ConfigMaps and Secrets, TLS handshakes) carries
genuine material.

Determinism: keys are derived from `sha256(seed, id)`, serial numbers too, and
ECDSA signatures use RFC 6979, so the same scenario, seed and start time give
byte-identical certificates.  These keys exist only to make a test world; they
protect nothing.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KEY_TYPES = (
    "ecdsa-p256",
    "ecdsa-p384",
    "ecdsa-p521",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
    "ed25519",
)
HASHES: Mapping[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
EKUS = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
}
_CURVES: Mapping[str, ec.EllipticCurve] = {
    "ecdsa-p256": ec.SECP256R1(),
    "ecdsa-p384": ec.SECP384R1(),
    "ecdsa-p521": ec.SECP521R1(),
}
_OFFSET = re.compile(r"^([+-])(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class CertSpecError(ValueError):
    """A certificate spec that cannot be built; the message names the certificate."""


@dataclass(frozen=True, slots=True)
class CertSpec:
    """What a scenario says about one certificate."""

    id: str
    cn: str
    sans: tuple[str, ...] = ()
    key: str = "ecdsa-p256"
    signer: str | None = None  # None: self-signed
    ca: bool = False
    path_len: int | None = None
    not_before: str = "-1d"
    not_after: str = "+365d"
    signature_hash: str = "sha256"
    organization: str | None = None
    eku: tuple[str, ...] | None = None  # None: serverAuth+clientAuth on leaves, absent on CAs


@dataclass(frozen=True)
class GeneratedCert:
    """One generated certificate with its key (the key stays inside the simulation)."""

    id: str
    cert: x509.Certificate
    key: PrivateKey

    @cached_property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @cached_property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @cached_property
    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.der).hexdigest()


def parse_offset(text: str, now: datetime) -> datetime:
    """`-300d`, `+20d`, `+90m` relative to `now`."""
    m = _OFFSET.match(text.strip())
    if not m:
        raise CertSpecError(f'invalid time offset "{text}" (use e.g. -300d, +20d, +12h)')
    sign, amount, unit = m.groups()
    delta = timedelta(seconds=int(amount) * _UNIT_SECONDS[unit])
    return now + delta if sign == "+" else now - delta


def generate_all(
    specs: Mapping[str, CertSpec], now: datetime, seed: str
) -> dict[str, GeneratedCert]:
    """Build every certificate, signers before the certificates they sign."""
    out: dict[str, GeneratedCert] = {}
    visiting: set[str] = set()

    def build(cert_id: str) -> GeneratedCert:
        if cert_id in out:
            return out[cert_id]
        if cert_id in visiting:
            raise CertSpecError(f"certificate {cert_id}: signer chain loops back to itself")
        spec = specs.get(cert_id)
        if spec is None:
            raise CertSpecError(f'unknown certificate "{cert_id}"')
        visiting.add(cert_id)
        signer = None
        if spec.signer is not None:
            if spec.signer not in specs:
                raise CertSpecError(f'certificate {cert_id}: unknown signer "{spec.signer}"')
            signer = build(spec.signer)
        out[cert_id] = _build_one(spec, signer, now, seed)
        visiting.discard(cert_id)
        return out[cert_id]

    for cert_id in specs:
        build(cert_id)
    return out


def derive_key(key_type: str, seed: str, cert_id: str) -> PrivateKey:
    """A private key that depends only on (key type, seed, certificate id)."""
    material = hashlib.sha256(f"{seed}\x00{cert_id}\x00{key_type}".encode()).digest()
    if key_type in _CURVES:
        curve = _CURVES[key_type]
        order = _CURVE_ORDERS[key_type]
        scalar = int.from_bytes(hashlib.sha512(material).digest(), "big") % (order - 1) + 1
        return ec.derive_private_key(scalar, curve)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.from_private_bytes(material)
    if key_type.startswith("rsa-"):
        return _deterministic_rsa(int(key_type[4:]), material)
    raise CertSpecError(f'unknown key type "{key_type}" (one of {", ".join(KEY_TYPES)})')


_CURVE_ORDERS = {
    "ecdsa-p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ecdsa-p384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77A"
        "ECEC196ACCC52973",
        16,
    ),
    "ecdsa-p521": int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}


def _deterministic_rsa(bits: int, material: bytes) -> rsa.RSAPrivateKey:
    """RSA key from seeded prime search, memoised in memory and on disk.

    The search is a pure function of (bits, material); the disk cache only saves
    the seconds that a 4096-bit search takes in pure Python.
    """
    if bits not in (1024, 2048, 3072, 4096):
        raise CertSpecError(f"unsupported RSA size {bits}")
    return _rsa_cached(bits, material)


def _cache_dir() -> Path | None:
    """Where found keys are kept; None without a home (e.g. in the image, uid 65532 has
    none), where `~` would stay a relative path and land in the working directory."""
    base = os.environ.get("F5LM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "f5-linkerd-monitor"
    )
    return Path(base) / "sim-rsa-keys" if os.path.isabs(base) else None


@functools.lru_cache(maxsize=256)
def _rsa_cached(bits: int, material: bytes) -> rsa.RSAPrivateKey:
    folder = _cache_dir()
    if folder is None:
        return _search_rsa(bits, material)
    path = folder / f"{bits}-{hashlib.sha256(material).hexdigest()}.pem"
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(loaded, rsa.RSAPrivateKey) and loaded.key_size == bits:
            return loaded
    except (OSError, ValueError):
        pass
    key = _search_rsa(bits, material)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        tmp.replace(path)
    except OSError:
        pass  # a read-only home only costs time
    return key


def _search_rsa(bits: int, material: bytes) -> rsa.RSAPrivateKey:
    rng = random.Random(material)  # test keys only: reproducibility, not secrecy
    e = 65537
    while True:
        p = _random_prime(bits // 2, rng, e)
        q = _random_prime(bits - bits // 2, rng, e)
        if p != q and (p * q).bit_length() == bits:
            break
    phi = (p - 1) * (q - 1)
    d = pow(e, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


_SMALL_PRIME_PRODUCT = math.prod(
    n for n in range(3, 20000, 2) if all(n % f for f in range(3, int(n**0.5) + 1, 2))
)


def _random_prime(bits: int, rng: random.Random, e: int) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if math.gcd(candidate, _SMALL_PRIME_PRODUCT) != 1:
            continue
        if (candidate - 1) % e == 0:
            continue
        if _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random, rounds: int = 16) -> bool:
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _name(spec: CertSpec) -> x509.Name:
    attrs = []
    if spec.organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, spec.organization))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, spec.cn))
    return x509.Name(attrs)


def _san(entry: str) -> x509.GeneralName:
    kind, sep, value = entry.partition(":")
    if sep and kind.upper() == "URI":
        return x509.UniformResourceIdentifier(value)
    if sep and kind.upper() == "DNS":
        return x509.DNSName(value)
    if sep and kind.upper() == "IP":
        import ipaddress

        return x509.IPAddress(ipaddress.ip_address(value))
    return x509.DNSName(entry)


def _build_one(
    spec: CertSpec, signer: GeneratedCert | None, now: datetime, seed: str
) -> GeneratedCert:
    where = f"certificate {spec.id}"
    key = derive_key(spec.key, seed, spec.id)
    try:
        not_before = parse_offset(spec.not_before, now)
        not_after = parse_offset(spec.not_after, now)
    except CertSpecError as err:
        raise CertSpecError(f"{where}: {err}") from None
    if not_after <= not_before:
        raise CertSpecError(f"{where}: notAfter must be later than notBefore")
    if spec.signature_hash not in HASHES:
        raise CertSpecError(f'{where}: unknown signature hash "{spec.signature_hash}"')
    serial_bytes = hashlib.sha256(f"serial\x00{seed}\x00{spec.id}".encode()).digest()[:16]
    serial = int.from_bytes(serial_bytes, "big") >> 1 or 1
    subject = _name(spec)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer.cert.subject if signer else subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before.replace(microsecond=0))
        .not_valid_after(not_after.replace(microsecond=0))
        .add_extension(x509.BasicConstraints(ca=spec.ca, path_length=spec.path_len), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if spec.ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        usage = x509.KeyUsage(True, False, True, False, False, False, False, False, False)
    builder = builder.add_extension(usage, critical=True)
    eku = spec.eku if spec.eku is not None else (() if spec.ca else ("serverAuth", "clientAuth"))
    if eku:
        unknown = [u for u in eku if u not in EKUS]
        if unknown:
            raise CertSpecError(f'{where}: unknown extended key usage "{unknown[0]}"')
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([EKUS[u] for u in eku]), critical=False
        )
    if spec.sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_san(s) for s in spec.sans]), critical=False
        )
    if signer is not None:
        if not signer.cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise CertSpecError(f'{where}: signer "{signer.id}" is not a CA (set ca: true)')
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.key.public_key()),
            critical=False,
        )
    signing_key = signer.key if signer else key
    algorithm = (
        None
        if isinstance(signing_key, ed25519.Ed25519PrivateKey)
        else HASHES[spec.signature_hash]()
    )
    deterministic = True if isinstance(signing_key, ec.EllipticCurvePrivateKey) else None
    cert = builder.sign(signing_key, algorithm, ecdsa_deterministic=deterministic)
    return GeneratedCert(id=spec.id, cert=cert, key=key)
