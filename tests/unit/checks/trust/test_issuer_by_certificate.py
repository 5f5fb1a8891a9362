"""The issuer checks with `mesh.issuer.source: certificate`: no certificate, only the
cert-manager Certificate's spec and status, and honest unknowns for what they cannot say."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from monitor.model import CertManagerCertificate, MeshState
from monitor.sources.mesh.build import build_state
from tests.support.certhelpers import anchor
from tests.support.checkdata import ANCHOR, DAY, NOW, mesh, observed, run_one
from tests.support.sim_kube import NOW as SIM_NOW
from tests.support.sim_kube import linkerd, render, scenario
from tests.unit.sources.mesh.test_build import views_for
from tests.unit.sources.mesh.test_issuer_source import plan

HOUR = timedelta(hours=1)
NAME = "linkerd/linkerd-identity-issuer"


def managed(**changes: Any) -> CertManagerCertificate:
    """The Linkerd guide's Certificate: 48h, renewBefore 25h, ECDSA, isCA, Ready, 47h left."""
    base = CertManagerCertificate(
        name=NAME,
        duration=48 * HOUR,
        renew_before=25 * HOUR,
        not_after=NOW + 47 * HOUR,
        renewal_time=NOW + 22 * HOUR,
        ready=True,
        message="Certificate is up to date and has not expired",
        not_before=NOW - HOUR,
        is_ca=True,
        common_name="identity.linkerd.cluster.local",
        key_algorithm="ECDSA",
        issuer_ref="ClusterIssuer/linkerd-identity-issuer",
    )
    return dataclasses.replace(base, **changes)


def by_certificate(certificate: CertManagerCertificate | None, **changes: Any) -> MeshState:
    fields: dict[str, Any] = {"issuer": None, "issuer_source": "certificate",
                              "issuer_from": NAME, "issuer_certificate": certificate,
                              "unknown": frozenset({"issuer"})}  # fmt: skip
    return mesh(**{**fields, **changes})


def run(check: str, state: MeshState) -> tuple[str, str, tuple[Any, ...]]:
    st, findings = run_one(check, observed(mesh_state=state))
    return st.state, st.detail, findings


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(47 * HOUR, "pass"), (24 * HOUR - 1 * timedelta(seconds=1), "critical"),
     (-HOUR, "critical")],
)  # fmt: skip
def test_expiry_is_graded_by_renewal_from_the_status(remaining: timedelta, expected: str) -> None:
    end = NOW + remaining
    cert = managed(not_after=end, not_before=end - 48 * HOUR, renewal_time=end - 25 * HOUR)
    state, _, findings = run("issuer_expiry", by_certificate(cert))
    assert state == expected
    if expected != "pass":
        (f,) = findings
        assert f.object == NAME  # no fingerprint without the certificate
        assert f.message.startswith(
            f"identity issuer CN=identity.linkerd.cluster.local (as cert-manager Certificate {NAME}"
        )
        evidence = dict(f.evidence)
        assert evidence["issuer_source"] == "certificate"
        assert "issuer_fingerprint" not in evidence


def test_without_the_certificate_or_its_status_the_issuer_is_unknown() -> None:
    state, detail, _ = run("issuer_expiry", by_certificate(None))
    assert (state, detail) == (
        "unknown",
        "kubernetes: no cert-manager Certificate writes the issuer Secret",
    )
    state, detail, _ = run("issuer_expiry", by_certificate(managed(not_after=None)))
    assert state == "unknown"
    assert "has no status.notAfter" in detail
    unread = by_certificate(None, unknown=frozenset({"issuer", "issuer_certificate"}))
    assert run("issuer_expiry", unread)[0] == "unknown"


def test_not_ca_from_the_spec_while_ready() -> None:
    assert run("issuer_not_ca", by_certificate(managed()))[0] == "pass"
    state, _, (f,) = run("issuer_not_ca", by_certificate(managed(is_ca=False)))
    assert (state, f.object) == ("critical", NAME)
    assert "set spec.isCA: true" in f.message
    state, detail, _ = run("issuer_not_ca", by_certificate(managed(is_ca=False, ready=False)))
    assert state == "unknown"
    assert "is not Ready, so its spec may not describe the issued certificate" in detail


@pytest.mark.parametrize(
    ("algorithm", "size", "expected"),
    [("RSA", None, "critical"), ("ECDSA", 384, "critical"), ("Ed25519", None, "critical"),
     ("ECDSA", None, "unknown"), ("ECDSA", 256, "unknown")],
)  # fmt: skip
def test_algorithm_from_the_spec_and_the_signature_unknown(
    algorithm: str, size: int | None, expected: str
) -> None:
    cert = managed(key_algorithm=algorithm, key_size=size)
    state, detail, findings = run("issuer_algorithm", by_certificate(cert))
    assert state == expected
    if expected == "unknown":
        assert "signature algorithm is not read with mesh.issuer.source: certificate" in detail
    else:
        assert findings[0].object == NAME
        assert "Linkerd rejects (ECDSA P-256 only)" in findings[0].message


