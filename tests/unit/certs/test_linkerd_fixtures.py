"""Tests of the certificate core against real Linkerd files (../shared/fixtures/linkerd).

One test per fixture file, asserting the facts its SOURCES.md states. The fixtures live
outside the repository, next to it; without them these tests are skipped, except under
CI (`CI=true`), where a missing fixtures folder is a failure.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from monitor.certs import (
    CertFacts,
    anchor_algorithm_problem,
    issuer_algorithm_problem,
    parse_any,
    parse_pem_bundle,
    signed_by,
    verify_chain,
)
from tests.conftest import shared_fixtures

LINKERD_CN = "identity.linkerd.cluster.local"


@pytest.fixture(scope="module")
def linkerd_dir() -> Path:
    return shared_fixtures("linkerd")


def _file(folder: Path, name: str, sha256: str) -> bytes:
    data = (folder / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha256, f"{name} is not the file SOURCES.md lists"
    return data


def _one_cert(data: bytes | str) -> CertFacts:
    result = parse_pem_bundle(data)
    assert result.errors == ()
    assert result.skipped == ()
    (cert,) = result.certs
    return cert


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _anchor(folder: Path) -> CertFacts:
    return _one_cert(
        _file(
            folder,
            "valid-trust-anchors.pem",
            "8dc603abd4e755c25c94da05abbf29b9b283a784733651020d72f97ca8ab98e4",
        )
    )


def _rsa_anchor(folder: Path) -> CertFacts:
    return _one_cert(
        _file(
            folder,
            "valid-with-rsa-anchor-trust-anchors.pem",
            "1cf8bf84026c89b845bebfee97413ec1bab708c2931dde84ecbad9999948acb1",
        )
    )


def test_valid_trust_anchors(linkerd_dir: Path) -> None:
    a = _anchor(linkerd_dir)
    assert a.common_name == LINKERD_CN
    assert a.subject == a.issuer == f"CN={LINKERD_CN}"
    assert a.dns_sans == (LINKERD_CN,)
    assert (a.key_type, a.key_size, a.curve) == ("ecdsa", 256, "secp256r1")
    assert a.signature_algorithm == "ecdsa-with-SHA256"
    assert (a.is_ca, a.path_length) == (True, 1)
    assert a.key_usage == ("keyCertSign", "cRLSign")
    assert a.not_before == _utc("2020-08-28T07:12:47")
    assert a.not_after == _utc("2030-08-26T07:12:47")
    # certificate fingerprint as `openssl x509 -fingerprint -sha256` prints it
    assert a.f5_fingerprint == (
        "SHA256/94:6D:AA:D7:1E:4B:F3:36:0A:BE:98:D6:57:BC:42:2E:"
        "7C:3F:FC:BD:E7:C5:BE:38:0D:7D:CD:B8:B8:23:81:4D"
    )
    assert signed_by(a, a) is True
    assert anchor_algorithm_problem(a) is None
    assert verify_chain(a, [], [a], _utc("2025-01-01T00:00:00")).ok is True


def test_valid_crt(linkerd_dir: Path) -> None:
    crt = _one_cert(
        _file(
            linkerd_dir,
            "valid-crt.pem",
            "7ca84d31320d9c9221b7986f6ff076a958795d526161418a7f3b1c3d51e9a0b9",
        )
    )
    anchor, rsa_anchor = _anchor(linkerd_dir), _rsa_anchor(linkerd_dir)
    assert crt.common_name == LINKERD_CN
    assert crt.subject == crt.issuer == anchor.subject
    assert crt.fingerprint_sha256 != anchor.fingerprint_sha256
    with pytest.raises(x509.ExtensionNotFound):
        crt.certificate().extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert (crt.key_type, crt.key_size, crt.curve) == ("ecdsa", 256, "secp256r1")
    assert crt.signature_algorithm == "ecdsa-with-SHA256"
    assert (crt.is_ca, crt.path_length) == (True, 0)
    assert crt.dns_sans == (LINKERD_CN,)
    assert crt.not_before == _utc("2020-08-28T07:13:47")
    assert crt.not_after == _utc("2030-08-26T07:13:47")
    assert issuer_algorithm_problem(crt) is None
    # same names both ways, but only the anchor's key signed the issuer
    assert signed_by(crt, anchor) is True
    assert signed_by(anchor, crt) is False

    ok = verify_chain(crt, [], [anchor], _utc("2025-01-01T00:00:00"))
    assert ok.ok is True
    assert ok.path == (crt, anchor)

    late = verify_chain(crt, [], [anchor], _utc("2031-01-01T00:00:00"))
    assert (late.ok, late.code, late.culprit) == (False, "expired", crt)
    assert "expired on 2030-08-26T07:13:47Z" in late.message

    wrong = verify_chain(crt, [], [rsa_anchor], _utc("2025-01-01T00:00:00"))
    assert (wrong.ok, wrong.code) == (False, "unknown_authority")


def test_expired_trust_anchors(linkerd_dir: Path) -> None:
    a = _one_cert(
        _file(
            linkerd_dir,
            "expired-trust-anchors.pem",
            "cda81dc1ec747621db9a9d6c4034e18a8a4cccfd58ff527df3f883c2bfc5d101",
        )
    )
    assert a.common_name == LINKERD_CN
    assert a.serial == 1
    assert (a.key_type, a.key_size, a.curve) == ("ecdsa", 256, "secp256r1")
    assert (a.is_ca, a.path_length) == (True, None)
    assert a.extended_key_usage == ("serverAuth", "clientAuth")
    assert a.not_before == _utc("1989-01-01T01:00:51")
    assert a.not_after == _utc("1990-01-01T01:01:11")
    assert anchor_algorithm_problem(a) is None
    now = verify_chain(a, [], [a], _utc("2025-01-01T00:00:00"))
    assert (now.code, now.culprit) == ("expired", a)
    assert verify_chain(a, [], [a], _utc("1989-06-01T00:00:00")).ok is True


def test_valid_with_rsa_anchor_trust_anchors(linkerd_dir: Path) -> None:
    a = _rsa_anchor(linkerd_dir)
    assert a.common_name == "root.linkerd.cluster.local"
    assert (a.key_type, a.key_size, a.curve) == ("rsa", 4096, None)
    assert (a.signature_algorithm, a.signature_hash) == ("sha256WithRSAEncryption", "sha256")
    assert (a.is_ca, a.path_length) == (True, 1)
    assert a.not_before == _utc("2022-02-03T05:45:55")
    assert a.not_after == _utc("2032-02-01T05:45:53")
    assert anchor_algorithm_problem(a) is None
    assert issuer_algorithm_problem(a) == (
        "issuer certificate must use ECDSA for public key algorithm, instead RSA was used"
    )


def test_wrong_algo_crt(linkerd_dir: Path) -> None:
    crt = _one_cert(
        _file(
            linkerd_dir,
            "wrong-algo-crt.pem",
            "44e7eb04bce7bf4eca39a0965d1785a00f804cd8cda98ca96a9b8bf0d16783d3",
        )
    )
    assert crt.common_name == LINKERD_CN
    assert (crt.key_type, crt.key_size, crt.curve) == ("ecdsa", 521, "secp521r1")
    assert (crt.signature_algorithm, crt.signature_hash) == ("ecdsa-with-SHA512", "sha512")
    assert (crt.is_ca, crt.path_length) == (True, 0)
    assert crt.not_before == _utc("2020-08-28T07:17:29")
    assert crt.not_after == _utc("2030-08-26T07:17:29")
    assert issuer_algorithm_problem(crt) == (
        "must use P-256 curve for public key, instead P-521 was used"
    )
    assert anchor_algorithm_problem(crt) is not None


def test_issuer_secret_1(linkerd_dir: Path) -> None:
    raw = _file(
        linkerd_dir,
        "issuer_secret_1.yaml",
        "b2406a7fc821db93b1de5fb6b6afaba557147099053dd5126c326f0f7719e581",
    )
    secret = yaml.safe_load(raw)
    assert (secret["kind"], secret["type"]) == ("Secret", "kubernetes.io/tls")
    assert secret["metadata"]["name"] == "linkerd-identity-issuer"
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    assert sorted(data) == ["ca.crt", "tls.crt", "tls.key"]

    ca = _one_cert(data["ca.crt"])
    tls = _one_cert(data["tls.crt"])
    assert ca.common_name == LINKERD_CN
    assert ca.not_after == _utc("2020-10-08T07:43:41")
    assert tls.common_name == "identity.l5d-integration-external-issuer.cluster.local"
    assert tls.subject == "CN=identity.l5d-integration-external-issuer.cluster.local,O=cert-manager"
    assert tls.issuer == ca.subject
    assert tls.not_after == _utc("2119-10-06T13:10:45")
    assert (tls.key_type, tls.curve, tls.is_ca) == ("ecdsa", "secp256r1", True)

    ok = verify_chain(tls, [], [ca], _utc("2020-01-01T00:00:00"))
    assert ok.ok is True
    assert ok.path == (tls, ca)

    late = verify_chain(tls, [], [ca], _utc("2021-01-01T00:00:00"))
    assert (late.ok, late.code, late.culprit) == (False, "expired", ca)
    assert late.message.startswith(f"anchor 'CN={LINKERD_CN}'")
    assert "expired on 2020-10-08T07:43:41Z" in late.message

    key = parse_any(data["tls.key"])
    assert key.certs == ()
    assert key.skipped == ("EC PRIVATE KEY",)
    assert [e.code for e in key.errors] == ["no_certificate"]
    key_body = data["tls.key"].decode().splitlines()[1]
    assert key_body not in repr(key)
