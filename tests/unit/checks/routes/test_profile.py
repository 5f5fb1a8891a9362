"""Tests for `virtual_profile_mismatch` (monitor.checks.routes.virtual): the server-ssl
profile the virtual carries, against the expected state, and what the boundary checks
then judge."""

from __future__ import annotations

from monitor.checks import run_checks
from monitor.config.schema import Config
from monitor.model import ProfileRef, SourceError
from tests.support.checkdata import (
    ANCHOR,
    NOW,
    OLD_ANCHOR,
    SHOP_BUNDLE,
    SHOP_CLIENT_SSL,
    SHOP_PROFILE,
    SHOP_VIRTUAL,
    WEB,
    bundle,
    config,
    f5,
    observed,
    profile,
    run_one,
    shop,
    shop_virtual,
    ssl_cert,
)

CHECK = "virtual_profile_mismatch"
OTHER = "/k8s/Shared/shop_443_tls_client_v2"  # the profile the expected state names
OTHER_BUNDLE = "/k8s/Shared/serverssl_ca_bundle_v2"
NO_SERVER_SSL = (
    ProfileRef("/Common/tcp", "all", "tcp"),
    ProfileRef(SHOP_CLIENT_SSL, "clientside", "client-ssl"),
)


def configured(path: str = OTHER) -> Config:
    return config(shop(devices=["bigip-a"], serverSslProfile=path))


def test_the_virtuals_own_profile_passes_with_or_without_one_configured() -> None:
    for cfg in (config(), configured(SHOP_PROFILE)):
        st, findings = run_one(CHECK, observed(), cfg)
        assert (st.state, st.detail, findings) == ("pass", "", ())


def test_a_configured_profile_among_several_passes() -> None:
    refs = (*NO_SERVER_SSL, ProfileRef(OTHER, "serverside", "server-ssl"))
    refs += (ProfileRef(SHOP_PROFILE, "serverside", "server-ssl"),)
    obs = observed([f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(profiles=refs)})])
    st, findings = run_one(CHECK, obs, configured(SHOP_PROFILE))
    assert (st.state, findings) == ("pass", ())


def test_a_configured_profile_the_virtual_does_not_carry_is_critical() -> None:
    device = f5("bigip-a", server_ssl={SHOP_PROFILE: profile(), OTHER: profile(path=OTHER)})
    st, (f,) = run_one(CHECK, observed([device]), configured())
    assert (st.state, f.device, f.object, f.severity) == (
        "critical",
        "bigip-a",
        SHOP_VIRTUAL,
        "critical",
    )
    assert f.message == (
        f"bigip-a: virtual {SHOP_VIRTUAL} carries server-ssl {SHOP_PROFILE}, not {OTHER} named"
        f" in the expected state: the traffic is served by {SHOP_PROFILE}, which the trust and"
        " profile checks judge instead — attach the intended profile to the virtual, or correct"
        " serverSslProfile"
    )
    assert dict(f.evidence) == {
        "virtual": SHOP_VIRTUAL,
        "server_ssl_profiles": SHOP_PROFILE,
        "configured_server_ssl_profile": OTHER,
    }


def test_a_configured_profile_that_does_not_exist_is_named_so() -> None:
    st, (f,) = run_one(CHECK, observed([f5("bigip-a")]), configured())
    assert st.state == "critical"
    assert f"not {OTHER} named in the expected state (which does not exist on bigip-a)" in (
        f.message
    )
    # an unreadable server-ssl collection proves nothing about existence
    unread = f5("bigip-a", server_ssl={}, failed=frozenset({"ltm/profile/server-ssl"}))
    st, (f,) = run_one(CHECK, observed([unread]), configured())
    assert st.state == "critical"
    assert "does not exist" not in f.message


def test_several_carried_profiles_name_the_one_judged() -> None:
    second = "/k8s/Shared/shop_443_tls_client_2"
    refs = (*NO_SERVER_SSL, ProfileRef(SHOP_PROFILE, "serverside", "server-ssl"))
    refs += (ProfileRef(second, "serverside", "server-ssl"),)
    device = f5(
        "bigip-a",
        virtuals={SHOP_VIRTUAL: shop_virtual(profiles=refs)},
        server_ssl={SHOP_PROFILE: profile(), second: profile(path=second, sni_default=True)},
    )
    _, (f,) = run_one(CHECK, observed([device]), configured())
    assert f.message.startswith(
        f"bigip-a: virtual {SHOP_VIRTUAL} carries server-ssl profiles {SHOP_PROFILE}, {second},"
        f" not {OTHER} named in the expected state (which does not exist on bigip-a): the"
        f" traffic is served by {second},"
    )


