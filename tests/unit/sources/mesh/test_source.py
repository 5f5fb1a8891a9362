"""MeshSource against the simulated Kubernetes API, over TLS, through a written kubeconfig.

One poll of a fresh source each: start-up (discovery, LIST + WATCH of every collection the
boundaries need), then the state built from the watched collections. The Linkerd installs
(`test_linkerd_installs.py`) and the request counting (`test_watch_requests.py`) are beside
this file."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from monitor.config.schema import Config, parse_config
from monitor.model import MeshState, ServiceEndpoints, SourceStatus
from monitor.simulate.faults import Fault
from monitor.simulate.httpserver import server_tls_context, sim_server_identity
from monitor.simulate.kube.model import KubeWorld
from monitor.simulate.kube.server import KubeStats, SimulatedKubernetes
from monitor.sources.kube.spec import secret_without_keys
from monitor.sources.mesh.source import MeshSource
from monitor.sources.mesh.specs import slim_pod
from tests.support.sim_kube import CA, CERTS, LEAF, NOW, find, linkerd, render, scenario

SHOP = ("ingress", "nginx-ingress", 443)  # a named Service port ("https"), by number
WEB = ("shop", "web", "http")  # by name; unmeshed pods
ROOTS = "linkerd/linkerd-identity-trust-roots"
ISSUER_SECRET = "linkerd/linkerd-identity-issuer"
FAST: dict[str, Any] = {"watch_timeout": (30.0, 30.0), "backoff": (0.05, 0.2)}
WITHHOLD_ISSUER = [
    {"resource": "secrets", "namespace": "linkerd", "name": "linkerd-identity-issuer"}
]


def fp(*ids: str) -> list[str]:
    return [CERTS[i].sha256 for i in ids]


def mesh_config(kubeconfig: Path, *backends: tuple[str, str, int | str], **poll: str) -> Config:
    boundaries = [
        {
            "name": f"b{i}",
            "mode": "plaintext",
            "devices": ["bigip-a"],
            "virtual": f"/Common/v{i}",
            "backend": {"service": {"namespace": ns, "name": name, "port": port}},
        }
        for i, (ns, name, port) in enumerate(backends or (SHOP, WEB))
    ]
    device = {"name": "bigip-a", "url": "https://bigip-a.example.net", "username": "monitor",
              "passwordEnv": "BIGIP_PASSWORD", "insecure": True}  # fmt: skip
    data = {"mesh": {"kubeconfig": str(kubeconfig)}, "bigip": [device], "boundaries": boundaries}
    if poll:
        data["poll"] = dict(poll)
    return parse_config(data, kubeconfig.parent)


@contextlib.contextmanager
def cluster(
    doc: Mapping[str, Any] | KubeWorld, tmp: Path
) -> Iterator[tuple[SimulatedKubernetes, Path]]:
    """The simulated API serving `doc`, and a kubeconfig (with its CA and token) for it."""
    world = doc if isinstance(doc, KubeWorld) else render(doc)
    sim = SimulatedKubernetes(world, server_tls_context(LEAF))
    sim.start()
    try:
        sim.write_kubeconfig(tmp / "kubeconfig", CA.pem)
        yield sim, tmp / "kubeconfig"
    finally:
        sim.stop()


def poll_once(
    doc: Mapping[str, Any],
    tmp: Path,
    *backends: tuple[str, str, int | str],
    faults: tuple[Fault, ...] = (),
    **poll: str,
) -> tuple[MeshState, SourceStatus, KubeStats]:
    return poll_world(render(doc), tmp, *backends, faults=faults, **poll)


def poll_world(
    world: KubeWorld,
    tmp: Path,
    *backends: tuple[str, str, int | str],
    faults: tuple[Fault, ...] = (),
    **poll: str,
) -> tuple[MeshState, SourceStatus, KubeStats]:
    """One poll of a fresh MeshSource against `world`, and the server's request counts."""
    with cluster(world, tmp) as (sim, kubeconfig):
        for fault in faults:
            sim.inject(fault)
        source = MeshSource(mesh_config(kubeconfig, *backends, **poll), watch_options=FAST)
        try:
            state, status = source.poll()
        finally:
            source.close()
        return state, status, sim.stats()


