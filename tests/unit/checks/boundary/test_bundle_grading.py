"""Tests for the CA bundle checks' newer rules: how bad a missing anchor is
(`bundle_missing_anchor` against the current issuer) and `bundle_cert_expiry`."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.model import CaBundle, F5State, Issuer, SslCert
from tests.support.certhelpers import anchor, intermediate
from tests.support.checkdata import (
    ANCHOR,
    DAY,
    NOW,
    OLD_ANCHOR,
    SHOP_BUNDLE,
    SHOP_PROFILE,
    WEB,
    bundle,
    config,
    f5,
    mesh,
    observed,
    run_one,
    shop,
    ssl_cert,
)

NEXT_ANCHOR = anchor("root-next.linkerd.cluster.local")
NEXT_ISSUER = intermediate("identity.linkerd.cluster.local", NEXT_ANCHOR)
ONE = config(shop(devices=["bigip-a"]))


def with_bundle(*members: SslCert) -> list[F5State]:
    return [f5("bigip-a", bundles={SHOP_BUNDLE: bundle(*members)})]


def missing(**mesh_changes: object) -> tuple[str, str, str, dict[str, str]]:
    """bundle_missing_anchor on bigip-a whose bundle holds only ANCHOR."""
    obs = observed(with_bundle(ssl_cert(ANCHOR, "/Common/a.crt")), mesh(**mesh_changes))
    st, findings = run_one("bundle_missing_anchor", obs, ONE)
    assert len(findings) == 1, findings
    return st.state, findings[0].message, st.detail, dict(findings[0].evidence)


# --- bundle_missing_anchor: severity ---------------------------------------------------------


def test_missing_anchor_that_signs_the_current_issuer_is_critical() -> None:
    issuer = Issuer("linkerd.io/tls", NEXT_ISSUER.facts, ())
    state, message, detail, evidence = missing(
        anchors=(ANCHOR.facts, NEXT_ANCHOR.facts), issuer=issuer
    )
    assert (state, detail) == ("critical", "")
    assert "BIG-IP cannot verify pod certificates issued under it" in message
    assert evidence["signs_current_issuer"] == "yes"


def test_staged_anchor_is_a_warning() -> None:
    state, message, detail, evidence = missing(anchors=(ANCHOR.facts, NEXT_ANCHOR.facts))
    assert (state, detail) == ("warning", "")
    assert message.endswith(
        "which signs no current identity issuer (staged for the next rotation, or being"
        " retired): pod certificates verify today, but an issuer reissued from it would break"
        " the boundary — add it to the bundle"
    )
    assert evidence["signs_current_issuer"] == "no"


def test_anchor_signing_through_an_intermediate_of_the_issuer_pem_is_critical() -> None:
    middle = intermediate("linkerd-intermediate", NEXT_ANCHOR)
    issuer_cert = intermediate("identity.linkerd.cluster.local", middle)
    issuer = Issuer("linkerd.io/tls", issuer_cert.facts, (middle.facts,))
    state, _, _, evidence = missing(anchors=(ANCHOR.facts, NEXT_ANCHOR.facts), issuer=issuer)
    assert (state, evidence["signs_current_issuer"]) == ("critical", "yes")


@pytest.mark.parametrize(
    ("changes", "note"),
    [
        (
            {"issuer": None},
            "kubernetes: identity issuer unknown: every missing anchor is graded critical",
        ),
        (
            {"issuer": Issuer("linkerd.io/tls", intermediate("x", OLD_ANCHOR).facts, ())},
            "no trust anchor signs the identity issuer (see issuer_chain): every missing"
            " anchor is graded critical",
        ),
    ],
    ids=["issuer-unknown", "issuer-signed-by-no-anchor"],
)
def test_without_a_known_signer_every_missing_anchor_is_critical(
    changes: dict[str, object], note: str
) -> None:
    state, _, detail, evidence = missing(anchors=(ANCHOR.facts, NEXT_ANCHOR.facts), **changes)
    assert (state, detail, evidence["signs_current_issuer"]) == ("critical", note, "unknown")


def test_issuer_listed_unknown_counts_as_unknown() -> None:
    state, _, detail, _ = missing(
        anchors=(ANCHOR.facts, NEXT_ANCHOR.facts), unknown=frozenset({"issuer"})
    )
    assert state == "critical"
    assert detail.startswith("kubernetes: identity issuer unknown")


def test_issuer_unknown_does_not_make_a_complete_bundle_unknown() -> None:
    st, findings = run_one("bundle_missing_anchor", observed(mesh_state=mesh(issuer=None)))
    assert (st.state, st.detail, findings) == ("pass", "", ())


# --- bundle_cert_expiry -----------------------------------------------------------------------


def expiring(days: float, cn: str = "root.linkerd.cluster.local") -> SslCert:
    cert = anchor(cn, not_after=NOW + timedelta(days=days))
    return ssl_cert(cert, f"/Common/{cn}.crt")


@pytest.mark.parametrize(
    ("days", "state"),
    [
        (400, "pass"),
        (28, "pass"),  # exactly at the warning threshold: the milder side
        (27.9, "warning"),
        (14, "warning"),
        (13.9, "critical"),
        (0, "critical"),
        (-3, "critical"),
    ],
)
def test_bundle_cert_expiry_grades_with_the_boundary_thresholds(days: float, state: str) -> None:
    member = expiring(days)
    st, findings = run_one("bundle_cert_expiry", observed(with_bundle(member)), ONE)
    assert st.state == state
    assert [f.severity for f in findings] == ([] if state == "pass" else [state])


def test_bundle_cert_expiry_message_and_evidence_for_a_current_anchor() -> None:
    soon = anchor("root.linkerd.cluster.local", not_after=NOW + 10 * DAY)
    member = ssl_cert(soon, "/Common/anchor.crt")
    obs = observed(with_bundle(member), mesh(anchors=(soon.facts,)))
    st, (f,) = run_one("bundle_cert_expiry", obs, ONE)
    fp = soon.facts.fingerprint_sha256
    assert (st.state, f.device, f.object) == ("critical", "bigip-a", fp)
    assert f.message == (
        f"bigip-a: CA bundle {SHOP_BUNDLE} (server-ssl {SHOP_PROFILE}) holds"
        f" CN=root.linkerd.cluster.local (sha256 {fp[:16]}…, /Common/anchor.crt), which expires"
        " in 10 days, on 2025-01-11 00:00 UTC; it is a current Linkerd trust anchor: once it"
        " expires BIG-IP rejects every pod certificate issued under it — rotate the anchor"
        " (mesh first, then this bundle)"
    )
    evidence = dict(f.evidence)
    assert evidence["cert_fingerprint"] == fp
    assert evidence["cert_not_after"] == "2025-01-11T00:00:00Z"
    assert evidence["current_anchor"] == "yes"
    assert evidence["bundle"] == SHOP_BUNDLE


def test_expiring_anchor_that_signs_no_current_issuer_is_an_old_one_to_remove() -> None:
    old = anchor("root-old.linkerd.cluster.local", not_after=NOW + 10 * DAY)
    members = (ssl_cert(ANCHOR, "/Common/a.crt"), ssl_cert(old, "/Common/old.crt"))
    obs = observed(with_bundle(*members), mesh(anchors=(ANCHOR.facts, old.facts)))
    st, (f,) = run_one("bundle_cert_expiry", obs, ONE)
    assert (st.state, f.object) == ("critical", old.facts.fingerprint_sha256)
    assert f.message.endswith(
        "; it is a Linkerd trust anchor that signs no current identity issuer (an old anchor)"
        " — remove it from the mesh bundle, then from this one, once every proxy has a leaf"
        " from the current issuer"
    )
    assert dict(f.evidence)["current_anchor"] == "yes"


def test_each_member_is_its_own_finding_and_strangers_say_so() -> None:
    members = (expiring(20), expiring(5, "stranger"), expiring(400, "fine"))
    st, findings = run_one("bundle_cert_expiry", observed(with_bundle(*members)), ONE)
    assert st.state == "critical"
    assert [(f.severity, dict(f.evidence)["current_anchor"]) for f in findings] == [
        ("warning", "no"),
        ("critical", "no"),
    ]
    assert "not a current Linkerd trust anchor (see bundle_stale_anchor)" in findings[1].message


def test_anchors_unknown_still_grades_without_the_remark() -> None:
    obs = observed(with_bundle(expiring(5)), mesh(anchors=None))
    st, (f,) = run_one("bundle_cert_expiry", obs, ONE)
    assert st.state == "critical"
    assert dict(f.evidence)["current_anchor"] == "unknown"
    assert f.message.endswith(" — replace it before then")


def test_member_without_fingerprint_is_named_by_path() -> None:
    member = dataclasses.replace(expiring(5), fingerprint=None)
    _, (f,) = run_one("bundle_cert_expiry", observed(with_bundle(member)), ONE)
    assert f.object == member.path


def test_member_without_an_end_date_is_unknown() -> None:
    member = dataclasses.replace(expiring(400), not_after=None)
    st, findings = run_one("bundle_cert_expiry", observed(with_bundle(member)), ONE)
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a",), ())
    assert st.detail == (f"bigip-a: expiry of {member.path} in CA bundle {SHOP_BUNDLE} unknown")


def test_end_date_from_the_parsed_pem_when_bigip_gave_none() -> None:
    soon = anchor("root.linkerd.cluster.local", not_after=NOW + 5 * DAY)
    member = dataclasses.replace(ssl_cert(soon, "/Common/a.crt", parsed=True), not_after=None)
    st, _ = run_one("bundle_cert_expiry", observed(with_bundle(member)), ONE)
    assert st.state == "critical"


def test_bundle_contents_unknown_is_unknown() -> None:
    unknown = CaBundle(SHOP_BUNDLE, None, "none", "bundleReader is none for bigip-a")
    st, findings = run_one(
        "bundle_cert_expiry", observed([f5("bigip-a", bundles={SHOP_BUNDLE: unknown})]), ONE
    )
    assert (st.state, findings) == ("unknown", ())
    assert st.detail == (
        f"bigip-a: contents of CA bundle {SHOP_BUNDLE} unknown: bundleReader is none for bigip-a"
    )


def test_thresholds_come_from_the_config() -> None:
    cfg = config(
        shop(devices=["bigip-a"]),
        thresholds={"boundaryCert": {"warning": "90d", "critical": "30d"}},
    )
    st, _ = run_one("bundle_cert_expiry", observed(with_bundle(expiring(60))), cfg)
    assert st.state == "warning"


def test_plaintext_boundary_gets_no_bundle_state() -> None:
    chosen = tuple(c for c in CHECKS if c.id == "bundle_cert_expiry")
    assert run_checks(config(WEB), observed(), NOW, checks=chosen).states == ()
