"""Tests for the certificate core (monitor.certs, monitor.certs.chain) with generated certificates.

Parsing of malformed and unusual PEM/DER, the facts read from a certificate, fingerprint
formats, chain verification (Go `x509.Verify` semantics) and Linkerd's algorithm rules.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.certs import (
    CERT_ERROR_CODES,
    CHAIN_CODES,
    CertFacts,
    ParsedCerts,
    anchor_algorithm_problem,
    cert_facts,
    issuer_algorithm_problem,
    normalize_fingerprint,
    parse_any,
    parse_der,
    parse_pem_bundle,
    signed_by,
    verify_chain,
)
from tests.support.certhelpers import (
    ANY_EKU,
    CLIENT_AUTH,
    SERVER_AUTH,
    T0,
    Issued,
    anchor,
    intermediate,
    key_for,
    leaf,
    make_cert,
    new_key,
    pem_of,
)

# --- material shared by the parsing tests --------------------------------------------------

ROOT_A = anchor("a.test")
LEAF_B = leaf("b.test", ROOT_A)
KEY_PEM = (
    new_key()
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)
KEY_BODY = "".join(KEY_PEM.splitlines()[1:-1])
GARBAGE = "-----BEGIN CERTIFICATE-----\nMIIBnotbase64!!\n-----END CERTIFICATE-----\n"
NOT_A_CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    + base64.b64encode(b"this is base64 but not DER").decode()
    + "\n-----END CERTIFICATE-----\n"
)


def _indent(text: str, prefix: str) -> str:
    return "".join(prefix + line for line in text.splitlines(keepends=True))


def _with_non_ascii_in_body(pem: str, inject: str) -> str:
    lines = pem.splitlines(keepends=True)
    lines[2] = lines[2][:10] + inject + lines[2][10:]
    return "".join(lines)


@dataclass(frozen=True)
class Case:
    id: str
    data: str | bytes
    cns: tuple[str, ...]
    errors: tuple[tuple[str, int | None], ...] = ()
    skipped: tuple[str, ...] = ()


CASES = [
    Case("empty string", "", (), (("empty", None),)),
    Case("empty bytes", b"", (), (("empty", None),)),
    Case("whitespace only", " \n\t\r\n  ", (), (("empty", None),)),
    Case("one certificate", ROOT_A.pem, ("a.test",)),
    Case("bytes input", pem_of(ROOT_A, LEAF_B).encode(), ("a.test", "b.test")),
    Case("no trailing newline", ROOT_A.pem.rstrip("\n"), ("a.test",)),
    Case("CRLF bundle", pem_of(ROOT_A, LEAF_B).replace("\n", "\r\n"), ("a.test", "b.test")),
    Case("CR-only line ends", pem_of(ROOT_A, LEAF_B).replace("\n", "\r"), ("a.test", "b.test")),
    Case(
        "text between blocks",
        "# bundle\nsubject=a\n" + ROOT_A.pem + "\n--- some words\n\n" + LEAF_B.pem + "trailer",
        ("a.test", "b.test"),
    ),
    Case("leading whitespace and indentation", "\n\n" + _indent(ROOT_A.pem, "    "), ("a.test",)),
    Case("byte order mark", "\ufeff" + ROOT_A.pem, ("a.test",)),
    Case(
        "RFC 1421 headers in the block",
        ROOT_A.pem.replace("-----\n", "-----\nProc-Type: 4,TEST\nComment: x\n\n", 1),
        ("a.test",),
    ),
    Case("key only", KEY_PEM, (), (("no_certificate", None),), ("PRIVATE KEY",)),
    Case(
        "certificate, key, certificate",
        ROOT_A.pem + KEY_PEM + LEAF_B.pem,
        ("a.test", "b.test"),
        skipped=("PRIVATE KEY",),
    ),
    Case(
        "trusted certificate is skipped",
        ROOT_A.pem.replace("CERTIFICATE", "TRUSTED CERTIFICATE"),
        (),
        (("no_certificate", None),),
        ("TRUSTED CERTIFICATE",),
    ),
    Case("truncated", ROOT_A.pem[: len(ROOT_A.pem) // 2], (), (("truncated_pem", 1),)),
    Case(
        "truncated then good",
        ROOT_A.pem[: len(ROOT_A.pem) // 2] + LEAF_B.pem,
        ("b.test",),
        (("truncated_pem", 1),),
    ),
    Case("BEGIN line cut short", "-----BEGIN CERTIF", (), (("truncated_pem", 1),)),
    Case(
        "END without BEGIN",
        "".join(ROOT_A.pem.splitlines(keepends=True)[3:]),
        (),
        (("truncated_pem", 1),),
    ),
    Case(
        "mismatched END label",
        ROOT_A.pem.replace("END CERTIFICATE", "END PRIVATE KEY"),
        (),
        (("truncated_pem", 1),),
    ),
    Case(
        "truncated key block",
        KEY_PEM[:60],
        (),
        (("truncated_pem", 1), ("no_certificate", None)),
        ("PRIVATE KEY",),
    ),
    Case("garbage base64", GARBAGE, (), (("bad_base64", 1),)),
    Case(
        "base64 of the wrong length",
        ROOT_A.pem.replace(ROOT_A.pem.splitlines()[1], ROOT_A.pem.splitlines()[1][:-1]),
        (),
        (("bad_base64", 1),),
    ),
    Case(
        "empty body",
        "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        (),
        (("bad_base64", 1),),
    ),
    Case("base64 but not DER", NOT_A_CERT, (), (("bad_der", 1),)),
    Case(
        "mixed good and bad blocks",
        ROOT_A.pem + GARBAGE + KEY_PEM + NOT_A_CERT + LEAF_B.pem,
        ("a.test", "b.test"),
        (("bad_base64", 2), ("bad_der", 4)),
        ("PRIVATE KEY",),
    ),
    Case(
        "non-ASCII in a block", _with_non_ascii_in_body(ROOT_A.pem, "é"), (), (("bad_encoding", 1),)
    ),
    Case(
        "invalid UTF-8 in a block",
        _with_non_ascii_in_body(ROOT_A.pem, "\udcff").encode("utf-8", "surrogateescape"),
        (),
        (("bad_encoding", 1),),
    ),
    Case(
        "invalid UTF-8 outside blocks is ignored",
        b"# Zertifikat f\xfcr a.test\n" + ROOT_A.pem.encode(),
        ("a.test",),
    ),
    Case("binary without PEM", b"\x00\xff\xfe\x81binary", (), (("bad_encoding", None),)),
    Case("text without PEM", "just some text\n", (), (("no_certificate", None),)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_parse_pem_bundle_table(case: Case) -> None:
    result = parse_pem_bundle(case.data)
    assert tuple(c.common_name for c in result.certs) == case.cns
    assert tuple((e.code, e.block) for e in result.errors) == case.errors
    assert result.skipped == case.skipped


def test_truncated_message_names_block_and_problem() -> None:
    result = parse_pem_bundle(LEAF_B.pem + ROOT_A.pem[: len(ROOT_A.pem) // 2])
    assert [c.common_name for c in result.certs] == ["b.test"]
    (err,) = result.errors
    assert err.message.startswith("block 2 (CERTIFICATE): BEGIN line without a matching END line")
    begin_line = LEAF_B.pem.count("\n") + 1
    assert f"BEGIN at line {begin_line}" in err.message


def test_bad_base64_message_names_character_and_line() -> None:
    result = parse_pem_bundle(ROOT_A.pem + GARBAGE)
    (err,) = result.errors
    line = ROOT_A.pem.count("\n") + 2
    assert err.message == f"block 2 (CERTIFICATE): invalid base64 character '!' at line {line}"


def test_bad_der_message_says_not_a_certificate() -> None:
    (err,) = parse_pem_bundle(NOT_A_CERT).errors
    assert err.message.startswith("block 1 (CERTIFICATE): not an X.509 certificate (26 bytes")


def test_key_only_names_the_labels_and_keeps_no_key_material() -> None:
    result = parse_pem_bundle(
        KEY_PEM + "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    )
    (err,) = result.errors
    assert err.code == "no_certificate"
    assert err.message == "no CERTIFICATE block among 2 PEM block(s): PRIVATE KEY, EC PARAMETERS"
    assert result.skipped == ("PRIVATE KEY", "EC PARAMETERS")
    assert KEY_BODY[:40] not in repr(result)


def test_non_ascii_message_names_the_character() -> None:
    (err,) = parse_pem_bundle(_with_non_ascii_in_body(ROOT_A.pem, "é")).errors
    assert err.message == "block 1 (CERTIFICATE): non-ASCII character U+00E9 at line 3"
    data = _with_non_ascii_in_body(ROOT_A.pem, "\udcff").encode("utf-8", "surrogateescape")
    (err,) = parse_pem_bundle(data).errors
    assert err.message == "block 1 (CERTIFICATE): byte 0xFF at line 3 is not valid UTF-8"


def test_parsed_cert_equals_facts_of_source() -> None:
    (facts,) = parse_pem_bundle(ROOT_A.pem).certs
    assert facts == ROOT_A.facts
    assert facts.der == ROOT_A.der
    assert parse_pem_bundle(ROOT_A.pem).ok is True
    assert parse_pem_bundle(ROOT_A.pem + GARBAGE).ok is False


# --- DER ---------------------------------------------------------------------------------


def test_parse_der_single_and_concatenated() -> None:
    assert parse_der(ROOT_A.der) == ParsedCerts((ROOT_A.facts,))
    both = parse_der(ROOT_A.der + LEAF_B.der)
    assert [c.common_name for c in both.certs] == ["a.test", "b.test"]
    assert both.errors == ()


@pytest.mark.parametrize(
    ("data", "certs", "code", "fragment"),
    [
        (b"", 0, "empty", "input is empty"),
        (ROOT_A.der[:-10], 0, "bad_der", "truncated: declares"),
        (b"\x01\x02\x03", 0, "bad_der", "does not start with an ASN.1 SEQUENCE (first byte 0x01)"),
        (b"\x30\x03\x02\x01\x05", 0, "bad_der", "not an X.509 certificate (5 bytes"),
        (b"\x30\x80\x00\x00", 0, "bad_der", "unsupported length encoding 0x80"),
        (ROOT_A.der + b"\x00", 1, "bad_der", "DER item 2 at byte"),
        (b"MIIBhello", 0, "bad_der", "looks like text"),
    ],
    ids=[
        "empty",
        "truncated",
        "not-a-sequence",
        "sequence-not-cert",
        "indefinite",
        "trailing",
        "text",
    ],
)
def test_parse_der_errors(data: bytes, certs: int, code: str, fragment: str) -> None:
    result = parse_der(data)
    assert len(result.certs) == certs
    (err,) = result.errors
    assert err.code == code
    assert fragment in err.message


def test_parse_any_picks_the_format() -> None:
    assert parse_any(ROOT_A.der).certs == (ROOT_A.facts,)
    assert parse_any(ROOT_A.pem.encode()).certs == (ROOT_A.facts,)
    assert parse_any(ROOT_A.pem).certs == (ROOT_A.facts,)
    assert [e.code for e in parse_any(b" \n").errors] == ["empty"]
    assert [e.code for e in parse_any(b"hello").errors] == ["bad_der"]
    assert [e.code for e in parse_any(KEY_PEM.encode()).errors] == ["no_certificate"]


# --- facts -------------------------------------------------------------------------------


def test_facts_of_a_leaf() -> None:
    issued = leaf(
        "svc.test",
        ROOT_A,
        organization="Example",
        dns=("svc.test", "svc.ns.svc.cluster.local"),
        uris=("spiffe://cluster.local/ns/ns/sa/svc",),
        serial=4242,
        not_before=datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC),
        not_after=datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC),
    )
    f = cert_facts(issued.cert)
    assert f.subject == "CN=svc.test,O=Example"
    assert f.issuer == "CN=a.test"
    assert f.common_name == "svc.test"
    assert f.dns_sans == ("svc.test", "svc.ns.svc.cluster.local")
    assert f.uri_sans == ("spiffe://cluster.local/ns/ns/sa/svc",)
    assert f.serial == 4242
    assert (f.key_type, f.key_size, f.curve) == ("ecdsa", 256, "secp256r1")
    assert (f.signature_algorithm, f.signature_hash) == ("ecdsa-with-SHA256", "sha256")
    assert (f.is_ca, f.path_length) == (False, None)
    assert f.key_usage == ("digitalSignature", "keyEncipherment")
    assert f.extended_key_usage == ("serverAuth", "clientAuth")
    assert f.not_before == datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert f.not_after == datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    assert f.not_after.utcoffset() == timedelta(0)
    assert f.fingerprint_sha256 == hashlib.sha256(issued.der).hexdigest()
    assert f.certificate() == issued.cert
    assert "der=" not in repr(f)


def test_facts_of_a_ca_without_optional_extensions() -> None:
    f = anchor("ca.test", path_length=0).facts
    assert (f.is_ca, f.path_length) == (True, 0)
    assert f.key_usage == ("keyCertSign", "cRLSign")
    assert f.extended_key_usage is None
    assert (f.dns_sans, f.uri_sans) == ((), ())
    bare = make_cert("bare.test", ca=None, key_usage=None).facts
    assert (bare.is_ca, bare.path_length, bare.key_usage) == (False, None, ())


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"key": key_for("rsa2048")}, ("rsa", 2048, None, "sha256WithRSAEncryption", "sha256")),
        ({"key_kind": "ed25519"}, ("ed25519", 256, None, "ed25519", None)),
        (
            {"key_kind": "ec384", "hash_alg": hashes.SHA384()},
            ("ecdsa", 384, "secp384r1", "ecdsa-with-SHA384", "sha384"),
        ),
        ({"key_kind": "ec521"}, ("ecdsa", 521, "secp521r1", "ecdsa-with-SHA256", "sha256")),
    ],
    ids=["rsa2048", "ed25519", "p384-sha384", "p521"],
)
def test_facts_key_and_signature(kwargs: dict[str, object], expected: tuple[object, ...]) -> None:
    f = make_cert("k.test", **kwargs).facts  # type: ignore[arg-type]
    assert (f.key_type, f.key_size, f.curve, f.signature_algorithm, f.signature_hash) == expected


def test_eku_names() -> None:
    f = make_cert("e.test", eku=(ANY_EKU, CLIENT_AUTH)).facts
    assert f.extended_key_usage == ("anyExtendedKeyUsage", "clientAuth")


def test_facts_are_values() -> None:
    again = cert_facts(ROOT_A.cert)
    assert again == ROOT_A.facts
    assert hash(again) == hash(ROOT_A.facts)
    assert len({again, ROOT_A.facts, LEAF_B.facts}) == 2


# --- fingerprints ------------------------------------------------------------------------

HEX = "946daad71e4bf3360abe98d657bc422e7c3ffcbde7c5be380d7dcdb8b823814d"
COLON = ":".join(HEX[i : i + 2] for i in range(0, 64, 2)).upper()


def test_f5_fingerprint_format() -> None:
    f = ROOT_A.facts
    assert re.fullmatch(r"SHA256/([0-9A-F]{2}:){31}[0-9A-F]{2}", f.f5_fingerprint)
    assert f.f5_fingerprint.replace("SHA256/", "").replace(":", "").lower() == f.fingerprint_sha256
    assert normalize_fingerprint(f.f5_fingerprint) == f.fingerprint_sha256


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEX, HEX),
        (HEX.upper(), HEX),
        (COLON, HEX),
        (COLON.lower(), HEX),
        ("SHA256/" + COLON, HEX),
        ("sha256/" + COLON.lower(), HEX),
        ("sha256 Fingerprint=" + COLON, HEX),
        ("SHA256:" + HEX, HEX),
        ("  " + COLON + "\n", HEX),
        ("", None),
        (HEX[:-2], None),
        (HEX + "00", None),
        ("SHA1/" + COLON[: 20 * 3 - 1], None),
        ("zz" * 32, None),
        (COLON[:-3], None),
        ("A" + COLON[1:].replace(":", "", 1), None),
        ("SHA256/" + COLON.replace(":", "-"), None),
    ],
)
def test_normalize_fingerprint(text: str, expected: str | None) -> None:
    assert normalize_fingerprint(text) == expected


# --- chain verification ------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    root: Issued
    issuer: Issued
    leaf: Issued


@pytest.fixture(scope="module")
def pki() -> Pki:
    root = anchor("root.test", path_length=1)
    issuer = intermediate("issuer.test", root, path_length=0)
    return Pki(root, issuer, leaf("svc.test", issuer))


def test_valid_three_level_chain(pki: Pki) -> None:
    extra = anchor("unrelated.test").facts
    r = verify_chain(pki.leaf.facts, [extra, pki.issuer.facts], [extra, pki.root.facts], T0)
    assert r.ok is True
    assert r.code is None
    assert r.path == (pki.leaf.facts, pki.issuer.facts, pki.root.facts)
    assert r.culprit is None
    assert r.message.startswith("verified at 2025-01-01T00:00:00Z: 'CN=svc.test'")


def test_missing_intermediate(pki: Pki) -> None:
    r = verify_chain(pki.leaf.facts, [], [pki.root.facts], T0)
    assert (r.ok, r.code) == (False, "unknown_authority")
    assert r.path == (pki.leaf.facts,)
    assert r.culprit == pki.leaf.facts
    assert "leaf 'CN=svc.test'" in r.message
    assert "its issuer is 'CN=issuer.test'" in r.message


def test_wrong_anchor_with_the_same_subject_name(pki: Pki) -> None:
    impostor = anchor("root.test", path_length=1)
    assert impostor.facts.subject == pki.root.facts.subject
    assert signed_by(pki.issuer.facts, impostor.facts) is False
    assert signed_by(pki.issuer.facts, pki.root.facts) is True
    r = verify_chain(pki.leaf.facts, [pki.issuer.facts], [impostor.facts], T0)
    assert (r.ok, r.code) == (False, "unknown_authority")
    assert r.path == (pki.leaf.facts, pki.issuer.facts)
    assert r.culprit == pki.issuer.facts
    assert "1 certificate(s) have that subject name but a different key" in r.message
    assert impostor.facts.fingerprint_sha256[:16] in r.message
    # during a rotation both anchors are present: the right one wins
    r = verify_chain(pki.leaf.facts, [pki.issuer.facts], [impostor.facts, pki.root.facts], T0)
    assert r.ok is True
    assert r.path[-1] == pki.root.facts


def test_expired_intermediate(pki: Pki) -> None:
    old = make_cert(
        "issuer.test",
        signer=pki.root,
        key=pki.issuer.key,
        ca=True,
        path_length=0,
        not_before=T0 - timedelta(days=400),
        not_after=T0 - timedelta(days=1),
    )
    r = verify_chain(pki.leaf.facts, [old.facts], [pki.root.facts], T0)
    assert (r.ok, r.code) == (False, "expired")
    assert r.culprit == old.facts
    assert r.path == (pki.leaf.facts, old.facts)
    assert "intermediate 'CN=issuer.test'" in r.message
    assert "expired on 2024-12-31T00:00:00Z (checked at 2025-01-01T00:00:00Z)" in r.message
    # the renewed intermediate next to the old one: verifies
    r = verify_chain(pki.leaf.facts, [old.facts, pki.issuer.facts], [pki.root.facts], T0)
    assert r.ok is True


def test_expired_anchor_beats_unknown_authority(pki: Pki) -> None:
    impostor = anchor("root.test")
    old_root = make_cert(
        "root.test", key=pki.root.key, ca=True, not_after=T0 - timedelta(seconds=1)
    )
    anchors = [impostor.facts, old_root.facts]
    r = verify_chain(pki.leaf.facts, [pki.issuer.facts], anchors, T0)
    assert (r.ok, r.code) == (False, "expired")
    assert r.culprit == old_root.facts
    assert r.path == (pki.leaf.facts, pki.issuer.facts, old_root.facts)
    assert r.message.startswith("anchor 'CN=root.test'")


def test_failure_that_got_furthest_wins(pki: Pki) -> None:
    # the same issuer key, once in a certificate without the CA flag (a dead end right
    # above the leaf), once properly, under an anchor that has expired
    not_ca = make_cert("issuer.test", signer=pki.root, key=pki.issuer.key, ca=False)
    old_root = make_cert("root.test", key=pki.root.key, ca=True, not_after=T0 - timedelta(days=1))
    r = verify_chain(pki.leaf.facts, [not_ca.facts, pki.issuer.facts], [old_root.facts], T0)
    assert (r.code, r.culprit) == ("expired", old_root.facts)
    assert r.path == (pki.leaf.facts, pki.issuer.facts, old_root.facts)


def test_not_yet_valid_leaf(pki: Pki) -> None:
    early = leaf("svc.test", pki.issuer, not_before=T0 + timedelta(days=1))
    r = verify_chain(early.facts, [pki.issuer.facts], [pki.root.facts], T0)
    assert (r.ok, r.code) == (False, "not_yet_valid")
    assert r.culprit == early.facts
    assert "leaf 'CN=svc.test'" in r.message
    assert "is not valid before 2025-01-02T00:00:00Z" in r.message


def test_validity_bounds_are_inclusive(pki: Pki) -> None:
    end = pki.leaf.facts.not_after
    chain = ([pki.issuer.facts], [pki.root.facts])
    assert verify_chain(pki.leaf.facts, *chain, end).ok is True
    assert verify_chain(pki.leaf.facts, *chain, end + timedelta(seconds=1)).code == "expired"
    start = pki.leaf.facts.not_before
    assert verify_chain(pki.leaf.facts, *chain, start).ok is True


@pytest.mark.parametrize("ca", [False, None], ids=["cA-false", "no-basicConstraints"])
def test_signer_without_ca_flag(pki: Pki, ca: bool | None) -> None:
    signer = make_cert("notca.test", signer=pki.root, ca=ca)
    child = leaf("svc.test", signer)
    r = verify_chain(child.facts, [signer.facts], [pki.root.facts], T0)
    assert (r.ok, r.code) == (False, "not_ca")
    assert r.culprit == signer.facts
    assert "intermediate 'CN=notca.test'" in r.message
    assert "is not a CA" in r.message


def test_anchor_without_ca_flag() -> None:
    root = make_cert("plain.test", ca=False)
    child = leaf("svc.test", root)
    r = verify_chain(child.facts, [], [root.facts], T0)
    assert (r.code, r.culprit) == ("not_ca", root.facts)


def test_path_length_of_the_anchor() -> None:
    root = anchor("root0.test", path_length=0)
    issuer = intermediate("issuer0.test", root, path_length=0)
    child = leaf("svc.test", issuer)
    r = verify_chain(child.facts, [issuer.facts], [root.facts], T0)
    assert (r.ok, r.code) == (False, "path_length")
    assert r.culprit == root.facts
    assert "pathLenConstraint 0 but 1 intermediate CA(s) sit below it" in r.message
    # the issuer itself, directly under a pathlen:0 anchor, is fine
    assert verify_chain(issuer.facts, [], [root.facts], T0).ok is True


def test_path_length_of_an_intermediate() -> None:
    root = anchor("root.test")
    upper = intermediate("upper.test", root, path_length=0)
    lower = intermediate("lower.test", upper)
    child = leaf("svc.test", lower)
    r = verify_chain(child.facts, [lower.facts, upper.facts], [root.facts], T0)
    assert (r.code, r.culprit) == ("path_length", upper.facts)
    assert r.path == (child.facts, lower.facts, upper.facts)


def test_leaf_eku_without_server_auth(pki: Pki) -> None:
    client = leaf("client.test", pki.issuer, eku=(CLIENT_AUTH,))
    chain = ([pki.issuer.facts], [pki.root.facts])
    r = verify_chain(client.facts, *chain, T0)
    assert (r.ok, r.code) == (False, "bad_eku")
    assert r.culprit == client.facts
    assert r.message == (
        f"leaf 'CN=client.test' [sha256 {client.facts.fingerprint_sha256[:16]}]"
        " has extendedKeyUsage clientAuth without serverAuth"
    )
    assert verify_chain(client.facts, *chain, T0, usage="clientAuth").ok is True
    assert verify_chain(client.facts, *chain, T0, usage=None).ok is True


def test_intermediate_eku_restricts_the_path(pki: Pki) -> None:
    narrow = intermediate("narrow.test", pki.root, eku=(CLIENT_AUTH,))
    child = leaf("svc.test", narrow)
    r = verify_chain(child.facts, [narrow.facts], [pki.root.facts], T0)
    assert (r.code, r.culprit) == ("bad_eku", narrow.facts)
    anyeku = leaf("any.test", pki.issuer, eku=(ANY_EKU,))
    assert verify_chain(anyeku.facts, [pki.issuer.facts], [pki.root.facts], T0).ok is True
    eku_root = anchor("ekuroot.test", eku=(SERVER_AUTH, CLIENT_AUTH))
    assert verify_chain(leaf("s.test", eku_root).facts, [], [eku_root.facts], T0).ok is True


def test_leaf_that_is_an_anchor(pki: Pki) -> None:
    r = verify_chain(pki.root.facts, [], [pki.root.facts, pki.root.facts], T0)
    assert r.ok is True
    assert r.path == (pki.root.facts,)
    expired = verify_chain(pki.root.facts, [], [pki.root.facts], T0 + timedelta(days=400))
    assert (expired.code, expired.culprit) == ("expired", pki.root.facts)


def test_intermediate_listed_as_anchor_ends_the_path(pki: Pki) -> None:
    r = verify_chain(pki.leaf.facts, [pki.issuer.facts], [pki.issuer.facts], T0)
    assert r.ok is True
    assert r.path == (pki.leaf.facts, pki.issuer.facts)


def test_cross_signed_loop_terminates() -> None:
    key_x, key_y = new_key(), new_key()
    stub_y = make_cert("y.test", key=key_y, ca=True)
    x = make_cert("x.test", signer=stub_y, key=key_x, ca=True)
    y = make_cert("y.test", signer=x, key=key_y, ca=True)
    assert signed_by(x.facts, y.facts)
    assert signed_by(y.facts, x.facts)
    child = leaf("svc.test", x)
    r = verify_chain(child.facts, [x.facts, y.facts], [anchor("elsewhere.test").facts], T0)
    assert r.code == "unknown_authority"
    assert r.path == (child.facts, x.facts, y.facts)


def test_no_anchors(pki: Pki) -> None:
    r = verify_chain(pki.leaf.facts, [pki.issuer.facts], [], T0)
    assert (r.code, r.message) == ("unknown_authority", "no trust anchors given")


def test_naive_time_is_a_programming_error(pki: Pki) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_chain(pki.leaf.facts, [], [pki.root.facts], datetime(2025, 1, 1))


def test_rsa_anchor_with_ecdsa_issuer() -> None:
    root = anchor("rsa-root.test", key=key_for("rsa2048"))
    issuer = intermediate("issuer.test", root)
    assert verify_chain(issuer.facts, [], [root.facts], T0).ok is True
    assert issuer.facts.signature_algorithm == "sha256WithRSAEncryption"
    assert issuer_algorithm_problem(issuer.facts, anchor_is_rsa=True) is None
    assert issuer_algorithm_problem(issuer.facts) == (
        "must be signed by an ECDSA P-256 key, instead SHA256-RSA was used"
    )


def test_chain_codes_are_the_documented_ones() -> None:
    assert CHAIN_CODES == (
        "unknown_authority",
        "expired",
        "not_yet_valid",
        "not_ca",
        "path_length",
        "bad_eku",
    )
    assert CERT_ERROR_CODES == (
        "empty",
        "no_certificate",
        "truncated_pem",
        "bad_base64",
        "bad_der",
        "bad_encoding",
    )


# --- Linkerd's algorithm rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        ({"key_kind": "ec384"}, "must use P-256 curve for public key, instead P-384 was used"),
        (
            {"hash_alg": hashes.SHA384()},
            "must be signed by an ECDSA P-256 key, instead ECDSA-SHA384 was used",
        ),
        ({"key": key_for("rsa2048")}, None),
        (
            {"key_kind": "rsa1024"},
            "RSA must use a 2048 or 4096 bit public key, instead 1024 bit was used",
        ),
        (
            {"key": key_for("rsa2048"), "hash_alg": hashes.SHA384()},
            "RSA must be signed with SHA256-RSA, instead SHA384-RSA was used",
        ),
        (
            {"key_kind": "ed25519"},
            "must use ECDSA or RSA for public key algorithm, instead Ed25519 was used",
        ),
    ],
    ids=["p256", "p384", "p256-sha384", "rsa2048", "rsa1024", "rsa-sha384", "ed25519"],
)
def test_anchor_algorithm_problem(kwargs: dict[str, object], expected: str | None) -> None:
    facts = anchor("anchor.test", **kwargs).facts
    assert anchor_algorithm_problem(facts) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        (
            {"key": key_for("rsa2048")},
            "issuer certificate must use ECDSA for public key algorithm, instead RSA was used",
        ),
        (
            {"key_kind": "ec521", "hash_alg": hashes.SHA512()},
            "must use P-256 curve for public key, instead P-521 was used",
        ),
        (
            {"key": ec.generate_private_key(ec.SECP256K1())},
            "must use P-256 curve for public key, instead secp256k1 was used",
        ),
        (
            {"key_kind": "ed25519"},
            "issuer certificate must use ECDSA for public key algorithm, instead Ed25519 was used",
        ),
    ],
    ids=["p256", "rsa", "p521", "secp256k1", "ed25519"],
)
def test_issuer_algorithm_problem(kwargs: dict[str, object], expected: str | None) -> None:
    facts = anchor("issuer.test", **kwargs).facts
    assert issuer_algorithm_problem(facts) == expected


# --- robustness --------------------------------------------------------------------------

FRAGMENTS = [
    "-----BEGIN CERTIFICATE-----",
    "-----END CERTIFICATE-----",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "-----BEGIN ",
    "-----END",
    "-----",
    "\n",
    "\r\n",
    "\r",
    " ",
    "=",
    "MIIB",
    "Proc-Type: 4\n\n",
    ROOT_A.pem,
    ROOT_A.pem[:80],
    ROOT_A.pem[80:],
    "".join(ROOT_A.pem.splitlines()[1:3]),
    "é",
    "\udcff",
]
pemish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=14).map(
    "".join
)


def _check_invariants(result: ParsedCerts) -> None:
    assert isinstance(result, ParsedCerts)
    for err in result.errors:
        assert err.code in CERT_ERROR_CODES
        assert err.block is None or err.block >= 1
        assert err.message
    for cert in result.certs:
        assert isinstance(cert, CertFacts)
        assert cert.fingerprint_sha256 == hashlib.sha256(cert.der).hexdigest()
    if not result.certs:
        assert result.errors


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), pemish))
def test_parse_pem_bundle_never_raises_on_text(text: str) -> None:
    _check_invariants(parse_pem_bundle(text))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(), pemish.map(lambda s: s.encode("utf-8", "surrogateescape"))))
def test_parsers_never_raise_on_bytes(data: bytes) -> None:
    _check_invariants(parse_pem_bundle(data))
    _check_invariants(parse_any(data))
    _check_invariants(parse_der(data))


@settings(max_examples=100, deadline=None)
@given(st.text().filter(lambda s: "-----" not in s))
def test_any_text_between_blocks_is_ignored(junk: str) -> None:
    result = parse_pem_bundle(ROOT_A.pem + junk + "\n" + LEAF_B.pem)
    assert result.certs == (ROOT_A.facts, LEAF_B.facts)
    assert result.errors == ()