def key_texts(cert_id: str) -> list[str]:
    """Every form the issuer's private key takes in the Secret and in PEM files."""
    cert = CERTS[cert_id]
    trad = cert.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    pems = [trad, cert.key_pem]
    out = [*pems, *(base64.b64encode(p.encode()).decode() for p in (trad, trad.strip()))]
    out += [line for p in pems for line in p.splitlines() if "-----" not in line and line]
    return out


def assert_no_key_material(state: MeshState, status: SourceStatus, cert_id: str) -> None:
    texts = [repr(state), repr(status), *(e.message for e in status.errors)]
    everything = "\n".join(texts)
    assert "PRIVATE KEY" not in everything
    for secret in key_texts(cert_id):
        assert secret not in everything


def endpoints(state: MeshState, key: str) -> list[tuple[str, int, bool, str | None, bool | None]]:
    svc = state.services[key]
    assert svc is not None
    return [(e.address, e.port, e.ready, e.service_account, e.meshed) for e in svc.endpoints]


# -- trust anchors and issuer ------------------------------------------------------------------


def test_2_14_with_a_kubernetes_io_tls_issuer(tmp_path: Path) -> None:
    issuer = {"scheme": "kubernetes.io/tls", "cert": "issuer-2", "chain": ["inter"]}
    state, status, stats = poll_once(scenario(linkerd=linkerd(issuer=issuer)), tmp_path)
    assert status.errors == ()
    assert status.up
    assert (status.source, status.kind) == ("kubernetes", "kubernetes")
    assert set(status.requests) == {"200"}  # discovery GETs, LISTs and WATCH connects
    assert state.anchors is not None
    assert [a.fingerprint_sha256 for a in state.anchors] == fp("anchor-a", "anchor-b")
    assert state.anchors_from == ROOTS
    assert state.issuer is not None
    assert state.issuer.scheme == "kubernetes.io/tls"
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer-2"].sha256
    assert [c.fingerprint_sha256 for c in state.issuer.chain] == fp("inter")
    assert [c.fingerprint_sha256 for c in state.issuer.ca_bundle] == fp("anchor-a")
    assert state.issuer_from == ISSUER_SECRET
    assert state.linkerd_version == "stable-2.14.10"
    assert stats.requests[("list", "secrets")] == 1
    assert ("get", "secrets") not in stats.requests  # everything is listed, then watched
    assert state.config_anchors is not None
    assert [a.fingerprint_sha256 for a in state.config_anchors] == fp("anchor-a", "anchor-b")
    assert state.external_ca is False
    assert state.unknown == frozenset()
    assert_no_key_material(state, status, "issuer-2")


def test_2_10_reads_the_anchors_from_linkerd_config(tmp_path: Path) -> None:
    l5d = linkerd(version="stable-2.10.2", anchors=["anchor-b", "anchor-a"])
    doc = scenario(linkerd=l5d, objects=[])  # 2.10 serves no policy CRDs
    state, status, stats = poll_once(doc, tmp_path)
    assert status.errors == ()
    assert state.anchors is not None
    assert [a.fingerprint_sha256 for a in state.anchors] == fp("anchor-b", "anchor-a")
    assert state.anchors_from == "linkerd/linkerd-config"
    assert state.issuer is not None
    assert state.issuer.scheme == "linkerd.io/tls"
    assert state.linkerd_version == "stable-2.10.2"
    assert state.config_anchors == state.anchors  # the one copy
    assert state.external_ca is False  # 2.10 has no identity.externalCA
    assert state.policy is not None  # no policy CRDs: the defaults alone
    assert state.policy.servers == ()
    assert stats.requests[("list", "configmaps")] == 2  # the trust-roots one lists empty
    assert ("discovery", "/apis/policy.linkerd.io/v1beta1") not in stats.requests


def test_2_12_bundle_with_trailing_newline(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(version="stable-2.12.6"))
    world = render(doc)
    (roots,) = [o for o in world.objects if o["metadata"]["name"] == "linkerd-identity-trust-roots"]
    assert roots["data"]["ca-bundle.crt"].endswith("-----END CERTIFICATE-----\n")
    state, status, _ = poll_once(doc, tmp_path)
    assert status.errors == ()
    assert state.anchors is not None
    assert [a.fingerprint_sha256 for a in state.anchors] == fp("anchor-a", "anchor-b")
    assert state.anchors_from == ROOTS


