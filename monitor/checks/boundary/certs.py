"""The certificate files a boundary's BIG-IP profiles name, as the checks can know them.

What an ssl-cert file holds is resolved in `monitor.checks.resolve`: `cert_file` (a single
certificate is known from its REST fields; a bundle, a chain file, only when its members
were read: a CA bundle described by `ca-bundle-manager`, or a file read through util/bash;
otherwise only the one certificate its top-level fields describe is known, and a note says
so) and `expiry` (a certificate's end date: REST `expirationDate`, else the parsed PEM).
This module owns, for the client-certificate checks (`client`, `policy`) and the edge
checks (`monitor.checks.edge`):
- `earliest`: the certificate of a set that ends first: the expiry checks judge a role by
  the earliest certificate it needs and name it in the evidence.
- `facts_of`: the parsed certificate, or an `Unknown` that says why not: BIG-IP's REST API
  returns certificate metadata, never the PEM, so the signature checks (chains, what a
  certificate hangs from) need the file read through util/bash (`bundleReader` bash or
  auto with a bash-capable role).
- `names_of`: a certificate's CN and SANs (`CertNames`), REST first: the parsed
  certificate when it was read, else the ssl-cert's `subjectAlternativeName` and `subject`;
  an absent `subjectAlternativeName` means "no SAN extension" on a TMOS version known to
  report the field (`monitor.certs.reports_san`), and unknown on an older one.
- `cert_identities` / `name_covered`: the identities a certificate names (DNS SANs, SPIFFE
  URI SANs) and TLS name matching with wildcards one label deep.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from monitor.certs import (
    SAN_REPORTED_FROM,
    CertFacts,
    CertNames,
    dn_common_name,
    names_of_facts,
    reports_san,
)
from monitor.checks.common import iso, short_fp
from monitor.checks.outcome import Evidence, Unknown
from monitor.checks.resolve import Device, expiry, member_fingerprint
from monitor.config.schema import Config
from monitor.model import SslCert


def earliest(certs: Iterable[SslCert]) -> SslCert | None:
    """The certificate that ends first among those whose end is known (first on a tie)."""
    dated = [c for c in certs if expiry(c) is not None]
    return min(dated, key=lambda c: expiry(c) or datetime.max) if dated else None


def fingerprint(cert: SslCert) -> str:
    return member_fingerprint(cert) or "unknown"


def shown(cert: SslCert) -> str:
    """`CN=x (sha256 ab12…, /Common/x.crt)`, or without fingerprint when BIG-IP gave none."""
    fp = member_fingerprint(cert)
    return f"{cert.subject} ({short_fp(fp) + ', ' if fp else ''}{cert.path})"


def ssl_cert_evidence(prefix: str, cert: SslCert) -> Evidence:
    end = expiry(cert)
    return (
        (f"{prefix}_path", cert.path),
        (f"{prefix}_fingerprint", fingerprint(cert)),
        (f"{prefix}_subject", cert.subject),
        (f"{prefix}_not_after", iso(end) if end is not None else "unknown"),
    )


def bundle_reader(cfg: Config, device: str) -> str:
    """The device's configured `bundleReader` (auto when the device is not configured)."""
    return next((d.bundle_reader for d in cfg.bigip if d.name == device), "auto")


def facts_of(
    cfg: Config, device: Device, cert: SslCert, role: str, what: str
) -> CertFacts | Unknown:
    """The parsed certificate, or an Unknown naming the bundleReader: `what` is the part of
    the check that needs the PEM ("its chain to the trust anchors", "its names")."""
    if cert.facts is not None:
        return cert.facts
    reader = bundle_reader(cfg, device.name)
    hint = (
        "util/bash did not return it"
        if reader == "bash"
        else "bundleReader bash (a bash-capable role) reads it"
    )
    detail = (
        f"{device.name}: {role} {cert.path}: the certificate's PEM is not readable with"
        f" bundleReader {reader}; {what} cannot be checked from the REST fields ({hint})"
    )
    return Unknown(device.name, detail)


# --- names ------------------------------------------------------------------------------------


def names_of(device: Device, cert: SslCert, role: str, what: str) -> CertNames | Unknown:
    """The certificate's names: parsed PEM, else the ssl-cert's REST fields; or an Unknown
    when the field is absent on a TMOS version not known to report it (`what` is the part
    of the check that needs them, e.g. "the identity it names")."""
    if cert.facts is not None:
        return names_of_facts(cert.facts)
    if cert.alt_names is not None:
        return cert.alt_names
    version = device.state.version
    if reports_san(version):
        return CertNames(dn_common_name(cert.subject), source="ssl-cert")
    since = ".".join(str(n) for n in SAN_REPORTED_FROM)
    shown = f"TMOS {version}" if version else "a TMOS version that could not be read"
    detail = (
        f"{device.name}: {role} {cert.path}: no subjectAlternativeName field, and on {shown}"
        f" its absence does not prove the certificate has no SAN (the field is relied on from"
        f" TMOS {since}); {what} cannot be checked from the REST fields (bundleReader bash, a"
        " bash-capable role, reads the certificate itself)"
    )
    return Unknown(device.name, detail)


def cert_identities(names: CertNames) -> tuple[str, ...]:
    """The mesh identities a certificate names: its DNS SANs (a Linkerd leaf has exactly
    one, the identity), then its SPIFFE URI SANs (`spiffe://…`, Linkerd 2.15+)."""
    spiffe = tuple(u for u in names.uris if u.lower().startswith("spiffe://"))
    return (*names.dns, *spiffe)


def same_identity(a: str, b: str) -> bool:
    """DNS-style identities compare without case; SPIFFE IDs exactly."""
    if a.lower().startswith("spiffe://") or b.lower().startswith("spiffe://"):
        return a == b
    return a.lower().rstrip(".") == b.lower().rstrip(".")


def name_covered(pattern: str, name: str) -> bool:
    """Whether a certificate name (`pattern`, a SAN) covers the TLS name `name`: equal
    without case, or `*.rest` covering exactly one more label (`a.rest`, not `a.b.rest` nor
    `rest`). A wildcard `name` is covered only by the same wildcard."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    if not pattern.startswith("*.") or name.startswith("*."):
        return False
    label, _, rest = name.partition(".")
    return bool(label) and rest == pattern[2:]
