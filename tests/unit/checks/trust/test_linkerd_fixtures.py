"""The trust checks on real Linkerd certificates (../shared/fixtures/linkerd).

Each test builds a `MeshState` from files copied from linkerd/linkerd2 (SOURCES.md there
lists them with their SHA-256), runs every implemented check through `run_checks` with a
minimal expected state at a fixed time, and asserts the trust states and findings. The
fixtures live outside the repository: without them these tests skip, under CI they fail.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from monitor.catalogue import CHECKS_BY_FAMILY, State
from monitor.certs import CertFacts, parse_pem_bundle
from monitor.checks import run_checks
from monitor.config.schema import Config, parse_config
from monitor.model import (
    CheckResult,
    Finding,
    Issuer,
    MeshState,
    Observed,
    ProxyBundle,
    SourceStatus,
)
from tests.conftest import shared_fixtures

NOW = datetime(2026, 11, 26, tzinfo=UTC)
# trust_anchor_pin applies only with pinned anchors, which these configs do not set
TRUST = tuple(c for c in CHECKS_BY_FAMILY["trust"] if c != "trust_anchor_pin")

SHA256 = {
    "valid-trust-anchors.pem": "8dc603abd4e755c25c94da05abbf29b9b283a784733651020d72f97ca8ab98e4",
    "valid-crt.pem": "7ca84d31320d9c9221b7986f6ff076a958795d526161418a7f3b1c3d51e9a0b9",
    "expired-trust-anchors.pem": "cda81dc1ec747621db9a9d6c4034e18a8a4cccfd58ff527df3f883c2bfc5d101",
    "valid-with-rsa-anchor-trust-anchors.pem": (
        "1cf8bf84026c89b845bebfee97413ec1bab708c2931dde84ecbad9999948acb1"
    ),
    "wrong-algo-crt.pem": "44e7eb04bce7bf4eca39a0965d1785a00f804cd8cda98ca96a9b8bf0d16783d3",
    "issuer_secret_1.yaml": "b2406a7fc821db93b1de5fb6b6afaba557147099053dd5126c326f0f7719e581",
}

# DER fingerprints of the certificates in the files (the finding objects).
VALID_ANCHOR_FP = "946daad71e4bf3360abe98d657bc422e7c3ffcbde7c5be380d7dcdb8b823814d"
VALID_ISSUER_FP = "d50ea0e36ca53f09174b743efcf3ae07e2a92a94148b2fb86b42a11065266bc3"
EXPIRED_ANCHOR_FP = "da73368822894148b0a68120a674ce153ef91dd4e0e964362d563961ce31a978"
RSA_ANCHOR_FP = "3b5eab63a4fe2bc066812b8be3b124b8e7a35427824d150f1c0e31282ce03234"
WRONG_ALGO_FP = "b85862b69ecff7419f4e32f3d78bfe4e07899d949810f6d5834e7b99f167046f"
SECRET_CA_FP = "0858592aaa60aa5d9b44d9e20808db451a37926abf6d94000e5c858931dbe9a5"
SECRET_TLS_FP = "6ccf75ee1c09e898e71d4dd135166aa992b00da00e4baa5aba7b3368134f088a"


@pytest.fixture(scope="module")
def linkerd_dir() -> Path:
    return shared_fixtures("linkerd")


def _read(folder: Path, name: str) -> bytes:
    data = (folder / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == SHA256[name], f"{name} is not the listed file"
    return data


def _cert(data: bytes) -> CertFacts:
    parsed = parse_pem_bundle(data)
    assert parsed.errors == ()
    (cert,) = parsed.certs
    return cert


def _pem(folder: Path, name: str) -> CertFacts:
    return _cert(_read(folder, name))


def _secret(folder: Path) -> tuple[CertFacts, CertFacts]:
    """`tls.crt` (the issuer) and `ca.crt` (its anchor) of issuer_secret_1.yaml."""
    manifest = yaml.safe_load(_read(folder, "issuer_secret_1.yaml"))
    assert (manifest["kind"], manifest["type"]) == ("Secret", "kubernetes.io/tls")
    data = manifest["data"]
    return _cert(base64.b64decode(data["tls.crt"])), _cert(base64.b64decode(data["ca.crt"]))


def _config() -> Config:
    data = {
        "bigip": [
            {
                "name": "bigip-a",
                "url": "https://bigip-a.example.net",
                "username": "monitor",
                "passwordEnv": "BIGIP_PASSWORD",
                "insecure": True,
            }
        ],
        "boundaries": [
            {
                "name": "shop",
                "mode": "mesh-tls",
                "devices": ["bigip-a"],
                "virtual": "/k8s/Shared/shop_443",
                "backend": {"service": {"namespace": "ingress", "name": "nginx", "port": 443}},
            }
        ],
    }
    return parse_config(data, Path("."))


def _mesh(anchors: tuple[CertFacts, ...], issuer: Issuer) -> MeshState:
    """A mesh on `anchors` with `issuer`, whose config copy and one proxy agree with it."""
    return MeshState(
        anchors=anchors,
        issuer=issuer,
        anchors_from="linkerd/linkerd-identity-trust-roots",
        issuer_from="linkerd/linkerd-identity-issuer",
        config_anchors=anchors,
        external_ca=False,
        proxies=(ProxyBundle("ingress/nginx-1", tuple(a.fingerprint_sha256 for a in anchors)),),
    )


def _run(state: MeshState) -> tuple[dict[str, State], dict[str, tuple[Finding, ...]]]:
    """The trust states of boundary `shop` and their findings, by check id."""
    observed = Observed(
        f5={}, mesh=state, sources=(SourceStatus("kubernetes", "kubernetes", up=True),)
    )
    result: CheckResult = run_checks(_config(), observed, NOW)
    states = {s.check: s.state for s in result.states if s.check in TRUST}
    assert set(states) == set(TRUST)
    findings = {c: tuple(f for f in result.findings if f.check == c) for c in TRUST}
    return states, findings


def _objects(findings: tuple[Finding, ...]) -> list[tuple[str, str, str]]:
    return [(f.device, f.object, f.severity) for f in findings]


def test_valid_anchor_and_issuer_pass_every_trust_check(linkerd_dir: Path) -> None:
    anchor = _pem(linkerd_dir, "valid-trust-anchors.pem")
    issuer = _pem(linkerd_dir, "valid-crt.pem")
    assert (anchor.fingerprint_sha256, issuer.fingerprint_sha256) == (
        VALID_ANCHOR_FP,
        VALID_ISSUER_FP,
    )
    states, findings = _run(_mesh((anchor,), Issuer("linkerd.io/tls", issuer, ())))
    assert states["issuer_chain"] == "pass"
    assert states["issuer_not_ca"] == "pass"
    # valid-crt.pem ends 60 s after its anchor (made together, same lifetime): no finding
    assert (issuer.not_after - anchor.not_after).total_seconds() == 60
    assert states["issuer_outlives_anchor"] == "pass"
    assert states == dict.fromkeys(TRUST, "pass")
    assert all(f == () for f in findings.values())


def test_expired_anchor_bundle(linkerd_dir: Path) -> None:
    expired = _pem(linkerd_dir, "expired-trust-anchors.pem")
    issuer = _pem(linkerd_dir, "valid-crt.pem")
    states, findings = _run(_mesh((expired,), Issuer("linkerd.io/tls", issuer, ())))
    assert states["trust_anchor_expiry"] == "critical"
    assert _objects(findings["trust_anchor_expiry"]) == [("", EXPIRED_ANCHOR_FP, "critical")]
    (f,) = findings["trust_anchor_expiry"]
    assert "expired" in f.message
    assert "on 1990-01-01 01:01 UTC" in f.message
    assert dict(f.evidence)["anchor_not_after"] == "1990-01-01T01:01:11Z"
    assert states["trust_anchor_algorithm"] == "pass"  # ECDSA P-256
    assert states["trust_anchor_not_yet_valid"] == "pass"
    assert states["issuer_chain"] == "critical"  # valid-crt.pem is not signed by it


def test_rsa_anchor_is_an_accepted_algorithm(linkerd_dir: Path) -> None:
    rsa = _pem(linkerd_dir, "valid-with-rsa-anchor-trust-anchors.pem")
    assert (rsa.fingerprint_sha256, rsa.key_type, rsa.key_size) == (RSA_ANCHOR_FP, "rsa", 4096)
    issuer = _pem(linkerd_dir, "valid-crt.pem")
    states, findings = _run(_mesh((rsa,), Issuer("linkerd.io/tls", issuer, ())))
    assert states["trust_anchor_algorithm"] == "pass"
    assert findings["trust_anchor_algorithm"] == ()
    assert states["trust_anchor_expiry"] == "pass"  # ends 2032-02-01
    assert states["issuer_algorithm"] == "pass"  # an ECDSA-SHA256 issuer needs no RSA anchor


def test_wrong_algorithm_issuer(linkerd_dir: Path) -> None:
    anchor = _pem(linkerd_dir, "valid-trust-anchors.pem")
    wrong = _pem(linkerd_dir, "wrong-algo-crt.pem")
    states, findings = _run(_mesh((anchor,), Issuer("linkerd.io/tls", wrong, ())))
    assert states["issuer_algorithm"] == "critical"
    assert _objects(findings["issuer_algorithm"]) == [("", WRONG_ALGO_FP, "critical")]
    (f,) = findings["issuer_algorithm"]
    assert "must use P-256 curve for public key, instead P-521 was used" in f.message
    assert dict(f.evidence)["signature_algorithm"] == "ecdsa-with-SHA512"
    assert states["trust_anchor_algorithm"] == "pass"
    assert states["issuer_not_ca"] == "pass"


def test_cert_manager_secret_issuer_outlives_its_expired_anchor(linkerd_dir: Path) -> None:
    tls, ca = _secret(linkerd_dir)
    assert (tls.fingerprint_sha256, ca.fingerprint_sha256) == (SECRET_TLS_FP, SECRET_CA_FP)
    issuer = Issuer("kubernetes.io/tls", tls, (), ca_bundle=(ca,))
    states, findings = _run(_mesh((ca,), issuer))
    assert states["trust_anchor_expiry"] == "critical"
    assert _objects(findings["trust_anchor_expiry"]) == [("", SECRET_CA_FP, "critical")]
    assert "on 2020-10-08 07:43 UTC" in findings["trust_anchor_expiry"][0].message
    assert states["issuer_outlives_anchor"] == "warning"
    assert _objects(findings["issuer_outlives_anchor"]) == [("", SECRET_TLS_FP, "warning")]
    (f,) = findings["issuer_outlives_anchor"]
    assert (
        "leaves stopped verifying when the anchor expired at 2020-10-08 07:43 UTC, while the"
        " issuer would still be in use until 2119-10-06 13:10 UTC" in f.message
    )
    evidence = dict(f.evidence)
    assert (evidence["anchor_fingerprint"], evidence["issuer_fingerprint"]) == (
        SECRET_CA_FP,
        SECRET_TLS_FP,
    )
    assert states["issuer_chain"] == "critical"  # its anchor has expired
    assert states["issuer_expiry"] == "pass"  # the issuer itself runs until 2119
    assert states["issuer_not_ca"] == "pass"
