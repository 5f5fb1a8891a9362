"""The mesh source at scale's terms: one watch per kind and namespace (or per kind with
`mesh.watchScope: cluster`), compact records in the caches, and no rebuild when nothing
changed (the same `MeshState` object), a partial one when a few objects did."""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

from monitor.sources.kube.items import stream_page
from monitor.sources.mesh.build import build_state
from monitor.sources.mesh.records import Keep, PodRecord, pod_record, slice_record
from monitor.sources.mesh.source import MeshSource
from monitor.sources.mesh.specs import Backend, plan_watches
from monitor.sources.mesh.workloads import Memo
from tests.support.sim_kube import render, scenario
from tests.unit.sources.mesh.test_build import KINDS, SHOP, collect, plan_for, views_for
from tests.unit.sources.mesh.test_source import FAST, WEB, cluster, mesh_config
from tests.unit.sources.mesh.test_source import SHOP as SHOP_PORT

WANTED = (SHOP, Backend("shop", "web", "http"), Backend("ingress", "admin", 443))


def _plan(scope: str) -> Any:
    services = {b.key: {"spec": {"selector": {"app": b.name}}} for b in WANTED}
    return plan_watches("linkerd", "cluster.local", WANTED, services, KINDS, True, scope=scope)


def test_one_watch_per_kind_and_namespace_never_per_boundary() -> None:
    plan = _plan("namespaces")
    specs = list(plan.specs())
    targets = [s.target for s in specs]
    assert len(targets) == len(set(targets))
    assert plan.services["ingress"] is not plan.services["shop"]
    assert (
        plan.slices["ingress"].label_selector
        == "kubernetes.io/service-name in (admin,nginx-ingress)"
    )
    # control plane 5, then per namespace: services, slices, namespace, pods, 3 policy kinds
    assert len(specs) == 5 + 2 * (4 + len(KINDS))


def test_cluster_scope_watches_each_kind_once_and_keeps_only_the_backend_namespaces() -> None:
    plan = _plan("cluster")
    specs = list(plan.specs())
    assert len(specs) == 5 + 4 + len(KINDS)
    assert plan.pods["ingress"] is plan.pods["shop"]
    assert "/namespaces/" not in plan.pods["shop"].api_path
    assert plan.pods["shop"].label_selector == "app in (admin,nginx-ingress,web)"
    keep = plan.services["shop"].transform
    assert isinstance(keep, Keep)
    served = {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"a": "b"}}}
    assert keep(served) is not None
    assert keep({**served, "metadata": {"name": "other", "namespace": "shop"}}) is None
    assert _plan("cluster") == plan  # equal plans: the same watches from poll to poll


def test_both_scopes_build_the_same_state() -> None:
    world = render(scenario())
    states = []
    spec = plan_for(world, SHOP).services[SHOP.namespace]
    services = {SHOP.key: collect(world, spec).find(SHOP.namespace, SHOP.name)}
    for scope in ("namespaces", "cluster"):
        plan = plan_watches("linkerd", "cluster.local", (SHOP,), services, KINDS, True, scope=scope)
        built = build_state(plan, views_for(world, plan))
        assert built.errors == ()
        states.append(built.state)
    assert states[0] == states[1]


def test_records_are_equal_for_equal_facts_and_drop_the_rest() -> None:
    world = render(scenario())
    plan = plan_for(world, SHOP)
    pods = collect(world, plan.pods["ingress"], transform=False).items
    record = pod_record(pods[0])
    assert isinstance(record, PodRecord)
    changed = copy.deepcopy(pods[0])
    changed["status"]["conditions"] = []  # nothing the checks read
    changed["metadata"]["resourceVersion"] = "999"
    assert pod_record(changed) == record
    changed["metadata"]["labels"]["tier"] = "other"
    assert pod_record(changed) != record
    assert record.info is not None
    assert record.info.labels is record.labels  # one shared map
    slices = collect(world, plan.slices["ingress"], transform=False).items
    assert slice_record(slices[0]) == slice_record(copy.deepcopy(slices[0]))


def test_a_build_with_a_memo_rebuilds_only_the_namespaces_that_changed() -> None:
    world = render(scenario())
    wanted = (SHOP, Backend("shop", "web", "http"))
    base = plan_for(world, *wanted)
    services = {b.key: collect(world, base.services[b.namespace]).find(b.namespace, b.name)
                for b in wanted}  # fmt: skip
    plan = plan_watches("linkerd", "cluster.local", wanted, services, KINDS, True)
    views = views_for(world, plan)
    memo = Memo()
    first = build_state(plan, views, memo=memo).state
    shares = dict(memo.shares)
    # the shop namespace's pods change (a new generation); ingress's views do not
    spec = plan.pods["shop"]
    views[spec] = dataclasses.replace(views[spec], items=(), namespaces={"shop": 7})
    second = build_state(plan, views, memo=memo).state
    assert memo.shares["ingress"][1] is shares["ingress"][1]  # reused as it was
    assert memo.shares["shop"][1] is not shares["shop"][1]
    assert second.services["ingress/nginx-ingress"] is first.services["ingress/nginx-ingress"]
    assert not any(k.startswith("shop/") for k in second.pods)
    fresh = build_state(plan, views).state
    assert fresh == second  # the memo changes the work, never the result


def test_a_list_page_is_read_item_by_item() -> None:
    page = (b'{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"c2"},"items":['
            b'{"metadata":{"name":"a","namespace":"n"}},'
            b'{"metadata":{"name":"b","namespace":"n"}}]}')  # fmt: skip
    top, items = stream_page(page, "pods")
    first = next(items)
    assert first == ("n/a", {"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": "a", "namespace": "n"}})  # fmt: skip
    assert [k for k, _ in items] == ["n/b"]
    assert top["metadata"] == {"continue": "c2"}


def _wait(predicate: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def test_an_unchanged_cluster_gives_the_same_state_object_and_a_change_a_new_one(
    tmp_path: Path,
) -> None:
    doc = scenario()
    world = render(doc)
    counts = {}
    for scope in ("namespaces", "cluster"):
        with cluster(world, tmp_path) as (sim, kubeconfig):
            cfg = mesh_config(kubeconfig, SHOP_PORT, WEB)
            cfg = dataclasses.replace(cfg, mesh=dataclasses.replace(cfg.mesh, watch_scope=scope))
            source = MeshSource(cfg, watch_options=FAST)
            try:
                first, status = source.poll()
                assert status.up, status.errors
                watches, lists = source.watch_count(), source.watch_stats().lists
                second, status = source.poll()
                assert source.watch_stats().lists == lists  # no LIST in a steady state
                assert status.up
                assert status.requests == {}
                assert second is first
                changed = copy.deepcopy(doc)
                changed["workloads"] = [w for w in changed["workloads"] if w["name"] != "web"]
                sim.update(render(changed))
                gone = {k for k in first.pods if k.startswith("shop/")}
                assert _wait(lambda src=source, old=gone: not src.poll()[0].pods.keys() & old)
                third, _ = source.poll()
                assert third is not first
                assert third.services["ingress/nginx-ingress"] == first.services[
                    "ingress/nginx-ingress"]  # fmt: skip
            finally:
                source.close()
        counts[scope] = watches
    # the control plane's 4 (no cert-manager here), then Services, EndpointSlices, pods,
    # Namespaces and 5 policy kinds: per backend namespace (2), or once
    assert counts == {"namespaces": 4 + 2 * 9, "cluster": 4 + 9}