def test_linkerd_io_tls_issuer_with_a_chain(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(issuer={"cert": "issuer-2", "chain": ["inter"]}))
    state, status, _ = poll_once(doc, tmp_path)
    assert status.errors == ()
    assert state.issuer is not None
    assert state.issuer.scheme == "linkerd.io/tls"
    assert state.issuer.cert.fingerprint_sha256 == CERTS["issuer-2"].sha256
    assert [c.fingerprint_sha256 for c in state.issuer.chain] == fp("inter")
    assert state.issuer.ca_bundle == ()
    assert_no_key_material(state, status, "issuer-2")


def test_issuer_may_be_the_anchor(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(anchors=["anchor-a"], issuer={"cert": "anchor-a"}))
    state, status, _ = poll_once(doc, tmp_path)
    assert status.errors == ()
    assert state.anchors is not None
    assert state.issuer is not None
    assert state.issuer.cert.fingerprint_sha256 == state.anchors[0].fingerprint_sha256
    assert state.issuer.chain == ()
    assert_no_key_material(state, status, "anchor-a")


def test_withheld_issuer_secret_is_unknown_not_fatal(tmp_path: Path) -> None:
    state, status, stats = poll_once(scenario(withhold=WITHHOLD_ISSUER), tmp_path)
    assert state.issuer is None
    assert [(e.reason, e.target) for e in status.errors] == [
        ("http_403", "secret linkerd/linkerd-identity-issuer")
    ]
    assert 'secrets "linkerd-identity-issuer" is forbidden' in status.errors[0].message
    assert not status.up
    assert state.anchors is not None  # everything else is still read
    assert [a.fingerprint_sha256 for a in state.anchors] == fp("anchor-a", "anchor-b")
    assert state.services["ingress/nginx-ingress"] is not None
    assert state.linkerd_version == "stable-2.14.10"
    assert 'the monitor needs "list" and "watch" on secrets (resourceNames: ' in (
        status.errors[0].message
    )
    assert status.requests["403"] >= 1
    assert stats.requests[("list", "secrets")] >= 1
    assert state.unknown == frozenset({"issuer"})
    assert_no_key_material(state, status, "issuer")


def test_what_is_stored_of_secrets_and_pods_holds_no_key_material() -> None:
    world = render(scenario())
    secret = find(world, "Secret", "linkerd-identity-issuer", "linkerd")
    assert set(secret_without_keys(secret)["data"]) == {"crt.pem"}
    pod = next(o for o in world.objects if o["kind"] == "Pod"
               and o["metadata"]["namespace"] == "ingress")  # fmt: skip
    pod["spec"]["containers"][1]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2"}]
    slim = slim_pod(pod)
    assert "hunter2" not in repr(slim)
    assert set(slim["spec"]) == {"containers", "initContainers", "nodeName",
                                 "serviceAccount", "serviceAccountName"}  # fmt: skip
    proxy, app = slim["spec"]["containers"]
    assert [e["name"] for e in proxy["env"]] == ["LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS"]
    assert set(app) == {"name", "ports"}
    assert set(slim["status"]) == {"podIP", "phase", "conditions"}
    assert set(slim["metadata"]) == {"name", "namespace", "labels", "annotations",
                                     "ownerReferences"}  # fmt: skip


# -- endpoints ---------------------------------------------------------------------------------


