"""Certificate objects of the simulated BIG-IP, computed from the real X.509 material.

Owns `sys/file/ssl-cert` (the object a monitor reads expiry and fingerprints from),
`sys/crypto/cert` (the older view with the expiry only as text),
`sys/crypto/ca-bundle-manager` (with the bundle it produces materialised as an
ssl-cert at the manager's path), and the filestore paths that `util/bash` reads.

Faithful details (research/f5.md §2.1–2.4): `fingerprint` is `SHA256/AA:BB:…` of the
DER; `checksum` is `SHA1:<size>:<sha1 of the file>`; subject and issuer are written
most specific RDN first without RFC 4514 escaping (`CN=x,O=Acme, Inc.`);
`expirationString` pads a one-digit day with a space; `serialNumber` is decimal
when it fits a signed 64-bit integer and colon hex otherwise (OpenSSL's rule).
For a bundle the top-level fields describe ONE certificate only, as on real devices
(we describe the last one in the file; which one a real box picks is UNVERIFIED),
and `serialNumber` is absent. `subjectAlternativeName` is OpenSSL's text of the SAN
extension (`DNS:a, DNS:b, IP Address:10.0.0.1, URI:spiffe://…`, IPv6 as eight upper-case
hex groups, as OpenSSL 1.0.2 prints it), present only when the certificate has the
extension and only on TMOS 14.1 and later (`monitor.certs.reports_san`; docs/scenario.md
gives the sources and why older versions leave it out here).

UNVERIFIED and chosen here: `certificateKeyCurveName` for EC keys (`prime256v1`,
`secp384r1`, `secp521r1`); `keyType`/`publicKeyType` for Ed25519; the filestore
name of folder objects (`:<P>:<folder>:<name>_<id>_<rev>`); the ca-bundle-manager
fields other than `includeBundle`.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from monitor.certs import reports_san
from monitor.simulate.bigip import builtins
from monitor.simulate.bigip.links import (
    ObjPath,
    cert_time,
    encode_path,
    header,
    iso_time,
    reference,
    sub_reference,
)
from monitor.simulate.bigip.spec import ConfigSpec, Manager
from monitor.simulate.certgen import GeneratedCert

SSL_CERT = "sys/file/ssl-cert"
CRYPTO_CERT = "sys/crypto/cert"
MANAGER = "sys/crypto/ca-bundle-manager"
_DN_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.COUNTRY_NAME: "C",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.SERIAL_NUMBER: "serialNumber",
}
# sys/crypto/cert splits the subject into these fields (alphabetical, as captured).
_CRYPTO_SUBJECT = (
    ("city", NameOID.LOCALITY_NAME),
    ("commonName", NameOID.COMMON_NAME),
    ("country", NameOID.COUNTRY_NAME),
    ("emailAddress", NameOID.EMAIL_ADDRESS),
)
_CRYPTO_SUBJECT_TAIL = (
    ("organization", NameOID.ORGANIZATION_NAME),
    ("ou", NameOID.ORGANIZATIONAL_UNIT_NAME),
    ("state", NameOID.STATE_OR_PROVINCE_NAME),
)
_CURVES = {"secp256r1": "prime256v1", "secp384r1": "secp384r1", "secp521r1": "secp521r1"}


def bigip_dn(name: x509.Name) -> str:
    """`CN=leaf,O=Acme, Inc.`: most specific RDN first, values unescaped."""
    rdns = []
    for rdn in reversed(list(name.rdns)):
        parts = [f"{_DN_NAMES.get(a.oid, a.oid.dotted_string)}={a.value!s}" for a in rdn]
        rdns.append("+".join(parts))
    return ",".join(rdns)


def serial_text(serial: int) -> str:
    if serial < 2**63:
        return str(serial)
    raw = serial.to_bytes((serial.bit_length() + 7) // 8, "big")
    return ":".join(f"{b:02x}" for b in raw)


def fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return "SHA256/" + ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _san_entry(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.IPAddress):
        ip = name.value
        if isinstance(ip, ipaddress.IPv6Address):
            groups = ip.exploded.split(":")
            return "IP Address:" + ":".join(f"{int(g, 16):X}" for g in groups)
        return f"IP Address:{ip}"
    if isinstance(name, x509.DirectoryName):
        return "DirName:" + "".join(f"/{part}" for part in bigip_dn(name.value).split(","))
    if isinstance(name, x509.RegisteredID):
        return f"Registered ID:{name.value.dotted_string}"
    return "othername:<unsupported>"


def san_text(cert: x509.Certificate) -> str | None:
    """The `subjectAlternativeName` BIG-IP shows, or None without the extension."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    return ", ".join(_san_entry(n) for n in ext.value)


