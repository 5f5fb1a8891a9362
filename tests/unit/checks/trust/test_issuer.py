"""Tests for monitor.checks.trust.issuer: issuer_algorithm, issuer_not_ca,
issuer_outlives_anchor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes

from monitor.model import Issuer, MeshState
from tests.support.certhelpers import Issued, KeyKind, anchor, intermediate, key_for, make_cert
from tests.support.checkdata import ANCHOR, DAY, NOW, OLD_ANCHOR, SECOND, mesh, observed, run_one

RSA_ANCHOR = anchor("root.rsa.test", key=key_for("rsa2048", 21))


def _issuer(cert: Issued, *chain: Issued) -> Issuer:
    return Issuer("kubernetes.io/tls", cert.facts, tuple(c.facts for c in chain))


# --- issuer_algorithm ------------------------------------------------------------------------


def test_algorithm_ecdsa_p256_issuer_passes() -> None:
    st, findings = run_one("issuer_algorithm", observed())
    assert (st.state, findings) == ("pass", ())


def test_algorithm_rsa_anchor_signing_an_ecdsa_issuer_passes() -> None:
    issuer = intermediate("identity.linkerd.cluster.local", RSA_ANCHOR)
    assert issuer.facts.signature_algorithm == "sha256WithRSAEncryption"
    state = mesh(anchors=(RSA_ANCHOR.facts,), issuer=_issuer(issuer))
    st, findings = run_one("issuer_algorithm", observed(mesh_state=state))
    assert (st.state, findings) == ("pass", ())


def test_algorithm_rsa_signature_needs_an_rsa_signer() -> None:
    """Signed with SHA256-RSA by an RSA CA that is not in the bundle, and no RSA anchor
    in it: Linkerd would reject it."""
    issuer = intermediate("identity.linkerd.cluster.local", RSA_ANCHOR)
    state = mesh(anchors=(ANCHOR.facts,), issuer=_issuer(issuer))
    st, (f,) = run_one("issuer_algorithm", observed(mesh_state=state))
    assert st.state == "critical"
    assert "instead SHA256-RSA was used" in f.message
    assert "signer_fingerprint" not in dict(f.evidence)


def test_algorithm_rsa_signer_in_the_issuer_pem_counts() -> None:
    middle = intermediate("intermediate.rsa.test", ANCHOR, key=key_for("rsa2048", 22))
    issuer = intermediate("identity.linkerd.cluster.local", middle)
    state = mesh(anchors=(ANCHOR.facts,), issuer=_issuer(issuer, middle))
    st, _ = run_one("issuer_algorithm", observed(mesh_state=state))
    assert st.state == "pass"


@pytest.mark.parametrize(
    ("key", "signer_key", "hash_alg", "problem"),
    [
        (
            "ec384",
            None,
            hashes.SHA256(),
            "must use P-256 curve for public key, instead P-384 was used",
        ),
        (
            "ec256",
            "ec384",
            hashes.SHA384(),
            "must be signed by an ECDSA P-256 key, instead ECDSA-SHA384 was used",
        ),
        (
            "rsa2048",
            None,
            hashes.SHA256(),
            "issuer certificate must use ECDSA for public key algorithm, instead RSA was used",
        ),
    ],
)
def test_algorithm_rejected(
    key: KeyKind, signer_key: KeyKind | None, hash_alg: hashes.HashAlgorithm, problem: str
) -> None:
    signer = anchor("root.p384.test", key=key_for(signer_key, 23)) if signer_key else ANCHOR
    cert = intermediate(
        "identity.linkerd.cluster.local", signer, key=key_for(key, 24), hash_alg=hash_alg
    )
    state = mesh(anchors=(signer.facts,), issuer=_issuer(cert))
    st, (f,) = run_one("issuer_algorithm", observed(mesh_state=state))
    assert st.state == "critical"
    assert (f.device, f.object, f.severity) == ("", cert.facts.fingerprint_sha256, "critical")
    assert f.message.startswith("identity issuer CN=identity.linkerd.cluster.local (sha256 ")
    assert f"uses an algorithm Linkerd rejects ({problem})" in f.message
    evidence = dict(f.evidence)
    assert evidence["problem"] == problem
    assert evidence["scheme"] == "kubernetes.io/tls"


def test_algorithm_unknowns() -> None:
    # a plain ECDSA issuer needs no anchors
    st, _ = run_one("issuer_algorithm", observed(mesh_state=mesh(anchors=None)))
    assert st.state == "pass"
    # an RSA-signed one does
    issuer = intermediate("identity.linkerd.cluster.local", RSA_ANCHOR)
    st, findings = run_one(
        "issuer_algorithm", observed(mesh_state=mesh(anchors=None, issuer=_issuer(issuer)))
    )
    assert (st.state, st.detail, findings) == ("unknown", "kubernetes: trust anchors unknown", ())
    for state in (mesh(issuer=None), mesh(unknown=frozenset({"issuer"}))):
        st, _ = run_one("issuer_algorithm", observed(mesh_state=state))
        assert (st.state, st.detail, st.unknown_parts) == (
            "unknown",
            "kubernetes: identity issuer unknown",
            ("",),
        )


# --- issuer_not_ca ---------------------------------------------------------------------------


def test_not_ca_passes_for_a_ca() -> None:
    st, findings = run_one("issuer_not_ca", observed())
    assert (st.state, findings) == ("pass", ())


@pytest.mark.parametrize("ca", [False, None])  # cA=false, or no basicConstraints at all
def test_not_ca_is_critical(ca: bool | None) -> None:
    cert = make_cert("identity.linkerd.cluster.local", signer=ANCHOR, ca=ca)
    st, (f,) = run_one("issuer_not_ca", observed(mesh_state=mesh(issuer=_issuer(cert))))
    assert st.state == "critical"
    assert (f.device, f.object) == ("", cert.facts.fingerprint_sha256)
    assert f.message.startswith("issuer cert is not a CA: identity issuer CN=identity.linkerd")
    assert "isCA: true" in f.message
    assert dict(f.evidence)["basic_constraints_ca"] == "false"


def test_not_ca_unknown() -> None:
    st, _ = run_one("issuer_not_ca", observed(mesh_state=mesh(issuer=None)))
    assert (st.state, st.unknown_parts) == ("unknown", ("",))


def test_issuer_equal_to_anchor_passes_not_ca_and_algorithm() -> None:
    state = mesh(anchors=(ANCHOR.facts,), issuer=_issuer(ANCHOR))
    for check in ("issuer_not_ca", "issuer_algorithm", "issuer_outlives_anchor", "issuer_chain"):
        st, findings = run_one(check, observed(mesh_state=state))
        assert (st.state, findings) == ("pass", ()), check


# --- issuer_outlives_anchor ------------------------------------------------------------------

ROOT_END = NOW + 300 * DAY


def _outliving(extra: timedelta) -> tuple[Issued, Issued]:
    root = anchor("root.test", key=key_for("ec256", 25), not_after=ROOT_END)
    cert = intermediate("identity.linkerd.cluster.local", root, not_after=ROOT_END + extra)
    return root, cert


@pytest.mark.parametrize(
    ("extra", "state"),
    [
        (-DAY, "pass"),
        (timedelta(0), "pass"),
        (60 * SECOND, "pass"),  # made together with the same lifetime (Linkerd's test data)
        (DAY, "pass"),
        (DAY + SECOND, "warning"),
        (400 * DAY, "warning"),
    ],
)
def test_outlives_edges(extra: timedelta, state: str) -> None:
    root, cert = _outliving(extra)
    obs = observed(mesh_state=mesh(anchors=(root.facts,), issuer=_issuer(cert)))
    st, findings = run_one("issuer_outlives_anchor", obs)
    assert st.state == state
    if state == "pass":
        assert findings == ()
        return
    (f,) = findings
    assert (f.device, f.object, f.severity) == ("", cert.facts.fingerprint_sha256, "warning")
    assert "outlives its trust anchor CN=root.test" in f.message
    assert "leaves will stop verifying when the anchor expires at 2025-10-28 00:00 UTC" in f.message
    evidence = dict(f.evidence)
    assert evidence["anchor_fingerprint"] == root.facts.fingerprint_sha256
    assert evidence["signing_anchors"] == root.facts.fingerprint_sha256


def test_outlives_an_expired_anchor_says_stopped() -> None:
    root = anchor("root.test", not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    cert = intermediate(
        "identity.linkerd.cluster.local", root, not_before=NOW - 300 * DAY, not_after=NOW + DAY
    )
    obs = observed(mesh_state=mesh(anchors=(root.facts,), issuer=_issuer(cert)))
    _, (f,) = run_one("issuer_outlives_anchor", obs)
    assert "leaves stopped verifying when the anchor expired at 2024-12-31 00:00 UTC" in f.message


def test_outlives_judges_only_the_anchors_that_sign_it() -> None:
    """Another, short-lived anchor in the bundle does not sign the issuer: no finding."""
    short = anchor("root.short.test", not_after=NOW + 10 * DAY)
    state = mesh(anchors=(ANCHOR.facts, short.facts))
    st, findings = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert (st.state, findings) == ("pass", ())


def test_outlives_with_two_anchors_on_one_key_the_later_decides() -> None:
    key = key_for("ec256", 26)
    early = anchor("root.test", key=key, not_after=NOW + 30 * DAY)
    late = anchor("root.test", key=key, not_after=NOW + 3000 * DAY)
    cert = intermediate("identity.linkerd.cluster.local", early, not_after=NOW + 365 * DAY)
    state = mesh(anchors=(early.facts, late.facts), issuer=_issuer(cert))
    st, findings = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert (st.state, findings) == ("pass", ())
    state = mesh(anchors=(early.facts,), issuer=_issuer(cert))
    st, _ = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert st.state == "warning"


def test_outlives_through_an_intermediate() -> None:
    root = anchor("root.test", not_after=NOW + 100 * DAY)
    middle = intermediate("intermediate.test", root, not_after=NOW + 100 * DAY)
    cert = intermediate("identity.linkerd.cluster.local", middle, not_after=NOW + 200 * DAY)
    state = mesh(anchors=(root.facts,), issuer=_issuer(cert, middle))
    st, (f,) = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert st.state == "warning"
    assert dict(f.evidence)["anchor_fingerprint"] == root.facts.fingerprint_sha256


def test_outlives_no_signing_anchor_is_pass_with_a_note() -> None:
    state = mesh(anchors=(OLD_ANCHOR.facts,))
    st, findings = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert (st.state, findings) == ("pass", ())
    assert st.detail == "no trust anchor signs the issuer (see issuer_chain)"


def test_outlives_rsa_anchor_with_rsa_signed_issuer() -> None:
    root = anchor("root.rsa.test", key=key_for("rsa2048", 21), not_after=NOW + 30 * DAY)
    cert = intermediate("identity.linkerd.cluster.local", root, not_after=NOW + 90 * DAY)
    state = mesh(anchors=(root.facts,), issuer=_issuer(cert))
    st, _ = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert st.state == "warning"


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        (mesh(anchors=None), "kubernetes: trust anchors unknown"),
        (mesh(issuer=None), "kubernetes: identity issuer unknown"),
    ],
)
def test_outlives_unknown(state: MeshState, detail: str) -> None:
    st, findings = run_one("issuer_outlives_anchor", observed(mesh_state=state))
    assert (st.state, st.detail, st.unknown_parts, findings) == ("unknown", detail, ("",), ())
