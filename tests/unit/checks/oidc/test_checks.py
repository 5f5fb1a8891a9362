"""The oidc checks as pure functions: tables of (IdP state, APM state, memory, now) cases,
each a case that makes a check fire and one that keeps it quiet; no world, no fakes."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.checks import run_checks
from monitor.checks.oidc import CHECKS as OIDC
from monitor.model import (
    ApmState,
    CheckState,
    DiscoveryTask,
    Finding,
    IdpState,
    Jwk,
    JwtConfig,
    OAuthProvider,
    Observed,
    SourceError,
    SourceStatus,
)
from tests.support.checkdata import config, f5, mesh

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ISSUER = "https://example.okta.com/oauth2/aus1"
JWKS = f"{ISSUER}/v1/keys"
PROVIDER = "/Common/okta-provider"
JWT = "/Common/auto_jwt_okta-provider"
MISSING = "oidc_jwks_key_missing_on_bigip"


def key(kid: str, n: str = "", **changes: Any) -> Jwk:
    base = Jwk(kid=kid, kty="RSA", use="sig", alg="RS256", n=n or f"modulus-{kid}", e="AQAB",
               x5t=f"t-{kid}", cert_not_after=NOW + timedelta(days=300))  # fmt: skip
    return dataclasses.replace(base, **changes)


def on_bigip(k: Jwk, number: int) -> Jwk:
    path = f"/Common/auto_jwk_okta-provider{number}"
    return dataclasses.replace(k, path=path, use="sig", cert_not_after=None)


def idp_state(*keys: Jwk, **changes: Any) -> IdpState:
    base = IdpState(
        provider="okta",
        discovery_url=f"{ISSUER}/.well-known/openid-configuration",
        issuer=ISSUER,
        jwks_uri=JWKS,
        algs=("RS256",),
        keys=keys,
        fetched_at=NOW,
    )
    return dataclasses.replace(base, **changes)


def apm(*keys: Jwk, provider: Mapping[str, Any] | None = None, **jwt: Any) -> ApmState:
    prov = OAuthProvider(path=PROVIDER, type="custom",
                         openid_cfg_uri=f"{ISSUER}/.well-known/openid-configuration",
                         use_auto_jwt_config=True, discovery_interval=60, auto_jwt_config=JWT,
                         manual_jwt_config=None, ignore_expired_cert=False)  # fmt: skip
    prov = dataclasses.replace(prov, **(provider or {}))
    config_ = JwtConfig(path=JWT, issuer=ISSUER, jwks_uri=JWKS,
                        allowed_keys=tuple(k.path for k in keys), blocked_keys=(),
                        allowed_algs=("RS256",), auto_generated=True)  # fmt: skip
    config_ = dataclasses.replace(config_, **jwt)
    return ApmState(
        provisioned=True,
        providers={PROVIDER: prov},
        jwt_configs={JWT: config_},
        jwk_configs={k.path: k for k in keys},
        tasks=(DiscoveryTask("t1", PROVIDER, "RUNNING", 60),),
    )


K1, K2 = key("k1"), key("k2")
B1, B2 = on_bigip(K1, 1), on_bigip(K2, 2)


def run(
    idp: IdpState | None,
    devices: Mapping[str, ApmState | None],
    memory: Mapping[tuple[str, str, str, str], datetime] | None = None,
    now: datetime = NOW,
    **idp_config: Any,
) -> tuple[dict[str, CheckState], list[Finding]]:
    cfg = config(identityProviders=[{"name": "okta", "issuer": ISSUER,
                                     "devices": ["bigip-a", "bigip-b"],
                                     "oauthProvider": PROVIDER, **idp_config}])  # fmt: skip
    errors = () if idp else (SourceError("http_5xx", "okta down", "discovery"),)
    sources = [SourceStatus("oidc:okta", "oidc", idp is not None, errors)]
    observed = Observed(
        f5={n: f5(n, apm=a) for n, a in devices.items() if a is not None},
        mesh=mesh(),
        sources=tuple(sources),
        idp={"okta": idp} if idp else {},
    )
    result = run_checks(cfg, observed, now, checks=(), memory=memory)
    assert [s.check for s in result.states] == [c.id for c in OIDC]
    assert {s.boundary for s in result.states} == {"okta"}
    return {s.check: s for s in result.states}, list(result.findings)


def both(state: ApmState) -> dict[str, ApmState | None]:
    return {"bigip-a": state, "bigip-b": state}


def non_pass(states: Mapping[str, CheckState]) -> dict[str, str]:
    return {c: s.state for c, s in states.items() if s.state != "pass"}


def found(findings: list[Finding]) -> list[tuple[str, str, str, str]]:
    return sorted((f.check, f.severity, f.device, f.object) for f in findings)


def test_in_step_everything_passes() -> None:
    states, findings = run(idp_state(K1, K2), both(apm(B1, B2)))
    assert non_pass(states) == {}
    assert findings == []
    assert all(s.detail == "" for s in states.values())


def test_an_unreadable_idp_is_unknown_on_every_part_never_pass() -> None:
    states, findings = run(None, both(apm(B1)))
    assert findings == []
    needs_idp = {c.id for c in OIDC} - {"oidc_jwks_refresh_disabled"}
    assert {c for c, s in states.items() if s.state == "unknown"} == needs_idp
    for check in needs_idp:
        assert states[check].unknown_parts == ("", "bigip-a", "bigip-b")
        assert "http_5xx" in states[check].detail
    assert states["oidc_jwks_refresh_disabled"].state == "pass"


@pytest.mark.parametrize(
    ("first_seen", "settings", "severity"),
    [
        (None, {}, "warning"),  # first sight
        (NOW - timedelta(minutes=119), {}, "warning"),  # within 2 x 60 min
        (NOW - timedelta(minutes=120), {}, "critical"),
        (NOW - timedelta(minutes=31), {"thresholds": {"keyMissingCritical": "30m"}}, "critical"),
    ],
)
def test_a_missing_key_is_graded_on_how_long_it_has_been_missing(
    first_seen: datetime | None, settings: dict[str, Any], severity: str
) -> None:
    memory = {}
    if first_seen is not None:
        memory = {(MISSING, "okta", d, "k2"): first_seen for d in ("bigip-a", "bigip-b")}
    states, findings = run(idp_state(K1, K2), both(apm(B1)), memory, **settings)
    assert non_pass(states) == {MISSING: severity}
    assert found(findings) == [(MISSING, severity, d, "k2") for d in ("bigip-a", "bigip-b")]


def test_a_missing_key_without_a_reported_interval_waits_two_hours() -> None:
    state = apm(B1, provider={"discovery_interval": None})
    state = dataclasses.replace(state, tasks=(DiscoveryTask("t1", PROVIDER, "RUNNING"),))
    memory = {(MISSING, "okta", "bigip-a", "k2"): NOW - timedelta(minutes=100)}
    _, findings = run(idp_state(K1, K2), {"bigip-a": state, "bigip-b": apm(B1, B2)}, memory)
    assert found(findings) == [(MISSING, "warning", "bigip-a", "k2")]


def test_an_encryption_key_is_not_expected_on_bigip() -> None:
    states, _ = run(idp_state(K1, key("e1", use="enc")), both(apm(B1)))
    assert non_pass(states) == {}


def test_same_kid_new_material_is_critical_and_padding_is_not_a_difference() -> None:
    padded = dataclasses.replace(B1, n=None, e=None, x5t="t-k1")
    states, _ = run(idp_state(K1), both(apm(padded)))
    assert non_pass(states) == {}
    states, findings = run(idp_state(key("k1", n="new-modulus")), both(apm(B1)))
    assert non_pass(states) == {"oidc_jwks_key_material_mismatch": "critical"}
    assert {f.object for f in findings} == {"k1"}


def test_nothing_to_compare_is_unknown() -> None:
    bare = dataclasses.replace(B1, n=None, e=None, x5t=None)
    states, _ = run(idp_state(K1), both(apm(bare)))
    assert states["oidc_jwks_key_material_mismatch"].state == "unknown"


def test_a_stale_key_turns_critical_after_a_day() -> None:
    stale = "oidc_jwks_stale_key_on_bigip"
    states, _ = run(idp_state(K2), both(apm(B1, B2)))
    assert non_pass(states) == {stale: "warning"}
    memory = {(stale, "okta", d, "k1"): NOW - timedelta(hours=25) for d in ("bigip-a", "bigip-b")}
    states, _ = run(idp_state(K2), both(apm(B1, B2)), memory)
    assert non_pass(states) == {stale: "critical"}


def test_a_blocked_key_is_not_accepted() -> None:
    states, _ = run(idp_state(K1, K2), both(apm(B1, B2, blocked_keys=(B2.path,))))
    assert non_pass(states) == {MISSING: "warning"}


def test_the_idp_issuer_and_the_bigip_issuer() -> None:
    states, findings = run(idp_state(K1, issuer=f"{ISSUER}/"), both(apm(B1)))
    # the IdP names another issuer than configured (device ""), and so do both JWT configs
    assert non_pass(states) == {"oidc_discovery_issuer_mismatch": "critical"}
    assert ("oidc_discovery_issuer_mismatch", "critical", "", "discovery") in found(findings)
    assert len(findings) == 3


def test_a_jwks_uri_mismatch_is_critical_only_when_keys_go_missing() -> None:
    elsewhere = {"jwks_uri": f"{ISSUER}/v1/old-keys"}
    states, _ = run(idp_state(K1), both(apm(B1, **elsewhere)))
    assert non_pass(states) == {"oidc_jwks_uri_mismatch": "warning"}
    states, _ = run(idp_state(K1, K2), both(apm(B1, **elsewhere)))
    assert non_pass(states) == {"oidc_jwks_uri_mismatch": "critical", MISSING: "warning"}


def test_entra_without_appid_in_the_openid_uri() -> None:
    entra = "https://login.microsoftonline.com/7c1d5c2e/v2.0"
    idp = idp_state(
        K1, issuer=entra, discovery_url=f"{entra}/.well-known/openid-configuration?appid=a1"
    )
    state = apm(B1, provider={"openid_cfg_uri": f"{entra}/.well-known/openid-configuration"},
                issuer=entra)  # fmt: skip
    states, findings = run(idp, both(state), issuer=entra, kind="entra", appid="a1")
    assert non_pass(states) == {"oidc_jwks_uri_mismatch": "warning"}
    assert {f.object for f in findings} == {f"{PROVIDER}:openidCfgUri"}
    assert all("without ?appid=" in f.message for f in findings)


@pytest.mark.parametrize(
    ("provider", "tasks", "settings", "expected"),
    [
        ({}, (DiscoveryTask("t1", PROVIDER, "CANCEL_REQUESTED"),), {}, "warning"),
        ({}, (), {}, "warning"),
        ({}, (), {"kind": "entra"}, "critical"),
        ({"use_auto_jwt_config": False, "manual_jwt_config": JWT}, (), {}, "warning"),
        (
            {"use_auto_jwt_config": False, "manual_jwt_config": JWT},
            (),
            {"manualKeys": True},
            "pass",
        ),
        ({}, (DiscoveryTask("t1", "/Common/other", "RUNNING"),), {}, "warning"),
    ],
)
def test_refresh_disabled(
    provider: dict[str, Any], tasks: tuple[DiscoveryTask, ...], settings: dict[str, Any],
    expected: str,
) -> None:  # fmt: skip
    state = dataclasses.replace(apm(B1, provider=provider), tasks=tasks)
    states, _ = run(idp_state(K1), both(state), **settings)
    assert states["oidc_jwks_refresh_disabled"].state == expected


def test_signing_alg_and_cert_expiry() -> None:
    states, _ = run(idp_state(K1), both(apm(B1, allowed_algs=("ES256",))))
    assert non_pass(states) == {"oidc_signing_alg_mismatch": "critical"}
    soon = key("k1", cert_not_after=NOW + timedelta(days=6))
    states, _ = run(idp_state(soon), both(apm(B1)))
    assert non_pass(states) == {"oidc_signing_cert_expiry": "critical"}
    ignoring = apm(B1, provider={"ignore_expired_cert": True})
    states, _ = run(idp_state(soon), both(ignoring))
    assert non_pass(states) == {}


def test_a_device_without_apm_or_unread() -> None:
    states, findings = run(idp_state(K1), {"bigip-a": ApmState(provisioned=False), "bigip-b": None})
    assert found(findings) == [
        (MISSING, "critical", "bigip-a", "k1"),
        ("oidc_jwks_refresh_disabled", "warning", "bigip-a", PROVIDER),
    ]
    # bigip-b could not be read: unknown for that part only, whatever bigip-a says
    assert states[MISSING].state == "critical"
    assert states["oidc_jwks_uri_mismatch"].state == "unknown"
    assert states["oidc_jwks_uri_mismatch"].unknown_parts == ("bigip-b",)
    assert "not provisioned" in states["oidc_jwks_uri_mismatch"].detail