def test_endpoints_readiness_mesh_membership_and_ports(tmp_path: Path) -> None:
    doc = scenario()
    doc["services"].append(  # an unnamed port, chosen by number
        {"namespace": "ingress", "name": "plain", "selector": {"app": "nginx-ingress"},
         "ports": [{"port": 9000, "targetPort": 8443}]}
    )  # fmt: skip
    plain = ("ingress", "plain", 9000)
    state, status, stats = poll_once(doc, tmp_path, SHOP, WEB, plain)
    assert status.errors == ()
    assert endpoints(state, "ingress/nginx-ingress") == [
        ("10.42.0.11", 8443, True, "nginx-ingress", True),
        ("10.42.1.12", 8443, True, "nginx-ingress", True),
        ("10.42.2.13", 8443, False, "nginx-ingress", True),  # not ready
    ]
    shop = state.services["ingress/nginx-ingress"]
    assert isinstance(shop, ServiceEndpoints)
    assert (shop.namespace, shop.name, shop.port) == ("ingress", "nginx-ingress", "443")
    assert all(e.pod and e.pod.startswith("ingress/nginx-ingress-") for e in shop.endpoints)
    assert shop.identities("linkerd", "cluster.local") == (
        "nginx-ingress.ingress.serviceaccount.identity.linkerd.cluster.local",
    )
    # by port name; the Succeeded pod has no endpoint; the pods are not meshed
    assert endpoints(state, "shop/web") == [("10.42.3.21", 8080, True, "default", False)]
    web = state.services["shop/web"]
    assert web is not None
    assert web.port == "http"
    assert [e.address for e in endpoints_of(state, "ingress/plain")] == [
        "10.42.0.11", "10.42.1.12", "10.42.2.13"
    ]  # fmt: skip
    # one pod LIST per namespace (ingress, shop) plus the control plane's; no pod GETs
    assert stats.requests[("list", "pods")] == 3
    assert ("get", "pods") not in stats.requests
    # one Service and one EndpointSlice LIST per backend namespace, not per boundary
    assert stats.requests[("list", "services")] == 2
    assert stats.requests[("list", "endpointslices.discovery.k8s.io")] == 2
    # the pods behind the boundaries, their proxies' frozen bundles
    assert sorted(k.rsplit("-", 2)[0] for k in state.pods) == [
        "ingress/nginx-ingress", "ingress/nginx-ingress", "ingress/nginx-ingress", "shop/web"
    ]  # fmt: skip
    assert state.proxies is not None
    assert sorted(p.anchors or () for p in state.proxies) == [
        tuple(fp("anchor-a")), tuple(fp("anchor-a", "anchor-b")), tuple(fp("anchor-a", "anchor-b"))
    ]  # fmt: skip


def endpoints_of(state: MeshState, key: str) -> tuple[Any, ...]:
    svc = state.services[key]
    assert svc is not None
    return svc.endpoints


def test_native_sidecar_counts_as_meshed(tmp_path: Path) -> None:
    doc = scenario(linkerd=linkerd(version="version-2.18"))
    doc["workloads"][0]["nativeSidecar"] = True
    state, status, _ = poll_once(doc, tmp_path, SHOP)
    assert status.errors == ()
    assert [e[4] for e in endpoints(state, "ingress/nginx-ingress")] == [True, True, True]


def test_missing_service_or_port_is_a_fact_not_an_error(tmp_path: Path) -> None:
    gone = ("ingress", "gone", 443)
    wrong_port = ("ingress", "nginx-ingress", "metrics")
    state, status, stats = poll_once(scenario(), tmp_path, gone, wrong_port, WEB)
    assert status.errors == ()
    assert status.up
    assert state.services["ingress/gone"] == ServiceEndpoints("ingress", "gone", "443", ())
    assert state.services["ingress/nginx-ingress"] == ServiceEndpoints(
        "ingress", "nginx-ingress", "metrics", ()
    )
    # ingress's pods are watched for the Service that exists (they are its pods)
    assert stats.requests[("list", "pods")] == 3
    assert state.proxies is not None
    assert len(state.proxies) == 3  # nginx-ingress's: it exists, whatever the port


# -- failures as data --------------------------------------------------------------------------


def test_503_on_discovery_leaves_policy_and_cert_manager_unknown(tmp_path: Path) -> None:
    fault = Fault("kubernetes", "http503", count=1)  # the first request: GET /apis
    state, status, _ = poll_once(scenario(), tmp_path, faults=(fault,))
    assert [(e.reason, e.target) for e in status.errors] == [("http_5xx", "discovery /apis")]
    assert "HTTP 503" in status.errors[0].message
    assert "unable to handle the request" in status.errors[0].message
    assert not status.up
    assert (state.policy, state.issuer_certificate) == (None, None)
    assert state.unknown == frozenset({"policy", "issuer_certificate"})
    assert state.anchors is not None  # the watches were started all the same
    assert state.issuer is not None
    assert all(v is not None for v in state.services.values())
    assert status.requests["503"] == 1


