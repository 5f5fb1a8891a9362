"""Linkerd installs end to end: the simulated API → `MeshSource` → the trust checks.

Each scenario is a Linkerd install as the simulator lays it out for that version (2.10,
2.12, 2.14, an edge release), with one issuer scheme or the other, the issuer being the
anchor, trust-manager writing the roots (`externalCA`), or a trust-anchor rotation half
done. The real `MeshSource` polls it once; `run_checks` then judges what it read against a
config at a fixed `now`. Every test states the exact state of every trust check and the
exact findings (check, severity, object).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.checks import run_checks, trust
from monitor.config.schema import Config, parse_config
from monitor.model import CheckResult, MeshState, Observed, SourceStatus
from monitor.simulate.certgen import CertSpec, generate_all
from monitor.simulate.httpserver import server_tls_context
from monitor.simulate.kube.model import KubeWorld, render_kubernetes
from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.simulate.spec import Node
from monitor.sources.mesh.source import MeshSource
from tests.support.sim_kube import CA, LEAF, NOW, TOKEN

CERTS = generate_all(
    {
        "anchor": CertSpec("anchor", "root.linkerd.cluster.local", ca=True, path_len=1,
                           not_before="-300d", not_after="+3650d"),
        "old-anchor": CertSpec("old-anchor", "root.linkerd.cluster.local", ca=True, path_len=1,
                               not_before="-345d", not_after="+20d"),
        "new-anchor": CertSpec("new-anchor", "root.linkerd.cluster.local", ca=True, path_len=1,
                               not_before="-2d", not_after="+3650d"),
        "inter": CertSpec("inter", "intermediate.linkerd.cluster.local", ca=True, path_len=1,
                          signer="anchor", not_after="+730d"),
        "issuer": CertSpec("issuer", "identity.linkerd.cluster.local", ca=True, path_len=0,
                           signer="anchor", not_after="+364d"),
        "chained-issuer": CertSpec("chained-issuer", "identity.linkerd.cluster.local", ca=True,
                                   path_len=0, signer="inter", not_after="+180d"),
        "new-issuer": CertSpec("new-issuer", "identity.linkerd.cluster.local", ca=True,
                               path_len=0, signer="new-anchor", not_after="+364d"),
        "managed-issuer": CertSpec("managed-issuer", "identity.linkerd.cluster.local", ca=True,
                                   path_len=0, signer="anchor", not_before="-1h",
                                   not_after="+47h"),
        "install-ca": CertSpec("install-ca", "identity.linkerd.cluster.local", ca=True,
                               not_after="+365d"),  # `linkerd install`: one CA for both roles
    },
    NOW,
    "mesh-scenarios",
)  # fmt: skip
FAST: dict[str, Any] = {"watch_timeout": (30.0, 30.0), "backoff": (0.05, 0.2)}
ROOTS = "linkerd/linkerd-identity-trust-roots"

POLICY = yaml.safe_load(
    """
- apiVersion: policy.linkerd.io/v1beta1
  kind: Server
  metadata: {name: nginx-ingress-https, namespace: ingress}
  spec: {podSelector: {matchLabels: {app: nginx-ingress}}, port: https, proxyProtocol: opaque}
- apiVersion: policy.linkerd.io/v1alpha1
  kind: MeshTLSAuthentication
  metadata: {name: f5-edge, namespace: ingress}
  spec: {identities: [bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local]}
- apiVersion: policy.linkerd.io/v1alpha1
  kind: AuthorizationPolicy
  metadata: {name: nginx-ingress-from-f5, namespace: ingress}
  spec:
    targetRef: {group: policy.linkerd.io, kind: Server, name: nginx-ingress-https}
    requiredAuthenticationRefs:
      - {group: policy.linkerd.io, kind: MeshTLSAuthentication, name: f5-edge}
