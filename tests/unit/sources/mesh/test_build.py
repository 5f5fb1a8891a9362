"""`monitor.sources.mesh.build.build_state` without a server: views made by hand from a
rendered world.

The views are what the watches would hold: each spec's objects selected from the world
with the simulator's own selector matching, through the spec's transform. Also the pure
helpers beside it: Go durations and the cert-manager Certificate, discovery's version
order, the plan's watches.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.model import SourceError
from monitor.simulate.kube.model import KubeWorld
from monitor.simulate.kube.select import (
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)
from monitor.sources.kube.spec import CollectionView, WatchSpec
from monitor.sources.kube.transport import split_path
from monitor.sources.mesh.build import build_state
from monitor.sources.mesh.certmanager import certificate, go_duration, issuer_certificate
from monitor.sources.mesh.discovery import version_key
from monitor.sources.mesh.specs import ANCHORS_ENV, Backend, Plan, PolicyKind, plan_watches
from tests.support.sim_kube import CERTS, find, linkerd, pods_of, render, scenario

SHOP = Backend("ingress", "nginx-ingress", 443)
KINDS = (
    PolicyKind("servers", "Server", "v1beta1"),
    PolicyKind("authorizationpolicies", "AuthorizationPolicy", "v1alpha1"),
    PolicyKind("meshtlsauthentications", "MeshTLSAuthentication", "v1alpha1"),
)
_KIND = {"configmaps": "ConfigMap", "secrets": "Secret", "pods": "Pod", "services": "Service",
         "endpointslices": "EndpointSlice", "namespaces": "Namespace",
         "certificates": "Certificate", "certificaterequests": "CertificateRequest",
         "servers": "Server",
         "authorizationpolicies": "AuthorizationPolicy",
         "meshtlsauthentications": "MeshTLSAuthentication"}  # fmt: skip
FIELDS = ("metadata.name", "metadata.namespace", "status.phase")


def fp(*ids: str) -> list[str]:
    return [CERTS[i].sha256 for i in ids]


def view(*items: dict[str, Any], **kw: Any) -> CollectionView:
    options: dict[str, Any] = {"synced": True, "error": None, "absent": False,
                               "resource_version": "1", **kw}  # fmt: skip
    return CollectionView(tuple(items), **options)


def collect(world: KubeWorld, spec: WatchSpec, transform: bool = True) -> CollectionView:
    """The view a watch of `spec` would hold for `world` (`transform` False: the objects
    as served, which the build reads as well)."""
    _, _, namespace, plural = split_path(spec.api_path)
    labels = parse_label_selector(spec.label_selector)
    fields = parse_field_selector(spec.field_selector, FIELDS)
    items = []
    for obj in world.objects:
        meta = obj["metadata"]
        if obj["kind"] != _KIND[plural] or (namespace and meta.get("namespace") != namespace):
            continue
        if labels_match(labels, meta.get("labels")) and fields_match(fields, obj):
            stored = spec.transform(obj) if spec.transform and transform else obj
            if stored is not None:
                items.append(stored)
    return view(*items)


def plan_for(world: KubeWorld, *wanted: Backend, cert_manager: bool | None = True) -> Plan:
    services = {b.key: find_or_none(world, "Service", b.name, b.namespace) for b in wanted}
    return plan_watches("linkerd", "cluster.local", wanted, services, KINDS, cert_manager)


def find_or_none(world: KubeWorld, kind: str, name: str, ns: str) -> dict[str, Any] | None:
    try:
        return find(world, kind, name, ns)
    except KeyError:
        return None


def views_for(world: KubeWorld, plan: Plan) -> dict[WatchSpec, CollectionView]:
    return {spec: collect(world, spec) for spec in plan.specs()}


def test_a_complete_2_14_install() -> None:
    world = render(scenario())
    plan = plan_for(world, SHOP)
    built = build_state(plan, views_for(world, plan))
    assert built.errors == ()
    state = built.state
    assert [a.fingerprint_sha256 for a in state.anchors or ()] == fp("anchor-a", "anchor-b")
    assert state.config_anchors == state.anchors
    assert (state.external_ca, state.linkerd_version) == (False, "stable-2.14.10")
    assert state.issuer is not None
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer"].sha256
    assert state.issuer_certificate is None  # cert-manager served, no Certificate: a fact
    assert state.unknown == frozenset()
    assert state.proxies is not None
    assert sorted(p.anchors or () for p in state.proxies) == sorted(
        [tuple(fp("anchor-a", "anchor-b"))] * 2 + [tuple(fp("anchor-a"))]
    )
    assert len(state.pods) == 3
    assert state.policy is not None
    assert [s.name for s in state.policy.servers] == ["nginx-https"]
    assert state.policy.cluster_default == "all-unauthenticated"


@pytest.mark.parametrize("version", ["stable-2.12.6", "stable-2.13.7", "version-2.20"])
def test_the_bundle_reads_the_same_with_or_without_its_trailing_newline(version: str) -> None:
    world = render(scenario(linkerd=linkerd(version=version)))
    text = find(world, "ConfigMap", "linkerd-identity-trust-roots", "linkerd")["data"]
    assert text["ca-bundle.crt"].endswith("\n") == (version == "stable-2.12.6")
    plan = plan_for(world, SHOP)
    state = build_state(plan, views_for(world, plan)).state
    assert [a.fingerprint_sha256 for a in state.anchors or ()] == fp("anchor-a", "anchor-b")


def test_external_ca_without_its_configmap_is_an_error_not_the_values_copy() -> None:
    issuer = {"scheme": "kubernetes.io/tls", "cert": "issuer"}
    world = render(scenario(linkerd=linkerd(externalCA=True, issuer=issuer)))
    plan = plan_for(world, SHOP)
    views = views_for(world, plan)
    views[plan.trust_roots] = view()  # trust-manager has not written it (yet)
    built = build_state(plan, views)
    assert [(e.reason, e.target) for e in built.errors] == [
        ("http_404", "configmap linkerd/linkerd-identity-trust-roots")
    ]
    assert "identity.externalCA is true" in built.errors[0].message
    assert built.state.anchors is None
    assert built.state.unknown == frozenset({"anchors"})
    assert built.state.proxies is not None  # the pods' own copies are still known


def test_views_not_synced_or_failed_make_their_parts_unknown() -> None:
    world = render(scenario(linkerd=linkerd(issuer={"scheme": "kubernetes.io/tls",
                                                    "cert": "issuer"},
                                            certManager={"renewBefore": "25h"})))  # fmt: skip
    plan = plan_for(world, SHOP)
    views = views_for(world, plan)
    forbidden = SourceError("http_403", "pods ingress (app=nginx-ingress): forbidden", "pods")
    views[plan.pods["ingress"]] = view(synced=False, error=forbidden)
    assert plan.certificates is not None
    del views[plan.certificates]  # never synced
    built = build_state(plan, views)
    assert [e.reason for e in built.errors] == ["timeout", "http_403"]
    assert built.errors[0].target == "certificates.cert-manager.io linkerd"
    state = built.state
    assert state.unknown == frozenset({"proxies", "issuer_certificate"})
    assert state.proxies is None
    shop = state.services["ingress/nginx-ingress"]
    assert shop is not None  # the endpoints are known, their pods are not
    assert {(e.meshed, e.service_account) for e in shop.endpoints} == {(None, None)}
    assert state.pods == {}


def test_cert_manager_not_served_is_no_certificate_and_discovery_failure_is_unknown() -> None:
    world = render(scenario())
    plan = plan_for(world, SHOP, cert_manager=False)
    assert plan.certificates is None
    built = build_state(plan, views_for(world, plan))
    assert (built.state.issuer_certificate, built.state.unknown, built.errors) == (
        None, frozenset(), ())  # fmt: skip
    error = SourceError("http_5xx", "discovery /apis: HTTP 503: busy", "discovery /apis")
    unknown = plan_watches("linkerd", "cluster.local", (SHOP,), {}, None, None)
    built = build_state(unknown, views_for(world, unknown), error)
    assert built.errors == (error,)
    assert built.state.unknown == frozenset({"policy", "issuer_certificate", "proxies"})


def test_proxy_bundles_by_env_value_config_map_reference_or_problem() -> None:
    world = render(scenario())
    plan = plan_for(world, SHOP)
    views = views_for(world, plan)
    served = collect(world, plan.pods["ingress"], transform=False)
    pods = [copy.deepcopy(p) for p in served.items]

    def anchors_env(pod: dict[str, Any]) -> dict[str, Any]:
        proxy = next(c for c in pod["spec"]["containers"] if c["name"] == "linkerd-proxy")
        env: dict[str, Any] = next(e for e in proxy["env"] if e["name"] == ANCHORS_ENV)
        return env

    anchors_env(pods[0]).pop("value")
    anchors_env(pods[0])["valueFrom"] = {"configMapKeyRef": {
        "name": "linkerd-identity-trust-roots", "key": "ca-bundle.crt"}}  # fmt: skip
    anchors_env(pods[1])["value"] = "not a PEM"
    anchors_env(pods[2]).pop("value")
    anchors_env(pods[2])["valueFrom"] = {"configMapKeyRef": {"name": "mine", "key": "x"}}
    terminating = copy.deepcopy(pods[0])
    terminating["metadata"].update(name="gone-1", deletionTimestamp="2026-03-01T12:00:30Z")
    views[plan.pods["ingress"]] = view(*pods, terminating)
    state = build_state(plan, views).state
    assert state.proxies is not None
    got = {p.pod: (p.anchors, p.problem) for p in state.proxies}
    names = [f"ingress/{p['metadata']['name']}" for p in pods]
    assert got == {
        names[0]: (tuple(fp("anchor-a", "anchor-b")), ""),
        names[1]: (None, "unparseable trust bundle: no_certificate: no PEM block found (no"
                         " '-----BEGIN' line)"),
        names[2]: (None, "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS comes from ConfigMap mine key"
                         " x, which is not read"),
    }  # fmt: skip
    assert "ingress/gone-1" in state.pods  # still a pod behind the boundary, for policy


def test_policy_problems_are_the_clusters_not_errors() -> None:
    doc = scenario()
    doc["objects"].append({"apiVersion": "policy.linkerd.io/v1alpha1",
                           "kind": "MeshTLSAuthentication",
                           "metadata": {"name": "empty", "namespace": "ingress"},
                           "spec": {}})  # fmt: skip
    world = render(doc)
    plan = plan_for(world, SHOP)
    built = build_state(plan, views_for(world, plan))
    assert built.errors == ()
    assert built.state.policy is not None
    assert built.state.policy.mesh_tls_authentications == ()
    assert built.problems == ("policy: MeshTLSAuthentication ingress/empty: no identities"
                              " configured",)  # fmt: skip


def test_a_selector_less_service_takes_its_pods_from_its_slices() -> None:
    world = render(scenario())
    shop = find(world, "Service", "nginx-ingress", "ingress")
    del shop["spec"]["selector"]
    plan = plan_for(world, SHOP)
    assert plan.pods["ingress"].label_selector == ""  # the whole namespace, live pods
    views = views_for(world, plan)
    views[plan.services[SHOP.namespace]] = view(shop)
    state = build_state(plan, views).state
    named = {f"ingress/{p['metadata']['name']}" for p in pods_of(world, "ingress", "nginx-ingress")}
    assert set(state.pods) == named


# -- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25h0m0s", timedelta(hours=25)),
        ("48h", timedelta(hours=48)),
        ("8760h0m0s", timedelta(days=365)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("0", timedelta(0)),
        ("", None),
        ("2 days", None),
        ("25", None),
        (25, None),
    ],
)
def test_go_duration(text: Any, expected: timedelta | None) -> None:
    assert go_duration(text) == expected


def test_the_certificate_of_the_issuer_and_its_renewal_facts() -> None:
    cert = {
        "metadata": {"name": "linkerd-identity-issuer", "namespace": "linkerd"},
        "spec": {"secretName": "linkerd-identity-issuer", "duration": "48h0m0s",
                 "renewBeforePercentage": 50},
        "status": {"notAfter": "2026-03-03T12:00:00Z", "renewalTime": "soon",
                   "conditions": [{"type": "Ready", "status": "False",
                                   "message": "Issuing certificate as Secret was updated"}]},
    }  # fmt: skip
    other = {"metadata": {"name": "web", "namespace": "linkerd"}, "spec": {"secretName": "web"}}
    assert issuer_certificate([other, cert], "linkerd-identity-issuer") is cert
    assert issuer_certificate([other], "linkerd-identity-issuer") is None
    managed, problems = certificate(cert)
    assert managed.name == "linkerd/linkerd-identity-issuer"
    assert (managed.duration, managed.renew_before) == (timedelta(hours=48), timedelta(hours=24))
    assert managed.not_after == datetime(2026, 3, 3, 12, tzinfo=UTC)
    assert (managed.renewal_time, managed.ready) == (None, False)
    assert managed.message == "Issuing certificate as Secret was updated"
    assert problems == ("Certificate linkerd/linkerd-identity-issuer: status.renewalTime 'soon'"
                        " cannot be read",)  # fmt: skip


def test_discovery_prefers_the_newest_version() -> None:
    ordered = sorted(["v1alpha1", "v1beta3", "v1", "v1beta1", "v2", "v1beta2", "x"],
                     key=version_key)  # fmt: skip
    assert ordered == ["v2", "v1", "v1beta3", "v1beta2", "v1beta1", "v1alpha1", "x"]


def test_the_plan_narrows_every_watch() -> None:
    world = render(scenario())
    plan = plan_for(world, SHOP, Backend("shop", "web", "http"))
    narrowed = [(s.target, s.label_selector, s.field_selector) for s in plan.specs()]
    everything = [t for t, label, field in narrowed if not label and not field]
    assert everything == [  # namespaced collections of few, small objects
        "certificates.cert-manager.io linkerd",
        "services ingress",  # one watch for the namespace's backend Services
        "services shop",
        "servers.policy.linkerd.io ingress",
        "authorizationpolicies.policy.linkerd.io ingress",
        "meshtlsauthentications.policy.linkerd.io ingress",
        "servers.policy.linkerd.io shop",
        "authorizationpolicies.policy.linkerd.io shop",
        "meshtlsauthentications.policy.linkerd.io shop",
    ]
    assert all("/namespaces/" in s.api_path or s.field_selector for s in plan.specs())
    assert plan.pods["ingress"].label_selector == "app=nginx-ingress"
    assert plan.pods["shop"].field_selector == "status.phase!=Succeeded,status.phase!=Failed"
