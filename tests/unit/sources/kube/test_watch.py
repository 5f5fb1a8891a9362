"""The watch layer (`monitor.sources.kube.watch`) against the simulated Kubernetes API over TLS."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from monitor.config.schema import MeshConfig
from monitor.simulate.faults import Fault
from monitor.simulate.httpserver import server_tls_context
from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.sources.kube.client import build_api_client
from monitor.sources.kube.collection import WatchedCollection
from monitor.sources.kube.spec import (
    CollectionView,
    WatchSpec,
    WatchStats,
    secret_without_keys,
)
from monitor.sources.kube.watch import WatchSet
from tests.support.sim_kube import CA, LEAF, linkerd, render, scenario

FAST: dict[str, Any] = {"watch_timeout": (30.0, 30.0), "backoff": (0.05, 0.2),
                        "request_timeout": 5.0}  # fmt: skip
ISSUER = WatchSpec.of(
    "secrets",
    "linkerd",
    name="linkerd-identity-issuer",
    target="secret linkerd/linkerd-identity-issuer",
    transform=secret_without_keys,
)
INGRESS_PODS = WatchSpec.of("pods", "ingress")
POD = ("", "pods")


@contextlib.contextmanager
def cluster(doc: dict[str, Any], tmp: Path) -> Iterator[tuple[SimulatedKubernetes, Any]]:
    """A simulated API server and an API client for it (no urllib3 retries, as in production)."""
    sim = SimulatedKubernetes(render(doc), server_tls_context(LEAF))
    sim.start()
    try:
        sim.write_kubeconfig(tmp / "kubeconfig", CA.pem, namespace="linkerd")
        api = build_api_client(MeshConfig(kubeconfig=tmp / "kubeconfig"))
        try:
            yield sim, api
        finally:
            api.close()  # type: ignore[no-untyped-call]
    finally:
        sim.stop()


@contextlib.contextmanager
def watching(api: client.ApiClient, spec: WatchSpec, **options: Any) -> Iterator[WatchedCollection]:
    collection = WatchedCollection(api, spec, **{**FAST, **options})
    collection.start()
    try:
        yield collection
    finally:
        collection.stop()
        assert not collection.alive


@contextlib.contextmanager
def watch_set(api: client.ApiClient, **options: Any) -> Iterator[WatchSet]:
    watches = WatchSet(api, **{**FAST, **options})
    try:
        yield watches
    finally:
        watches.stop_all()


def eventually(check: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def served(sim: SimulatedKubernetes, namespace: str) -> list[dict[str, Any]]:
    """The pods of a namespace as the simulated API stores (and serves) them."""
    _, objs = sim.store.snapshot(POD)
    return [o for o in objs if o["metadata"]["namespace"] == namespace]


def names(view: CollectionView) -> list[str]:
    return [o["metadata"]["name"] for o in view.items]


def names_of(objs: list[dict[str, Any]]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def requests(sim: SimulatedKubernetes, verb: str, resource: str = "pods") -> int:
    return sim.stats().requests.get((verb, resource), 0)


# -- specs ------------------------------------------------------------------------------------


def test_spec_paths_targets_and_rbac_hints() -> None:
    assert INGRESS_PODS.api_path == "/api/v1/namespaces/ingress/pods"
    assert INGRESS_PODS.target == "pods ingress"
    assert ISSUER.field_selector == "metadata.name=linkerd-identity-issuer"
    assert ISSUER.rbac_hint == (
        '"list" and "watch" on secrets (resourceNames: linkerd-identity-issuer) '
        "in namespace linkerd"
    )
    slices = WatchSpec.of("endpointslices", "ingress", group="discovery.k8s.io",
                          label_selector="kubernetes.io/service-name=web")  # fmt: skip
    assert slices.api_path == "/apis/discovery.k8s.io/v1/namespaces/ingress/endpointslices"
    assert slices.target == "endpointslices ingress (kubernetes.io/service-name=web)"
    assert (
        slices.rbac_hint
        == '"list" and "watch" on endpointslices.discovery.k8s.io in namespace ingress'
    )
    everywhere = WatchSpec.of("namespaces")
    assert everywhere.api_path == "/api/v1/namespaces"
    assert everywhere.rbac_hint == '"list" and "watch" on namespaces cluster-wide'
    assert WatchSpec("/api/v1/pods", "pods", rbac="ClusterRole x").rbac_hint == "ClusterRole x"
    assert WatchSpec.of("pods", "shop") == WatchSpec.of("pods", "shop")  # the same watch
    with pytest.raises(ValueError, match="not a Kubernetes collection path"):
        WatchSpec("/api/v1/namespaces/linkerd/configmaps/linkerd-config", "x")
    total = WatchStats(lists=1, events={"ADDED": 2}) + WatchStats(lists=2, events={"ADDED": 1})
    assert (total.lists, total.events) == (3, {"ADDED": 3})


def test_secret_without_keys_drops_private_keys_and_annotations() -> None:
    secret = {
        "kind": "Secret",
        "metadata": {"name": "s", "annotations": {"last-applied": "{...tls.key...}"}},
        "data": {"tls.crt": "Y3J0", "tls.key": "a2V5", "key.pem": "a2V5", "x.key": "a2V5"},
    }
    out = secret_without_keys(secret)
    assert out == {"kind": "Secret", "metadata": {"name": "s"}, "data": {"tls.crt": "Y3J0"}}
    assert "tls.key" in secret["data"]  # the input is not changed


# -- list, watch, selectors -----------------------------------------------------------------


def test_list_then_watch_applies_changes_without_listing_again(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (sim, api), watching(api, INGRESS_PODS) as pods:
        assert pods.wait_synced(5)
        view = pods.snapshot()
        assert (view.synced, view.error, view.absent) == (True, None, False)
        assert list(view.items) == served(sim, "ingress")  # with apiVersion and kind
        assert view.resource_version == str(sim.store.rv)
        assert eventually(lambda: sim.stats().open_watches == 1)
        before, before_rv = names(view), str(view.resource_version)

        doc = scenario()
        pods_doc = doc["workloads"][0]["pods"]
        pods_doc[2]["ready"] = True  # modified
        del pods_doc[1]  # deleted
        pods_doc.append({"ip": "10.42.0.99"})  # added
        sim.update(render(doc))
        expected = served(sim, "ingress")
        assert eventually(lambda: list(pods.snapshot().items) == expected, 1.5)
        view = pods.snapshot()
        assert set(names(view)) != set(before)
        assert (view.synced, view.error, view.watching) == (True, None, True)
        assert int(view.resource_version or 0) > int(before_rv)

        stats = pods.stats()
        assert (stats.lists, stats.relists, stats.list_pages) == (1, 0, 1)
        assert (stats.watch_connects, stats.watch_reconnects) == (1, 0)
        assert stats.events == {"ADDED": 1, "MODIFIED": 1, "DELETED": 1}
        assert stats.errors == {}
        assert requests(sim, "list") == 1  # no further LIST
        assert requests(sim, "watch") == 1
        assert sim.stats().open_watches == 1  # still the same stream


def test_paged_list(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (sim, api), watching(api, INGRESS_PODS,
                                                               page_size=1) as pods:  # fmt: skip
        assert pods.wait_synced(5)
        assert list(pods.snapshot().items) == served(sim, "ingress")
        assert (pods.stats().lists, pods.stats().list_pages) == (1, 3)
        assert requests(sim, "list") == 3


def test_field_and_label_selectors_narrow_what_is_stored(tmp_path: Path) -> None:
    config = WatchSpec.of("configmaps", "linkerd", name="linkerd-config")
    web = WatchSpec.of("pods", "shop", label_selector="app=web")
    running = WatchSpec("/api/v1/pods", "pods", label_selector="tier in (edge, backend)",
                        field_selector="status.phase=Running")  # fmt: skip
    with cluster(scenario(), tmp_path) as (sim, api), watch_set(api) as watches:
        watches.ensure([config, web, running])
        assert watches.wait_synced(5)
        assert names(watches.get(config)) == ["linkerd-config"]
        assert watches.get(config).find("linkerd", "linkerd-config") is not None
        assert watches.get(config).find("linkerd", "linkerd-identity-trust-roots") is None
        assert names(watches.get(web)) == names_of(served(sim, "shop"))
        expected = [o for o in served(sim, "ingress") + served(sim, "shop")
                    if o["status"]["phase"] == "Running"]  # fmt: skip
        assert len(expected) == 4
        assert names(watches.get(running)) == names_of(expected)
        doc = scenario()
        doc["workloads"][1]["labels"] = {"app": "other", "tier": "backend"}  # leaves app=web
        sim.update(render(doc))
        assert eventually(lambda: watches.get(web).items == ())
        assert watches.get(web).error is None
        stats = watches.stats()
        assert stats.events.get("DELETED", 0) >= 2
        assert (stats.lists, stats.relists, stats.watch_connects) == (3, 0, 3)
        assert requests(sim, "list", "configmaps") == 1


# -- resourceVersions: bookmarks, clean ends, 410 -------------------------------------------


def test_bookmarks_advance_the_version_and_clean_ends_rewatch_without_listing(
    tmp_path: Path,
) -> None:
    with cluster(scenario(), tmp_path) as (sim, api):
        sim.bookmark_interval = 0.2
        spec = WatchSpec.of("configmaps", "linkerd")
        with watching(api, spec, watch_timeout=(1.0, 1.0)) as maps:
            assert maps.wait_synced(5)
            listed = int(maps.snapshot().resource_version or 0)
            doc = scenario()
            doc["workloads"][0]["pods"][2]["ready"] = True  # a pod changes, no ConfigMap does
            sim.update(render(doc))
            assert sim.store.rv > listed
            assert eventually(lambda: maps.snapshot().resource_version == str(sim.store.rv))
            views = []
            deadline = time.monotonic() + 2.6
            while time.monotonic() < deadline:  # spans at least two clean stream ends
                views.append(maps.snapshot())
                time.sleep(0.01)
            stats = maps.stats()
        assert all(v.error is None and v.synced for v in views)  # reconnecting is no error
        assert stats.watch_ends >= 2
        assert stats.watch_reconnects >= 2
        assert stats.watch_connects == stats.watch_reconnects + 1
        assert (stats.lists, stats.relists) == (1, 0)
        assert stats.events.get("BOOKMARK", 0) >= 2
        assert set(stats.events) == {"BOOKMARK"}
        assert stats.errors == {}
        assert requests(sim, "list", "configmaps") == 1
        assert requests(sim, "watch", "configmaps") == stats.watch_connects


def test_watch_expired_relists_exactly_once_then_watches_again(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (sim, api), watching(api, INGRESS_PODS) as pods:
        assert pods.wait_synced(5)
        assert eventually(lambda: sim.stats().open_watches == 1)
        sim.inject(Fault(target="kubernetes", type="watchExpire"))
        assert eventually(lambda: pods.stats().watch_connects == 2)
        stats = pods.stats()
        assert (stats.lists, stats.relists, stats.watch_reconnects) == (2, 1, 0)
        assert stats.events.get("ERROR") == 1
        assert stats.errors == {}  # 410 is handled, not a failure
        assert requests(sim, "list") == 2
        doc = scenario()
        doc["workloads"][0]["pods"][0]["ready"] = False
        sim.update(render(doc))
        expected = served(sim, "ingress")
        assert eventually(lambda: list(pods.snapshot().items) == expected)
        view = pods.snapshot()
        assert (view.synced, view.error, view.watching) == (True, None, True)
        newest = max(int(o["metadata"]["resourceVersion"]) for o in expected)
        assert view.resource_version == str(newest)
        assert (pods.stats().lists, pods.stats().relists) == (2, 1)
        assert sim.stats().open_watches == 1


# -- failures ---------------------------------------------------------------------------------


def test_forbidden_names_the_object_and_the_grant_then_recovers(tmp_path: Path) -> None:
    withhold = [{"resource": "secrets", "namespace": "linkerd", "name": "linkerd-identity-issuer"}]
    custom = WatchSpec.of("secrets", "linkerd", name="linkerd-identity-issuer",
                          transform=secret_without_keys,
                          rbac="Role linkerd/f5-linkerd-monitor")  # fmt: skip
    with cluster(scenario(withhold=withhold), tmp_path) as (sim, api), watch_set(api) as watches:
        watches.ensure([ISSUER, custom])
        start = time.monotonic()
        assert not watches.wait_synced(5)
        assert time.monotonic() - start < 2  # a failed first LIST does not wait out the timeout
        view = watches.get(ISSUER)
        assert (view.synced, view.items) == (False, ())
        assert view.error is not None
        assert (view.error.reason, view.error.target) == ("http_403", ISSUER.target)
        message = view.error.message
        assert message.startswith("secret linkerd/linkerd-identity-issuer: forbidden: secrets ")
        assert (
            'is forbidden: User "system:serviceaccount:monitoring:f5-linkerd-monitor" cannot '
            'list resource "secrets" in API group "" in the namespace "linkerd"; the monitor '
            'needs "list" and "watch" on secrets (resourceNames: linkerd-identity-issuer) in '
            "namespace linkerd"
        ) in message
        other = watches.get(custom).error
        assert other is not None
        assert other.message.endswith("; the monitor needs Role linkerd/f5-linkerd-monitor")
        assert watches.stats().errors["http_403"] >= 2

        sim.update(render(scenario()))  # the grant is given
        assert eventually(lambda: all(watches.get(s).error is None for s in (ISSUER, custom)), 3)
        assert watches.wait_synced(1)
        view = watches.get(ISSUER)
        assert (view.synced, names(view)) == (True, ["linkerd-identity-issuer"])
        assert set(view.items[0]["data"]) == {"crt.pem"}  # key.pem never stored
        assert view.error_since is None


def test_html_500_on_the_first_list_is_retried(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (sim, api):
        sim.inject(Fault(target="kubernetes", type="http500html", count=1))
        with watching(api, INGRESS_PODS, backoff=(0.5, 0.5)) as pods:
            assert not pods.wait_synced(5)
            error = pods.snapshot().error
            assert error is not None
            assert error.reason == "http_5xx"
            assert error.message == (
                'pods ingress: HTTP 500: HTML error page "500 Internal Server Error"'
            )
            assert pods.snapshot().error_since is not None
            assert eventually(lambda: pods.wait_synced(0.1), 3)
            assert pods.snapshot().error is None
            assert (pods.stats().lists, pods.stats().errors) == (2, {"http_5xx": 1})


@pytest.mark.parametrize(
    ("fault", "reason"), [("http503", "http_5xx"), ("reset", "protocol_error")]
)
def test_a_fault_while_watching_sets_error_until_the_watch_reconnects(
    tmp_path: Path, fault: str, reason: str
) -> None:
    with cluster(scenario(), tmp_path) as (sim, api):
        with watching(api, INGRESS_PODS, watch_timeout=(1.0, 1.0)) as pods:
            assert pods.wait_synced(5)
            assert eventually(lambda: sim.stats().open_watches == 1)
            sim.inject(Fault(target="kubernetes", type=fault, seconds=1.5))  # the next reconnect
            assert eventually(lambda: pods.snapshot().error is not None, 2)
            view = pods.snapshot()
            assert view.error is not None
            assert (view.error.reason, view.error.target) == (reason, "pods ingress")
            assert view.synced  # the stored data stays, marked by the error
            assert list(view.items) == served(sim, "ingress")
            assert eventually(lambda: pods.snapshot().error is None, 3)
            assert eventually(lambda: pods.snapshot().watching)
            stats = pods.stats()
            assert (stats.lists, stats.relists) == (1, 0)  # no relist without 410
            assert stats.errors[reason] >= 1
            assert stats.watch_reconnects >= 1
            assert requests(sim, "list") == 1
            start = time.monotonic()
            pods.stop()
            assert time.monotonic() - start < 1
            assert not pods.alive
            pods.stop()  # idempotent
        assert eventually(lambda: sim.stats().open_watches == 0)


def test_stop_ends_an_open_watch_at_once(tmp_path: Path) -> None:
    with cluster(scenario(), tmp_path) as (sim, api):
        pods = WatchedCollection(api, INGRESS_PODS, **FAST)
        pods.start()
        pods.start()  # idempotent
        assert pods.wait_synced(5)
        assert eventually(lambda: pods.snapshot().watching)
        start = time.monotonic()
        pods.stop()
        assert time.monotonic() - start < 1
        assert not pods.alive
        assert not pods.snapshot().watching
        assert eventually(lambda: sim.stats().open_watches == 0)
        assert pods.stats().errors == {}  # stopping is no failure


# -- kinds that are not served ---------------------------------------------------------------


def test_a_kind_that_is_not_served_is_absent_until_it_appears(tmp_path: Path) -> None:
    servers = WatchSpec.of("servers", "ingress", group="policy.linkerd.io", version="v1beta1")
    old = scenario(linkerd=linkerd(version="stable-2.10.2"), objects=[])
    with (
        cluster(old, tmp_path) as (sim, api),
        watching(api, servers, absent_recheck=0.3) as collection,
    ):
        assert collection.wait_synced(5)
        view = collection.snapshot()
        assert (view.synced, view.absent, view.error, view.items) == (True, True, None, ())
        assert collection.stats().absent_checks >= 1
        assert collection.stats().errors == {}
        sim.update(render(scenario()))  # upgraded: the policy CRDs and a Server appear
        assert eventually(lambda: not collection.snapshot().absent, 3)
        view = collection.snapshot()
        assert (view.synced, view.error, names(view)) == (True, None, ["nginx-https"])
        assert view.items[0]["kind"] == "Server"


# -- key material -----------------------------------------------------------------------------


def _no_private_key(view: CollectionView) -> None:
    text = repr(view)
    assert "tls.key" not in text
    assert "PRIVATE KEY" not in text
    for item in view.items:
        for value in item.get("data", {}).values():
            assert b"PRIVATE KEY" not in base64.b64decode(value)
        assert "annotations" not in item["metadata"]


def test_the_transform_runs_before_anything_is_stored(tmp_path: Path) -> None:
    tls = scenario(linkerd=linkerd(issuer={"cert": "issuer", "scheme": "kubernetes.io/tls"}))
    with cluster(tls, tmp_path) as (sim, api), watching(api, ISSUER) as issuer:
        assert issuer.wait_synced(5)
        view = issuer.snapshot()
        assert set(view.items[0]["data"]) == {"tls.crt", "ca.crt"}
        _no_private_key(view)
        first = view.items[0]["data"]["tls.crt"]
        rotated = scenario(
            linkerd=linkerd(issuer={"cert": "issuer-2", "scheme": "kubernetes.io/tls"})
        )
        sim.update(render(rotated))  # a MODIFIED event goes through the transform too
        assert eventually(lambda: issuer.snapshot().items[0]["data"]["tls.crt"] != first)
        _no_private_key(issuer.snapshot())
        assert issuer.stats().events.get("MODIFIED") == 1


def test_a_failing_transform_never_quotes_the_object(tmp_path: Path) -> None:
    def leaky(obj: dict[str, Any]) -> dict[str, Any]:
        raise ValueError(obj["data"]["tls.key"])

    spec = WatchSpec.of("secrets", "linkerd", name="linkerd-identity-issuer", transform=leaky)
    tls = scenario(linkerd=linkerd(issuer={"cert": "issuer", "scheme": "kubernetes.io/tls"}))
    with cluster(tls, tmp_path) as (_, api), watching(api, spec) as issuer:
        assert not issuer.wait_synced(5)
        view = issuer.snapshot()
        assert view.error is not None
        assert view.error.reason == "bad_json"
        assert view.error.message == (
            "secrets linkerd/linkerd-identity-issuer: linkerd/linkerd-identity-issuer could not "
            "be read (ValueError)"
        )
        assert view.items == ()


# -- the set ----------------------------------------------------------------------------------


def test_watch_set_starts_and_stops_what_is_wanted(tmp_path: Path) -> None:
    maps = WatchSpec.of("configmaps", "linkerd")
    with cluster(scenario(), tmp_path) as (sim, api), watch_set(api) as watches:
        watches.ensure([INGRESS_PODS, maps])
        assert watches.wait_synced(5)
        assert set(watches.specs()) == {INGRESS_PODS, maps}
        assert eventually(lambda: all(watches.get(s).watching for s in watches.specs()))
        assert sim.stats().open_watches == 2
        watches.ensure([maps, WatchSpec.of("configmaps", "linkerd")])  # the same watch, kept
        assert watches.specs() == (maps,)
        with pytest.raises(KeyError):
            watches.get(INGRESS_PODS)
        assert eventually(lambda: sim.stats().open_watches == 1)
        assert watches.stats().lists == 2  # a stopped collection's counts stay
        assert watches.stats().watch_connects == 2
        assert requests(sim, "list", "configmaps") == 1
        watches.stop_all()
        watches.stop_all()
        assert watches.specs() == ()
        assert eventually(lambda: sim.stats().open_watches == 0)
        assert watches.stats().lists == 2


def _named_only(obj: dict[str, Any]) -> dict[str, Any]:
    """A transform keeping the name and labels only."""
    meta = obj["metadata"]
    return {"metadata": {k: meta[k] for k in ("name", "namespace", "labels") if k in meta}}


def test_the_generation_moves_only_when_what_is_stored_changes() -> None:
    """Events applied as the thread applies them (no server needed): an event that stores
    an equal object, or a bookmark, leaves the generation; a change moves it, and the
    namespace it happened in."""
    spec = WatchSpec.of("pods", None, transform=_named_only)
    collection = WatchedCollection(None, spec)  # type: ignore[arg-type]  # never started

    def event(kind: str, ns: str, name: str, **extra: Any) -> dict[str, Any]:
        meta = {"name": name, "namespace": ns, "resourceVersion": "7", **extra}
        return {"type": kind, "object": {"metadata": meta}}

    collection._apply(event("ADDED", "a", "p1", labels={"app": "x"}))
    collection._apply(event("ADDED", "b", "p2"))
    first = collection.snapshot()
    stored = first.find("a", "p1")
    collection._apply(event("MODIFIED", "a", "p1", labels={"app": "x"}, uid="new"))  # dropped
    collection._apply({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}})
    same = collection.snapshot()
    assert same.generation == first.generation
    assert same.find("a", "p1") is stored  # the object kept, not an equal copy
    collection._apply(event("MODIFIED", "b", "p2", labels={"app": "y"}))
    moved = collection.snapshot()
    assert moved.generation != first.generation
    assert moved.changed_in("a") == first.changed_in("a")
    assert moved.changed_in("b") != first.changed_in("b")
    collection._apply(event("DELETED", "a", "p1"))
    assert collection.snapshot().changed_in("a") != first.changed_in("a")
    assert collection.snapshot().find("a", "p1") is None