"""
)


def fp(*ids: str) -> list[str]:
    return [CERTS[i].sha256 for i in ids]


def cluster_doc(linkerd: Mapping[str, Any], *, policy: bool = True, **workload: Any) -> Any:
    """One meshed ingress Deployment (three pods) behind Service ingress/nginx-ingress."""
    pods = workload.pop("pods", [{"ip": "10.42.0.11"}, {"ip": "10.42.1.12"}, {"ip": "10.42.2.13"}])
    return {
        "serverVersion": "v1.30.4",
        "linkerd": dict(linkerd),
        "namespaces": [{"name": "ingress", "annotations": {"linkerd.io/inject": "enabled"}}],
        "workloads": [
            {
                "namespace": "ingress",
                "name": "nginx-ingress",
                "serviceAccount": "nginx-ingress",
                "labels": {"app": "nginx-ingress"},
                "ports": [{"name": "https", "containerPort": 443}],
                "pods": pods,
                **workload,
            }
        ],
        "services": [
            {
                "namespace": "ingress",
                "name": "nginx-ingress",
                "selector": {"app": "nginx-ingress"},
                "ports": [{"name": "https", "port": 443, "targetPort": "https"}],
            }
        ],
        "objects": copy.deepcopy(POLICY) if policy else [],
    }


def render(doc: Mapping[str, Any]) -> KubeWorld:
    return render_kubernetes(Node(copy.deepcopy(dict(doc)), "kubernetes"), CERTS, NOW, TOKEN)


def config(kubeconfig: Path, pins: Sequence[str] = (), **mesh: str) -> Config:
    data = {
        "mesh": {"kubeconfig": str(kubeconfig), "pinnedTrustAnchors": list(pins), **mesh},
        "bigip": [{"name": "bigip-a", "url": "https://bigip-a.example.net", "username": "m",
                   "passwordEnv": "BIGIP_PASSWORD", "insecure": True}],
        "boundaries": [{
            "name": "shop", "mode": "mesh-tls", "devices": ["bigip-a"],
            "virtual": "/k8s/Shared/shop_443",
            "backend": {"service": {"namespace": "ingress", "name": "nginx-ingress",
                                    "port": 443}},
        }],
    }  # fmt: skip
    return parse_config(data, kubeconfig.parent)


class Polled:
    """One poll of a scenario and the trust checks on it."""

    def __init__(self, cfg: Config, state: MeshState, status: SourceStatus) -> None:
        self.cfg, self.state, self.status = cfg, state, status

    def result(self, now: datetime) -> CheckResult:
        observed = Observed(f5={}, mesh=self.state, sources=(self.status,))
        return run_checks(self.cfg, observed, now, trust.CHECKS)

    def expect(self, **states: str) -> dict[str, str]:
        """Every trust check that applies to the boundary (`trust_anchor_pin` only with
        pins): `pass`, unless `states` says otherwise."""
        boundary = self.cfg.boundaries[0]
        ids = [c.id for c in trust.CHECKS if c.applies_to(self.cfg, boundary)]
        assert set(states) <= set(ids)
        return {i: states.get(i, "pass") for i in ids}

    def judge(self, now: datetime) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
        result = self.result(now)
        states = {s.check: s.state for s in result.states}
        findings = [(f.check, f.severity, f.object) for f in result.findings]
        return states, findings


def poll(doc: Mapping[str, Any], tmp: Path, pins: Sequence[str] = (), **mesh: str) -> Polled:
    sim = SimulatedKubernetes(render(doc), server_tls_context(LEAF))
    sim.start()
    try:
        sim.write_kubeconfig(tmp / "kubeconfig", CA.pem)
        cfg = config(tmp / "kubeconfig", pins, **mesh)
        source = MeshSource(cfg, watch_options=FAST)
        try:
            state, status = source.poll()
        finally:
            source.close()
    finally:
        sim.stop()
    assert status.errors == ()
    assert status.up
    return Polled(cfg, state, status)


def bundles(state: MeshState) -> list[tuple[str, ...] | None]:
    assert state.proxies is not None
    return sorted((p.anchors for p in state.proxies), key=lambda a: a or ())


# -- the scenarios ----------------------------------------------------------------------------


def test_linkerd_2_10_anchors_only_in_linkerd_config(tmp_path: Path) -> None:
    l5d = {"version": "stable-2.10.2", "anchors": ["anchor"], "issuer": {"cert": "issuer"}}
    polled = poll(cluster_doc(l5d, policy=False), tmp_path)
    state = polled.state
    assert state.anchors_from == "linkerd/linkerd-config"
    assert [a.fingerprint_sha256 for a in state.anchors or ()] == fp("anchor")
    assert state.config_anchors == state.anchors
    assert (state.linkerd_version, state.external_ca, state.issuer_certificate) == (
        "stable-2.10.2", False, None)  # fmt: skip
    assert state.issuer is not None
    assert state.issuer.scheme == "linkerd.io/tls"
    assert bundles(state) == [tuple(fp("anchor"))] * 3
    assert state.policy is not None
    assert state.policy.servers == ()  # 2.10 serves no policy CRDs
    assert state.unknown == frozenset()
    assert polled.judge(NOW) == (polled.expect(), [])


def test_linkerd_2_12_issuer_with_an_intermediate_and_a_stale_values_copy(tmp_path: Path) -> None:
    l5d = {
        "version": "stable-2.12.6",
        "anchors": ["anchor", "new-anchor"],
        "configAnchors": ["anchor"],  # `linkerd upgrade` would put the old bundle back
        "issuer": {"scheme": "linkerd.io/tls", "cert": "chained-issuer", "chain": ["inter"]},
    }
    polled = poll(cluster_doc(l5d), tmp_path)
    state = polled.state
    assert state.anchors_from == ROOTS  # ca-bundle.crt ends in a newline on 2.12
    assert [a.fingerprint_sha256 for a in state.anchors or ()] == fp("anchor", "new-anchor")
    assert [a.fingerprint_sha256 for a in state.config_anchors or ()] == fp("anchor")
    assert state.issuer is not None
    assert [c.fingerprint_sha256 for c in state.issuer.chain] == fp("inter")
    assert bundles(state) == [tuple(fp("anchor", "new-anchor"))] * 3
    assert state.policy is not None
    assert [s.name for s in state.policy.servers] == ["nginx-ingress-https"]
    assert [m.identities for m in state.policy.mesh_tls_authentications] == [
        ("bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local",)
    ]
    assert polled.judge(NOW) == (
        polled.expect(trust_roots_config_mismatch="warning"),
        [("trust_roots_config_mismatch", "warning", ROOTS)],
    )


def test_linkerd_2_14_cert_manager_renews_a_kubernetes_io_tls_issuer(tmp_path: Path) -> None:
    l5d = {
        "version": "stable-2.14.10",
        "anchors": ["anchor"],
        "issuer": {"scheme": "kubernetes.io/tls", "cert": "managed-issuer"},
        "certManager": {"duration": "48h", "renewBefore": "25h"},
    }
    polled = poll(cluster_doc(l5d), tmp_path)
    state = polled.state
    assert state.issuer is not None
    assert state.issuer.scheme == "kubernetes.io/tls"
    assert [c.fingerprint_sha256 for c in state.issuer.ca_bundle] == fp("anchor")
    managed = state.issuer_certificate
    assert managed is not None
    assert (managed.name, managed.duration, managed.renew_before, managed.ready) == (
        "linkerd/linkerd-identity-issuer",
        timedelta(hours=48),
        timedelta(hours=25),
        True,
    )
    assert managed.not_after == CERTS["managed-issuer"].cert.not_valid_after_utc
    assert managed.renewal_time == managed.not_after - timedelta(hours=25)
    assert state.linkerd_version == "stable-2.14.10"
    # a 48h issuer is far inside the 30d/7d thresholds, yet fine while cert-manager keeps up
    assert polled.judge(NOW + timedelta(hours=1)) == (polled.expect(), [])
    # 30h later cert-manager is more than an hour past its renewalTime: overdue
    late = NOW + timedelta(hours=30)
    assert polled.judge(late) == (
        polled.expect(issuer_expiry="critical"),
        [("issuer_expiry", "critical", CERTS["managed-issuer"].sha256)],
    )


def test_edge_release_issuer_is_the_anchor_with_native_sidecars(tmp_path: Path) -> None:
    l5d = {"version": "edge-25.4.4", "anchors": ["install-ca"], "issuer": {"cert": "install-ca"}}
    doc = cluster_doc(l5d, nativeSidecar=True)
    polled = poll(doc, tmp_path, pins=fp("install-ca"))
    state = polled.state
    assert state.linkerd_version == "edge-25.4.4"
    assert state.issuer is not None
    assert state.anchors is not None
    assert state.issuer.cert.der == state.anchors[0].der
    assert bundles(state) == [tuple(fp("install-ca"))] * 3  # read from initContainers
    assert all(p.meshed for p in state.pods.values())
    assert state.policy is not None
    assert [s.name for s in state.policy.servers] == ["nginx-ingress-https"]  # v1beta3
    assert set(polled.expect()) == {c.id for c in trust.CHECKS}  # pinned: every one applies
    assert polled.judge(NOW) == (polled.expect(), [])
    # 340 days on, 25 are left: the one CA is both an expiring anchor and an expiring issuer
    later = NOW + timedelta(days=340)
    assert polled.judge(later) == (
        polled.expect(trust_anchor_expiry="warning", issuer_expiry="warning"),
        [("trust_anchor_expiry", "warning", CERTS["install-ca"].sha256),
         ("issuer_expiry", "warning", CERTS["install-ca"].sha256)],
    )  # fmt: skip


def test_external_ca_trust_manager_writes_the_roots(tmp_path: Path) -> None:
    l5d = {
        "version": "stable-2.14.10",
        "anchors": ["anchor", "new-anchor"],
        "configAnchors": ["anchor"],  # not kept in step: trust-manager owns the bundle
        "externalCA": True,
        "issuer": {"scheme": "kubernetes.io/tls", "cert": "issuer"},
    }
    polled = poll(cluster_doc(l5d), tmp_path, pins=fp("anchor"))
    state = polled.state
    assert state.external_ca is True
    assert state.anchors_from == ROOTS
    assert [a.fingerprint_sha256 for a in state.anchors or ()] == fp("anchor", "new-anchor")
    assert state.issuer_certificate is None  # no cert-manager Certificate: nothing unknown
    assert state.unknown == frozenset()
    # the mismatch is by design here; the pin catches the anchor nobody approved
    assert polled.judge(NOW) == (
        polled.expect(trust_anchor_pin="critical"),
        [("trust_anchor_pin", "critical", CERTS["new-anchor"].sha256)],
    )


@pytest.mark.parametrize("version", ["stable-2.14.10", "version-2.16"])
def test_rotation_in_progress(tmp_path: Path, version: str) -> None:
    l5d = {
        "version": version,
        "anchors": ["new-anchor", "old-anchor"],  # `step certificate bundle new old`
        "issuer": {"cert": "new-issuer"},
    }
    pods = [
        {"ip": "10.42.0.11"},  # restarted: the new bundle
        {"ip": "10.42.1.12", "trustAnchors": ["old-anchor"]},  # not restarted yet
        {"ip": "10.42.2.13", "trustAnchors": ["old-anchor", "new-anchor"]},  # same set
    ]
    polled = poll(cluster_doc(l5d, pods=pods), tmp_path)
    state = polled.state
    assert bundles(state) == sorted(
        [tuple(fp("new-anchor", "old-anchor")), tuple(fp("old-anchor")),
         tuple(fp("old-anchor", "new-anchor"))]
    )  # fmt: skip
    assert polled.judge(NOW) == (
        polled.expect(trust_anchor_expiry="warning", proxy_trust_bundle_stale="critical"),
        [("trust_anchor_expiry", "warning", CERTS["old-anchor"].sha256),
         ("proxy_trust_bundle_stale", "critical", "ingress")],
    )  # fmt: skip
    (stale,) = [f for f in polled.result(NOW).findings if f.check == "proxy_trust_bundle_stale"]
    evidence = dict(stale.evidence)
    old_only = next(p.pod for p in state.proxies or () if p.anchors == tuple(fp("old-anchor")))
    assert (evidence["count"], evidence["without_issuer_anchor"]) == ("1", old_only.split("/")[1])
    assert evidence["issuer_anchors"] == CERTS["new-anchor"].sha256
    assert "kubectl -n ingress rollout restart deployment/nginx-ingress" in stale.message


def test_a_control_plane_namespace_and_trust_domain_of_its_own(tmp_path: Path) -> None:
    l5d = {
        "version": "version-2.15",
        "namespace": "l5d",
        "trustDomain": "prod.example",
        "anchors": ["anchor"],
        "issuer": {"cert": "issuer"},
    }
    doc = cluster_doc(l5d)
    doc["objects"][1]["spec"] = {
        "identityRefs": [{"kind": "ServiceAccount", "name": "bigip", "namespace": "f5-edge"}]
    }
    polled = poll(doc, tmp_path, linkerdNamespace="l5d", trustDomain="prod.example")
    state = polled.state
    assert (state.anchors_from, state.issuer_from) == (
        "l5d/linkerd-identity-trust-roots", "l5d/linkerd-identity-issuer")  # fmt: skip
    assert state.linkerd_version == "version-2.15"
    assert state.issuer_certificate is None
    assert state.policy is not None
    assert [m.identities for m in state.policy.mesh_tls_authentications] == [
        ("bigip.f5-edge.serviceaccount.identity.l5d.prod.example",)
    ]
    assert [s.name for s in state.policy.servers] == ["nginx-ingress-https"]  # v1beta2 now
    assert state.unknown == frozenset()
    assert polled.judge(NOW) == (polled.expect(), [])
