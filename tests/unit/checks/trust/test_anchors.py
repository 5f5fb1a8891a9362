"""Tests for monitor.checks.trust.anchors: not-yet-valid anchors, anchor algorithms, pins,
and the old-anchor wording of trust_anchor_expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes

from monitor.checks import CHECKS, run_checks
from monitor.config.schema import Config
from monitor.model import CheckResult, Issuer
from tests.support.certhelpers import Issued, KeyKind, anchor, intermediate, key_for
from tests.support.checkdata import (
    ANCHOR,
    DAY,
    NOW,
    OLD_ANCHOR,
    SECOND,
    config,
    mesh,
    observed,
    run_one,
)

HOUR = timedelta(hours=1)


# --- trust_anchor_not_yet_valid --------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "state"),
    [
        (-DAY, "pass"),
        (-SECOND, "pass"),
        (timedelta(0), "pass"),  # valid from its not_before on, as in Go
        (SECOND, "critical"),
        (5 * HOUR, "critical"),
    ],
)
def test_not_yet_valid_edges(starts: timedelta, state: str) -> None:
    future = anchor("root.future.test", not_before=NOW + starts, not_after=NOW + 400 * DAY)
    obs = observed(mesh_state=mesh(anchors=(ANCHOR.facts, future.facts)))
    st, findings = run_one("trust_anchor_not_yet_valid", obs)
    assert st.state == state
    if state == "pass":
        assert findings == ()
        return
    (f,) = findings
    fp = future.facts.fingerprint_sha256
    assert (f.check, f.device, f.object, f.severity) == (
        "trust_anchor_not_yet_valid",
        "",
        fp,
        state,
    )
    assert f.message.startswith(f"trust anchor CN=root.future.test (sha256 {fp[:16]}…) is not")
    assert "proxies reject it until then" in f.message
    evidence = dict(f.evidence)
    assert evidence["anchor_not_before"] == (NOW + starts).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert evidence["checked_at"] == "2025-01-01T00:00:00Z"


def test_not_yet_valid_message_says_when() -> None:
    future = anchor("root.future.test", not_before=NOW + 5 * HOUR, not_after=NOW + 400 * DAY)
    _, (f,) = run_one(
        "trust_anchor_not_yet_valid", observed(mesh_state=mesh(anchors=(future.facts,)))
    )
    assert "is not valid until 2025-01-01 05:00 UTC (in 5 hours)" in f.message


# --- trust_anchor_algorithm ------------------------------------------------------------------


def test_algorithm_ecdsa_p256_passes() -> None:
    st, findings = run_one("trust_anchor_algorithm", observed())
    assert (st.state, findings) == ("pass", ())


@pytest.mark.parametrize("kind", ["rsa2048", "rsa4096"])
def test_algorithm_rsa_with_sha256_passes(kind: KeyKind) -> None:
    rsa = anchor("root.rsa.test", key=key_for(kind, 1))
    st, _ = run_one("trust_anchor_algorithm", observed(mesh_state=mesh(anchors=(rsa.facts,))))
    assert st.state == "pass"


@pytest.mark.parametrize(
    ("key", "hash_alg", "problem"),
    [
        ("ec384", hashes.SHA384(), "must use P-256 curve for public key, instead P-384 was used"),
        (
            "ec256",
            hashes.SHA384(),
            "must be signed by an ECDSA P-256 key, instead ECDSA-SHA384 was used",
        ),
        (
            "rsa1024",
            hashes.SHA256(),
            "RSA must use a 2048 or 4096 bit public key, instead 1024 bit was used",
        ),
        (
            "rsa2048",
            hashes.SHA384(),
            "RSA must be signed with SHA256-RSA, instead SHA384-RSA was used",
        ),
        (
            "ed25519",
            None,
            "must use ECDSA or RSA for public key algorithm, instead Ed25519 was used",
        ),
    ],
)
def test_algorithm_rejected(
    key: KeyKind, hash_alg: hashes.HashAlgorithm | None, problem: str
) -> None:
    bad = anchor("root.bad.test", key=key_for(key, 2), hash_alg=hash_alg)
    obs = observed(mesh_state=mesh(anchors=(ANCHOR.facts, bad.facts)))
    st, (f,) = run_one("trust_anchor_algorithm", obs)
    assert st.state == "critical"
    assert (f.device, f.object, f.severity) == ("", bad.facts.fingerprint_sha256, "critical")
    assert f"uses an algorithm Linkerd rejects ({problem})" in f.message
    evidence = dict(f.evidence)
    assert evidence["problem"] == problem
    assert evidence["anchor_fingerprint"] == bad.facts.fingerprint_sha256


def test_algorithm_one_finding_per_bad_anchor() -> None:
    a = anchor("root.a.test", key=key_for("ec384", 3), hash_alg=hashes.SHA384())
    b = anchor("root.b.test", key=key_for("ec521", 4), hash_alg=hashes.SHA512())
    obs = observed(mesh_state=mesh(anchors=(a.facts, ANCHOR.facts, b.facts)))
    st, findings = run_one("trust_anchor_algorithm", obs)
    assert st.state == "critical"
    assert [f.object for f in findings] == [a.facts.fingerprint_sha256, b.facts.fingerprint_sha256]


# --- trust_anchor_pin ------------------------------------------------------------------------

PIN = ANCHOR.facts.fingerprint_sha256


def _pinned(*fingerprints: str) -> Config:
    return config(mesh={"pinnedTrustAnchors": list(fingerprints)})


def test_pin_does_not_apply_without_pins() -> None:
    stray = anchor("root.stray.test")
    chosen = tuple(c for c in CHECKS if c.id == "trust_anchor_pin")
    for state in (mesh(anchors=(stray.facts,)), mesh(anchors=None)):
        result = run_checks(config(), observed(mesh_state=state), NOW, checks=chosen)
        assert result == CheckResult()  # no state at all: nothing is pinned


def test_pin_matching_passes_and_accepts_colon_notation() -> None:
    colons = ":".join(PIN[i : i + 2] for i in range(0, 64, 2)).upper()
    for cfg in (_pinned(PIN), _pinned(colons)):
        st, findings = run_one("trust_anchor_pin", observed(), cfg)
        assert (st.state, findings) == ("pass", ())


def test_pin_unpinned_anchor_in_bundle_is_critical() -> None:
    stray = anchor("root.stray.test")
    obs = observed(mesh_state=mesh(anchors=(ANCHOR.facts, stray.facts)))
    st, (f,) = run_one("trust_anchor_pin", obs, _pinned(PIN))
    assert st.state == "critical"
    assert (f.object, f.severity, f.device) == (stray.facts.fingerprint_sha256, "critical", "")
    assert f.message.startswith("the mesh trusts an anchor that is not pinned: CN=root.stray.test")
    assert "ConfigMap linkerd/linkerd-identity-trust-roots" in f.message
    assert dict(f.evidence)["pinned"] == PIN


def test_pin_no_pinned_anchor_present_is_critical_too() -> None:
    obs = observed(mesh_state=mesh(anchors=(OLD_ANCHOR.facts,)))
    st, findings = run_one("trust_anchor_pin", obs, _pinned(PIN))
    assert st.state == "critical"
    assert [(f.object, f.severity) for f in findings] == [
        (OLD_ANCHOR.facts.fingerprint_sha256, "critical"),
        ("linkerd/linkerd-identity-trust-roots", "critical"),
    ]
    assert findings[1].message.startswith("none of the 1 pinned trust anchors (sha256 ")
    assert dict(findings[1].evidence) == {
        "pinned": PIN,
        "anchors": OLD_ANCHOR.facts.fingerprint_sha256,
    }


def test_pin_empty_bundle_is_critical() -> None:
    obs = observed(mesh_state=mesh(anchors=()))
    st, (f,) = run_one("trust_anchor_pin", obs, _pinned(PIN))
    assert (st.state, f.object) == ("critical", "linkerd/linkerd-identity-trust-roots")


def test_pin_on_linkerd_2_10_names_linkerd_config() -> None:
    state = mesh(anchors=(OLD_ANCHOR.facts,), anchors_from="linkerd/linkerd-config")
    _, findings = run_one("trust_anchor_pin", observed(mesh_state=state), _pinned(PIN))
    assert findings[1].object == "linkerd/linkerd-config"
    assert "identityTrustAnchorsPEM in ConfigMap linkerd/linkerd-config" in findings[0].message


def test_pin_with_anchors_unknown_is_unknown() -> None:
    for state in (mesh(anchors=None), mesh(unknown=frozenset({"anchors"}))):
        st, findings = run_one("trust_anchor_pin", observed(mesh_state=state), _pinned(PIN))
        assert (st.state, st.detail, st.unknown_parts, findings) == (
            "unknown",
            "kubernetes: trust anchors unknown",
            ("",),
            (),
        )


@pytest.mark.parametrize(
    "check", ["trust_anchor_not_yet_valid", "trust_anchor_algorithm", "trust_anchor_expiry"]
)
def test_anchor_checks_unknown(check: str) -> None:
    for state in (mesh(anchors=None), mesh(unknown=frozenset({"anchors"}))):
        st, findings = run_one(check, observed(mesh_state=state))
        assert (st.state, st.unknown_parts, findings) == ("unknown", ("",), ())


# --- trust_anchor_expiry: which anchor is old ------------------------------------------------


def _rotated() -> tuple[Issuer, Issued, Issued]:
    old = anchor("root-old.test", not_before=NOW - 700 * DAY, not_after=NOW + 20 * DAY)
    new = anchor("root-new.test", not_before=NOW - 10 * DAY, not_after=NOW + 3650 * DAY)
    issuer = intermediate("identity.linkerd.cluster.local", new, not_before=NOW - DAY)
    return Issuer("linkerd.io/tls", issuer.facts, ()), old, new


def test_expiring_old_anchor_after_rotation_says_remove_it() -> None:
    issuer, old, new = _rotated()
    state = mesh(anchors=(new.facts, old.facts), issuer=issuer)
    st, (f,) = run_one("trust_anchor_expiry", observed(mesh_state=state))
    assert (st.state, f.severity) == ("warning", "warning")  # still warns (linkerd2#5800)
    assert f.object == old.facts.fingerprint_sha256
    assert "it no longer signs the current issuer" in f.message
    assert (
        "an old anchor; remove it from the bundle once every proxy has a leaf from the new issuer"
        in f.message
    )
    assert dict(f.evidence)["signs_current_issuer"] == "no"


def test_expiring_anchor_that_signs_the_issuer_says_add_a_successor() -> None:
    soon = anchor("root.soon.test", not_after=NOW + 20 * DAY)
    issuer = intermediate("identity.linkerd.cluster.local", soon, not_after=NOW + 10 * DAY)
    state = mesh(anchors=(soon.facts,), issuer=Issuer("linkerd.io/tls", issuer.facts, ()))
    _, (f,) = run_one("trust_anchor_expiry", observed(mesh_state=state))
    assert "add its successor" in f.message
    assert "old anchor" not in f.message
    assert dict(f.evidence)["signs_current_issuer"] == "yes"


def test_expiring_incoming_anchor_is_not_called_old() -> None:
    """Added to the bundle before the issuer was reissued from it: newer, not old."""
    incoming = anchor("root-next.test", not_before=NOW - HOUR, not_after=NOW + 10 * DAY)
    state = mesh(anchors=(ANCHOR.facts, incoming.facts))
    _, (f,) = run_one("trust_anchor_expiry", observed(mesh_state=state))
    assert "old anchor" not in f.message
    assert "add its successor" in f.message


def test_expiry_without_issuer_keeps_the_plain_message() -> None:
    _, old, new = _rotated()
    state = mesh(anchors=(new.facts, old.facts), issuer=None)
    st, (f,) = run_one("trust_anchor_expiry", observed(mesh_state=state))
    assert (st.state, st.unknown_parts) == ("warning", ())
    assert "old anchor" not in f.message
    assert "signs_current_issuer" not in dict(f.evidence)
