"""Tests for monitor.certs.names: a certificate's names, parsed or from BIG-IP's REST text."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.certs import (
    CertNames,
    cert_facts,
    dn_common_name,
    names_of_facts,
    parse_f5_san,
    reports_san,
)
from monitor.certs.names import MAX_SAN_ENTRIES, MAX_SAN_TEXT
from monitor.simulate.bigip.certs import bigip_dn, san_text
from tests.support.certhelpers import T0

SPIFFE = "spiffe://cluster.local/ns/f5-edge/sa/bigip"


def test_dns_entries_as_bigip_lists_them() -> None:
    names = parse_f5_san("CN=www.example.com", "DNS:www.example.com, DNS:www.example.internal.net")
    assert names == CertNames(
        "www.example.com", dns=("www.example.com", "www.example.internal.net"), source="ssl-cert"
    )


def test_every_kind_of_entry() -> None:
    text = (
        "DNS:a.example, IP Address:10.0.0.1, IP Address:2001:DB8:0:0:0:0:0:1,"
        f" URI:{SPIFFE}, email:ops@example.com, DirName:/CN=x/O=y, Registered ID:1.2.3.4"
    )
    names = parse_f5_san("O=Acme, Inc.,CN=leaf", text)
    assert names.common_name == "leaf"
    assert names.dns == ("a.example",)
    assert names.ips == ("10.0.0.1", "2001:db8::1")
    assert names.uris == (SPIFFE,)
    assert names.others == ("email:ops@example.com", "DirName:/CN=x/O=y", "Registered ID:1.2.3.4")


@pytest.mark.parametrize(
    "text", ["", "   ", "garbage", "DNS:", "IP Address:not-an-ip", ", , DNS:x.example"]
)
def test_odd_text_never_raises(text: str) -> None:
    names = parse_f5_san("", text)
    assert names.common_name is None
    assert all(isinstance(n, str) for n in (*names.dns, *names.ips, *names.others))


def test_text_and_entries_are_bounded() -> None:
    many = ", ".join(f"DNS:h{i}.example" for i in range(MAX_SAN_ENTRIES + 50))
    assert len(parse_f5_san("", many).dns) == MAX_SAN_ENTRIES
    huge = "DNS:" + "a" * (MAX_SAN_TEXT * 2)
    assert len(parse_f5_san("", huge).dns[0]) < MAX_SAN_TEXT


@pytest.mark.parametrize(
    ("dn", "cn"),
    [
        ("CN=leaf,O=Acme", "leaf"),
        ("emailAddress=root@localhost,CN=localhost.localdomain,OU=IT", "localhost.localdomain"),
        ("CN=Root CA,O=Example Technologies, Inc.,C=US", "Root CA"),
        ("CN=a.example, www.example,O=x", "a.example, www.example"),
        ("CN=a+serialNumber=1,O=x", "a"),
        ("O=no common name", None),
        ("", None),
    ],
)
def test_common_name_of_a_bigip_dn(dn: str, cn: str | None) -> None:
    assert dn_common_name(dn) == cn


@pytest.mark.parametrize(
    ("version", "reports"),
    [
        ("14.1.0", True),
        ("14.1.2.1", True),
        ("15.1.10.2", True),
        ("17.1.1.3", True),
        ("14.0.1", False),
        ("13.1.0.8", False),
        ("12.1.5", False),
        ("", False),
        ("unknown", False),
    ],
)
def test_versions_known_to_report_the_field(version: str, reports: bool) -> None:
    assert reports_san(version) is reports


def _cert(*names: x509.GeneralName) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, "leaf.example"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(T0)
        .not_valid_after(T0 + timedelta(days=1))
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(key, hashes.SHA256())


def test_the_simulated_field_reads_back_as_the_parsed_certificate() -> None:
    """What the simulated BIG-IP writes, parsed from REST, equals the parsed PEM's names."""
    cert = _cert(
        x509.DNSName("leaf.example"),
        x509.DNSName("*.leaf.example"),
        x509.IPAddress(ipaddress.ip_address("192.0.2.7")),
        x509.IPAddress(ipaddress.ip_address("2001:db8::7")),
        x509.UniformResourceIdentifier(SPIFFE),
    )
    text = san_text(cert)
    assert text == (
        "DNS:leaf.example, DNS:*.leaf.example, IP Address:192.0.2.7,"
        f" IP Address:2001:DB8:0:0:0:0:0:7, URI:{SPIFFE}"
    )
    rest = parse_f5_san(bigip_dn(cert.subject), text)
    parsed = names_of_facts(cert_facts(cert))
    assert (rest.common_name, rest.dns, rest.uris, rest.ips) == (
        parsed.common_name,
        parsed.dns,
        parsed.uris,
        parsed.ips,
    )
    assert (rest.source, parsed.source) == ("ssl-cert", "certificate")


def test_no_field_without_the_extension() -> None:
    assert san_text(_cert()) is None