def test_the_chain_cannot_be_verified_without_the_certificate() -> None:
    state, detail, findings = run("issuer_chain", by_certificate(managed()))
    assert (state, findings) == ("unknown", ())
    assert "the issuer certificate is not read with mesh.issuer.source: certificate" in detail


def test_outlives_anchor_by_dates_alone() -> None:
    # the anchor ends in ~10 years: an issuer ending in 47h ends before every anchor
    assert run("issuer_outlives_anchor", by_certificate(managed()))[0] == "pass"
    short = anchor("root-short.linkerd.cluster.local", not_after=NOW + 10 * DAY)
    # after the short anchor, before the long one: which anchor signs it decides
    both = by_certificate(managed(not_after=NOW + 20 * DAY), anchors=(ANCHOR.facts, short.facts))
    state, detail, _ = run("issuer_outlives_anchor", both)
    assert state == "unknown"
    assert "which trust anchor signs the issuer is not read" in detail
    # after every anchor: whichever signs it, it outlives it
    alone = by_certificate(managed(not_after=NOW + 20 * DAY), anchors=(short.facts,))
    state, _, (f,) = run("issuer_outlives_anchor", alone)
    assert (state, f.severity, f.object) == ("warning", "warning", NAME)
    assert "outlives every trust anchor" in f.message


def test_trust_anchor_checks_do_not_need_the_issuer() -> None:
    assert run("trust_anchor_expiry", by_certificate(managed()))[0] == "pass"


def test_a_published_copy_behind_cert_manager_is_named_and_fixes_name_the_secret() -> None:
    published = "linkerd/linkerd-identity-issuer-public"
    issuer = mesh().issuer
    assert issuer is not None
    end = issuer.cert.not_after
    later = managed(not_after=end + DAY, not_before=end - 89 * DAY, duration=90 * DAY,
                    renew_before=30 * DAY, renewal_time=end - 29 * DAY)  # fmt: skip
    state = mesh(issuer_source="configMap", issuer_from=published, issuer_certificate=later)
    st, findings = run_one("issuer_expiry", observed(mesh_state=state))
    assert (st.state, findings) == ("pass", ())
    assert f"later than the certificate in ConfigMap {published}" in st.detail
    # without cert-manager the fix is in the Secret, where the issuer is rotated
    cfg_state = mesh(issuer_source="configMap", issuer_from=published)
    _, (f,) = run_one("issuer_expiry", observed(mesh_state=cfg_state), now=end - 3 * DAY)
    assert "rotate the issuer certificate in Secret linkerd/linkerd-identity-issuer" in f.message


# --- with the issued certificate from cert-manager's CertificateRequest (simulated world) ---


def simulated(issuer: str, chain: tuple[str, ...] = (), requests: bool = True) -> MeshState:
    """The state the mesh source builds in certificate mode from the simulated world whose
    cert-manager issued `issuer` (with `chain`); `requests` False: none is kept."""

    spec = {"scheme": "kubernetes.io/tls", "cert": issuer, "chain": list(chain)}
    world = render(scenario(linkerd=linkerd(issuer=spec, certManager={})))
    if not requests:
        world.objects[:] = [o for o in world.objects if o["kind"] != "CertificateRequest"]
    p = plan(world, "certificate")
    built = build_state(p, views_for(world, p))
    assert built.errors == ()
    return built.state


def run_at_sim(check: str, state: MeshState) -> tuple[str, str, tuple[Any, ...]]:
    st, findings = run_one(check, observed(mesh_state=state), now=SIM_NOW)
    return st.state, st.detail, findings


def test_the_chain_is_verified_from_the_request() -> None:
    state = simulated("issuer")  # signed by anchor-a, one of the anchors
    assert state.issuer is not None
    assert run_at_sim("issuer_chain", state)[0] == "pass"
    assert run_at_sim("issuer_algorithm", state)[0] == "pass"  # ECDSA P-256 by ECDSA-SHA256
    assert run_at_sim("issuer_not_ca", state)[0] == "pass"


def test_a_chain_to_no_anchor_fires_from_the_request() -> None:
    state = simulated("issuer-2")  # signed by an intermediate the PEM leaves out
    result, _, findings = run_at_sim("issuer_chain", state)
    assert result == "critical"
    (finding,) = findings
    assert state.issuer is not None
    assert finding.object == state.issuer.cert.fingerprint_sha256
    assert run_at_sim("issuer_chain", simulated("issuer-2", ("inter",)))[0] == "pass"


def test_without_the_request_the_chain_stays_unknown_with_the_reason() -> None:
    state = simulated("issuer", requests=False)
    result, detail, findings = run_at_sim("issuer_chain", state)
    assert (result, findings) == ("unknown", ())
    assert "the issuer certificate is not read with mesh.issuer.source: certificate" in detail
    assert "no CertificateRequest of Certificate linkerd/linkerd-identity-issuer" in detail
    assert run_at_sim("issuer_algorithm", state)[0] == "unknown"
