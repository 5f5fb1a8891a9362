"""Tests for monitor.checks.trust.lifetimes and the expiry helpers of monitor.checks.common."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.checks.common import expiry_phrase, grade, humane_duration, humane_remaining
from monitor.config.schema import Threshold
from monitor.model import Issuer
from tests.support.certhelpers import anchor, intermediate
from tests.support.checkdata import (
    ANCHOR,
    DAY,
    ISSUER,
    NOW,
    SECOND,
    config,
    mesh,
    observed,
    run_one,
)

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)

# --- grading and wording ----------------------------------------------------------------

TA = Threshold(warning=60 * DAY, critical=14 * DAY)


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (365 * DAY, None),
        (60 * DAY + SECOND, None),
        (60 * DAY, None),  # exactly at the warning threshold: not yet a warning
        (60 * DAY - SECOND, "warning"),
        (14 * DAY + SECOND, "warning"),
        (14 * DAY, "warning"),  # exactly at the critical threshold: still a warning
        (14 * DAY - SECOND, "critical"),
        (SECOND, "critical"),
        (timedelta(0), "critical"),
        (-SECOND, "critical"),
        (-3 * DAY, "critical"),
    ],
)
def test_grade_edges(remaining: timedelta, expected: str | None) -> None:
    assert grade(remaining, TA) == expected


def test_grade_expired_is_critical_even_with_zero_thresholds() -> None:
    zero = Threshold(timedelta(0), timedelta(0))
    assert grade(timedelta(0), zero) == "critical"
    assert grade(SECOND, zero) is None


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (20 * DAY + 5 * HOUR, "20 days"),
        (2 * DAY, "2 days"),
        (DAY + 23 * HOUR, "47 hours"),
        (5 * HOUR + 59 * MINUTE, "5 hours"),
        (2 * HOUR, "2 hours"),
        (HOUR + 30 * MINUTE, "90 minutes"),
        (2 * MINUTE, "2 minutes"),
        (119 * SECOND, "119 seconds"),
        (SECOND, "1 second"),
        (timedelta(0), "0 seconds"),
    ],
)
def test_humane_duration(span: timedelta, text: str) -> None:
    assert humane_duration(span) == text


@pytest.mark.parametrize(
    ("remaining", "text"),
    [
        (20 * DAY, "20 days"),
        (timedelta(0), "expired just now"),
        (-timedelta(milliseconds=500), "expired just now"),
        (-3 * DAY - HOUR, "expired 3 days ago"),
        (-5 * HOUR, "expired 5 hours ago"),
    ],
)
def test_humane_remaining(remaining: timedelta, text: str) -> None:
    assert humane_remaining(remaining) == text


def test_expiry_phrase() -> None:
    end = datetime(2026, 12, 16, 5, 0, 30, tzinfo=UTC)
    assert expiry_phrase(end, end - 20 * DAY) == "expires in 20 days, on 2026-12-16 05:00 UTC"
    assert expiry_phrase(end, end + 3 * DAY) == "expired 3 days ago, on 2026-12-16 05:00 UTC"


# --- trust_anchor_expiry ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "state", "fragment"),
    [
        (365 * DAY, "pass", None),
        (60 * DAY + SECOND, "pass", None),
        (60 * DAY, "pass", None),
        (60 * DAY - SECOND, "warning", "expires in 59 days, on 2025-03-01 23:59 UTC"),
        (14 * DAY + SECOND, "warning", "expires in 14 days"),
        (14 * DAY, "warning", "expires in 14 days, on 2025-01-15 00:00 UTC"),
        (14 * DAY - SECOND, "critical", "expires in 13 days"),
        (timedelta(0), "critical", "expired just now, on 2025-01-01 00:00 UTC"),
        (-3 * DAY, "critical", "expired 3 days ago, on 2024-12-29 00:00 UTC"),
    ],
)
def test_trust_anchor_expiry_edges(remaining: timedelta, state: str, fragment: str | None) -> None:
    facts = anchor("root.linkerd.cluster.local", not_after=NOW + remaining).facts
    st, findings = run_one("trust_anchor_expiry", observed(mesh_state=mesh(anchors=(facts,))))
    assert st.state == state
    assert st.unknown_parts == ()
    assert st.detail == ""
    if fragment is None:
        assert findings == ()
        return
    (f,) = findings
    assert (f.check, f.boundary, f.device, f.object) == (
        "trust_anchor_expiry",
        "shop",
        "",
        facts.fingerprint_sha256,
    )
    assert f.severity == state
    assert f.message.startswith(
        f"trust anchor CN=root.linkerd.cluster.local (sha256 {facts.fingerprint_sha256[:16]}…) "
    )
    assert fragment in f.message
    assert "linkerd/linkerd-identity-trust-roots" in f.message
    evidence = dict(f.evidence)
    assert evidence["anchor_fingerprint"] == facts.fingerprint_sha256
    assert evidence["anchor_not_after"] == (NOW + remaining).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert evidence["checked_at"] == "2025-01-01T00:00:00Z"


def test_trust_anchor_expiry_uses_configured_thresholds() -> None:
    cfg = config(thresholds={"trustAnchor": {"warning": "90d", "critical": "30d"}})
    facts = anchor("root.test", not_after=NOW + 45 * DAY).facts
    st, findings = run_one("trust_anchor_expiry", observed(mesh_state=mesh(anchors=(facts,))), cfg)
    assert st.state == "warning"
    assert [f.severity for f in findings] == ["warning"]


def test_trust_anchor_expiry_one_finding_per_anchor_worst_wins() -> None:
    soon = anchor("root-new.test", not_after=NOW + 20 * DAY).facts
    gone = anchor("root-old.test", not_after=NOW - DAY).facts
    fine = ANCHOR.facts
    anchors = (fine, soon, gone, soon)  # the duplicate is reported once
    st, findings = run_one("trust_anchor_expiry", observed(mesh_state=mesh(anchors=anchors)))
    assert st.state == "critical"
    assert [(f.object, f.severity) for f in findings] == [
        (soon.fingerprint_sha256, "warning"),
        (gone.fingerprint_sha256, "critical"),
    ]
    assert "expires in 20 days" in findings[0].message
    assert "expired 1 day" not in findings[1].message  # 24 hours: "expired 24 hours ago"
    assert "expired 24 hours ago" in findings[1].message


def test_trust_anchor_not_yet_valid_is_not_this_checks_business() -> None:
    future = anchor("root.test", not_before=NOW + DAY, not_after=NOW + 400 * DAY).facts
    st, findings = run_one("trust_anchor_expiry", observed(mesh_state=mesh(anchors=(future,))))
    assert (st.state, findings) == ("pass", ())


def test_trust_anchor_expiry_with_no_anchors_is_pass() -> None:
    st, findings = run_one("trust_anchor_expiry", observed(mesh_state=mesh(anchors=())))
    assert (st.state, findings) == ("pass", ())


@pytest.mark.parametrize("check", ["trust_anchor_expiry", "issuer_chain"])
def test_anchors_unknown(check: str) -> None:
    st, findings = run_one(check, observed(mesh_state=mesh(anchors=None)))
    assert st.state == "unknown"
    assert st.detail == "kubernetes: trust anchors unknown"
    assert st.unknown_parts == ("",)
    assert findings == ()


def test_mesh_checks_do_not_need_any_device() -> None:
    obs = observed(devices=[])
    for check in ("trust_anchor_expiry", "issuer_expiry", "issuer_chain"):
        st, _ = run_one(check, obs)
        assert st.state == "pass", check


# --- issuer_expiry -------------------------------------------------------------------------


def _issuer_ending(remaining: timedelta) -> Issuer:
    cert = intermediate("identity.linkerd.cluster.local", ANCHOR, not_after=NOW + remaining)
    return Issuer(scheme="kubernetes.io/tls", cert=cert.facts, chain=())


@pytest.mark.parametrize(
    ("remaining", "state", "fragment"),
    [
        (30 * DAY + SECOND, "pass", None),
        (30 * DAY, "pass", None),
        (30 * DAY - SECOND, "warning", "expires in 29 days"),
        (7 * DAY + SECOND, "warning", "expires in 7 days"),
        (7 * DAY, "warning", "expires in 7 days, on 2025-01-08 00:00 UTC"),
        (7 * DAY - SECOND, "critical", "expires in 6 days, on 2025-01-07 23:59 UTC"),
        (5 * HOUR, "critical", "expires in 5 hours"),
        (-2 * DAY, "critical", "expired 2 days ago, on 2024-12-30 00:00 UTC"),
    ],
)
def test_issuer_expiry_edges(remaining: timedelta, state: str, fragment: str | None) -> None:
    issuer = _issuer_ending(remaining)
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh(issuer=issuer)))
    assert st.state == state
    if fragment is None:
        assert findings == ()
        return
    (f,) = findings
    assert (f.device, f.object, f.severity) == ("", issuer.cert.fingerprint_sha256, state)
    assert f.message.startswith("identity issuer CN=identity.linkerd.cluster.local (sha256 ")
    assert fragment in f.message
    assert "rotate the issuer certificate in Secret linkerd/linkerd-identity-issuer" in f.message
    assert dict(f.evidence)["scheme"] == "kubernetes.io/tls"


def test_issuer_expiry_names_the_configured_linkerd_namespace() -> None:
    cfg = config(mesh={"linkerdNamespace": "linkerd-prod"})
    obs = observed(mesh_state=mesh(issuer=_issuer_ending(DAY)))
    _, (f,) = run_one("issuer_expiry", obs, cfg)
    assert "Secret linkerd-prod/linkerd-identity-issuer" in f.message


def test_issuer_unknown() -> None:
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh(issuer=None)))
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        "kubernetes: identity issuer unknown",
        ("",),
        (),
    )


# --- issuer_chain ---------------------------------------------------------------------------


def test_issuer_chain_pass_through_an_intermediate() -> None:
    middle = intermediate("intermediate.test", ANCHOR)
    leaf = intermediate("identity.linkerd.cluster.local", middle)
    issuer = Issuer(scheme="linkerd.io/tls", cert=leaf.facts, chain=(middle.facts,))
    st, findings = run_one("issuer_chain", observed(mesh_state=mesh(issuer=issuer)))
    assert (st.state, findings) == ("pass", ())


def test_issuer_chain_missing_intermediate_is_critical() -> None:
    middle = intermediate("intermediate.test", ANCHOR)
    leaf = intermediate("identity.linkerd.cluster.local", middle)
    issuer = Issuer(scheme="linkerd.io/tls", cert=leaf.facts, chain=())
    st, (f,) = run_one("issuer_chain", observed(mesh_state=mesh(issuer=issuer)))
    assert st.state == "critical"
    assert (f.object, f.severity, f.device) == (leaf.facts.fingerprint_sha256, "critical", "")
    assert "does not verify against the mesh trust anchors" in f.message
    assert "is not signed by any of the 1 anchor(s)" in f.message
    assert dict(f.evidence)["code"] == "unknown_authority"


def test_issuer_signed_by_another_anchor_is_critical() -> None:
    other = anchor("root-other.test")
    leaf = intermediate("identity.linkerd.cluster.local", other)
    obs = observed(mesh_state=mesh(issuer=Issuer("linkerd.io/tls", leaf.facts, ())))
    st, (f,) = run_one("issuer_chain", obs)
    assert st.state == "critical"
    assert "reissue it from a current trust anchor" in f.message
    assert dict(f.evidence)["anchors"] == ANCHOR.facts.fingerprint_sha256


def test_issuer_chain_expired_issuer() -> None:
    issuer = _issuer_ending(-DAY)
    st, (f,) = run_one("issuer_chain", observed(mesh_state=mesh(issuer=issuer)))
    assert st.state == "critical"
    assert dict(f.evidence)["code"] == "expired"
    assert "rotate the expired certificate" in f.message


def test_issuer_chain_with_empty_anchor_list_is_critical() -> None:
    st, (f,) = run_one("issuer_chain", observed(mesh_state=mesh(anchors=())))
    assert st.state == "critical"
    assert "no trust anchors given" in f.message


def test_issuer_chain_ok_during_rotation() -> None:
    new = anchor("root-new.test")
    obs = observed(mesh_state=mesh(anchors=(new.facts, ANCHOR.facts)))
    st, _ = run_one("issuer_chain", obs)
    assert st.state == "pass"


@pytest.mark.parametrize(
    ("anchors_known", "issuer_known", "detail"),
    [
        (True, False, "kubernetes: identity issuer unknown"),
        (False, True, "kubernetes: trust anchors unknown"),
        (False, False, "kubernetes: trust anchors unknown; kubernetes: identity issuer unknown"),
    ],
)
def test_issuer_chain_unknown(anchors_known: bool, issuer_known: bool, detail: str) -> None:
    state = mesh(
        anchors=(ANCHOR.facts,) if anchors_known else None,
        issuer=Issuer("linkerd.io/tls", ISSUER.facts, ()) if issuer_known else None,
    )
    st, findings = run_one("issuer_chain", observed(mesh_state=state))
    assert (st.state, st.detail, st.unknown_parts, findings) == ("unknown", detail, ("",), ())
