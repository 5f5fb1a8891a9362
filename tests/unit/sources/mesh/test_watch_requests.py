"""What the mesh source asks of the Kubernetes API, counted by the simulated API server.

Against the demo world (the demo's own expected-state file): start-up lists and watches
every collection once; steady-state polls send nothing at all; a forced `410 Gone` costs
exactly one relist per collection; timeline changes reach the next poll through the open
watches. Against the test cluster: a withheld issuer Secret is an `http_403` naming the
object and the grant, and the rest is still read; a changed Service selector swaps the pod
watch.
"""

from __future__ import annotations

import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config.schema import load_config
from monitor.demo import DEMO_SCENARIO
from monitor.model import MeshState, SourceStatus
from monitor.simulate.faults import Fault
from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.simulate.scenario import PatchOp, TimelineEvent
from monitor.simulate.world import Scenario, World
from monitor.sources.mesh.source import MeshSource
from tests.support.sim_kube import CA, TOKEN, linkerd, render, scenario
from tests.unit.sources.mesh.test_source import FAST, cluster, mesh_config

# The watches one poll keeps open for the demo's expected state (one boundary, backend
# Service ingress/nginx-ingress, Linkerd 2.14 with cert-manager): (verb, resource) → count.
DEMO_WATCHES = {
    "configmaps": 2,  # linkerd-identity-trust-roots, linkerd-config (by name)
    "secrets": 1,  # linkerd-identity-issuer (by name, without private keys)
    "pods": 2,  # the control plane's (the version), ingress's (app=nginx-ingress)
    "certificates.cert-manager.io": 1,  # in namespace linkerd
    "services": 1,  # ingress/nginx-ingress (by name)
    "endpointslices.discovery.k8s.io": 1,  # kubernetes.io/service-name=nginx-ingress
    "namespaces": 1,  # ingress (by name)
    "servers.policy.linkerd.io": 1,
    "serverauthorizations.policy.linkerd.io": 1,
    "authorizationpolicies.policy.linkerd.io": 1,
    "meshtlsauthentications.policy.linkerd.io": 1,
    "networkauthentications.policy.linkerd.io": 1,
    "httproutes.policy.linkerd.io": 1,  # AuthorizationPolicy targets (names only)
    "serviceaccounts": 2,  # f5-edge and monitoring: the ingress MeshTLSAuthentications name them
}
OPEN = sum(DEMO_WATCHES.values())
DISCOVERY = {  # 2.14 serves policy.linkerd.io v1alpha1, v1beta1 and (HTTPRoute) v1beta2/3
    "/apis", "/apis/policy.linkerd.io/v1alpha1", "/apis/policy.linkerd.io/v1beta1",
    "/apis/policy.linkerd.io/v1beta2", "/apis/policy.linkerd.io/v1beta3",
    "/apis/cert-manager.io/v1",
}  # fmt: skip


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def by_verb(sim: SimulatedKubernetes, verb: str) -> Counter[str]:
    return by_kind(sim.stats().requests, verb)


def by_kind(counted: Mapping[tuple[str, str], int], verb: str) -> Counter[str]:
    return Counter({what: n for (v, what), n in counted.items() if v == verb})


class Demo:
    """The demo world, and a MeshSource on its expected-state file."""

    def __init__(self, tmp: Path) -> None:
        self.world = World(Scenario.load(DEMO_SCENARIO))
        self.world.start(play_timeline=False)
        files = self.world.write_outputs(tmp)
        self.source = MeshSource(load_config(files["config"]))
        self.sim = self.world.kube

    def poll(self) -> tuple[MeshState, SourceStatus]:
        state, status = self.source.poll()
        assert status.errors == ()
        return state, status

    def patch(self, *ops: tuple[str, str, Any]) -> None:
        patch = tuple(PatchOp(op, path, value, "test") for op, path, value in ops)
        self.world.apply(TimelineEvent(timedelta(0), "test change", patch, None, "test"))

    def close(self) -> None:
        self.source.close()
        self.world.stop()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    world = Demo(tmp_path)
    try:
        yield world
    finally:
        world.close()


