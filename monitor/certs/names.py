"""The names a certificate carries, from the parsed certificate or from BIG-IP's REST text.

BIG-IP's `sys/file/ssl-cert` objects describe a certificate without its PEM (research/f5.md
§2.1): `subject` is a distinguished name written most specific RDN first and unescaped
(`CN=shop.example.com,O=Example, Inc.,C=US`), and `subjectAlternativeName` is OpenSSL's
text form of the SAN extension, entries joined by `", "`: `DNS:www.example.com`,
`IP Address:10.0.0.1` (IPv6 as eight hex groups), `URI:spiffe://…`, `email:…`, and for
other kinds `DirName:`, `othername:`, `Registered ID:`.

Owns:
- `CertNames`: a certificate's CN and SANs by kind, whichever way they were learnt;
- `names_of_facts`: from a parsed certificate (`CertFacts`);
- `parse_f5_san` / `dn_common_name`: BIG-IP's two text fields, parsed with bounds
  (`MAX_SAN_TEXT` characters, `MAX_SAN_ENTRIES` entries); odd entries are kept as
  `others`, never raise. As the DN is not escaped, a comma starts a new RDN only when
  `attribute=` follows it (a value holding `, X=` is ambiguous and read as two RDNs);
- `reports_san(version)`: whether a TMOS version is known to report
  `subjectAlternativeName`, so that its absence means "no SAN extension"
  (`SAN_REPORTED_FROM`, 14.1; docs/scenario.md says why). On an older or unknown version
  an absent field says nothing.

Pure: no I/O, no clock, no logging.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from monitor.certs.facts import CertFacts

SAN_REPORTED_FROM: Final = (14, 1)
MAX_SAN_TEXT: Final = 64 * 1024
MAX_SAN_ENTRIES: Final = 1000

# An RDN boundary: a comma followed by `attribute=` (BIG-IP does not escape commas in
# values, e.g. `O=Starfield Technologies, Inc.,L=Scottsdale`).
_RDN_SPLIT = re.compile(r",(?=\s*[A-Za-z][A-Za-z0-9.-]*=)")
_ENTRY_SPLIT = re.compile(r",\s*(?=[A-Za-z][A-Za-z ]*:)")
_VERSION = re.compile(r"^\s*(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class CertNames:
    """A certificate's common name and subject alternative names, by kind."""

    common_name: str | None
    dns: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()  # canonical text (`ipaddress`)
    others: tuple[str, ...] = ()  # other kinds, as BIG-IP wrote them (`email:a@b`)
    source: str = "certificate"  # "certificate" (parsed PEM) or "ssl-cert" (REST fields)


def names_of_facts(facts: CertFacts) -> CertNames:
    return CertNames(facts.common_name, facts.dns_sans, facts.uri_sans, facts.ip_sans)


def dn_common_name(dn: str) -> str | None:
    """The first (most specific) CN of a DN in BIG-IP's form; None when it has none."""
    for rdn in _RDN_SPLIT.split(dn[:MAX_SAN_TEXT]):
        for part in rdn.split("+"):
            key, sep, value = part.partition("=")
            if sep and key.strip().upper() in ("CN", "COMMONNAME", "2.5.4.3"):
                return value.strip()
    return None


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        pass
    groups = text.strip().split(":")  # OpenSSL's IPv6: eight groups, no `::`, upper case
    if len(groups) == 8 and all(1 <= len(g) <= 4 for g in groups):
        try:
            return str(ipaddress.IPv6Address(":".join(groups)))
        except ValueError:
            return None
    return None


def parse_f5_san(subject: str, text: str) -> CertNames:
    """`CertNames` from an ssl-cert's `subject` and `subjectAlternativeName` text."""
    dns: list[str] = []
    uris: list[str] = []
    ips: list[str] = []
    others: list[str] = []
    entries = [e.strip() for e in _ENTRY_SPLIT.split(text[:MAX_SAN_TEXT].strip()) if e.strip()]
    for entry in entries[:MAX_SAN_ENTRIES]:
        kind, sep, value = entry.partition(":")
        kind = kind.strip().lower()
        value = value.strip()
        if not sep or not value:
            others.append(entry)
        elif kind == "dns":
            dns.append(value)
        elif kind == "uri":
            uris.append(value)
        elif kind in ("ip address", "ip") and (ip := _ip(value)) is not None:
            ips.append(ip)
        else:
            others.append(entry)
    return CertNames(
        dn_common_name(subject), tuple(dns), tuple(uris), tuple(ips), tuple(others), "ssl-cert"
    )


def reports_san(version: str) -> bool:
    """Whether TMOS `version` (`15.1.10.2`) lists `subjectAlternativeName` on every ssl-cert
    with a SAN extension; False for older versions and for an unknown version (``)."""
    match = _VERSION.match(version)
    if match is None:
        return False
    return (int(match.group(1)), int(match.group(2))) >= SAN_REPORTED_FROM
