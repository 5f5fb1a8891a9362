"""Tests for monitor.checks.boundary.client: the client certificate BIG-IP presents."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.model import CaBundle, F5State, SslCert
from tests.support.certhelpers import CLIENT_AUTH, SERVER_AUTH, Issued, anchor, intermediate, leaf
from tests.support.checkdata import (
    ANCHOR,
    BIGIP_ID,
    CLIENT_CERT,
    CLIENT_CERT_PATH,
    CLIENT_CHAIN_PATH,
    DAY,
    ISSUER,
    NOW,
    SHOP_PROFILE,
    bigip_certs,
    config,
    f5,
    mesh,
    observed,
    profile,
    run_one,
    shop,
    ssl_cert,
)

CLIENT_CHECKS = (
    "client_cert_expiry",
    "client_cert_chain",
    "client_identity_mismatch",
    "client_cert_outlives_issuer",
)
ONE = config(shop(devices=["bigip-a"], clientIdentity=BIGIP_ID))
WHERE = f"client certificate {CLIENT_CERT_PATH} (server-ssl {SHOP_PROFILE})"


def client(cn: str = BIGIP_ID, signer: Issued = ISSUER, **kw: Any) -> Issued:
    """A client certificate (clientAuth, DNS SAN = `cn`) signed by `signer`."""
    kw.setdefault("eku", (CLIENT_AUTH,))
    return leaf(cn, signer, **kw)


def device(
    cert: Issued | SslCert | None = CLIENT_CERT,
    chain: tuple[Issued, ...] | None = (ISSUER,),
    *,
    parsed: bool = True,
    **changes: Any,
) -> F5State:
    """bigip-a presenting `cert` with `chain` (None: no chain on the profile)."""
    certs = dict(bigip_certs())
    if isinstance(cert, Issued):
        certs[CLIENT_CERT_PATH] = ssl_cert(cert, CLIENT_CERT_PATH, parsed=parsed)
    elif isinstance(cert, SslCert):
        certs[CLIENT_CERT_PATH] = cert
    if chain:
        certs[CLIENT_CHAIN_PATH] = ssl_cert(chain[0], CLIENT_CHAIN_PATH, parsed=parsed)
    server_ssl = profile(
        cert=CLIENT_CERT_PATH if cert is not None else None,
        chain=CLIENT_CHAIN_PATH if chain else None,
    )
    return f5("bigip-a", certs=certs, server_ssl={SHOP_PROFILE: server_ssl}, **changes)


def run(check: str, dev: F5State, cfg: Any = ONE, **mesh_changes: Any) -> tuple[Any, Any]:
    return run_one(check, observed([dev], mesh(**mesh_changes)), cfg)


@pytest.mark.parametrize("check", CLIENT_CHECKS)
def test_healthy_client_certificate_passes(check: str) -> None:
    st, findings = run(check, device())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize("check", CLIENT_CHECKS)
def test_no_client_certificate_passes_here(check: str) -> None:
    st, findings = run(check, device(None, None))
    assert (st.state, st.detail, findings) == ("pass", "", ())


@pytest.mark.parametrize("check", CLIENT_CHECKS)
def test_unknown_when_the_certificate_cannot_be_found(check: str) -> None:
    certs = {k: v for k, v in bigip_certs().items() if k != CLIENT_CERT_PATH}
    st, findings = run(check, f5("bigip-a", certs=certs))
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a",), ())
    assert st.detail == f"bigip-a: ssl-cert {CLIENT_CERT_PATH} (client certificate) not found"
    st, _ = run(check, f5("bigip-a", failed=frozenset({"sys/file/ssl-cert"})))
    assert (st.state, st.detail) == ("unknown", "bigip-a: could not read sys/file/ssl-cert")


# --- client_cert_expiry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "state"),
    [
        (200, "pass"),
        (28, "pass"),
        (27, "warning"),
        (14, "warning"),
        (13, "critical"),
        (-1, "critical"),
    ],
)
def test_expiry_grades_the_client_certificate(days: int, state: str) -> None:
    cert = client(not_after=NOW + timedelta(days=days))
    st, findings = run("client_cert_expiry", device(cert))
    assert st.state == state
    if state != "pass":
        (f,) = findings
        assert (f.object, f.severity) == (CLIENT_CERT_PATH, state)
        assert dict(f.evidence)["earliest_role"] == "client certificate"


def test_expiry_message() -> None:
    _, (f,) = run("client_cert_expiry", device(client(not_after=NOW + 20 * DAY)))
    assert f.message == (
        f"bigip-a: {WHERE} expires in 20 days, on 2025-01-21 00:00 UTC; from then on the mesh"
        " rejects BIG-IP's client certificate — renew it (and its chain) under a current trust"
        " anchor"
    )


def test_expiry_is_judged_on_the_earliest_certificate_of_the_chain() -> None:
    short = intermediate("identity.linkerd.cluster.local", ANCHOR, not_after=NOW + 10 * DAY)
    cert = client(signer=short, not_after=NOW + 9 * DAY + 100 * DAY)
    st, (f,) = run("client_cert_expiry", device(cert, (short,)))
    assert (st.state, f.object) == ("critical", CLIENT_CERT_PATH)
    assert f.message.startswith(
        "bigip-a: chain certificate CN=identity.linkerd.cluster.local (sha256 "
    )
    evidence = dict(f.evidence)
    assert (evidence["earliest_role"], evidence["earliest_path"]) == ("chain", CLIENT_CHAIN_PATH)
    assert evidence["earliest_not_after"] == "2025-01-11T00:00:00Z"


def test_expiry_works_from_rest_fields_alone() -> None:
    st, _ = run("client_cert_expiry", device(client(not_after=NOW + 5 * DAY), parsed=False))
    assert st.state == "critical"


def test_expiry_unknown_without_any_end_date() -> None:
    blind = dataclasses.replace(ssl_cert(CLIENT_CERT, CLIENT_CERT_PATH), not_after=None)
    st, findings = run("client_cert_expiry", device(blind))
    assert (st.state, findings) == ("unknown", ())
    assert st.detail == f"bigip-a: expiry of {CLIENT_CERT_PATH} unknown"


def test_chain_bundle_known_only_in_part_is_noted() -> None:
    dev = device()
    chain = dataclasses.replace(dev.certs[CLIENT_CHAIN_PATH], is_bundle=True)
    dev = dataclasses.replace(dev, certs={**dev.certs, CLIENT_CHAIN_PATH: chain})
    st, _ = run("client_cert_expiry", dev)
    assert st.state == "pass"
    assert st.detail == (
        f"bigip-a: client certificate chain {CLIENT_CHAIN_PATH} is a bundle whose other"
        " certificates are unknown (its REST fields describe one of them); only that one was"
        " checked"
    )


def test_chain_bundle_with_known_members_counts_each() -> None:
    old = intermediate("old-intermediate", ANCHOR, not_after=NOW + 3 * DAY)
    members = (ssl_cert(ISSUER, "/Common/i.crt"), ssl_cert(old, "/Common/o.crt"))
    dev = device(bundles={CLIENT_CHAIN_PATH: CaBundle(CLIENT_CHAIN_PATH, members, "bash")})
    st, (f,) = run("client_cert_expiry", dev)
    assert (st.state, dict(f.evidence)["earliest_path"]) == ("critical", "/Common/o.crt")


# --- client_cert_chain ------------------------------------------------------------------------


def test_missing_chain_is_critical_with_a_hint() -> None:
    st, (f,) = run("client_cert_chain", device(chain=None))
    assert (st.state, f.object, f.severity) == ("critical", CLIENT_CERT_PATH, "critical")
    assert f.message.startswith(
        f"bigip-a: {WHERE} does not verify against the mesh trust anchors (unknown_authority:"
    )
    assert f.message.endswith(
        "; it verifies with the identity issuer CN=identity.linkerd.cluster.local (sha256"
        f" {ISSUER.facts.fingerprint_sha256[:16]}…) as intermediate: set the profile's chain to it"
    )
    assert dict(f.evidence)["chain_code"] == "unknown_authority"


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: (client(signer=anchor("some other ca")), None), "unknown_authority"),
        (lambda: (client(eku=(SERVER_AUTH,)), (ISSUER,)), "bad_eku"),
        (lambda: (client(not_after=NOW - DAY), (ISSUER,)), "expired"),
    ],
    ids=["foreign-ca", "server-auth-only", "expired"],
)
def test_chain_failures_are_critical(make: Any, code: str) -> None:
    cert, chain = make()
    st, (f,) = run("client_cert_chain", device(cert, chain))
    assert (st.state, dict(f.evidence)["chain_code"]) == ("critical", code)
    assert f.message.endswith(" — issue it under a current trust anchor and set the chain")


def test_chain_against_rotated_anchors_fails() -> None:
    other = anchor("root-new.linkerd.cluster.local")
    st, _ = run("client_cert_chain", device(), anchors=(other.facts,))
    assert st.state == "critical"


def test_cert_signed_directly_by_the_anchor_needs_no_chain() -> None:
    st, _ = run("client_cert_chain", device(client(signer=ANCHOR), None))
    assert st.state == "pass"


@pytest.mark.parametrize(
    ("reader", "hint"),
    [
        ("ca-bundle-manager", "bundleReader bash (a bash-capable role) reads it"),
        ("auto", "bundleReader bash (a bash-capable role) reads it"),
        ("bash", "util/bash did not return it"),
    ],
)
def test_chain_unknown_without_the_pem(reader: str, hint: str) -> None:
    entries = [
        {
            "name": "bigip-a",
            "url": "https://bigip-a.example.net",
            "usernameFile": "u",
            "passwordFile": "p",
            "caFile": "ca.pem",
            "bundleReader": reader,
        }
    ]
    cfg = config(shop(devices=["bigip-a"]), bigip=entries)
    st, findings = run("client_cert_chain", device(parsed=False), cfg)
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a",), ())
    assert st.detail == (
        f"bigip-a: client certificate {CLIENT_CERT_PATH}: the certificate's PEM is not readable"
        f" with bundleReader {reader}; its chain to the trust anchors cannot be checked from the"
        f" REST fields ({hint})"
    )


def test_chain_certificate_without_pem_is_unknown() -> None:
    dev = device()
    unparsed = dataclasses.replace(dev.certs[CLIENT_CHAIN_PATH], facts=None)
    dev = dataclasses.replace(dev, certs={**dev.certs, CLIENT_CHAIN_PATH: unparsed})
    st, _ = run("client_cert_chain", dev)
    assert st.state == "unknown"
    assert st.detail.startswith(f"bigip-a: client certificate chain {CLIENT_CHAIN_PATH}: the")


def test_failure_with_a_chain_known_in_part_is_unknown() -> None:
    dev = device(client(signer=intermediate("elsewhere", ANCHOR)))
    chain = dataclasses.replace(dev.certs[CLIENT_CHAIN_PATH], is_bundle=True)
    dev = dataclasses.replace(dev, certs={**dev.certs, CLIENT_CHAIN_PATH: chain})
    st, findings = run("client_cert_chain", dev)
    assert (st.state, findings) == ("unknown", ())
    assert "which is known only in part" in st.detail


def test_chain_anchors_unknown_is_unknown_everywhere() -> None:
    st, findings = run_one("client_cert_chain", observed(mesh_state=mesh(anchors=None)))
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a", "bigip-b"), ())
    assert st.detail == "kubernetes: trust anchors unknown"


# --- client_identity_mismatch -----------------------------------------------------------------


def test_identity_check_needs_client_identity() -> None:
    chosen = tuple(c for c in CHECKS if c.id == "client_identity_mismatch")
    assert run_checks(config(shop()), observed(), NOW, checks=chosen).states == ()


def test_identity_mismatch_is_critical() -> None:
    other = "other.f5-edge.serviceaccount.identity.linkerd.cluster.local"
    st, (f,) = run("client_identity_mismatch", device(client(other)))
    assert (st.state, f.object) == ("critical", CLIENT_CERT_PATH)
    assert f.message == (
        f"bigip-a: {WHERE} names {other}, but clientIdentity is {BIGIP_ID}: the mesh policy sees"
        f" BIG-IP under another identity — reissue the certificate with DNS SAN {BIGIP_ID} (or"
        " correct clientIdentity)"
    )
    assert dict(f.evidence)["cert_identities"] == other


@pytest.mark.parametrize(
    ("kw", "expected", "state"),
    [
        ({"dns": (BIGIP_ID.upper(),)}, BIGIP_ID, "pass"),
        (
            {"dns": (), "uris": ("spiffe://cluster.local/ns/f5-edge/sa/bigip",)},
            "spiffe://cluster.local/ns/f5-edge/sa/bigip",
            "pass",
        ),
        ({"dns": ()}, BIGIP_ID, "critical"),
        ({"dns": (), "uris": ("https://example.com/bigip",)}, BIGIP_ID, "critical"),
    ],
    ids=["dns-case", "spiffe", "no-san", "non-spiffe-uri"],
)
def test_identity_sans(kw: dict[str, Any], expected: str, state: str) -> None:
    cfg = config(shop(devices=["bigip-a"], clientIdentity=expected))
    st, findings = run("client_identity_mismatch", device(client(**kw)), cfg)
    assert st.state == state
    if state == "critical":
        assert "names no identity (no DNS or SPIFFE SAN)" in findings[0].message


def test_several_identities_pass_with_a_note() -> None:
    cert = client(dns=("other.example", BIGIP_ID))
    st, _ = run("client_identity_mismatch", device(cert))
    assert st.state == "pass"
    assert st.detail == (
        f"bigip-a: {WHERE} names several identities (other.example, {BIGIP_ID}); a Linkerd leaf"
        " names exactly one"
    )


def test_identity_unknown_without_the_pem_nor_the_san_field_on_an_old_tmos() -> None:
    st, findings = run("client_identity_mismatch", device(parsed=False, version="13.1.0.8"))
    assert (st.state, findings) == ("unknown", ())
    assert st.detail == (
        f"bigip-a: client certificate {CLIENT_CERT_PATH}: no subjectAlternativeName field, and"
        " on TMOS 13.1.0.8 its absence does not prove the certificate has no SAN (the field is"
        " relied on from TMOS 14.1); the identity it names cannot be checked from the REST"
        " fields (bundleReader bash, a bash-capable role, reads the certificate itself)"
    )


def test_identity_unknown_when_the_tmos_version_is_unknown() -> None:
    st, _ = run("client_identity_mismatch", device(parsed=False, version=""))
    assert st.state == "unknown"
    assert "on a TMOS version that could not be read its absence" in st.detail


def rest_only(cert: Issued, version: str = "15.1.10.2") -> F5State:
    """bigip-a presenting `cert`, known only by its ssl-cert REST fields (no PEM read)."""
    rest = ssl_cert(cert, CLIENT_CERT_PATH, san_field=True)
    return device(rest, parsed=False, version=version)


def test_identity_from_the_rest_san_field_passes() -> None:
    st, findings = run("client_identity_mismatch", rest_only(CLIENT_CERT))
    assert (st.state, st.detail, findings) == ("pass", "", ())


def test_identity_mismatch_from_the_rest_san_field_is_critical() -> None:
    other = "other.f5-edge.serviceaccount.identity.linkerd.cluster.local"
    st, (f,) = run("client_identity_mismatch", rest_only(client(other)))
    assert (st.state, f.object) == ("critical", CLIENT_CERT_PATH)
    assert f.message.startswith(f"bigip-a: {WHERE} names {other}, but clientIdentity is")
    evidence = dict(f.evidence)
    assert (evidence["cert_identities"], evidence["names_from"]) == (other, "ssl-cert")


def test_spiffe_identity_from_the_rest_san_field() -> None:
    spiffe = "spiffe://cluster.local/ns/f5-edge/sa/bigip"
    cfg = config(shop(devices=["bigip-a"], clientIdentity=spiffe))
    st, _ = run("client_identity_mismatch", rest_only(client(dns=(), uris=(spiffe,))), cfg)
    assert st.state == "pass"


@pytest.mark.parametrize(("version", "state"), [("14.1.0", "critical"), ("13.1.3.4", "unknown")])
def test_absent_san_field_means_no_san_only_on_versions_that_report_it(
    version: str, state: str
) -> None:
    """A certificate without the SAN extension: BIG-IP lists no subjectAlternativeName."""
    cert = client(dns=())
    bare = ssl_cert(cert, CLIENT_CERT_PATH, san_field=True)
    assert bare.alt_names is None
    st, findings = run("client_identity_mismatch", device(bare, parsed=False, version=version))
    assert st.state == state
    if state == "critical":
        assert "names no identity (no DNS or SPIFFE SAN)" in findings[0].message


# --- client_cert_outlives_issuer --------------------------------------------------------------


def test_client_cert_outliving_the_issuer_is_a_warning() -> None:
    cert = client(not_after=NOW + 400 * DAY)
    st, (f,) = run("client_cert_outlives_issuer", device(cert))
    assert (st.state, f.object, f.severity) == ("warning", CLIENT_CERT_PATH, "warning")
    assert f.message.startswith(
        f"bigip-a: {WHERE} ends 2026-02-05 00:00 UTC, after the issuer"
        " CN=identity.linkerd.cluster.local"
    )
    evidence = dict(f.evidence)
    assert (evidence["limit_role"], evidence["outlives_by"]) == ("issuer", "35 days")
    assert evidence["limit_fingerprint"] == ISSUER.facts.fingerprint_sha256


def test_outliving_the_anchor_names_the_anchor() -> None:
    short_anchor = anchor("root.linkerd.cluster.local", not_after=NOW + 100 * DAY)
    cert = client(signer=short_anchor, not_after=NOW + 200 * DAY)
    _, (f,) = run("client_cert_outlives_issuer", device(cert, None), anchors=(short_anchor.facts,))
    assert dict(f.evidence)["limit_role"] == "trust anchor"


def test_outliving_within_a_day_passes() -> None:
    cert = client(not_after=ISSUER.facts.not_after + timedelta(hours=12))
    st, _ = run("client_cert_outlives_issuer", device(cert))
    assert st.state == "pass"


def test_issuer_from_the_mesh_is_found_without_a_chain() -> None:
    st, _ = run("client_cert_outlives_issuer", device(client(not_after=NOW + 400 * DAY), None))
    assert st.state == "warning"


def test_no_signer_found_passes_with_a_note() -> None:
    st, findings = run(
        "client_cert_outlives_issuer", device(client(signer=anchor("foreign")), None)
    )
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        f"bigip-a: no certificate of the chain, the identity issuer or the anchors signs {WHERE}"
        " (see client_cert_chain)"
    )


def test_without_the_issuer_certificate_a_client_cert_it_may_sign_is_unknown() -> None:
    # mesh.issuer.source: certificate reads no issuer certificate; with the chain on the
    # profile the issuer is found there, without it the answer is unknown, not a pass
    by_cert = {"issuer": None, "issuer_source": "certificate", "unknown": frozenset({"issuer"})}
    cert = client(not_after=NOW + 400 * DAY)
    st, _ = run("client_cert_outlives_issuer", device(cert), **by_cert)
    assert st.state == "warning"
    st, findings = run("client_cert_outlives_issuer", device(cert, None), **by_cert)
    assert (st.state, findings) == ("unknown", ())
    assert "is not read with mesh.issuer.source: certificate" in st.detail


def test_outlives_unknown_without_the_pem_or_anchors() -> None:
    st, _ = run("client_cert_outlives_issuer", device(parsed=False))
    assert st.state == "unknown"
    assert "what it hangs from cannot be checked" in st.detail
    st, _ = run("client_cert_outlives_issuer", device(), anchors=None)
    assert (st.state, st.detail) == ("unknown", "kubernetes: trust anchors unknown")