def started(demo: Demo) -> tuple[MeshState, Counter[str]]:
    """The first poll, and the requests start-up made once every watch stream is open (a
    stream the server counts may reach the client's counters a moment later)."""
    state, status = demo.poll()
    assert state.unknown == frozenset()
    assert eventually(lambda: demo.sim.stats().open_watches == OPEN)
    total = settle(demo, Counter(status.requests), Counter({"200": len(DISCOVERY) + 2 * OPEN}))
    return state, total


def settle(demo: Demo, total: Counter[str], want: Counter[str]) -> Counter[str]:
    """`total` plus the requests of further polls, until it reaches `want`."""

    def reached() -> bool:
        total.update(demo.poll()[1].requests)
        return total == want

    assert eventually(reached), total
    return total


def test_start_up_lists_each_collection_once_then_polls_send_nothing(demo: Demo) -> None:
    _, requests = started(demo)
    assert requests == {"200": 6 + 2 * OPEN}  # discovery, then a LIST and a WATCH each
    assert by_verb(demo.sim, "list") == DEMO_WATCHES
    assert by_verb(demo.sim, "watch") == DEMO_WATCHES
    assert set(by_verb(demo.sim, "discovery")) == DISCOVERY
    assert all(n == 1 for n in by_verb(demo.sim, "discovery").values())
    assert not by_verb(demo.sim, "get")  # no per-object reads at all
    before = demo.sim.stats().requests
    for _ in range(5):
        state, status = demo.poll()
        assert status.requests == {}
        assert state.unknown == frozenset()
    assert demo.sim.stats().requests == before  # not one request more: no LIST, no GET
    assert demo.sim.stats().open_watches == OPEN  # the same streams, still open


def test_watch_expired_relists_each_collection_exactly_once(demo: Demo) -> None:
    started(demo)
    demo.sim.inject(Fault(target="kubernetes", type="watchExpire"))
    twice = Counter({k: 2 * n for k, n in DEMO_WATCHES.items()})
    assert eventually(lambda: by_verb(demo.sim, "watch") == twice)
    assert by_verb(demo.sim, "list") == twice  # one relist per collection, no more
    # each stream's 410, then its relist and re-watch
    settle(demo, Counter(), Counter({"200": 2 * OPEN, "410": OPEN}))
    assert demo.poll()[0].unknown == frozenset()
    for _ in range(3):
        assert demo.poll()[1].requests == {}
    assert by_verb(demo.sim, "list") == twice


def test_timeline_changes_show_in_the_next_poll_without_listing(demo: Demo) -> None:
    state, _ = started(demo)
    assert state.anchors is not None
    assert len(state.anchors) == 2
    lists = by_verb(demo.sim, "list")
    demo.patch(
        ("add", "/certificates/anchor-c", {"cn": "root-c.linkerd.cluster.local", "ca": True}),
        ("add", "/kubernetes/linkerd/anchors/-", "anchor-c"),
    )

    def anchors() -> int:
        return len(demo.poll()[0].anchors or ())

    assert eventually(lambda: anchors() == 3)
    demo.patch(("replace", "/kubernetes/workloads/name=nginx-ingress/pods/0/ready", False))

    def ready() -> list[tuple[str, bool]]:
        shop = demo.poll()[0].services["ingress/nginx-ingress"]
        assert shop is not None
        return [(e.address, e.ready) for e in shop.endpoints]

    want = [("10.42.0.11", False), ("10.42.1.12", True), ("10.42.2.13", True)]
    assert eventually(lambda: ready() == want)
    state, status = demo.poll()
    assert status.requests == {}
    assert by_verb(demo.sim, "list") == lists  # every change came through a watch
    assert state.proxies is not None
    assert {len(p.anchors or ()) for p in state.proxies} == {3}  # restarted with it


