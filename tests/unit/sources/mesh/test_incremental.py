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
                # a poll waits for the LISTs, not for each WATCH request after them: let
                # the last ones connect, and a poll count them, before the steady state
                assert _wait(lambda src=source, n=watches: src.watch_stats().watch_connects >= n)
                assert source.poll()[0] is first
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
    # Namespaces, 5 policy kinds and HTTPRoutes (no MeshTLSAuthentication here: no
    # ServiceAccounts): per backend namespace (2), or once
    assert counts == {"namespaces": 4 + 2 * 10, "cluster": 4 + 10}


def _policy_world() -> dict[str, Any]:
    """The base world with what the policy family reads beyond the backends: an identity
    in another namespace (f5-edge), a Server selecting pods no backend Service selects
    (default-backend: the namespace's pods are then watched whole) and one selecting none."""
    doc = scenario()
    doc["namespaces"].append({"name": "f5-edge", "serviceAccounts": ["bigip"]})
    doc["workloads"].append({
        "namespace": "ingress", "name": "default-backend", "labels": {"app": "default-backend"},
        "ports": [{"name": "http", "containerPort": 8080}], "pods": [{"ip": "10.42.0.41"}],
    })  # fmt: skip
    identity = "bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"
    doc["objects"] += [
        {"apiVersion": "policy.linkerd.io/v1alpha1", "kind": "MeshTLSAuthentication",
         "metadata": {"name": "f5-edge", "namespace": "ingress"},
         "spec": {"identities": [identity]}},
        {"apiVersion": "policy.linkerd.io/v1beta1", "kind": "Server",
         "metadata": {"name": "default-backend-http", "namespace": "ingress"},
         "spec": {"podSelector": {"matchLabels": {"app": "default-backend"}}, "port": "http"}},
        {"apiVersion": "policy.linkerd.io/v1beta1", "kind": "Server",
         "metadata": {"name": "canary", "namespace": "ingress"},
         "spec": {"podSelector": {"matchLabels": {"app": "canary"}}, "port": "https"}},
    ]  # fmt: skip
    return doc


def test_the_policy_reach_is_read_in_either_scope_and_follows_changes(tmp_path: Path) -> None:
    """ServiceAccounts and Server counts are the same in both scopes, and a poll after a
    change to their inputs (a pod the idle Server selects, a ServiceAccount) says so."""
    doc = _policy_world()
    seen = {}
    for scope in ("namespaces", "cluster"):
        with cluster(render(doc), tmp_path) as (sim, kubeconfig):
            cfg = mesh_config(kubeconfig, SHOP_PORT, WEB)
            cfg = dataclasses.replace(cfg, mesh=dataclasses.replace(cfg.mesh, watch_scope=scope))
            source = MeshSource(cfg, watch_options=FAST)
            try:
                # the first poll reads the policy; the plan then reaches f5-edge and the pods
                assert _wait(lambda src=source: "f5-edge" in src.poll()[0].service_accounts)
                first, status = source.poll()
                assert status.up, status.errors
                assert "bigip" in (first.service_accounts["f5-edge"] or ())
                assert first.server_pods == {
                    "ingress/nginx-https": 3, "ingress/default-backend-http": 1,
                    "ingress/canary": 0,
                }  # fmt: skip
                assert source.poll()[0] is first  # nothing changed: the same state
                changed = copy.deepcopy(doc)
                changed["workloads"].append({
                    "namespace": "ingress", "name": "canary", "labels": {"app": "canary"},
                    "ports": [{"name": "https", "containerPort": 8443}],
                    "pods": [{"ip": "10.42.0.51"}],
                })  # fmt: skip
                changed["namespaces"][-1]["serviceAccounts"].append("bigip-next")
                sim.update(render(changed))
                assert _wait(
                    lambda src=source: src.poll()[0].server_pods.get("ingress/canary") == 1
                )
                later, _ = source.poll()
                assert later.server_pods["ingress/nginx-https"] == 3
                assert _wait(lambda src=source: "bigip-next" in (
                    src.poll()[0].service_accounts["f5-edge"] or ()))  # fmt: skip
                seen[scope] = source.poll()[0]
            finally:
                source.close()
    assert seen["namespaces"].server_pods == seen["cluster"].server_pods
    assert seen["namespaces"].service_accounts == seen["cluster"].service_accounts


def test_cluster_scope_plans_the_policy_reach_once() -> None:
    """ServiceAccounts: one cluster-wide watch keeping the named namespaces; a namespace
    watched whole for its Servers has its own pod watch, left out of the shared one."""
    services = {b.key: {"spec": {"selector": {"app": b.name}}} for b in WANTED}
    plan = plan_watches("linkerd", "cluster.local", WANTED, services, KINDS, True,
                        scope="cluster", whole=frozenset({"shop"}),
                        accounts=("f5-edge", "ingress"))  # fmt: skip
    assert plan.accounts["f5-edge"] is plan.accounts["ingress"]
    assert "/namespaces/" not in plan.accounts["f5-edge"].api_path
    keep = plan.accounts["f5-edge"].transform
    assert keep({"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "f5-edge"}})
    assert keep({"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "x"}}) is None
    assert plan.pods["shop"].api_path.endswith("/namespaces/shop/pods")
    assert plan.pods["shop"].label_selector == ""
    assert plan.pods["ingress"].label_selector == "app in (admin,nginx-ingress)"
    per_namespace = plan_watches(
        "linkerd", "cluster.local", WANTED, services, KINDS, True,
        whole=frozenset({"shop"}), accounts=("f5-edge", "ingress"),
    )  # fmt: skip
    assert per_namespace.accounts["f5-edge"] != per_namespace.accounts["ingress"]
    assert per_namespace.pods["shop"] == plan.pods["shop"]
