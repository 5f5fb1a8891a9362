"""Tests for monitor.checks.trust.renewal: issuer_expiry graded by cert-manager's renewal."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from monitor.model import CertManagerCertificate, Issuer, MeshState
from tests.support.certhelpers import intermediate
from tests.support.checkdata import ANCHOR, DAY, NOW, SECOND, config, mesh, observed, run_one

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
NAME = "linkerd/linkerd-identity-issuer"
AUTO = datetime.min  # "derive it from the certificate", as cert-manager would


def world(
    remaining: timedelta,
    *,
    duration: timedelta | None = 48 * HOUR,
    renew_before: timedelta | None = 25 * HOUR,
    renewal_time: datetime | None = AUTO,
    ready: bool | None = True,
    message: str = "Certificate is up to date and has not expired",
    cm_not_after: datetime | None = AUTO,
    lifetime: timedelta | None = None,
) -> tuple[MeshState, str]:
    """A mesh whose issuer ends `remaining` after NOW, renewed by cert-manager."""
    end = NOW + remaining
    life = lifetime or duration or 90 * DAY
    cert = intermediate(
        "identity.linkerd.cluster.local", ANCHOR, not_before=end - life, not_after=end
    )
    before = renew_before if renew_before is not None else life / 3
    managed = CertManagerCertificate(
        name=NAME,
        duration=duration,
        renew_before=renew_before,
        not_after=end if cm_not_after is AUTO else cm_not_after,
        renewal_time=end - before if renewal_time is AUTO else renewal_time,
        ready=ready,
        message=message,
    )
    issuer = Issuer("kubernetes.io/tls", cert.facts, ())
    return mesh(issuer=issuer, issuer_certificate=managed), cert.facts.fingerprint_sha256


# The Linkerd guide's issuer: duration 48h, renewBefore 25h. Overdue means less than 24h left,
# which is always under the 7d critical threshold: an overdue 48h issuer is critical at once.
@pytest.mark.parametrize(
    ("remaining", "state"),
    [
        (47 * HOUR, "pass"),
        (25 * HOUR + SECOND, "pass"),  # renewal not due
        (25 * HOUR, "pass"),  # due, renewalTime is now, Ready
        (24 * HOUR, "pass"),  # renewalTime exactly 1h past
        (24 * HOUR - SECOND, "critical"),  # overdue, and less than 7d left
        (HOUR, "critical"),
        (timedelta(0), "critical"),
        (-SECOND, "critical"),
    ],
)
def test_guide_issuer(remaining: timedelta, state: str) -> None:
    mesh_state, fp = world(remaining)
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert st.state == state
    if state == "pass":
        assert findings == ()
        return
    (f,) = findings
    assert (f.device, f.object, f.severity) == ("", fp, state)


# A long-lived issuer renewed by cert-manager: 90d with renewBefore 30d.
@pytest.mark.parametrize(
    ("remaining", "state"),
    [
        (30 * DAY + SECOND, "pass"),
        (30 * DAY, "pass"),
        (30 * DAY - HOUR, "pass"),
        (30 * DAY - HOUR - SECOND, "warning"),  # overdue by the remaining lifetime
        (15 * DAY, "warning"),
        (15 * DAY - SECOND, "critical"),  # less than half of renewBefore left
        (DAY, "critical"),
    ],
)
def test_long_issuer(remaining: timedelta, state: str) -> None:
    mesh_state, _ = world(remaining, duration=90 * DAY, renew_before=30 * DAY)
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert st.state == state
    assert [f.severity for f in findings] == ([] if state == "pass" else [state])


@pytest.mark.parametrize(
    ("remaining", "state"),
    [(20 * DAY, "warning"), (20 * DAY - SECOND, "critical")],
)
def test_overdue_under_the_critical_threshold(remaining: timedelta, state: str) -> None:
    cfg = config(thresholds={"issuer": {"warning": "40d", "critical": "20d"}})
    mesh_state, _ = world(remaining, duration=90 * DAY, renew_before=30 * DAY)
    st, _ = run_one("issuer_expiry", observed(mesh_state=mesh_state), cfg)
    assert st.state == state


@pytest.mark.parametrize(
    ("late", "state"),
    [(HOUR, "pass"), (HOUR + SECOND, "warning")],
)
def test_renewal_time_more_than_an_hour_past_is_overdue(late: timedelta, state: str) -> None:
    mesh_state, _ = world(
        30 * DAY - 30 * MINUTE,
        duration=90 * DAY,
        renew_before=30 * DAY,
        renewal_time=NOW - late,
    )
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert st.state == state
    if findings:
        assert "is overdue (due 2024-12-31 22:59 UTC)" in findings[0].message


def test_overdue_message_and_evidence() -> None:
    mesh_state, fp = world(20 * DAY, duration=90 * DAY, renew_before=30 * DAY)
    _, (f,) = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert f.severity == "warning"
    assert f.message.startswith("identity issuer CN=identity.linkerd.cluster.local (sha256 ")
    assert "expires in 20 days, on 2025-01-21 00:00 UTC" in f.message
    assert f"its renewal by cert-manager Certificate {NAME} is overdue" in f.message
    assert "check `kubectl -n linkerd describe certificate linkerd-identity-issuer`" in f.message
    evidence = dict(f.evidence)
    assert evidence["issuer_fingerprint"] == fp
    assert evidence["certificate"] == NAME
    assert evidence["duration"] == "90d"
    assert evidence["renew_before"] == "30d"
    assert evidence["renewal_time"] == "2024-12-22T00:00:00Z"
    assert evidence["renewal_due"] == "2024-12-22T00:00:00Z"
    assert evidence["ready"] == "true"
    assert evidence["overdue"] == "yes"
    assert evidence["checked_at"] == "2025-01-01T00:00:00Z"


def test_not_ready_when_due_is_a_warning_quoting_cert_manager() -> None:
    said = (
        "Issuing certificate as Secret was previously issued by\n ClusterIssuer.cert-manager.io/x"
    )
    mesh_state, _ = world(
        30 * DAY - 30 * MINUTE,
        duration=90 * DAY,
        renew_before=30 * DAY,
        ready=False,
        message=said,
    )
    st, (f,) = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert st.state == "warning"
    assert (
        f"cert-manager Certificate {NAME} is not Ready: Issuing certificate as Secret was"
        " previously issued by ClusterIssuer.cert-manager.io/x" in f.message
    )
    assert "overdue" not in f.message
    assert dict(f.evidence)["ready"] == "false"


def test_no_ready_condition_when_due_is_a_warning() -> None:
    mesh_state, _ = world(25 * HOUR, ready=None, message="")
    st, (f,) = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert st.state == "warning"
    assert "reports no Ready condition" in f.message


def test_not_ready_before_the_renewal_is_due_is_a_note() -> None:
    mesh_state, _ = world(30 * HOUR, ready=False, message="boom")
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert (st.state, findings) == ("pass", ())
    assert st.detail == f"cert-manager Certificate {NAME} is not Ready: boom"


def test_expired_says_cert_manager_did_not_renew_it() -> None:
    mesh_state, _ = world(-2 * HOUR)
    _, (f,) = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert f.severity == "critical"
    assert "expired 2 hours ago" in f.message
    assert f"cert-manager Certificate {NAME} did not renew it" in f.message


@pytest.mark.parametrize(
    ("duration", "lifetime"),
    [(90 * DAY, None), (None, 90 * DAY)],  # a third of the duration, else of the lifetime
)
def test_default_renew_before(duration: timedelta | None, lifetime: timedelta | None) -> None:
    for remaining, state in (
        (30 * DAY + SECOND, "pass"),
        (30 * DAY - HOUR, "pass"),
        (30 * DAY - HOUR - SECOND, "warning"),
    ):
        mesh_state, _ = world(
            remaining,
            duration=duration,
            renew_before=None,
            renewal_time=None,
            lifetime=lifetime,
        )
        st, _ = run_one("issuer_expiry", observed(mesh_state=mesh_state))
        assert st.state == state, remaining


def test_cert_manager_ahead_of_the_secret_is_noted() -> None:
    later = NOW + 40 * HOUR + 47 * HOUR
    mesh_state, _ = world(40 * HOUR, cm_not_after=later)
    st, findings = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        f"cert-manager Certificate {NAME} reports notAfter 2025-01-04T15:00:00Z, later than"
        " the certificate in Secret linkerd/linkerd-identity-issuer (2025-01-02T16:00:00Z)"
    )
    mesh_state, _ = world(20 * HOUR, cm_not_after=later)
    _, (f,) = run_one("issuer_expiry", observed(mesh_state=mesh_state))
    assert dict(f.evidence)["cert_manager_not_after"] == "2025-01-04T15:00:00Z"
    assert "later than the certificate in Secret" in dict(f.evidence)["secret_behind_cert_manager"]


def test_without_cert_manager_the_thresholds_apply() -> None:
    mesh_state, _ = world(40 * HOUR)
    plain = dataclasses.replace(mesh_state, issuer_certificate=None)
    st, (f,) = run_one("issuer_expiry", observed(mesh_state=plain))
    assert (st.state, f.severity) == ("critical", "critical")
    assert "rotate the issuer certificate in Secret linkerd/linkerd-identity-issuer" in f.message


def test_cert_manager_unknown() -> None:
    mesh_state, _ = world(40 * HOUR)
    unreadable = mesh(
        issuer=mesh_state.issuer, issuer_certificate=None, unknown=frozenset({"issuer_certificate"})
    )
    st, findings = run_one("issuer_expiry", observed(mesh_state=unreadable))
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        "kubernetes: cert-manager Certificate of the identity issuer unknown",
        ("",),
        (),
    )
    # an expired issuer is critical whoever renews it
    mesh_state, fp = world(-SECOND)
    expired = mesh(issuer=mesh_state.issuer, unknown=frozenset({"issuer_certificate"}))
    st, (f,) = run_one("issuer_expiry", observed(mesh_state=expired))
    assert (st.state, f.object, st.unknown_parts) == ("critical", fp, ())


def test_issuer_unknown_beats_cert_manager() -> None:
    mesh_state, _ = world(40 * HOUR)
    for state in (
        mesh(issuer=None, issuer_certificate=mesh_state.issuer_certificate),
        mesh(issuer_certificate=mesh_state.issuer_certificate, unknown=frozenset({"issuer"})),
    ):
        st, _ = run_one("issuer_expiry", observed(mesh_state=state))
        assert (st.state, st.detail) == ("unknown", "kubernetes: identity issuer unknown")
