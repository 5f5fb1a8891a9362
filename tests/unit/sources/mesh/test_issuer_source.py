"""`mesh.issuer.source`: what the mesh source watches and builds in each mode, from the
simulated world's objects (the views a watch would hold, as in test_build)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from monitor.config.schema import IssuerSourceConfig
from monitor.simulate.kube.model import KubeWorld
from monitor.sources.mesh.build import build_state
from monitor.sources.mesh.source import MeshSource
from monitor.sources.mesh.specs import Plan, plan_watches
from tests.support.sim_kube import CERTS, linkerd, render, scenario
from tests.unit.sources.mesh.test_build import KINDS, SHOP, find_or_none, views_for
from tests.unit.sources.mesh.test_source import (
    FAST,
    WITHHOLD_ISSUER,
    assert_no_key_material,
    cluster,
    mesh_config,
)

CERT_MANAGED = {"scheme": "kubernetes.io/tls", "cert": "issuer"}


def plan(world: KubeWorld, source: str, cert_manager: bool = True, **kw: Any) -> Plan:
    services = {SHOP.key: find_or_none(world, "Service", SHOP.name, SHOP.namespace)}
    issuer = IssuerSourceConfig(source, **kw)  # type: ignore[arg-type]
    return plan_watches("linkerd", "cluster.local", (SHOP,), services, KINDS, cert_manager,
                        issuer)  # fmt: skip


def watched(p: Plan) -> set[str]:
    return {s.target for s in p.specs()}


def test_only_the_certificate_mode_watches_the_requests() -> None:
    world = render(scenario(linkerd=linkerd(issuer=CERT_MANAGED, certManager={})))
    for source in ("secret", "configMap"):
        assert not any(t.startswith("certificaterequests") for t in watched(plan(world, source)))
    assert plan(world, "certificate", cert_manager=False).certificate_requests is None


def test_certificate_mode_takes_the_current_revision_only() -> None:
    cm = {"history": ["issuer-2"], "revisionHistoryLimit": 2}
    world = render(scenario(linkerd=linkerd(issuer=CERT_MANAGED, certManager=cm)))
    requests = [o for o in world.objects if o["kind"] == "CertificateRequest"]
    assert [r["metadata"]["name"] for r in requests] == [
        "linkerd-identity-issuer-1", "linkerd-identity-issuer-2"]  # fmt: skip
    p = plan(world, "certificate")
    state = build_state(p, views_for(world, p)).state
    assert state.issuer is not None  # revision 2 (the issuer), not revision 1 (issuer-2)
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256


def test_certificate_mode_without_its_request_keeps_the_issuer_unknown() -> None:
    doc = scenario(linkerd=linkerd(issuer=CERT_MANAGED, certManager={}))
    world = render(doc)
    world.objects[:] = [o for o in world.objects if o["kind"] != "CertificateRequest"]
    p = plan(world, "certificate")
    built = build_state(p, views_for(world, p))
    assert built.errors == ()  # a note, not an error of the source
    assert built.state.issuer is None
    assert "issuer" in built.state.unknown
    assert built.state.issuer_certificate is not None
    assert "no CertificateRequest of Certificate linkerd/linkerd-identity-issuer at revision 1" in (
        built.state.issuer_note
    )


def test_only_the_secret_mode_watches_the_secret() -> None:
    world = render(scenario())
    assert "secret linkerd/linkerd-identity-issuer" in watched(plan(world, "secret"))
    for source in ("certificate", "configMap"):
        assert not any(t.startswith("secret") for t in watched(plan(world, source))), source
    assert "configmap linkerd/linkerd-identity-issuer-public" in watched(plan(world, "configMap"))
    named = plan(world, "configMap", config_map="issuer-pem")
    assert "configmap linkerd/issuer-pem" in watched(named)


def test_certificate_mode_reads_the_status_and_spec_and_the_request() -> None:
    doc = scenario(linkerd=linkerd(issuer=CERT_MANAGED, certManager={}))
    world = render(doc)
    p = plan(world, "certificate")
    assert "certificaterequests.cert-manager.io linkerd" in watched(p)
    built = build_state(p, views_for(world, p))
    assert built.errors == ()
    state = built.state
    assert state.issuer_source == "certificate"
    assert state.issuer is not None
    assert "issuer" not in state.unknown
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    assert [c.fingerprint_sha256 for c in state.issuer.ca_bundle] == [CERTS["anchor-a"].sha256]
    assert state.issuer_note == ""
    assert state.issuer_from == "linkerd/linkerd-identity-issuer"
    managed = state.issuer_certificate
    assert managed is not None
    cert = CERTS["issuer"].cert
    assert managed.not_after == cert.not_valid_after_utc
    assert managed.not_before == cert.not_valid_before_utc
    assert (managed.is_ca, managed.key_algorithm, managed.key_size) == (True, "ECDSA", None)
    assert managed.common_name == "identity.linkerd.cluster.local"
    assert managed.issuer_ref == "ClusterIssuer/linkerd-identity-issuer"


def test_certificate_mode_without_its_certificate_is_an_error() -> None:
    world = render(scenario(linkerd=linkerd(issuer=CERT_MANAGED)))  # no cert-manager Certificate
    p = plan(world, "certificate")
    built = build_state(p, views_for(world, p))
    (error,) = built.errors
    assert error.reason == "http_404"
    assert "no Certificate has spec.secretName linkerd-identity-issuer" in error.message
    assert "issuer_certificate" in built.state.unknown
    p = plan(world, "certificate", cert_manager=False)
    (error,) = build_state(p, views_for(world, p)).errors
    assert "cert-manager Certificates are not served" in error.message


def test_config_map_mode_reads_the_published_certificate() -> None:
    issuer = {**CERT_MANAGED, "chain": ["inter"], "cert": "issuer-2",
              "publishedConfigMap": "linkerd-identity-issuer-public"}  # fmt: skip
    world = render(scenario(linkerd=linkerd(issuer=issuer)))
    p = plan(world, "configMap")
    built = build_state(p, views_for(world, p))
    assert built.errors == ()
    state = built.state
    assert state.issuer is not None
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer-2"].sha256
    assert [c.fingerprint_sha256 for c in state.issuer.chain] == [CERTS["inter"].sha256]
    assert [c.fingerprint_sha256 for c in state.issuer.ca_bundle] == [CERTS["anchor-a"].sha256]
    assert state.issuer.scheme == "kubernetes.io/tls"
    assert state.issuer_from == "linkerd/linkerd-identity-issuer-public"


def test_config_map_mode_names_a_missing_or_keyless_config_map() -> None:
    world = render(scenario())  # nobody publishes it
    p = plan(world, "configMap")
    (error,) = build_state(p, views_for(world, p)).errors
    assert error.reason == "http_404"
    assert "configmap linkerd/linkerd-identity-issuer-public: not found" in error.message
    issuer = {"cert": "issuer", "publishedConfigMap": "linkerd-identity-issuer-public"}
    world = render(scenario(linkerd=linkerd(issuer=issuer)))
    for obj in world.objects:
        if obj["metadata"]["name"] == "linkerd-identity-issuer-public":
            obj["data"] = {"tls.key": "-----BEGIN PRIVATE KEY-----\n..."}
    p = plan(world, "configMap")
    views = views_for(world, p)
    assert p.issuer is not None
    (stored,) = views[p.issuer].items
    assert stored["data"] == {}  # a key published by mistake is not kept
    (error,) = build_state(p, views).errors
    assert (error.reason, error.message) == (
        "bad_pem",
        "configmap linkerd/linkerd-identity-issuer-public: no tls.crt entry"
        " (the published certificate)",
    )


# --- against the simulated API, with the Secret withheld as RBAC without it would -------------


def poll_without_secret_access(doc: dict[str, Any], tmp: Path, source: str) -> tuple[Any, ...]:
    world = render({"withhold": WITHHOLD_ISSUER, **doc})
    with cluster(world, tmp) as (sim, kubeconfig):
        cfg = mesh_config(kubeconfig, ("ingress", "nginx-ingress", 443))
        mesh = dataclasses.replace(cfg.mesh, issuer=IssuerSourceConfig(source))  # type: ignore[arg-type]
        monitor = MeshSource(dataclasses.replace(cfg, mesh=mesh), watch_options=FAST)
        try:
            state, status = monitor.poll()
        finally:
            monitor.close()
        return state, status, sim.stats()


def test_certificate_mode_needs_no_secret_access(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(issuer=CERT_MANAGED, certManager={}))
    state, status, stats = poll_without_secret_access(doc, tmp_path, "certificate")
    assert (status.up, status.errors) == (True, ())
    assert not any(resource == "secrets" for _, resource in stats.requests)
    assert state.issuer_certificate is not None
    assert state.issuer_certificate.not_after == CERTS["issuer"].cert.not_valid_after_utc
    assert state.issuer is not None  # from the CertificateRequest
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    assert_no_key_material(state, status, "issuer")


def test_certificate_mode_without_the_requests_grant_is_quiet(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(issuer=CERT_MANAGED, certManager={}))
    withheld = [*WITHHOLD_ISSUER, {"resource": "certificaterequests", "namespace": "linkerd"}]
    state, status, _ = poll_without_secret_access({**doc, "withhold": withheld}, tmp_path,
                                                   "certificate")  # fmt: skip
    assert (status.up, status.errors) == (True, ())  # an optional grant: no source error
    assert state.issuer is None
    assert "issuer" in state.unknown
    assert state.issuer_certificate is not None  # the Certificate is read as before
    assert "403" in state.issuer_note or "forbidden" in state.issuer_note.lower()


def test_config_map_mode_needs_no_secret_access(tmp_path: Path) -> None:
    issuer = {**CERT_MANAGED, "publishedConfigMap": "linkerd-identity-issuer-public"}
    doc = scenario(linkerd=linkerd(issuer=issuer))
    state, status, stats = poll_without_secret_access(doc, tmp_path, "configMap")
    assert (status.up, status.errors) == (True, ())
    assert not any(resource == "secrets" for _, resource in stats.requests)
    assert state.issuer is not None
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    assert_no_key_material(state, status, "issuer")


def test_the_secret_mode_still_reads_the_secret(tmp_path: Path) -> None:
    _, status, stats = poll_without_secret_access(scenario(), tmp_path, "secret")
    assert [e.reason for e in status.errors] == ["http_403"]  # the test's withholding works
    assert stats.requests[("list", "secrets")] >= 1