def test_a_mesh_tls_virtual_without_server_ssl_is_critical() -> None:
    device = f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(profiles=NO_SERVER_SSL)})
    st, (f,) = run_one(CHECK, observed([device]), config(shop(devices=["bigip-a"])))
    assert (st.state, f.object, f.severity) == ("critical", SHOP_VIRTUAL, "critical")
    assert f.message == (
        f"bigip-a: virtual {SHOP_VIRTUAL} carries no server-ssl profile: BIG-IP sends boundary"
        " shop's traffic to the mesh unencrypted, so the pods' policy either rejects it or"
        " admits it without identity — attach the server-ssl profile to the virtual (context"
        " serverside)"
    )
    assert dict(f.evidence)["server_ssl_profiles"] == "none"
    st, (f,) = run_one(CHECK, observed([device]), configured())
    assert f"carries no server-ssl profile, although the expected state names {OTHER}" in (
        f.message
    )
    # the boundary checks cannot judge a profile that is not there: unknown, not pass
    st, findings = run_one("peer_validation_disabled", observed([device]), configured())
    assert (st.state, findings) == ("unknown", ())
    assert st.detail == f"bigip-a: virtual {SHOP_VIRTUAL} has no server-ssl profile"


def test_an_unreadable_or_absent_virtual_is_unknown() -> None:
    error = SourceError("http_403", "no", "ltm/virtual")
    unread = f5("bigip-a", virtuals={}, failed=frozenset({"ltm/virtual"}))
    st, findings = run_one(CHECK, observed([unread], errors={"bigip-a": (error,)}), configured())
    assert (st.state, findings) == ("unknown", ())
    assert st.detail == "bigip-a: could not read ltm/virtual (http_403)"
    st, _ = run_one(CHECK, observed([f5("bigip-a", virtuals={})]), configured())
    assert (st.state, st.detail) == ("unknown", f"virtual {SHOP_VIRTUAL} not found on bigip-a")


def test_plaintext_boundaries_get_no_state() -> None:
    result = run_checks(config(WEB), observed(), NOW)
    assert CHECK not in {s.check for s in result.states}


def test_the_boundary_checks_judge_the_attached_profile_and_say_so() -> None:
    """The must-show in miniature: the configured profile is fine, the attached one's CA
    bundle lacks the anchor."""
    device = f5(
        "bigip-a",
        server_ssl={
            SHOP_PROFILE: profile(peer_cert_mode="ignore"),
            OTHER: profile(path=OTHER, ca_file=OTHER_BUNDLE),
        },
        bundles={
            SHOP_BUNDLE: bundle(ssl_cert(OLD_ANCHOR, "/Common/old.crt")),
            OTHER_BUNDLE: bundle(ssl_cert(ANCHOR, "/Common/anchor.crt"), path=OTHER_BUNDLE),
        },
    )
    result = run_checks(configured(), observed([device]), NOW)
    states = {s.check: s.state for s in result.states if s.state != "pass"}
    assert states == {
        CHECK: "critical",
        "bundle_missing_anchor": "critical",
        "bundle_stale_anchor": "warning",
        "peer_validation_disabled": "critical",
    }
    by_check = {f.check: f for f in result.findings}
    missing = by_check["bundle_missing_anchor"]
    assert missing.object == ANCHOR.facts.fingerprint_sha256
    assert missing.message.startswith(
        f"bigip-a: CA bundle {SHOP_BUNDLE} (server-ssl {SHOP_PROFILE} attached to the virtual"
        f" (configured: {OTHER})) lacks trust anchor"
    )
    assert dict(missing.evidence)["configured_server_ssl_profile"] == OTHER
    assert by_check["peer_validation_disabled"].object == SHOP_PROFILE
    assert by_check["peer_validation_disabled"].message.startswith(
        f"bigip-a: server-ssl {SHOP_PROFILE} attached to the virtual (configured: {OTHER}) has"
        " peerCertMode ignore"
    )