def test_503_everywhere_leaves_everything_unknown(tmp_path: Path) -> None:
    fault = Fault("kubernetes", "http503", count=1000)
    state, status, _ = poll_once(scenario(), tmp_path, faults=(fault,))
    assert {e.reason for e in status.errors} == {"http_5xx"}
    # 5xx is not fatal: every collection was tried, each names itself
    assert {e.target for e in status.errors} >= {
        "discovery /apis", f"configmap {ROOTS}", "configmap linkerd/linkerd-config",
        f"secret {ISSUER_SECRET}", "services ingress", "services shop",
    }  # fmt: skip
    assert (state.anchors, state.issuer, state.linkerd_version) == (None, None, "")
    assert state.services == {"ingress/nginx-ingress": None, "shop/web": None}
    assert (state.proxies, state.policy, state.config_anchors) == (None, None, None)
    assert state.unknown == frozenset(
        {"anchors", "issuer", "config_anchors", "external_ca", "proxies", "policy",
         "issuer_certificate"}
    )  # fmt: skip


def test_reset_is_a_transport_error(tmp_path: Path) -> None:
    fault = Fault("kubernetes", "reset", count=1)
    state, status, _ = poll_once(scenario(), tmp_path, faults=(fault,))
    assert [(e.reason, e.target) for e in status.errors] == [("protocol_error", "discovery /apis")]
    assert state.policy is None
    assert state.anchors is not None
    assert status.requests["error"] == 1


def test_truncated_body_is_an_error_of_that_request(tmp_path: Path) -> None:
    fault = Fault("kubernetes", "truncate", count=1)  # half the body
    state, status, _ = poll_once(scenario(), tmp_path, faults=(fault,))
    assert [(e.reason, e.target) for e in status.errors] == [("protocol_error", "discovery /apis")]
    assert state.policy is None
    assert state.anchors is not None


def test_unparseable_values_is_bad_json(tmp_path: Path) -> None:
    world = render(scenario())
    find(world, "ConfigMap", "linkerd-config", "linkerd")["data"]["values"] = "a: [b\n"
    state, status, stats = poll_world(world, tmp_path)
    assert [(e.reason, e.target) for e in status.errors] == [
        ("bad_json", "configmap linkerd/linkerd-config")
    ]
    assert "not valid YAML" in status.errors[0].message
    assert state.anchors is not None  # from the trust-roots ConfigMap
    assert state.issuer is None  # its scheme is unknown
    assert state.unknown == frozenset(
        {"issuer", "config_anchors", "external_ca", "policy"}
    )  # the policy's defaults live in the values too
    assert state.proxies is not None
    assert stats.requests[("list", "secrets")] == 1


@pytest.mark.parametrize(
    ("bundle", "problem"),
    [
        ("", "empty"),
        ("-----BEGIN CERTIFICATE-----\nMIIB\n", "truncated_pem"),
        ("just text", "no_certificate"),
    ],
)
def test_bad_trust_bundle_is_bad_pem(tmp_path: Path, bundle: str, problem: str) -> None:
    world = render(scenario())
    find(world, "ConfigMap", "linkerd-identity-trust-roots", "linkerd")["data"] = {
        "ca-bundle.crt": bundle
    }
    state, status, _ = poll_world(world, tmp_path)
    assert [(e.reason, e.target) for e in status.errors] == [("bad_pem", f"configmap {ROOTS}")]
    assert problem in status.errors[0].message
    assert state.anchors is None
    assert state.issuer is not None


def test_timeout_stops_the_poll_after_one_error(tmp_path: Path) -> None:
    fault = Fault("kubernetes", "latency", count=1, delay=1.5)
    state, status, stats = poll_once(scenario(), tmp_path, faults=(fault,), timeout="1s")
    assert [(e.reason, e.target) for e in status.errors] == [("timeout", "discovery /apis")]
    assert state == MeshState(
        anchors_from=ROOTS, issuer_from=ISSUER_SECRET,
        services={"ingress/nginx-ingress": None, "shop/web": None},
        unknown=frozenset({"anchors", "issuer", "config_anchors", "external_ca", "proxies",
                           "policy", "issuer_certificate"}),
    )  # fmt: skip
    assert status.duration_seconds < 1.5
    # nothing else was sent: no watch is started while the API server does not answer
    assert sum(n for (verb, _), n in stats.requests.items() if verb != "fault") <= 1


