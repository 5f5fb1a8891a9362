"""The built-in objects every BIG-IP holds, whatever its configuration.

A real device ships with system certificates and parent profiles that no operator
created (the 14.1.2.1 captures in shared/fixtures/f5, genieparser):

- `/Common/default.crt`: the device's self-signed certificate (RSA 2048, ten years;
  captured subject `emailAddress=root@localhost.localdomain,CN=localhost.localdomain,
  OU=IT,O=MyCompany,L=Seattle,ST=WA,C=US`, here `CN=localhost.localdomain,O=MyCompany`),
  the `cert` of `/Common/clientssl`;
- `/Common/ca-bundle.crt`: the public CA bundle, `isBundle: "true"`, a multi-megabyte file
  (4,735,518 bytes captured); here 150 generated self-signed roots, each preceded by an
  OpenSSL-style text description as in the shipped file, so that paging through many
  certificates and reading a large bundle get exercised: about 440 KB by default, and
  exactly the captured size with the scenario's `builtinCaBundle: real` (the descriptions
  go on with further hex-dump lines, UNVERIFIED; built once per process in about 0.2 s);
- `/Common/f5-irule.crt`: F5's iRule signing certificate (`support@f5.com`);
- `/Common/f5-ca-bundle.crt`: the CA F5's own services chain to (one root, captured with
  `isBundle: "false"`), the `trustedCaBundle` of every ca-bundle-manager;
- `/Common/serverssl` and `/Common/clientssl`: the parents every SSL profile's
  `defaultsFrom` names (`defaultsFrom: "none"` themselves).

System certificates are `createdBy`/`updatedBy` `root` with a `systemPath` under
`/config/ssl/ssl.crt/` and no `sourcePath`.  A scenario that defines one of these paths
itself (e.g. its own `/Common/ca-bundle.crt`) replaces the built-in one.

Generation is deterministic and independent of the scenario: fixed names, a fixed seed,
absolute validity dates for the bundle (so one process builds it once), the device's
clock only for `default.crt`.  UNVERIFIED and chosen here: the text before each PEM
block of the bundle (subject, issuer, validity, serial and a hex dump of the DER), the
bundle's roots being ECDSA (real ones are mostly RSA; key generation would be slow).
"""

from __future__ import annotations

import functools
import textwrap
from datetime import UTC, datetime

from monitor.simulate.bigip.links import ObjPath
from monitor.simulate.certgen import CertSpec, GeneratedCert, generate_all

SEED = "bigip-builtin"
BUNDLE_SIZE = 150
REAL_SIZE = 4_735_518  # bytes of the captured 14.1.2.1 /config/ssl/ssl.crt/ca-bundle.crt
DEFAULT_CRT = ObjPath("Common", None, "default.crt")
CA_BUNDLE = ObjPath("Common", None, "ca-bundle.crt")
F5_IRULE = ObjPath("Common", None, "f5-irule.crt")
F5_CA_BUNDLE = ObjPath("Common", None, "f5-ca-bundle.crt")
CERT_PATHS = (CA_BUNDLE.full, DEFAULT_CRT.full, F5_CA_BUNDLE.full, F5_IRULE.full)
SERVER_PARENT = "/Common/serverssl"
CLIENT_PARENT = "/Common/clientssl"
_BUNDLE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_ORGS = (
    "Example Trust Services",
    "Simulated Certification Authority",
    "Acme Global Root Services",
    "Test Digital Security",
    "Sample Network Solutions",
)


def system_path(obj: ObjPath) -> str:
    return f"/config/ssl/ssl.crt/{obj.name}"


@functools.cache
def bundle_roots() -> tuple[GeneratedCert, ...]:
    """The roots of `/Common/ca-bundle.crt`, built once per process."""
    specs = {}
    for i in range(BUNDLE_SIZE):
        cert_id = f"root-{i:03d}"
        specs[cert_id] = CertSpec(
            cert_id,
            f"{_ORGS[i % len(_ORGS)]} Root CA {i // len(_ORGS) + 1}",
            key="ecdsa-p384" if i % 3 == 0 else "ecdsa-p256",
            ca=True,
            not_before=f"-{365 * (i % 12) + 30}d",
            not_after=f"+{365 * (10 + i % 20)}d",
            signature_hash="sha384" if i % 3 == 0 else "sha256",
            organization=f"{_ORGS[i % len(_ORGS)]} {i // len(_ORGS) + 1}",
        )
    return tuple(generate_all(specs, _BUNDLE_EPOCH, SEED).values())


@functools.cache
def bundle_text(real_size: bool = False) -> str:
    """The bundle file: an OpenSSL-style description, then the PEM, per root; with
    `real_size`, the descriptions padded so the file has the captured size, `REAL_SIZE`."""
    if not real_size:
        return "".join(_describe(c) + c.pem for c in bundle_roots())
    parts = [(_describe(c), c) for c in bundle_roots()]
    short = REAL_SIZE - sum(len(d.encode()) + len(c.pem.encode()) for d, c in parts)
    out = []
    for i, (description, c) in enumerate(parts):
        share = short // len(parts) + (1 if i < short % len(parts) else 0)
        out.append(description + _padding(c, share) + c.pem)
    return "".join(out)


def _padding(c: GeneratedCert, size: int) -> str:
    """`size` bytes of further hex-dump lines of the root's DER, as the description goes on."""
    line = "        " + ":".join(f"{b:02x}" for b in c.der[:18]) + "\n"
    whole, rest = divmod(size, len(line))
    tail = ("        " + "0" * max(rest - 9, 0) + "\n")[-rest:] if rest else ""
    return line * whole + tail


def _describe(c: GeneratedCert) -> str:
    cert = c.cert
    dump = ":".join(f"{b:02x}" for b in c.der)
    lines = textwrap.wrap(dump, 54)
    return (
        "Certificate:\n    Data:\n        Version: 3 (0x2)\n"
        f"        Serial Number: {cert.serial_number:x}\n"
        f"        Issuer: {cert.issuer.rfc4514_string()}\n        Validity\n"
        f"            Not Before: {cert.not_valid_before_utc:%b %d %H:%M:%S %Y} GMT\n"
        f"            Not After : {cert.not_valid_after_utc:%b %d %H:%M:%S %Y} GMT\n"
        f"        Subject: {cert.subject.rfc4514_string()}\n"
        "    DER:\n" + "".join(f"        {line}\n" for line in lines)
    )


@functools.cache
def device_certs(now: datetime) -> dict[str, GeneratedCert]:
    """`default.crt` (ten years from a year before `now`), `f5-irule.crt`, `f5-ca-bundle.crt`."""
    specs = {
        "default": CertSpec(
            "default",
            "localhost.localdomain",
            key="rsa-2048",
            ca=False,
            not_before="-365d",
            not_after="+3285d",
            organization="MyCompany",
            eku=(),
        ),
        "f5-irule": CertSpec(
            "f5-irule",
            "support.f5.com",
            key="ecdsa-p256",
            not_before="-730d",
            not_after="+1460d",
            organization="F5 Networks",
            eku=(),
        ),
        "f5-ca": CertSpec(
            "f5-ca",
            "Simulated Root Certification Authority - G2",
            key="ecdsa-p384",
            ca=True,
            not_before="-3650d",
            not_after="+1825d",
            signature_hash="sha384",
            organization="Simulated Trust, Inc.",
        ),
    }
    return generate_all(specs, now.replace(microsecond=0), SEED)