def key_facts(cert: x509.Certificate) -> tuple[str, int, str, str]:
    """(keyType, certificateKeySize, certificateKeyCurveName, publicKeyType)."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa-public", key.key_size, "none", "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = _CURVES.get(key.curve.name, key.curve.name)
        return "ec-public", key.curve.key_size, curve, "EC"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519-public", 256, "none", "ED25519"  # UNVERIFIED
    raise ValueError(f"unsupported key type {type(key).__name__}")


def filestore_path(obj: ObjPath) -> str:
    """Where the certificate file lives on the box (UNVERIFIED for folder objects)."""
    inner = obj.full[1:].replace("/", ":")
    object_id = 10000 + int(hashlib.sha1(obj.full.encode()).hexdigest()[:8], 16) % 90000
    return f"/config/filestore/files_d/{obj.partition}_d/certificate_d/:{inner}_{object_id}_1"


def render_ssl_cert(
    obj: ObjPath,
    certs: Sequence[GeneratedCert],
    bundle: bool,
    version: str,
    created: str,
    system_file: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The ssl-cert object and the text of its file (`system_file`: a built-in's text)."""
    pem = "".join(c.pem for c in certs) if system_file is None else system_file
    data = pem.encode("ascii")
    shown = certs[-1].cert  # a bundle's top-level fields describe one certificate only
    key_type, size, curve, _ = key_facts(shown)
    out = header(SSL_CERT, obj, version)
    out["certificateKeyCurveName"] = curve
    out["certificateKeySize"] = size
    out["checksum"] = f"SHA1:{len(data)}:{hashlib.sha1(data).hexdigest()}"
    out["createTime"] = created
    out["createdBy"] = "admin" if system_file is None else "root"
    emails = shown.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)
    if emails:
        out["email"] = str(emails[0].value)
    out["expirationDate"] = int(shown.not_valid_after_utc.timestamp())
    out["expirationString"] = cert_time(shown.not_valid_after_utc)
    out["fingerprint"] = fingerprint(certs[-1].der)
    out["isBundle"] = "true" if bundle else "false"
    out["issuer"] = bigip_dn(shown.issuer)
    out["keyType"] = key_type
    out["lastUpdateTime"] = created
    out["mode"] = 33188
    out["revision"] = 1
    if not bundle:
        out["serialNumber"] = serial_text(shown.serial_number)
    out["size"] = len(data)
    if system_file is None:
        out["sourcePath"] = f"file:///var/config/rest/downloads/{obj.name}"
    out["subject"] = bigip_dn(shown.subject)
    san = san_text(shown)
    if san is not None and reports_san(version):
        out["subjectAlternativeName"] = san
    if system_file is not None:
        out["systemPath"] = builtins.system_path(obj)
    out["updatedBy"] = "admin" if system_file is None else "root"
    out["version"] = shown.version.value + 1
    base = f"{SSL_CERT}/{obj.encoded}"
    out["bundleCertificatesReference"] = sub_reference(f"{base}/bundle-certificates", version)
    out["certValidatorsReference"] = sub_reference(f"{base}/cert-validators", version)
    return out, pem