def test_wrong_token_is_http_401_once(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (sim, kubeconfig):
        doc = yaml.safe_load(kubeconfig.read_text())
        doc["users"][0]["user"]["token"] = "wrong-token"
        kubeconfig.write_text(yaml.safe_dump(doc))
        source = MeshSource(mesh_config(kubeconfig))
        state, status = source.poll()
        source.close()
        unauthorized = sum(n for (verb, _), n in sim.stats().requests.items()
                           if verb == "unauthorized")  # fmt: skip
    assert [(e.reason, e.target) for e in status.errors] == [("http_401", "discovery /apis")]
    assert status.requests == {"401": 1}
    assert unauthorized == 1  # the rest of the poll is not sent
    assert state.anchors is None
    assert state.issuer is None
    assert set(state.services.values()) == {None}
    assert "wrong-token" not in repr(status)


def test_untrusted_server_certificate_is_tls_error(tmp_path: Path) -> None:
    other_ca, _ = sim_server_identity(NOW, "someone-else")
    with cluster(scenario(), tmp_path) as (_, kubeconfig):
        doc = yaml.safe_load(kubeconfig.read_text())
        doc["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
            other_ca.pem.encode()
        ).decode()
        kubeconfig.write_text(yaml.safe_dump(doc))
        source = MeshSource(mesh_config(kubeconfig))
        state, status = source.poll()
        source.close()
    assert [e.reason for e in status.errors] == ["tls_error"]
    assert state.anchors is None


def test_nobody_listening_is_connect_error(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (_, kubeconfig):
        pass  # stopped: the port is closed now
    source = MeshSource(mesh_config(kubeconfig))
    state, status = source.poll()
    source.close()
    assert [e.reason for e in status.errors] == ["connect_error"]
    assert status.requests == {"error": 1}
    assert state.anchors is None


def test_missing_kubeconfig_is_an_error_value(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "kubeconfig"
    source = MeshSource(mesh_config(missing))  # does not raise
    state, status = source.poll()
    source.close()
    assert state == MeshState(
        anchors_from=ROOTS, issuer_from=ISSUER_SECRET,
        services={"ingress/nginx-ingress": None, "shop/web": None},
        unknown=frozenset({"anchors", "issuer", "config_anchors", "external_ca", "proxies",
                           "policy", "issuer_certificate"}),
    )  # fmt: skip
    assert not status.up
    assert [e.reason for e in status.errors] == ["credentials_unreadable"]
    assert str(missing) in status.errors[0].message
    assert "file not found" in status.errors[0].message


def test_kubeconfig_appearing_later_is_picked_up(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (_, kubeconfig):
        later = tmp_path / "later"
        source = MeshSource(mesh_config(later))
        assert source.poll()[1].errors[0].reason == "credentials_unreadable"
        later.write_text(kubeconfig.read_text())
        state, status = source.poll()
        source.close()
    assert status.errors == ()
    assert state.anchors is not None


def test_bad_kubeconfig_is_named_but_not_echoed(tmp_path: Path) -> None:
    bad = tmp_path / "kubeconfig"
    bad.write_text("users:\n  - name: x\n    user: {token: sekret-token-123\n")
    source = MeshSource(mesh_config(bad))
    _, status = source.poll()
    assert [e.reason for e in status.errors] == ["credentials_unreadable"]
    assert str(bad) in status.errors[0].message
    assert "sekret" not in status.errors[0].message


def test_no_in_cluster_environment_is_an_error_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    cfg = mesh_config(tmp_path / "unused")
    cfg = dataclasses.replace(cfg, mesh=dataclasses.replace(cfg.mesh, kubeconfig=None))
    _, status = MeshSource(cfg).poll()
    assert [e.reason for e in status.errors] == ["connect_error"]
    assert "in-cluster" in status.errors[0].message


def test_an_injected_client_wins(tmp_path: Path) -> None:
    from kubernetes import config

    with cluster(scenario(), tmp_path) as (_, kubeconfig):
        api = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig), persist_config=False
        )
        source = MeshSource(mesh_config(tmp_path / "does-not-exist"), api_client=api)
        state, status = source.poll()
        source.close()
    assert status.errors == ()
    assert state.anchors is not None
