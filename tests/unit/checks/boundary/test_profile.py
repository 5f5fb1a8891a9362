"""Tests for monitor.checks.boundary.profile: the server-ssl profile's own settings."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.model import SourceError
from tests.support.checkdata import (
    IDENTITY,
    NOW,
    SHOP_PROFILE,
    SHOP_VIRTUAL,
    WEB,
    config,
    endpoint,
    f5,
    mesh,
    observed,
    profile,
    run_one,
    service,
    shop,
)

PROFILE_CHECKS = (
    "peer_validation_disabled",
    "authenticate_name_mismatch",
    "expired_cert_accepted",
    "untrusted_cert_accepted",
    "tls13_disabled",
)
ONE = config(shop(devices=["bigip-a"]))


def on_a(check: str, **changes: Any) -> tuple[str, tuple[Any, ...], str]:
    """Run `check` with bigip-a's server-ssl profile changed; (state, findings, detail)."""
    device = f5("bigip-a", server_ssl={SHOP_PROFILE: profile(**changes)})
    st, findings = run_one(check, observed([device]), ONE)
    return st.state, findings, st.detail


@pytest.mark.parametrize("check", PROFILE_CHECKS)
def test_healthy_profile_passes(check: str) -> None:
    st, findings = run_one(check, observed())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize("check", PROFILE_CHECKS)
def test_plaintext_boundary_gets_no_state(check: str) -> None:
    chosen = tuple(c for c in CHECKS if c.id == check)
    assert run_checks(config(WEB), observed(), NOW, checks=chosen).states == ()


# --- the table: (check, profile changes, severity, start of the message after the path) ------

FINDINGS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "peer_validation_disabled",
        {"peer_cert_mode": "ignore"},
        "critical",
        "has peerCertMode ignore:",
    ),
    (
        "peer_validation_disabled",
        {"peer_cert_mode": "request"},
        "critical",
        "has peerCertMode request",
    ),
    ("peer_validation_disabled", {"ca_file": None}, "critical", "has no caFile:"),
    (
        "peer_validation_disabled",
        {"peer_cert_mode": "ignore", "ca_file": None},
        "critical",
        "has peerCertMode ignore and has no caFile:",
    ),
    (
        "authenticate_name_mismatch",
        {"authenticate_name": None},
        "warning",
        "has no authenticateName",
    ),
    (
        "authenticate_name_mismatch",
        {"authenticate_name": "nginx-ingress.ingress.svc.cluster.local"},
        "critical",
        'requires the pod certificate to match "nginx-ingress.ingress.svc.cluster.local"',
    ),
    ("expired_cert_accepted", {"expire_cert_response_control": "ignore"}, "critical", "has expire"),
    (
        "untrusted_cert_accepted",
        {"untrusted_cert_response_control": "ignore"},
        "critical",
        "has untr",
    ),
    ("tls13_disabled", {"tm_options": ("no-tlsv1.3",)}, "critical", "has tmOptions no-tlsv1.3"),
    (
        "tls13_disabled",
        {"tm_options": ("dont-insert-empty-fragments", "no-tlsv1.3 no-sslv3")},
        "critical",
        "has tmOptions no-tlsv1.3",
    ),
    ("tls13_disabled", {"tm_options": ("{ no-tlsv1.3 }",)}, "critical", "has tmOptions"),
]


@pytest.mark.parametrize(("check", "changes", "severity", "text"), FINDINGS)
def test_finding(check: str, changes: dict[str, Any], severity: str, text: str) -> None:
    state, findings, _ = on_a(check, **changes)
    assert state == severity
    (f,) = findings
    assert (f.check, f.device, f.object, f.severity) == (check, "bigip-a", SHOP_PROFILE, severity)
    assert f.message.startswith(f"bigip-a: server-ssl {SHOP_PROFILE} {text}")
    assert dict(f.evidence)["server_ssl_profile"] == SHOP_PROFILE


PASSES = [
    ("peer_validation_disabled", {}),
    ("authenticate_name_mismatch", {"authenticate_name": IDENTITY.upper()}),
    ("expired_cert_accepted", {"expire_cert_response_control": "drop"}),
    ("untrusted_cert_accepted", {"untrusted_cert_response_control": "drop"}),
    ("tls13_disabled", {"tm_options": ()}),
    ("tls13_disabled", {"tm_options": ("no-tlsv1.1", "no-sslv3")}),
]


@pytest.mark.parametrize(("check", "changes"), PASSES)
def test_pass(check: str, changes: dict[str, Any]) -> None:
    state, findings, _ = on_a(check, **changes)
    assert (state, findings) == ("pass", ())


