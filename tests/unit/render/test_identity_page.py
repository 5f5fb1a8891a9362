"""The status page's identity-provider sections: the provider's keys at the IdP and on each
device's APM, its findings and checks, apart from the boundaries."""

from __future__ import annotations

from monitor.checks import run_checks
from monitor.config.schema import Config
from monitor.model import Observed, SourceStatus
from monitor.render.identity import key_table
from monitor.render.page import render_page
from monitor.render.page_data import boundaries
from monitor.state.snapshot import Snapshot, next_snapshot
from tests.support.checkdata import config, f5, mesh
from tests.unit.checks.oidc.test_checks import B1, ISSUER, K1, K2, NOW, PROVIDER, apm, idp_state


def snapshot(idp_up: bool = True) -> tuple[Snapshot, Config]:
    cfg = config(identityProviders=[{"name": "okta", "issuer": ISSUER,
                                     "devices": ["bigip-a", "bigip-b"],
                                     "oauthProvider": PROVIDER}])  # fmt: skip
    observed = Observed(
        f5={"bigip-a": f5("bigip-a", apm=apm(B1)), "bigip-b": f5("bigip-b", apm=apm(B1))},
        mesh=mesh(),
        sources=(SourceStatus("oidc:okta", "oidc", idp_up),),
        idp={"okta": idp_state(K1, K2)} if idp_up else {},
    )
    result = run_checks(cfg, observed, NOW)
    return next_snapshot(None, observed, result, NOW, 0.1, config=cfg), cfg


def test_the_key_table_says_where_each_key_is() -> None:
    snap, cfg = snapshot()
    table = key_table(snap, cfg.identity_providers[0])
    assert table.head == (
        "kid",
        "type",
        "IdP",
        "certificate ends",
        "APM on bigip-a",
        "APM on bigip-b",
    )
    assert [row[:3] + row[4:] for row in table.rows] == [
        ("k1", "RSA", "published", "accepted", "accepted"),
        ("k2", "RSA", "published", "missing", "missing"),
    ]
    assert table.note == ""


def test_the_page_has_a_section_per_identity_provider_not_a_boundary() -> None:
    snap, _ = snapshot()
    assert [b.name for b in boundaries(snap)] == ["shop"]
    page = render_page(snap).decode()
    assert 'id="idp-okta"' in page
    assert "Identity provider okta" in page
    assert "oidc_jwks_key_missing_on_bigip" in page
    assert "Boundary okta" not in page


def test_an_unreadable_idp_says_so() -> None:
    snap, cfg = snapshot(idp_up=False)
    table = key_table(snap, cfg.identity_providers[0])
    assert "could not be read" in table.note
    assert [row[0] for row in table.rows] == ["k1"]
    assert "the keys it publishes are unknown" in render_page(snap).decode()
