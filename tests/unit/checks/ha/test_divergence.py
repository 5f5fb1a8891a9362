"""Tests for monitor.checks.ha.divergence: `ha_peer_divergence`, what differs between the units
of an HA group (config-sync status: test_sync.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.config.schema import Config
from monitor.model import (
    CaBundle,
    CertKeyChain,
    CheckResult,
    CheckState,
    ClientSslProfile,
    F5State,
    Finding,
    ProfileRef,
    SourceError,
)
from tests.support.certhelpers import anchor
from tests.support.checkdata import (
    ANCHOR,
    HA_GROUP,
    OLD_ANCHOR,
    SHOP_BUNDLE,
    SHOP_MEMBERS,
    SHOP_POOL,
    SHOP_PROFILE,
    SHOP_VIRTUAL,
    WEB,
    bundle,
    config,
    f5,
    ha_config,
    observed,
    pool,
    profile,
    run_one,
    shop,
    shop_virtual,
    ssl_cert,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the checks read no time; the runner wants one
CLIENT_SSL = "/k8s/Shared/shop_443_clientssl"
DIVERGENCE = "ha_peer_divergence"


# --- ha_peer_divergence ---------------------------------------------------------------------

NEW_ANCHOR = anchor("root-new.linkerd.cluster.local")


def client_ssl(*certs: str | None) -> dict[str, ClientSslProfile]:
    chain = tuple(CertKeyChain(f"c{i}", cert, None, None) for i, cert in enumerate(certs))
    return {CLIENT_SSL: ClientSslProfile(CLIENT_SSL, chain, None, False)}


def ha_pair(**b_changes: Any) -> list[F5State]:
    """Healthy bigip-a and bigip-b (same client-ssl edge cert), `b_changes` on bigip-b."""
    base = {"client_ssl": client_ssl("/Common/edge.crt")}
    return [f5("bigip-a", **base), f5("bigip-b", **{**base, **b_changes})]


def diverge(
    devices: list[F5State], cfg: Config | None = None, **kwargs: Any
) -> tuple[CheckState, tuple[Finding, ...]]:
    return run_one(DIVERGENCE, observed(devices, **kwargs), cfg or ha_config(), NOW)


def test_identical_pair_passes() -> None:
    st, findings = diverge(ha_pair())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize(
    "cfg",
    [config(), ha_config(groups={"bigip-a": "one", "bigip-b": "two"}), ha_config(WEB)],
    ids=["no haGroup", "different haGroups", "one device"],
)
def test_without_two_devices_in_an_ha_group_the_check_does_not_apply(cfg: Config) -> None:
    different = ha_pair(server_ssl={SHOP_PROFILE: profile(server_name="other")})
    chosen = tuple(c for c in CHECKS if c.id == DIVERGENCE)
    result = run_checks(cfg, observed(different), NOW, checks=chosen)
    assert result == CheckResult()  # no state at all: nothing to compare


def _virtual(**changes: Any) -> dict[str, Any]:
    return {"virtuals": {SHOP_VIRTUAL: shop_virtual(**changes)}}


def _profile(**changes: Any) -> dict[str, Any]:
    return {"server_ssl": {SHOP_PROFILE: profile(**changes)}}


OTHER_PROFILES = (
    ProfileRef("/Common/tcp", "all", "tcp"),
    ProfileRef(CLIENT_SSL, "clientside", "client-ssl"),
    ProfileRef("/k8s/Shared/other_tls_client", "serverside", "server-ssl"),
)
DIVERGENCES = [
    ("virtual absent", {"virtuals": {}}, SHOP_VIRTUAL, "presence differs: present on bigip-a,"),
    ("virtual disabled", _virtual(enabled=False), SHOP_VIRTUAL, "state differs: bigip-a is"),
    ("destination", _virtual(destination="/k8s/192.0.2.99:443"), SHOP_VIRTUAL, "destination"),
    ("virtual pool", _virtual(pool="/k8s/Shared/other"), SHOP_VIRTUAL, "pool differs"),
    ("profile paths", _virtual(profiles=OTHER_PROFILES), SHOP_VIRTUAL, "profiles differ"),
    (
        "pool members",
        {"pools": {SHOP_POOL: pool(SHOP_POOL, SHOP_MEMBERS[0], ("10.42.0.99", 443))}},
        SHOP_POOL,
        "members differ: bigip-b lacks 10.42.0.12:443 and has 10.42.0.99:443 compared with bigip-a",
    ),
    ("pool absent", {"pools": {}}, SHOP_POOL, "presence differs"),
    ("caFile", _profile(ca_file="/Common/ca-bundle.crt"), SHOP_PROFILE, "caFile differs"),
    ("peerCertMode", _profile(peer_cert_mode="ignore"), SHOP_PROFILE, "peerCertMode differs"),
    ("serverName", _profile(server_name="web.example"), SHOP_PROFILE, "bigip-b sends web."),
    ("authenticateName", _profile(authenticate_name=None), SHOP_PROFILE, "bigip-b requires none"),
    ("expire control", _profile(expire_cert_response_control="ignore"), SHOP_PROFILE, "expire"),
    ("untrusted", _profile(untrusted_cert_response_control="ignore"), SHOP_PROFILE, "untrusted"),
    ("tmOptions", _profile(tm_options=("no-tlsv1.3",)), SHOP_PROFILE, "tmOptions differ"),
    ("cert", _profile(cert="/Common/other.crt"), SHOP_PROFILE, "cert differs"),
    ("key", _profile(key="/Common/other.key"), SHOP_PROFILE, "key differs"),
    ("chain", _profile(chain="/Common/chain.crt"), SHOP_PROFILE, "chain differs"),
    ("server-ssl absent", {"server_ssl": {}}, SHOP_PROFILE, "presence differs"),
    (
        "bundle contents",
        {"bundles": {SHOP_BUNDLE: bundle(ssl_cert(OLD_ANCHOR, "/Common/old.crt"))}},
        SHOP_BUNDLE,
        "certificates differ: bigip-b lacks sha256",
    ),
    ("client-ssl cert", {"client_ssl": client_ssl("/Common/new.crt")}, CLIENT_SSL, "certificates"),
    ("client-ssl absent", {"client_ssl": {}}, CLIENT_SSL, "presence differs"),
]


@pytest.mark.parametrize(
    ("b_changes", "obj", "text"),
    [row[1:] for row in DIVERGENCES],
    ids=[row[0] for row in DIVERGENCES],
)
def test_divergence_in_each_compared_field(b_changes: dict[str, Any], obj: str, text: str) -> None:
    st, findings = diverge(ha_pair(**b_changes))
    assert st.state == "warning"
    assert obj in [f.object for f in findings]
    finding = next(f for f in findings if f.object == obj)
    assert (finding.device, finding.severity) == ("bigip-b", "warning")
    assert text in finding.message
    assert f"haGroup {HA_GROUP}" in finding.message
    assert "after a failover" in finding.message
    assert dict(finding.evidence)["reference"] == "bigip-a"


def test_server_name_message_and_evidence() -> None:
    _, [finding] = diverge(ha_pair(**_profile(server_name="web.example")))
    identity = profile().server_name
    assert finding.message == (
        f"server-ssl {SHOP_PROFILE} differs between the units of haGroup {HA_GROUP}:"
        f" serverName differs: bigip-a sends {identity}, bigip-b sends web.example — after a"
        " failover BIG-IP would re-encrypt to the mesh with different settings, which the mesh"
        " may reject (or which may accept pods they should not); make the units agree"
        " (config-sync from the unit with the intended settings)"
    )
    assert finding.evidence == (
        ("ha_group", HA_GROUP),
        ("object", SHOP_PROFILE),
        ("reference", "bigip-a"),
        ("bigip-a.serverName", str(identity)),
        ("bigip-b.serverName", "web.example"),
    )


def test_several_fields_of_one_object_are_one_finding() -> None:
    _, findings = diverge(ha_pair(**_profile(server_name="x", authenticate_name="y")))
    assert [(f.object, f.device) for f in findings] == [(SHOP_PROFILE, "bigip-b")]
    assert "serverName differs" in findings[0].message
    assert "authenticateName differs" in findings[0].message


def test_bundle_lacking_an_anchor_on_one_unit_is_a_warning_here() -> None:
    both = bundle(ssl_cert(ANCHOR, "/Common/a.crt"), ssl_cert(NEW_ANCHOR, "/Common/new.crt"))
    devices = [
        f5("bigip-a", bundles={SHOP_BUNDLE: both}),
        f5("bigip-b", bundles={SHOP_BUNDLE: bundle(ssl_cert(ANCHOR, "/Common/a.crt"))}),
    ]
    st, [finding] = diverge(devices)
    assert (st.state, finding.severity, finding.object) == ("warning", "warning", SHOP_BUNDLE)
    fp = NEW_ANCHOR.facts.fingerprint_sha256
    assert f"bigip-b lacks sha256 {fp[:16]}… compared with bigip-a" in finding.message
    evidence = dict(finding.evidence)
    assert evidence["bigip-a.certificates"] == ",".join(
        sorted([ANCHOR.facts.fingerprint_sha256, fp])
    )
    assert evidence["bigip-b.certificates"] == ANCHOR.facts.fingerprint_sha256


@pytest.mark.parametrize(
    "b_changes", [_virtual(pool="/k8s/Shared/other"), _virtual(profiles=OTHER_PROFILES)]
)
def test_a_unit_using_another_path_is_one_finding_on_the_virtual(
    b_changes: dict[str, Any],
) -> None:
    _, findings = diverge(ha_pair(**b_changes))
    assert [(f.object, f.device) for f in findings] == [(SHOP_VIRTUAL, "bigip-b")]


def test_bundle_paths_may_differ_but_contents_agree() -> None:
    other = "/Common/other_bundle"
    devices = ha_pair(
        server_ssl={SHOP_PROFILE: profile(ca_file=other)},
        bundles={other: bundle(ssl_cert(ANCHOR, "/Common/x.crt"), path=other)},
    )
    _, findings = diverge(devices)
    assert [f.object for f in findings] == [SHOP_PROFILE]  # caFile; each bundle used by one


def test_plaintext_boundary_compares_virtual_pool_and_client_ssl_only() -> None:
    web_changes = {"server_ssl": {SHOP_PROFILE: profile(server_name="x")}}
    st, findings = diverge(ha_pair(**web_changes), ha_config(shop(mode="plaintext")))
    assert (st.state, findings) == ("pass", ())


def _three(*devices: F5State) -> tuple[list[F5State], Config]:
    entries = [
        {
            "name": d.device,
            "url": f"https://{d.device}.example.net",
            "usernameFile": "u",
            "passwordFile": "p",
            "caFile": "ca.pem",
            "haGroup": HA_GROUP,
        }
        for d in devices
    ]
    names = [d.device for d in devices]
    return list(devices), config(shop(devices=names), bigip=entries)


def test_majority_decides_the_reference_in_a_group_of_three() -> None:
    odd = _profile(server_name="odd")
    devices, cfg = _three(f5("bigip-a", **odd), f5("bigip-b"), f5("bigip-c"))
    _, [finding] = diverge(devices, cfg)
    assert finding.device == "bigip-a"  # b and c agree; a is the odd one out
    assert dict(finding.evidence)["reference"] == "bigip-b"
    devices, cfg = _three(f5("bigip-a"), f5("bigip-b"), f5("bigip-c", **odd))
    _, [finding] = diverge(devices, cfg)
    assert finding.device == "bigip-c"


def test_unreadable_collection_makes_the_comparison_unknown_for_the_group() -> None:
    error = SourceError("http_403", "forbidden", "ltm/profile/server-ssl")
    devices = ha_pair(failed=frozenset({"ltm/profile/server-ssl"}))
    st, findings = diverge(devices, errors={"bigip-b": (error,)})
    assert (st.state, findings) == ("unknown", ())
    assert st.unknown_parts == ("bigip-b", "bigip-a")
    assert st.detail == "bigip-b: could not read ltm/profile/server-ssl (http_403)"


@pytest.mark.parametrize(
    ("b_changes", "detail"),
    [
        (
            {"bundles": {SHOP_BUNDLE: CaBundle(SHOP_BUNDLE, None, "none", "bundleReader none")}},
            f"bigip-b: contents of CA bundle {SHOP_BUNDLE} unknown: bundleReader none",
        ),
        (
            {"bundles": {SHOP_BUNDLE: bundle(ssl_cert(ANCHOR, "/Common/a.crt", fingerprint=None))}},
            f"bigip-b: fingerprint of /Common/a.crt in CA bundle {SHOP_BUNDLE} unknown",
        ),
        ({"failed": frozenset({"ltm/virtual"})}, "bigip-b: could not read ltm/virtual"),
        (
            {"failed": frozenset({"ltm/profile/client-ssl"})},
            "bigip-b: could not read ltm/profile/client-ssl",
        ),
    ],
    ids=["bundle contents", "member fingerprint", "virtuals", "client-ssl"],
)
def test_unknown_parts(b_changes: dict[str, Any], detail: str) -> None:
    st, findings = diverge(ha_pair(**b_changes))
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-b", "bigip-a"),
        (),
    )


def test_unreadable_device_is_unknown() -> None:
    st, findings = diverge([f5("bigip-a")])
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        "bigip-b: could not be read",
        ("bigip-b", "bigip-a"),
        (),
    )


def test_divergence_found_despite_an_unknown_elsewhere() -> None:
    changes = {"failed": frozenset({"ltm/profile/client-ssl"}), **_profile(server_name="x")}
    st, findings = diverge(ha_pair(**changes))
    assert (st.state, st.unknown_parts) == ("warning", ("bigip-b", "bigip-a"))
    assert [f.object for f in findings] == [SHOP_PROFILE]


def test_configured_pool_is_compared_when_the_virtual_is_unreadable() -> None:
    cfg = ha_config(shop(pool=SHOP_POOL))
    changes = {
        "failed": frozenset({"ltm/virtual"}),
        "pools": {SHOP_POOL: pool(SHOP_POOL, SHOP_MEMBERS[0])},
    }
    st, findings = diverge(ha_pair(**changes), cfg)
    assert (st.state, [f.object for f in findings]) == ("warning", [SHOP_POOL])
    assert st.unknown_parts == ("bigip-b", "bigip-a")
