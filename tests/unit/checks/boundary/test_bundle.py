"""Tests for monitor.checks.boundary.bundle: CA bundle contents and SNI against the mesh."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.model import CaBundle, F5State, ProfileRef, SourceError, SslCert
from tests.support.certhelpers import anchor
from tests.support.checkdata import (
    ANCHOR,
    IDENTITY,
    OLD_ANCHOR,
    SHOP_BUNDLE,
    SHOP_PROFILE,
    SHOP_VIRTUAL,
    bundle,
    config,
    endpoint,
    f5,
    mesh,
    observed,
    profile,
    run_one,
    service,
    shop,
    shop_virtual,
    ssl_cert,
)

BUNDLE_CHECKS = ("bundle_missing_anchor", "bundle_stale_anchor")
DEVICE_CHECKS = (*BUNDLE_CHECKS, "sni_mismatch")
NEW_ANCHOR = anchor("root-new.linkerd.cluster.local")


def with_bundle(name: str, *members: SslCert) -> F5State:
    return f5(name, bundles={SHOP_BUNDLE: bundle(*members)})


def with_profile(name: str, **changes: object) -> F5State:
    return f5(name, server_ssl={SHOP_PROFILE: profile(**changes)})


# --- pass ----------------------------------------------------------------------------------


@pytest.mark.parametrize("check", DEVICE_CHECKS)
def test_healthy_boundary_passes(check: str) -> None:
    st, findings = run_one(check, observed())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


# --- bundle_missing_anchor ------------------------------------------------------------------


def test_bundle_lacking_the_anchor_is_critical_on_each_device() -> None:
    other = ssl_cert(OLD_ANCHOR, "/Common/old.crt")
    obs = observed([with_bundle("bigip-a", other), with_bundle("bigip-b", other)])
    st, findings = run_one("bundle_missing_anchor", obs)
    assert st.state == "critical"
    assert st.unknown_parts == ()
    fp = ANCHOR.facts.fingerprint_sha256
    assert [(f.device, f.object, f.severity) for f in findings] == [
        ("bigip-a", fp, "critical"),
        ("bigip-b", fp, "critical"),
    ]
    assert findings[0].message == (
        f"bigip-a: CA bundle {SHOP_BUNDLE} (server-ssl {SHOP_PROFILE}) lacks trust anchor"
        f" CN=root.linkerd.cluster.local (sha256 {fp[:16]}…); BIG-IP cannot verify pod"
        " certificates issued under it — add it to the bundle"
    )
    evidence = dict(findings[0].evidence)
    assert evidence["anchor_fingerprint"] == fp
    assert evidence["bundle"] == SHOP_BUNDLE
    assert evidence["server_ssl_profile"] == SHOP_PROFILE
    assert evidence["bundle_members"] == "1"


def test_rotation_reports_only_the_anchor_not_in_the_bundle() -> None:
    anchors = (ANCHOR.facts, NEW_ANCHOR.facts)
    st, findings = run_one("bundle_missing_anchor", observed(mesh_state=mesh(anchors=anchors)))
    assert st.state == "warning"  # the new anchor signs no current issuer yet
    assert {(f.device, f.object) for f in findings} == {
        ("bigip-a", NEW_ANCHOR.facts.fingerprint_sha256),
        ("bigip-b", NEW_ANCHOR.facts.fingerprint_sha256),
    }


def test_empty_bundle_misses_every_anchor() -> None:
    obs = observed([with_bundle("bigip-a"), f5("bigip-b")])
    st, findings = run_one("bundle_missing_anchor", obs)
    assert st.state == "critical"
    assert [(f.device, f.object) for f in findings] == [
        ("bigip-a", ANCHOR.facts.fingerprint_sha256)
    ]


def test_bigip_fingerprint_format_and_parsed_pem_both_match() -> None:
    f5_style = dataclasses.replace(
        ssl_cert(ANCHOR, "/Common/a.crt"), fingerprint=ANCHOR.facts.f5_fingerprint
    )
    from_pem = dataclasses.replace(
        ssl_cert(ANCHOR, "/Common/b.crt", fingerprint=None), facts=ANCHOR.facts
    )
    obs = observed([with_bundle("bigip-a", f5_style), with_bundle("bigip-b", from_pem)])
    for check in BUNDLE_CHECKS:
        st, findings = run_one(check, obs)
        assert (st.state, findings) == ("pass", ()), check


def test_member_without_fingerprint_named_like_the_anchor_is_unknown() -> None:
    blind = ssl_cert(ANCHOR, "/Common/linkerd-anchor.crt", fingerprint=None)
    obs = observed([with_bundle("bigip-a", blind), f5("bigip-b")])
    for check in BUNDLE_CHECKS:
        st, findings = run_one(check, obs)
        assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a",), ()), check
    st, _ = run_one("bundle_missing_anchor", obs)
    assert st.detail == (
        f"bigip-a: CA bundle {SHOP_BUNDLE} (server-ssl {SHOP_PROFILE}) has a member without"
        " fingerprint named like trust anchor CN=root.linkerd.cluster.local"
    )


def test_member_without_fingerprint_and_another_name_is_not_the_anchor() -> None:
    blind = ssl_cert(OLD_ANCHOR, "/Common/old.crt", fingerprint=None)
    obs = observed([with_bundle("bigip-a", blind), f5("bigip-b")])
    st, findings = run_one("bundle_missing_anchor", obs)
    assert st.state == "critical"
    assert [f.device for f in findings] == ["bigip-a"]
    st, (f,) = run_one("bundle_stale_anchor", obs)
    assert st.state == "warning"
    assert (f.device, f.object) == ("bigip-a", "/Common/old.crt")
    assert "(/Common/old.crt, fingerprint unknown)" in f.message
    assert dict(f.evidence)["member_fingerprint"] == "unknown"


# --- bundle_stale_anchor --------------------------------------------------------------------


def test_retired_anchor_left_in_the_bundle_is_a_warning() -> None:
    members = (ssl_cert(ANCHOR, "/Common/a.crt"), ssl_cert(OLD_ANCHOR, "/Common/old.crt"))
    obs = observed([with_bundle("bigip-a", *members), f5("bigip-b")])
    st, findings = run_one("bundle_stale_anchor", obs)
    assert st.state == "warning"
    old_fp = OLD_ANCHOR.facts.fingerprint_sha256
    assert [(f.device, f.object, f.severity) for f in findings] == [("bigip-a", old_fp, "warning")]
    assert findings[0].message == (
        f"bigip-a: CA bundle {SHOP_BUNDLE} (server-ssl {SHOP_PROFILE}) trusts"
        f" CN=root-old.linkerd.cluster.local (sha256 {old_fp[:16]}…, /Common/old.crt), which is"
        " not a current Linkerd trust anchor; remove it unless a rotation still needs it"
        " (a retired anchor, or an unrelated CA that could vouch for the backend identity)"
    )
    evidence = dict(findings[0].evidence)
    assert evidence["member_path"] == "/Common/old.crt"
    assert evidence["member_not_after"] == "2026-01-01T00:00:00Z"


def test_stale_and_missing_are_separate_checks() -> None:
    """A bundle that still holds only the old anchor: one finding for each check."""
    obs = observed([with_bundle("bigip-a", ssl_cert(OLD_ANCHOR, "/Common/old.crt")), f5("bigip-b")])
    missing, (m,) = run_one("bundle_missing_anchor", obs)
    stale, (s,) = run_one("bundle_stale_anchor", obs)
    assert (missing.state, m.object) == ("critical", ANCHOR.facts.fingerprint_sha256)
    assert (stale.state, s.object) == ("warning", OLD_ANCHOR.facts.fingerprint_sha256)


def test_duplicate_member_is_reported_once() -> None:
    old = ssl_cert(OLD_ANCHOR, "/Common/old.crt")
    obs = observed([with_bundle("bigip-a", ssl_cert(ANCHOR, "/Common/a.crt"), old, old)])
    cfg = config(shop(devices=["bigip-a"]))
    _, findings = run_one("bundle_stale_anchor", obs, cfg)
    assert len(findings) == 1


# --- unknown causes, shared by the device checks ------------------------------------------


def _errors(target: str) -> dict[str, tuple[SourceError, ...]]:
    return {"bigip-a": (SourceError("http_403", "Forbidden for token abc123", target),)}


UNKNOWN_CASES = [
    pytest.param(
        lambda: observed([f5("bigip-b")]),
        "bigip-a: could not be read",
        id="device-missing",
    ),
    pytest.param(
        lambda: observed(
            [f5("bigip-b")],
            errors={"bigip-a": (SourceError("connect_error", "refused", ""),)},
        ),
        "bigip-a: could not be read (connect_error)",
        id="device-missing-with-reason",
    ),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", failed=frozenset({"ltm/virtual"})), f5("bigip-b")],
            errors=_errors("ltm/virtual"),
        ),
        "bigip-a: could not read ltm/virtual (http_403)",
        id="virtuals-failed",
    ),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", failed=frozenset({"ltm/profile/server-ssl"})), f5("bigip-b")]
        ),
        "bigip-a: could not read ltm/profile/server-ssl",
        id="profiles-failed",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", virtuals={}), f5("bigip-b")]),
        f"virtual {SHOP_VIRTUAL} not found on bigip-a",
        id="virtual-absent",
    ),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(profiles=())}), f5("bigip-b")]
        ),
        f"bigip-a: virtual {SHOP_VIRTUAL} has no server-ssl profile",
        id="no-server-ssl-profile",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", server_ssl={}), f5("bigip-b")]),
        f"server-ssl {SHOP_PROFILE} not found on bigip-a",
        id="profile-absent",
    ),
]

BUNDLE_UNKNOWN_CASES = [
    pytest.param(
        lambda: observed([with_profile("bigip-a", ca_file=None), f5("bigip-b")]),
        f"bigip-a: server-ssl {SHOP_PROFILE} has no caFile",
        id="cafile-none",
    ),
    pytest.param(
        lambda: observed(
            [
                f5(
                    "bigip-a",
                    bundles={
                        SHOP_BUNDLE: CaBundle(
                            SHOP_BUNDLE, None, "none", "bundleReader is none for bigip-a"
                        )
                    },
                ),
                f5("bigip-b"),
            ]
        ),
        f"bigip-a: contents of CA bundle {SHOP_BUNDLE} unknown: bundleReader is none for bigip-a",
        id="bundle-members-none",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", bundles={}), f5("bigip-b")]),
        f"bigip-a: CA bundle {SHOP_BUNDLE} was not read",
        id="bundle-not-read",
    ),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", bundles={}, failed=frozenset({"sys/file/ssl-cert"})), f5("bigip-b")],
            errors=_errors("sys/file/ssl-cert"),
        ),
        "bigip-a: could not read sys/file/ssl-cert (http_403)",
        id="certs-failed",
    ),
]


@pytest.mark.parametrize("check", DEVICE_CHECKS)
@pytest.mark.parametrize(("make", "detail"), UNKNOWN_CASES)
def test_device_input_unknown(check: str, make: object, detail: str) -> None:
    assert callable(make)
    st, findings = run_one(check, make())
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a",),
        (),
    )


@pytest.mark.parametrize("check", BUNDLE_CHECKS)
@pytest.mark.parametrize(("make", "detail"), BUNDLE_UNKNOWN_CASES)
def test_bundle_input_unknown(check: str, make: object, detail: str) -> None:
    assert callable(make)
    st, findings = run_one(check, make())
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a",),
        (),
    )


@pytest.mark.parametrize(("make", "detail"), BUNDLE_UNKNOWN_CASES)
def test_sni_does_not_need_the_bundle(make: object, detail: str) -> None:
    assert callable(make)
    st, _ = run_one("sni_mismatch", make())
    assert st.state == "pass"


@pytest.mark.parametrize("check", BUNDLE_CHECKS)
def test_anchors_unknown_makes_every_device_unknown(check: str) -> None:
    st, findings = run_one(check, observed(mesh_state=mesh(anchors=None)))
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        "kubernetes: trust anchors unknown",
        ("bigip-a", "bigip-b"),
        (),
    )


@pytest.mark.parametrize("check", DEVICE_CHECKS)
def test_no_device_readable(check: str) -> None:
    st, findings = run_one(check, observed([]))
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a", "bigip-b"), ())
    assert st.detail == "bigip-a: could not be read; bigip-b: could not be read"


@pytest.mark.parametrize(
    ("check", "drifting", "severity"),
    [
        ("bundle_missing_anchor", with_bundle("bigip-a"), "critical"),
        (
            "bundle_stale_anchor",
            with_bundle(
                "bigip-a",
                ssl_cert(ANCHOR, "/Common/a.crt"),
                ssl_cert(OLD_ANCHOR, "/Common/o.crt"),
            ),
            "warning",
        ),
        ("sni_mismatch", with_profile("bigip-a", server_name=None), "critical"),
    ],
)
def test_mixed_devices_finding_wins_and_unknown_part_is_listed(
    check: str, drifting: F5State, severity: str
) -> None:
    obs = observed([drifting, f5("bigip-b", failed=frozenset({"ltm/virtual"}))])
    st, findings = run_one(check, obs)
    assert st.state == severity
    assert st.unknown_parts == ("bigip-b",)
    assert st.detail == "bigip-b: could not read ltm/virtual"
    assert [(f.device, f.severity) for f in findings] == [("bigip-a", severity)]


def test_several_server_ssl_profiles_first_is_checked_and_noted() -> None:
    second = "/k8s/Shared/shop_443_tls_client_2"
    refs = (
        ProfileRef(SHOP_PROFILE, "serverside", "server-ssl"),
        ProfileRef(second, "serverside", "server-ssl"),
    )
    device = f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(profiles=refs)})
    obs = observed([device], mesh_state=mesh())
    st, findings = run_one("sni_mismatch", obs, config(shop(devices=["bigip-a"])))
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        f"bigip-a: virtual {SHOP_VIRTUAL} has 2 server-ssl profiles ({SHOP_PROFILE}, {second});"
        f" checked {SHOP_PROFILE}, the first (set serverSslProfile to choose)"
    )


def test_of_several_server_ssl_profiles_the_sni_default_is_checked() -> None:
    second = "/k8s/Shared/shop_443_tls_client_2"
    refs = (
        ProfileRef(SHOP_PROFILE, "serverside", "server-ssl"),
        ProfileRef(second, "serverside", "server-ssl"),
    )
    device = f5(
        "bigip-a",
        virtuals={SHOP_VIRTUAL: shop_virtual(profiles=refs)},
        server_ssl={
            SHOP_PROFILE: profile(),
            second: profile(path=second, server_name="wrong.example", sni_default=True),
        },
    )
    obs = observed([device], mesh_state=mesh())
    st, (f,) = run_one("sni_mismatch", obs, config(shop(devices=["bigip-a"])))
    assert (st.state, f.object) == ("critical", second)
    assert st.detail.endswith(f"checked {second}, the SNI default (set serverSslProfile to choose)")
    # the expected state naming one of them decides, without a note
    cfg = config(shop(devices=["bigip-a"], serverSslProfile=SHOP_PROFILE))
    st, findings = run_one("sni_mismatch", obs, cfg)
    assert (st.state, st.detail, findings) == ("pass", "", ())


def test_a_configured_profile_the_virtual_does_not_carry_is_not_judged() -> None:
    """The profile the virtual carries serves the traffic: it is judged, and the finding
    names the configured one (virtual_profile_mismatch reports the wiring)."""
    other = "/Common/shop_serverssl"
    device = f5(
        "bigip-a",
        server_ssl={SHOP_PROFILE: profile(server_name="wrong.example"), other: profile(path=other)},
    )
    cfg = config(shop(devices=["bigip-a"], serverSslProfile=other))
    st, (f,) = run_one("sni_mismatch", observed([device]), cfg)
    assert (st.state, f.object) == ("critical", SHOP_PROFILE)
    assert f.message.startswith(
        f"bigip-a: server-ssl {SHOP_PROFILE} attached to the virtual (configured: {other})"
        ' sends SNI "wrong.example"'
    )
    evidence = dict(f.evidence)
    assert evidence["server_ssl_profile"] == SHOP_PROFILE
    assert evidence["configured_server_ssl_profile"] == other


def test_a_configured_profile_without_its_virtual_is_unknown() -> None:
    other = "/Common/shop_serverssl"
    device = f5("bigip-a", virtuals={}, server_ssl={other: profile(path=other)})
    cfg = config(shop(devices=["bigip-a"], serverSslProfile=other))
    st, findings = run_one("sni_mismatch", observed([device]), cfg)
    assert (st.state, st.detail, findings) == (
        "unknown",
        f"virtual {SHOP_VIRTUAL} not found on bigip-a",
        (),
    )


# --- sni_mismatch ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_name", "shown"),
    [
        (None, "sends no SNI"),
        ("nginx-ingress.ingress.svc.cluster.local", 'sends SNI "nginx-ingress.ingress.svc'),
        ("default.ingress.serviceaccount.identity.linkerd.cluster.local", 'sends SNI "default.'),
    ],
)
def test_sni_mismatch_is_critical(server_name: str | None, shown: str) -> None:
    obs = observed([with_profile("bigip-a", server_name=server_name), f5("bigip-b")])
    st, findings = run_one("sni_mismatch", obs)
    assert st.state == "critical"
    (f,) = findings
    assert (f.check, f.device, f.object, f.severity) == (
        "sni_mismatch",
        "bigip-a",
        SHOP_PROFILE,
        "critical",
    )
    assert f.message.startswith(f"bigip-a: server-ssl {SHOP_PROFILE} {shown}")
    assert f.message.endswith(
        f"but the backend's mesh identity is {IDENTITY}; set the profile's serverName"
        " (tmsh server-name, AS3 sendSNI) to it"
    )
    evidence = dict(f.evidence)
    assert evidence["server_name"] == (server_name or "none")
    assert evidence["expected_identity"] == IDENTITY


def test_sni_compare_ignores_case() -> None:
    obs = observed([with_profile("bigip-a", server_name=IDENTITY.upper()), f5("bigip-b")])
    st, _ = run_one("sni_mismatch", obs)
    assert st.state == "pass"


def test_configured_identity_wins_over_auto() -> None:
    fixed = "edge.ingress.serviceaccount.identity.linkerd.cluster.local"
    cfg = config(
        shop(
            backend={
                "service": {"namespace": "ingress", "name": "nginx-ingress", "port": 443},
                "identity": fixed,
            }
        )
    )
    st, findings = run_one("sni_mismatch", observed(), cfg)
    assert st.state == "critical"
    assert all(fixed in f.message for f in findings)
    # …and a configured identity needs no endpoints at all
    st, _ = run_one("sni_mismatch", observed(mesh_state=mesh(services={})), cfg)
    assert st.state == "critical"


def test_identity_follows_the_mesh_settings() -> None:
    cfg = config(mesh={"linkerdNamespace": "l5d", "trustDomain": "mesh.example"})
    st, (a, _) = run_one("sni_mismatch", observed(), cfg)
    assert st.state == "critical"
    expected = "nginx-ingress.ingress.serviceaccount.identity.l5d.mesh.example"
    assert f"identity is {expected};" in a.message


def test_several_service_accounts_is_critical_even_when_one_matches() -> None:
    svc = service(
        "ingress",
        "nginx-ingress",
        "443",
        endpoint("10.42.0.11", 443),
        endpoint("10.42.0.12", 443, sa="canary"),
        endpoint("10.42.0.13", 443, sa="ignored", ready=False),
    )
    obs = observed(mesh_state=mesh(services={"ingress/nginx-ingress": svc}))
    st, findings = run_one("sni_mismatch", obs)
    assert st.state == "critical"
    assert [f.device for f in findings] == ["bigip-a", "bigip-b"]
    canary = "canary.ingress.serviceaccount.identity.linkerd.cluster.local"
    assert f"several ServiceAccounts ({canary}, {IDENTITY})" in findings[0].message
    assert "one SNI cannot match them all" in findings[0].message
    assert "ignored" not in findings[0].message


@pytest.mark.parametrize(
    ("services", "detail"),
    [
        ({}, "kubernetes: endpoints of Service ingress/nginx-ingress unknown"),
        (
            {"ingress/nginx-ingress": None},
            "kubernetes: endpoints of Service ingress/nginx-ingress unknown",
        ),
        (
            {"ingress/nginx-ingress": service("ingress", "nginx-ingress", "443")},
            "no ready endpoints with a ServiceAccount behind ingress/nginx-ingress",
        ),
        (
            {
                "ingress/nginx-ingress": service(
                    "ingress",
                    "nginx-ingress",
                    "443",
                    endpoint("10.42.0.11", 443, ready=False),
                    endpoint("10.42.0.12", 443, sa=None),
                )
            },
            "no ready endpoints with a ServiceAccount behind ingress/nginx-ingress",
        ),
    ],
)
def test_auto_identity_unknown(services: dict[str, object], detail: str) -> None:
    obs = observed(mesh_state=mesh(services=services))
    st, findings = run_one("sni_mismatch", obs)
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a", "bigip-b"),
        (),
    )


def test_service_endpoints_do_not_affect_bundle_checks() -> None:
    obs = observed(mesh_state=mesh(services={"ingress/nginx-ingress": None}))
    for check in BUNDLE_CHECKS:
        st, _ = run_one(check, obs)
        assert st.state == "pass"