def test_withheld_issuer_secret_is_http_403_and_the_rest_is_read(tmp_path: Path) -> None:
    withhold = [{"resource": "secrets", "namespace": "linkerd", "name": "linkerd-identity-issuer"}]
    with cluster(scenario(withhold=withhold), tmp_path) as (sim, kubeconfig):
        source = MeshSource(mesh_config(kubeconfig), watch_options=FAST)
        try:
            state, status = source.poll()
        finally:
            source.close()
        assert by_verb(sim, "list")["secrets"] >= 1
    assert [(e.reason, e.target) for e in status.errors] == [
        ("http_403", "secret linkerd/linkerd-identity-issuer")
    ]
    assert status.errors[0].message == (
        'secret linkerd/linkerd-identity-issuer: forbidden: secrets "linkerd-identity-issuer"'
        ' is forbidden: User "system:serviceaccount:monitoring:f5-linkerd-monitor" cannot list'
        ' resource "secrets" in API group "" in the namespace "linkerd"; the monitor needs'
        ' "list" and "watch" on secrets (resourceNames: linkerd-identity-issuer) in namespace'
        " linkerd"
    )
    assert not status.up
    assert state.issuer is None
    assert state.unknown == frozenset({"issuer"})
    assert state.anchors is not None  # everything else was read
    assert state.config_anchors is not None
    assert state.proxies is not None
    assert state.policy is not None
    assert all(v is not None for v in state.services.values())
    assert state.linkerd_version == "stable-2.14.10"


def test_a_changed_selector_swaps_the_pod_watch(tmp_path: Path) -> None:
    web = ("shop", "web", "http")
    # the control plane's 4 (no cert-manager here), Service, slices, Namespace, pods, and
    # the five policy kinds and HTTPRoutes (no MeshTLSAuthentication: no ServiceAccounts)
    watches = 14
    with cluster(scenario(), tmp_path) as (sim, kubeconfig):
        source = MeshSource(mesh_config(kubeconfig, web), watch_options=FAST)
        try:
            source.poll()
            assert eventually(lambda: sim.stats().open_watches == watches)
            assert by_verb(sim, "list")["pods"] == 2
            doc = scenario()
            doc["services"][1]["selector"] = {"app": "web", "tier": "backend"}
            sim.update(render(doc))

            def swapped() -> bool:
                source.poll()
                return by_verb(sim, "list")["pods"] == 3

            assert eventually(swapped)  # one LIST for the new selector's watch
            assert eventually(lambda: by_verb(sim, "watch")["pods"] == 3)  # and its WATCH
            assert eventually(lambda: sim.stats().open_watches == watches)  # the old one ended
            state, status = source.poll()
            assert status.errors == ()
            shop = state.services["shop/web"]
            assert shop is not None
            assert [e.address for e in shop.endpoints] == ["10.42.3.21"]
            before = sim.stats().requests
            for _ in range(3):
                source.poll()
            assert sim.stats().requests == before  # steady again
        finally:
            source.close()


def test_kinds_the_cluster_does_not_serve_are_never_asked_for(tmp_path: Path) -> None:
    old = scenario(linkerd=linkerd(version="stable-2.10.2"), objects=[])  # no CRDs at all
    with cluster(old, tmp_path) as (sim, kubeconfig):
        probe = f"{sim.url}/apis/policy.linkerd.io/v1beta1/servers"
        tls = ssl.create_default_context(cadata=CA.pem)
        with httpx.Client(verify=tls) as http:  # the simulator counts it as not served
            answer = http.get(probe, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status_code == 404
        source = MeshSource(mesh_config(kubeconfig), watch_options=FAST)
        try:
            state, status = source.poll()
            assert status.errors == ()
            for _ in range(3):
                source.poll()
        finally:
            source.close()
        counted = sim.stats().requests
    assert state.policy is not None  # the defaults alone
    assert (state.issuer_certificate, state.unknown) == (None, frozenset())
    assert by_kind(counted, "discovery") == {"/apis": 1}  # neither group is served
    assert by_kind(counted, "not_served") == {"/apis/policy.linkerd.io/v1beta1/servers": 1}
    assert not any("policy.linkerd.io" in what or "cert-manager" in what
                   for verb, what in counted if verb in ("list", "watch"))  # fmt: skip