def render_crypto_cert(obj: ObjPath, cert: GeneratedCert, version: str) -> dict[str, Any]:
    """The `sys/crypto/cert` view: `name` is the full path, the expiry only as text."""
    _, size, _, public = key_facts(cert.cert)
    out: dict[str, Any] = {
        "kind": "tm:sys:crypto:cert:certstate",
        "name": obj.full,
        "fullPath": obj.full,
        "generation": 1,
        "selfLink": f"https://localhost/mgmt/tm/{CRYPTO_CERT}/{obj.encoded}?ver={version}",
        "apiRawValues": {
            "certificateKeySize": str(size),
            "expiration": cert_time(cert.cert.not_valid_after_utc),
            "issuer": bigip_dn(cert.cert.issuer),
            "publicKeyType": public,
        },
    }
    subject = cert.cert.subject

    def put(fields: tuple[tuple[str, x509.ObjectIdentifier], ...]) -> None:
        for key, oid in fields:
            attrs = subject.get_attributes_for_oid(oid)
            if attrs:
                out[key] = str(attrs[0].value)

    put(_CRYPTO_SUBJECT)
    out["fingerprint"] = fingerprint(cert.der)
    put(_CRYPTO_SUBJECT_TAIL)
    out["certValidatorsReference"] = sub_reference(
        f"{CRYPTO_CERT}/{obj.encoded}/cert-validators", version
    )
    return out


def render_manager(m: Manager, version: str) -> dict[str, Any]:
    out = header(MANAGER, m.path, version)
    if m.description:
        out["description"] = m.description
    out["includeBundle"] = list(m.include)
    out["includeBundleReference"] = [
        reference(f"{SSL_CERT}/{encode_path(p)}", version) for p in m.include
    ]
    out["proxyPort"] = 3128
    out["timeOut"] = 8
    out["trustedCaBundle"] = "/Common/f5-ca-bundle.crt"
    out["trustedCaBundleReference"] = reference(f"{SSL_CERT}/~Common~f5-ca-bundle.crt", version)
    out["updateInterval"] = 0
    return out


def render_certificates(
    spec: ConfigSpec, certs: Mapping[str, GeneratedCert], version: str, now: datetime
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """{collection → items} for the certificate kinds, and {filestore path → PEM}."""
    created = iso_time(now)
    files: dict[str, list[GeneratedCert]] = {}
    ssl_certs: list[dict[str, Any]] = []
    crypto: list[dict[str, Any]] = []
    store: dict[str, str] = {}

    def add(
        obj: ObjPath, members: list[GeneratedCert], bundle: bool, system: str | None = None
    ) -> None:
        item, pem = render_ssl_cert(obj, members, bundle, version, created, system)
        ssl_certs.append(item)
        crypto.append(render_crypto_cert(obj, members[-1], version))
        store[filestore_path(obj)] = pem

    for f in spec.cert_files:
        files[f.path.full] = [certs[i] for i in f.cert_ids]
        add(f.path, files[f.path.full], f.bundle)
    for m in spec.managers:
        merged: dict[bytes, GeneratedCert] = {}
        for path in m.include:
            for c in files[path]:
                merged.setdefault(c.der, c)
        add(m.path, list(merged.values()), True)
    own = {f.path.full for f in spec.cert_files} | {m.path.full for m in spec.managers}
    device = builtins.device_certs(now)
    system = {
        builtins.CA_BUNDLE: (
            list(builtins.bundle_roots()),
            True,
            builtins.bundle_text(spec.builtin_ca_bundle == "real"),
        ),
        builtins.DEFAULT_CRT: ([device["default"]], False, device["default"].pem),
        builtins.F5_CA_BUNDLE: ([device["f5-ca"]], False, device["f5-ca"].pem),
        builtins.F5_IRULE: ([device["f5-irule"]], False, device["f5-irule"].pem),
    }
    for obj, (members, bundle, text) in system.items():
        if obj.full not in own:  # the scenario's own file of that name replaces it
            add(obj, members, bundle, text)
    managers = [render_manager(m, version) for m in spec.managers]
    return {SSL_CERT: ssl_certs, CRYPTO_CERT: crypto, MANAGER: managers}, store