def test_peer_validation_message_and_evidence() -> None:
    _, (f,), _ = on_a("peer_validation_disabled", peer_cert_mode="ignore")
    assert f.message == (
        f"bigip-a: server-ssl {SHOP_PROFILE} has peerCertMode ignore: the pod certificate is"
        " never checked, so anyone who can answer at the pool members' addresses gets BIG-IP's"
        " traffic — set peerCertMode require (AS3 validateCertificate: true)"
    )
    assert dict(f.evidence)["peer_cert_mode"] == "ignore"


def test_authenticate_name_messages() -> None:
    _, (f,), _ = on_a("authenticate_name_mismatch", authenticate_name=None)
    assert f.message == (
        f"bigip-a: server-ssl {SHOP_PROFILE} has no authenticateName: any certificate the CA"
        " bundle trusts is accepted for this backend, whatever identity it names — set the"
        " profile's authenticateName (tmsh authenticate-name, AS3 serverName) to"
        f" {IDENTITY}"
    )
    assert dict(f.evidence) == {
        "server_ssl_profile": SHOP_PROFILE,
        "authenticate_name": "none",
        "expected_identity": IDENTITY,
    }


def test_authenticate_name_with_several_service_accounts() -> None:
    svc = service(
        "ingress",
        "nginx-ingress",
        "443",
        endpoint("10.42.0.11", 443),
        endpoint("10.42.0.12", 443, sa="canary"),
    )
    obs = observed(mesh_state=mesh(services={"ingress/nginx-ingress": svc}))
    st, findings = run_one("authenticate_name_mismatch", obs)
    assert st.state == "critical"
    assert "run as several ServiceAccounts" in findings[0].message
    device = f5("bigip-a", server_ssl={SHOP_PROFILE: profile(authenticate_name=None)})
    obs = observed([device], mesh(services={"ingress/nginx-ingress": svc}))
    st, (f,) = run_one("authenticate_name_mismatch", obs, ONE)
    assert (st.state, f.severity) == ("warning", "warning")
    assert "run the backend under one ServiceAccount" in f.message


def test_authenticate_name_follows_the_configured_identity() -> None:
    fixed = "edge.ingress.serviceaccount.identity.linkerd.cluster.local"
    backend = {
        "service": {"namespace": "ingress", "name": "nginx-ingress", "port": 443},
        "identity": fixed,
    }
    cfg = config(shop(devices=["bigip-a"], backend=backend))
    device = f5("bigip-a", server_ssl={SHOP_PROFILE: profile(authenticate_name=fixed)})
    st, _ = run_one("authenticate_name_mismatch", observed([device], mesh(services={})), cfg)
    assert st.state == "pass"


def test_authenticate_name_unknown_identity() -> None:
    st, findings = run_one("authenticate_name_mismatch", observed(mesh_state=mesh(services={})))
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a", "bigip-b"), ())
    assert st.detail == "kubernetes: endpoints of Service ingress/nginx-ingress unknown"


def test_tls13_evidence_lists_the_words() -> None:
    _, (f,), _ = on_a("tls13_disabled", tm_options=("{ no-sslv3 no-tlsv1.3 }",))
    assert dict(f.evidence)["tm_options"] == "no-sslv3 no-tlsv1.3"


# --- unknown -----------------------------------------------------------------------------------

UNKNOWN_CASES = [
    pytest.param(lambda: observed([f5("bigip-b")]), "bigip-a: could not be read", id="device"),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", failed=frozenset({"ltm/profile/server-ssl"})), f5("bigip-b")],
            errors={"bigip-a": (SourceError("http_403", "no", "ltm/profile/server-ssl"),)},
        ),
        "bigip-a: could not read ltm/profile/server-ssl (http_403)",
        id="profiles-failed",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", virtuals={}), f5("bigip-b")]),
        f"virtual {SHOP_VIRTUAL} not found on bigip-a",
        id="virtual-absent",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", server_ssl={}), f5("bigip-b")]),
        f"server-ssl {SHOP_PROFILE} not found on bigip-a",
        id="profile-absent",
    ),
]


@pytest.mark.parametrize("check", PROFILE_CHECKS)
@pytest.mark.parametrize(("make", "detail"), UNKNOWN_CASES)
def test_unknown(check: str, make: Any, detail: str) -> None:
    st, findings = run_one(check, make())
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a",),
        (),
    )


@pytest.mark.parametrize("check", PROFILE_CHECKS)
def test_finding_on_one_device_and_unknown_on_the_other(check: str) -> None:
    changes = next(c for k, c, *_ in FINDINGS if k == check)
    drifting = f5("bigip-a", server_ssl={SHOP_PROFILE: profile(**changes)})
    obs = observed([drifting, f5("bigip-b", failed=frozenset({"ltm/virtual"}))])
    st, findings = run_one(check, obs)
    assert st.unknown_parts == ("bigip-b",)
    assert [f.device for f in findings] == ["bigip-a"]
    assert st.state == findings[0].severity
