"""Tests for monitor.checks.edge: the client-ssl (edge) certificates of a boundary's virtual."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from monitor.checks.boundary.certs import name_covered
from monitor.model import CaBundle, CertKeyChain, F5State, ProfileRef, SslCert
from tests.support.certhelpers import SERVER_AUTH, Issued, intermediate, leaf
from tests.support.checkdata import (
    DAY,
    EDGE_CERT,
    EDGE_CERT_PATH,
    EDGE_CHAIN_PATH,
    EDGE_ISSUING,
    EDGE_NAME,
    NOW,
    SHOP_CLIENT_SSL,
    SHOP_VIRTUAL,
    WEB,
    WEB_VIRTUAL,
    WEB_VIRTUAL_OBJ,
    bigip_certs,
    client_ssl_profile,
    config,
    f5,
    observed,
    run_one,
    shop,
    shop_virtual,
    ssl_cert,
)

EDGE_CHECKS = ("edge_cert_expiry", "edge_sni_uncovered")
ONE = config(shop(devices=["bigip-a"]))
OTHER_PROFILE = "/k8s/Shared/shop_443_clientssl_2"


def edge(cn: str = EDGE_NAME, **kw: Any) -> Issued:
    kw.setdefault("eku", (SERVER_AUTH,))
    return leaf(cn, EDGE_ISSUING, **kw)


def device(
    cert: Issued | None = None, *, parsed: bool = True, chain: SslCert | None = None, **kw: Any
) -> F5State:
    """bigip-a serving `cert` (default: the healthy edge certificate) at EDGE_CERT_PATH."""
    certs = dict(bigip_certs())
    if cert is not None or not parsed:
        certs[EDGE_CERT_PATH] = ssl_cert(cert or EDGE_CERT, EDGE_CERT_PATH, parsed=parsed)
    if chain is not None:
        certs[EDGE_CHAIN_PATH] = chain
    return f5("bigip-a", certs=certs, **kw)


def run(check: str, dev: F5State, cfg: Any = ONE) -> tuple[Any, Any]:
    return run_one(check, observed([dev]), cfg)


@pytest.mark.parametrize("check", EDGE_CHECKS)
@pytest.mark.parametrize("cfg", [config(), config(WEB)], ids=["shop", "web-no-client-ssl"])
def test_healthy_edge_passes(check: str, cfg: Any) -> None:
    st, findings = run_one(check, observed(), cfg)
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize("check", EDGE_CHECKS)
def test_plaintext_boundary_with_tls_at_the_edge_is_checked(check: str) -> None:
    refs = (*WEB_VIRTUAL_OBJ.profiles, ProfileRef(SHOP_CLIENT_SSL, "clientside", "client-ssl"))
    virtual = dataclasses.replace(WEB_VIRTUAL_OBJ, profiles=refs)
    dev = device(
        edge("other.example.com", not_after=NOW + 3 * DAY),
        virtuals={WEB_VIRTUAL: virtual},
    )
    st, _ = run(check, dev, config(WEB))
    assert st.state in ("warning", "critical")


# --- edge_cert_expiry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "state"),
    [(60, "pass"), (28, "pass"), (27, "warning"), (13, "critical"), (-2, "critical")],
)
def test_edge_cert_graded_with_the_edge_thresholds(days: int, state: str) -> None:
    st, findings = run("edge_cert_expiry", device(edge(not_after=NOW + timedelta(days=days))))
    assert st.state == state
    assert [(f.object, f.severity) for f in findings] == (
        [] if state == "pass" else [(EDGE_CERT_PATH, state)]
    )


def test_edge_cert_message_and_evidence() -> None:
    cert = edge(not_after=NOW + 20 * DAY)
    _, (f,) = run("edge_cert_expiry", device(cert))
    assert f.message == (
        f"bigip-a: edge certificate {EDGE_CERT_PATH}, served by client-ssl {SHOP_CLIENT_SSL}"
        " (shop), expires in 20 days, on 2025-01-21 00:00 UTC; clients then refuse the"
        " connection — renew it and update the profile"
    )
    evidence = dict(f.evidence)
    assert evidence["cert_fingerprint"] == cert.facts.fingerprint_sha256
    assert evidence["cert_path"] == EDGE_CERT_PATH
    assert (evidence["role"], evidence["profiles"]) == ("certificate", f"{SHOP_CLIENT_SSL} (shop)")


def test_chain_certificate_is_its_own_finding() -> None:
    short = intermediate("Example Edge Issuing CA", EDGE_ISSUING, not_after=NOW + 5 * DAY)
    st, (f,) = run("edge_cert_expiry", device(chain=ssl_cert(short, EDGE_CHAIN_PATH)))
    assert (st.state, f.object, dict(f.evidence)["role"]) == ("critical", EDGE_CHAIN_PATH, "chain")


def test_chain_bundle_is_judged_on_its_earliest_member() -> None:
    short = intermediate("Old Edge CA", EDGE_ISSUING, not_after=NOW + 5 * DAY)
    members = (ssl_cert(EDGE_ISSUING, "/Common/a.crt"), ssl_cert(short, "/Common/b.crt"))
    bundles = {EDGE_CHAIN_PATH: CaBundle(EDGE_CHAIN_PATH, members, "bash")}
    st, (f,) = run("edge_cert_expiry", device(bundles=bundles))
    assert (st.state, f.object) == ("critical", EDGE_CHAIN_PATH)
    assert f"edge chain {EDGE_CHAIN_PATH} (its certificate CN=Old Edge CA)" in f.message
    assert dict(f.evidence)["cert_path"] == "/Common/b.crt"


def test_chain_bundle_known_by_rest_only_is_noted() -> None:
    chain = dataclasses.replace(ssl_cert(EDGE_ISSUING, EDGE_CHAIN_PATH), is_bundle=True)
    st, _ = run("edge_cert_expiry", device(chain=chain))
    assert (st.state, st.unknown_parts) == ("pass", ())
    assert st.detail == (
        f"bigip-a: edge chain {EDGE_CHAIN_PATH} is a bundle whose other certificates are"
        " unknown (its REST fields describe one of them); only that one was checked"
    )


def test_a_file_shared_by_two_profiles_is_one_finding() -> None:
    refs = (
        *shop_virtual().profiles,
        ProfileRef(OTHER_PROFILE, "clientside", "client-ssl"),
    )
    profiles = {
        SHOP_CLIENT_SSL: client_ssl_profile(),
        OTHER_PROFILE: client_ssl_profile(path=OTHER_PROFILE, server_name=None),
    }
    dev = device(
        edge(not_after=NOW + 3 * DAY),
        virtuals={SHOP_VIRTUAL: shop_virtual(profiles=refs)},
        client_ssl=profiles,
    )
    _, (f,) = run("edge_cert_expiry", dev)
    assert dict(f.evidence)["profiles"] == f"{SHOP_CLIENT_SSL} (shop), {OTHER_PROFILE} (shop)"


def test_rest_fields_are_enough_for_expiry() -> None:
    st, _ = run("edge_cert_expiry", device(edge(not_after=NOW + 3 * DAY), parsed=False))
    assert st.state == "critical"


def test_edge_thresholds_come_from_the_config() -> None:
    cfg = config(
        shop(devices=["bigip-a"]), thresholds={"edgeCert": {"warning": "90d", "critical": "7d"}}
    )
    st, _ = run("edge_cert_expiry", device(edge(not_after=NOW + 60 * DAY)), cfg)
    assert st.state == "warning"


def test_unknown_end_date() -> None:
    dev = device()
    blind = dataclasses.replace(dev.certs[EDGE_CERT_PATH], not_after=None, facts=None)
    dev = dataclasses.replace(dev, certs={**dev.certs, EDGE_CERT_PATH: blind})
    st, _ = run("edge_cert_expiry", dev)
    assert (st.state, st.detail) == (
        "unknown",
        f"bigip-a: expiry of edge certificate {EDGE_CERT_PATH} unknown",
    )


# --- unknown inputs, shared -------------------------------------------------------------------

UNKNOWN_CASES = [
    pytest.param(
        lambda: device(failed=frozenset({"ltm/profile/client-ssl"})),
        "bigip-a: could not read ltm/profile/client-ssl",
        id="client-ssl-failed",
    ),
    pytest.param(
        lambda: device(client_ssl={}),
        f"client-ssl {SHOP_CLIENT_SSL} not found on bigip-a",
        id="profile-absent",
    ),
    pytest.param(
        lambda: f5(
            "bigip-a", certs={k: v for k, v in bigip_certs().items() if k != EDGE_CERT_PATH}
        ),
        f"bigip-a: ssl-cert {EDGE_CERT_PATH} (edge certificate) not found",
        id="cert-absent",
    ),
    pytest.param(
        lambda: device(failed=frozenset({"sys/file/ssl-cert"})),
        "bigip-a: could not read sys/file/ssl-cert",
        id="certs-failed",
    ),
    pytest.param(
        lambda: device(virtuals={}),
        f"virtual {SHOP_VIRTUAL} not found on bigip-a",
        id="virtual-absent",
    ),
]


@pytest.mark.parametrize("check", EDGE_CHECKS)
@pytest.mark.parametrize(("make", "detail"), UNKNOWN_CASES)
def test_unknown(check: str, make: Any, detail: str) -> None:
    st, findings = run(check, make())
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a",),
        (),
    )


@pytest.mark.parametrize("check", EDGE_CHECKS)
def test_virtual_without_client_ssl_needs_no_client_ssl_collection(check: str) -> None:
    refs = tuple(p for p in shop_virtual().profiles if p.kind != "client-ssl")
    dev = device(
        virtuals={SHOP_VIRTUAL: shop_virtual(profiles=refs)},
        failed=frozenset({"ltm/profile/client-ssl"}),
    )
    st, _ = run(check, dev)
    assert (st.state, st.detail) == ("pass", "")


# --- edge_sni_uncovered -----------------------------------------------------------------------


def test_server_name_not_in_the_sans_is_a_warning() -> None:
    profiles = {SHOP_CLIENT_SSL: client_ssl_profile(server_name="api.example.com")}
    st, (f,) = run("edge_sni_uncovered", device(client_ssl=profiles))
    assert (st.state, f.object, f.severity) == ("warning", SHOP_CLIENT_SSL, "warning")
    assert f.message == (
        f"bigip-a: client-ssl {SHOP_CLIENT_SSL} answers SNI api.example.com, but its certificate"
        f" does not cover it ({EDGE_CERT_PATH} names {EDGE_NAME}, www.{EDGE_NAME}): clients"
        " reject the name mismatch — serve a certificate with api.example.com among its DNS"
        " SANs, or correct serverName"
    )
    evidence = dict(f.evidence)
    assert evidence["dns_sans"] == f"{EDGE_NAME},www.{EDGE_NAME}"
    assert evidence["common_names"] == EDGE_NAME


@pytest.mark.parametrize(
    ("sans", "server_name", "state"),
    [
        (("*.example.com",), "shop.example.com", "pass"),
        (("*.example.com",), "a.shop.example.com", "warning"),
        (("*.example.com",), "example.com", "warning"),
        (("SHOP.Example.com",), "shop.example.COM", "pass"),
        ((), EDGE_NAME, "warning"),
    ],
    ids=["wildcard", "wildcard-two-labels", "wildcard-apex", "case", "no-san"],
)
def test_san_matching(sans: tuple[str, ...], server_name: str, state: str) -> None:
    profiles = {SHOP_CLIENT_SSL: client_ssl_profile(server_name=server_name)}
    st, findings = run("edge_sni_uncovered", device(edge(dns=sans), client_ssl=profiles))
    assert st.state == state
    if not sans:
        assert "names no DNS name" in findings[0].message


def test_profile_without_server_name_is_not_checked() -> None:
    profiles = {SHOP_CLIENT_SSL: client_ssl_profile(server_name=None)}
    st, _ = run("edge_sni_uncovered", device(edge("other.example"), client_ssl=profiles))
    assert st.state == "pass"


def test_each_certificate_of_the_profile_must_cover_the_name() -> None:
    rsa_path = "/k8s/Shared/shop_443_rsa.crt"
    chains = (
        *client_ssl_profile().cert_key_chain,
        CertKeyChain("rsa", rsa_path, "/k8s/Shared/shop_443_rsa.key", None),
    )
    dev = device(client_ssl={SHOP_CLIENT_SSL: client_ssl_profile(cert_key_chain=chains)})
    other = ssl_cert(edge("old.example.com"), rsa_path, parsed=True)
    dev = dataclasses.replace(dev, certs={**dev.certs, rsa_path: other})
    _, (f,) = run("edge_sni_uncovered", dev)
    assert dict(f.evidence)["certificates"] == rsa_path


def test_sni_unknown_without_the_pem_nor_the_san_field_on_an_old_tmos() -> None:
    st, findings = run("edge_sni_uncovered", device(parsed=False, version="12.1.5"))
    assert (st.state, findings) == ("unknown", ())
    assert st.detail == (
        f"bigip-a: edge certificate {EDGE_CERT_PATH}: no subjectAlternativeName field, and on"
        " TMOS 12.1.5 its absence does not prove the certificate has no SAN (the field is relied"
        " on from TMOS 14.1); its names cannot be checked from the REST fields (bundleReader"
        " bash, a bash-capable role, reads the certificate itself)"
    )


def rest_only(cert: Issued, version: str = "15.1.10.2") -> F5State:
    """bigip-a serving `cert`, known by its ssl-cert REST fields only (no PEM read)."""
    rest = ssl_cert(cert, EDGE_CERT_PATH, san_field=True)
    return f5("bigip-a", certs={**bigip_certs(), EDGE_CERT_PATH: rest}, version=version)


def test_sni_covered_by_the_rest_san_field() -> None:
    st, findings = run("edge_sni_uncovered", rest_only(edge(dns=("*.example.com",))))
    assert (st.state, st.detail, findings) == ("pass", "", ())


def test_sni_uncovered_by_the_rest_san_field_is_a_warning() -> None:
    cert = edge("shop.example.org", dns=("shop.example.org", "www.shop.example.org"))
    st, (f,) = run("edge_sni_uncovered", rest_only(cert))
    assert (st.state, f.object) == ("warning", SHOP_CLIENT_SSL)
    evidence = dict(f.evidence)
    assert evidence["dns_sans"] == "shop.example.org,www.shop.example.org"
    assert (evidence["common_names"], evidence["names_from"]) == ("shop.example.org", "ssl-cert")


def test_no_san_field_on_a_reporting_tmos_means_no_dns_name() -> None:
    cert = edge(dns=())
    st, (f,) = run("edge_sni_uncovered", rest_only(cert, version="17.1.1.3"))
    assert st.state == "warning"
    assert "names no DNS name" in f.message


@pytest.mark.parametrize(
    ("pattern", "name", "covered"),
    [
        ("a.example.com", "a.example.com", True),
        ("a.example.com.", "A.EXAMPLE.COM", True),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "*.example.com", True),
        ("a.example.com", "*.example.com", False),
        ("*.a.example.com", "b.example.com", False),
    ],
)
def test_name_covered(pattern: str, name: str, covered: bool) -> None:
    assert name_covered(pattern, name) is covered
