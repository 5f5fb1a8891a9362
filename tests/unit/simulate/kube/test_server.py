"""The simulated Kubernetes API through the real `kubernetes` client over real TLS."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml
from kubernetes import client, config, watch

from monitor.simulate.faults import Fault
from monitor.simulate.kube.server import SimulatedKubernetes
from tests.support.sim_kube import BASE, CA, TOKEN, render, scenario, serve

FORBIDDEN_GET = (
    'secrets "linkerd-identity-issuer" is forbidden: User '
    '"system:serviceaccount:monitoring:f5-linkerd-monitor" cannot get resource "secrets" '
    'in API group "" in the namespace "linkerd"'
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, client.ApiClient]]:
    """A read-only server for the tests that change nothing."""
    world = render(scenario(withhold=[{"resource": "secrets", "namespace": "linkerd",
                                       "name": "linkerd-identity-issuer"}]))  # fmt: skip
    with serve(world, tmp_path_factory.mktemp("kube")) as pair:
        yield pair


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[SimulatedKubernetes, client.ApiClient]]:
    with serve(render(BASE), tmp_path) as pair:
        yield pair


def raw(api: client.ApiClient, path: str, **query: Any) -> dict[str, Any]:
    resp = api.call_api(
        *api.param_serialize("GET", path, query_params=list(query.items()),
                             auth_settings=["BearerToken"])
    )  # fmt: skip
    resp.read()
    return json.loads(resp.data)  # type: ignore[no-any-return]


def status_of(err: client.ApiException) -> dict[str, Any]:
    return json.loads(err.body)  # type: ignore[no-any-return]


# -- discovery ----------------------------------------------------------------------------


def test_discovery_documents(shared: tuple[Any, client.ApiClient]) -> None:
    sim, api = shared
    version = client.VersionApi(api).get_code()
    assert (version.major, version.minor, version.git_version) == ("1", "30", "v1.30.4")
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert {"discovery.k8s.io", "coordination.k8s.io", "policy.linkerd.io"} <= set(groups)
    assert "cert-manager.io" not in groups
    policy = groups["policy.linkerd.io"]
    assert [v.version for v in policy.versions] == ["v1beta3", "v1beta2", "v1beta1", "v1alpha1"]
    core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert core["pods"].namespaced
    assert core["pods"].kind == "Pod"
    assert not core["namespaces"].namespaced
    assert {"configmaps", "secrets", "serviceaccounts", "services", "events"} <= set(core)
    v1beta1 = raw(api, "/apis/policy.linkerd.io/v1beta1")
    assert {r["name"] for r in v1beta1["resources"]} == {"servers", "serverauthorizations",
                                                         "httproutes"}  # fmt: skip
    v1alpha1 = raw(api, "/apis/policy.linkerd.io/v1alpha1")
    assert {"authorizationpolicies", "meshtlsauthentications", "networkauthentications"} <= {
        r["name"] for r in v1alpha1["resources"]
    }
    leases = raw(api, "/apis/coordination.k8s.io/v1")["resources"]
    assert [r["kind"] for r in leases] == ["Lease"]
    assert sim.stats().requests[("discovery", "/version")] >= 1


# -- reads ----------------------------------------------------------------------------------


def test_list_and_get_every_kind(shared: tuple[Any, client.ApiClient]) -> None:
    _, api = shared
    v1 = client.CoreV1Api(api)
    names = [n.metadata.name for n in v1.list_namespace().items]
    assert names == ["default", "ingress", "kube-node-lease", "kube-public", "kube-system",
                     "linkerd", "monitoring", "shop"]  # fmt: skip
    assert v1.read_namespace("shop").metadata.labels == {
        "kubernetes.io/metadata.name": "shop",
        "team": "web",
    }
    cm = v1.read_namespaced_config_map("linkerd-config", "linkerd")
    assert cm.kind == "ConfigMap"
    assert cm.api_version == "v1"
    assert "values" in cm.data
    assert [c.metadata.name for c in v1.list_namespaced_config_map("linkerd").items] == [
        "kube-root-ca.crt",
        "linkerd-config",
        "linkerd-identity-trust-roots",
    ]
    sas = {s.metadata.name for s in v1.list_namespaced_service_account("ingress").items}
    assert sas == {"default", "nginx-ingress"}
    assert len(v1.list_namespaced_pod("ingress").items) == 3
    assert len(v1.list_pod_for_all_namespaces().items) == 8  # 3 control plane, 3 + 2
    svc = v1.read_namespaced_service("nginx-ingress", "ingress")
    assert svc.spec.ports[0].target_port == "https"
    assert svc.spec.cluster_ip.startswith("10.")
    events = v1.list_namespaced_event("linkerd", field_selector="reason=IssuerUpdated")
    assert [e.message for e in events.items] == ["Updated identity issuer"]
    slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(
        "ingress", label_selector="kubernetes.io/service-name=nginx-ingress"
    )
    assert [s.address_type for s in slices.items] == ["IPv4"]
    assert client.CoordinationV1Api(api).list_namespaced_lease("linkerd").items == []
    custom = client.CustomObjectsApi(api)
    server = custom.get_namespaced_custom_object(
        "policy.linkerd.io", "v1alpha1", "ingress", "servers", "nginx-https"
    )
    assert server["apiVersion"] == "policy.linkerd.io/v1alpha1"  # served under any version
    assert server["metadata"]["generation"] == 1
    assert server["spec"]["port"] == "https"


def test_list_items_carry_kind_only_for_custom_resources(
    shared: tuple[Any, client.ApiClient],
) -> None:
    _, api = shared
    pods = raw(api, "/api/v1/namespaces/ingress/pods")
    assert (pods["kind"], pods["apiVersion"]) == ("PodList", "v1")
    assert all("kind" not in item and "apiVersion" not in item for item in pods["items"])
    servers = raw(api, "/apis/policy.linkerd.io/v1alpha1/namespaces/ingress/servers")
    assert servers["kind"] == "ServerList"
    assert servers["items"][0]["apiVersion"] == "policy.linkerd.io/v1alpha1"
    assert servers["items"][0]["kind"] == "Server"
    one = raw(api, "/api/v1/namespaces/linkerd/configmaps/linkerd-config")
    assert (one["kind"], one["apiVersion"]) == ("ConfigMap", "v1")


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=nginx-ingress", 3),
        ("app==web", 2),
        ("app!=web", 6),
        ("tier in (edge, backend)", 5),
        ("tier notin (edge)", 5),
        ("tier", 5),
        ("!tier", 3),
        ("app=nginx-ingress,tier=edge", 3),
        ("app=nginx-ingress,tier=backend", 0),
        ("linkerd.io/control-plane-ns", 6),
        ("linkerd.io/control-plane-component in (identity,destination)", 2),
    ],
)
def test_label_selectors(
    shared: tuple[Any, client.ApiClient], selector: str, expected: int
) -> None:
    _, api = shared
    pods = client.CoreV1Api(api).list_pod_for_all_namespaces(label_selector=selector)
    assert len(pods.items) == expected


def test_field_selectors(shared: tuple[Any, client.ApiClient]) -> None:
    _, api = shared
    v1 = client.CoreV1Api(api)
    done = v1.list_pod_for_all_namespaces(field_selector="status.phase=Succeeded").items
    assert [p.metadata.namespace for p in done] == ["shop"]
    on2 = v1.list_namespaced_pod("ingress", field_selector="spec.nodeName=node-2").items
    assert sorted(p.status.pod_ip for p in on2) == ["10.42.1.12", "10.42.2.13"]
    named = v1.list_namespaced_config_map(
        "linkerd", field_selector="metadata.name=linkerd-config"
    ).items
    assert [c.metadata.name for c in named] == ["linkerd-config"]
    not_running = v1.list_pod_for_all_namespaces(field_selector="status.phase!=Running").items
    assert len(not_running) == 1
    with pytest.raises(client.ApiException) as err:
        v1.list_namespaced_pod("ingress", field_selector="spec.containers=x")
    assert err.value.status == 400
    body = status_of(err.value)
    assert (body["reason"], body["message"]) == (
        "BadRequest",
        "field label not supported: spec.containers",
    )
    with pytest.raises(client.ApiException) as err:
        v1.list_namespaced_pod("ingress", label_selector="app in ()")
    assert err.value.status == 400


def test_paging_with_limit_and_continue(shared: tuple[Any, client.ApiClient]) -> None:
    _, api = shared
    v1 = client.CoreV1Api(api)
    everything = [p.metadata.name for p in v1.list_pod_for_all_namespaces().items]
    first = v1.list_pod_for_all_namespaces(limit=3)
    assert len(first.items) == 3
    assert first.metadata.remaining_item_count == 5
    seen, token, pages = [p.metadata.name for p in first.items], first.metadata._continue, 1
    while token:
        page = v1.list_pod_for_all_namespaces(limit=3, _continue=token)
        assert page.metadata.resource_version == first.metadata.resource_version
        seen += [p.metadata.name for p in page.items]
        token, pages = page.metadata._continue, pages + 1
    assert seen == everything
    assert pages == 3
    with pytest.raises(client.ApiException) as err:
        v1.list_pod_for_all_namespaces(limit=3, _continue="not-a-token!")
    assert err.value.status == 400


def test_not_found_is_a_status(shared: tuple[Any, client.ApiClient]) -> None:
    _, api = shared
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(api).read_namespaced_config_map("missing", "linkerd")
    assert err.value.status == 404
    assert status_of(err.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "missing" not found',
        "reason": "NotFound",
        "details": {"name": "missing", "kind": "configmaps"},
        "code": 404,
    }
    with pytest.raises(client.ApiException) as err:
        client.CoordinationV1Api(api).read_namespaced_lease("nope", "linkerd")
    assert status_of(err.value)["message"] == 'leases.coordination.k8s.io "nope" not found'
    assert status_of(err.value)["details"]["group"] == "coordination.k8s.io"
    with pytest.raises(client.ApiException) as err:  # a version the Linkerd release lacks
        client.CustomObjectsApi(api).list_namespaced_custom_object(
            "policy.linkerd.io", "v1beta9", "ingress", "servers"
        )
    assert err.value.status == 404
    assert status_of(err.value)["message"] == "the server could not find the requested resource"


# -- access ------------------------------------------------------------------------------------


def test_withheld_secret_is_forbidden_with_the_real_message(
    shared: tuple[Any, client.ApiClient],
) -> None:
    _, api = shared
    v1 = client.CoreV1Api(api)
    with pytest.raises(client.ApiException) as err:
        v1.read_namespaced_secret("linkerd-identity-issuer", "linkerd")
    assert err.value.status == 403
    body = status_of(err.value)
    assert body["message"] == FORBIDDEN_GET
    assert body["reason"] == "Forbidden"
    assert body["details"] == {"name": "linkerd-identity-issuer", "kind": "secrets"}
    with pytest.raises(client.ApiException) as err:
        v1.list_namespaced_secret("linkerd")
    assert status_of(err.value)["message"] == (
        'secrets is forbidden: User "system:serviceaccount:monitoring:f5-linkerd-monitor" '
        'cannot list resource "secrets" in API group "" in the namespace "linkerd"'
    )
    with pytest.raises(client.ApiException) as err:
        v1.list_secret_for_all_namespaces()
    assert status_of(err.value)["message"].endswith(
        'cannot list resource "secrets" in API group "" at the cluster scope'
    )
    with pytest.raises(client.ApiException) as err:
        next(iter(watch.Watch().stream(v1.list_namespaced_secret, "linkerd", timeout_seconds=1)))
    assert err.value.status == 403
    with pytest.raises(client.ApiException) as err:  # another secret is merely absent
        v1.read_namespaced_secret("other", "linkerd")
    assert err.value.status == 404
    assert v1.list_namespaced_secret("ingress").items == []


def test_wrong_token_is_unauthorized(shared: tuple[Any, client.ApiClient], tmp_path: Path) -> None:
    sim, _ = shared
    sim.write_kubeconfig(tmp_path / "kc", CA.pem)
    doc = yaml.safe_load((tmp_path / "kc").read_text())
    assert doc["users"][0]["user"]["token"] == TOKEN
    assert doc["clusters"][0]["cluster"]["server"] == sim.url
    assert base64.b64decode(doc["clusters"][0]["cluster"]["certificate-authority-data"]).decode() \
        == CA.pem  # fmt: skip
    assert doc["contexts"][0]["context"]["namespace"] == "default"
    assert os.stat(tmp_path / "kc").st_mode & 0o777 == 0o600
    doc["users"][0]["user"]["token"] = "wrong"
    (tmp_path / "bad").write_text(yaml.safe_dump(doc))
    bad = config.new_client_from_config(config_file=str(tmp_path / "bad"))
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(bad).list_namespace()
    assert err.value.status == 401
    assert status_of(err.value)["reason"] == "Unauthorized"
    bad.close()


# -- writes: leases ------------------------------------------------------------------------------


def _lease(name: str, holder: str, rv: str | None = None) -> client.V1Lease:
    return client.V1Lease(
        metadata=client.V1ObjectMeta(name=name, namespace="monitoring", resource_version=rv),
        spec=client.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=15),
    )


def test_lease_create_update_conflict(fresh: tuple[SimulatedKubernetes, client.ApiClient]) -> None:
    sim, api = fresh
    leases = client.CoordinationV1Api(api)
    created = leases.create_namespaced_lease("monitoring", _lease("f5lm", "a"))
    assert created.spec.holder_identity == "a"
    assert created.metadata.uid
    rv1 = created.metadata.resource_version
    with pytest.raises(client.ApiException) as err:
        leases.create_namespaced_lease("monitoring", _lease("f5lm", "b"))
    assert err.value.status == 409
    assert status_of(err.value)["reason"] == "AlreadyExists"
    updated = leases.replace_namespaced_lease("f5lm", "monitoring", _lease("f5lm", "b", rv1))
    assert updated.spec.holder_identity == "b"
    assert int(updated.metadata.resource_version) > int(rv1)
    assert updated.metadata.uid == created.metadata.uid
    with pytest.raises(client.ApiException) as err:
        leases.replace_namespaced_lease("f5lm", "monitoring", _lease("f5lm", "c", rv1))
    assert err.value.status == 409
    assert status_of(err.value)["message"] == (
        'Operation cannot be fulfilled on leases.coordination.k8s.io "f5lm": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )
    # the Lease strategy allows create-on-update: a PUT of a missing Lease creates it
    made = leases.replace_namespaced_lease("gone", "monitoring", _lease("gone", "c"))
    assert made.metadata.uid
    assert made.spec.holder_identity == "c"
    sim.update(render(BASE))  # the world's rendering does not own client-made objects
    assert leases.read_namespaced_lease("f5lm", "monitoring").spec.holder_identity == "b"
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(api).create_namespaced_config_map(
            "linkerd", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="x"))
        )
    assert err.value.status == 405
    assert status_of(err.value)["reason"] == "MethodNotAllowed"
    assert sim.stats().requests[("create", "leases.coordination.k8s.io")] == 2


# -- watch -----------------------------------------------------------------------------------------


def _events(
    api: client.ApiClient, rv: str | None, expect: int | None = None, **kw: Any
) -> list[tuple[str, str, str]]:
    """Watch events on ingress pods: `expect` of them, or all until a 1 s timeout."""
    v1 = client.CoreV1Api(api)
    out = []
    stream = watch.Watch()
    for ev in stream.stream(
        v1.list_namespaced_pod, "ingress", resource_version=rv,
        timeout_seconds=1 if expect is None else 5, **kw,
    ):  # fmt: skip
        meta = ev["raw_object"]["metadata"]
        out.append((ev["type"], meta.get("name", ""), meta["resourceVersion"]))
        if len(out) == expect:
            stream.stop()
    return out


def test_watch_replays_history_and_streams_live_updates(
    fresh: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    sim, api = fresh
    v1 = client.CoreV1Api(api)
    listed = v1.list_namespaced_pod("ingress")
    rv = listed.metadata.resource_version
    assert [e[0] for e in _events(api, None, 3)] == ["ADDED"] * 3  # no rv: the current state
    doc = scenario()
    doc["workloads"][0]["pods"][2]["ready"] = True  # the unready pod becomes ready
    del doc["workloads"][0]["pods"][1]  # one pod goes away
    sim.update(render(doc))
    replay = _events(api, rv, 2)
    assert [e[0] for e in replay] == ["MODIFIED", "DELETED"]
    assert all(int(e[2]) > int(rv) for e in replay)
    names = {p.metadata.name for p in listed.items}
    assert {e[1] for e in replay} <= names
    unchanged = v1.read_namespaced_config_map("linkerd-config", "linkerd")
    sim.update(render(doc))  # same world again: nothing changes
    assert _events(api, replay[-1][2]) == []
    assert (
        v1.read_namespaced_config_map("linkerd-config", "linkerd").metadata.resource_version
        == unchanged.metadata.resource_version
    )

    got: list[tuple[str, str, str]] = []

    def consume() -> None:
        for ev in watch.Watch().stream(
            v1.list_namespaced_pod, "ingress", resource_version=replay[-1][2],
            label_selector="app=nginx-ingress", timeout_seconds=3,
        ):  # fmt: skip
            got.append((ev["type"], ev["object"].metadata.name, ev["object"].status.phase))
            if len(got) == 2:
                return

    thread = threading.Thread(target=consume)
    thread.start()
    deadline = time.monotonic() + 2
    while sim.stats().open_watches == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    doc["workloads"][0]["labels"] = {"app": "other"}  # leaves the selector: new pods, not ours
    sim.update(render(doc))
    thread.join(timeout=5)
    assert [g[0] for g in got] == ["DELETED", "DELETED"]


def test_selector_watch_turns_changes_into_added_and_deleted(
    fresh: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    sim, api = fresh
    rv = client.CoreV1Api(api).list_namespaced_pod("ingress").metadata.resource_version
    doc = scenario()
    doc["workloads"][0]["pods"][0].update(phase="Succeeded", ready=False)  # same pod, done
    doc["workloads"][0]["pods"][2]["ready"] = True
    sim.update(render(doc))
    assert [e[0] for e in _events(api, rv, 2)] == ["MODIFIED", "MODIFIED"]
    running = _events(api, rv, 2, field_selector="status.phase=Running")
    assert [e[0] for e in running] == ["DELETED", "MODIFIED"]
    done = _events(api, rv, 1, field_selector="status.phase=Succeeded")
    assert [e[0] for e in done] == ["ADDED"]
    deleted = running[0]
    assert int(deleted[2]) > int(rv)  # the DELETED event carries the change's resourceVersion


def test_watch_bookmark_at_timeout(fresh: tuple[SimulatedKubernetes, client.ApiClient]) -> None:
    _, api = fresh
    rv = client.CoreV1Api(api).list_namespaced_pod("ingress").metadata.resource_version
    events = _events(api, rv, allow_watch_bookmarks=True)
    assert events == [("BOOKMARK", "", rv)]


def test_watch_expire_gives_410_and_relist_recovers(
    fresh: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    sim, api = fresh
    v1 = client.CoreV1Api(api)
    old = v1.list_namespaced_pod("ingress", limit=1)
    caught: list[client.ApiException] = []

    def hold_open() -> None:
        try:
            for _ in watch.Watch().stream(
                v1.list_namespaced_pod, "ingress",
                resource_version=old.metadata.resource_version, timeout_seconds=5,
            ):  # fmt: skip
                pass
        except client.ApiException as err:
            caught.append(err)

    thread = threading.Thread(target=hold_open)
    thread.start()
    deadline = time.monotonic() + 2
    while sim.stats().open_watches == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    sim.inject(Fault(target="kubernetes", type="watchExpire"))
    thread.join(timeout=5)
    assert [e.status for e in caught] == [410]  # the open watch is told too
    with pytest.raises(client.ApiException) as err:
        _events(api, old.metadata.resource_version, 1)
    assert err.value.status == 410
    old_rv = int(old.metadata.resource_version)
    assert f"too old resource version: {old_rv} ({sim.store.rv})" in str(err.value.reason)
    with pytest.raises(client.ApiException) as err:
        v1.list_namespaced_pod("ingress", limit=1, _continue=old.metadata._continue)
    assert err.value.status == 410
    assert status_of(err.value)["reason"] == "Expired"
    relist = v1.list_namespaced_pod("ingress")
    assert len(relist.items) == 3
    assert int(relist.metadata.resource_version) > old_rv
    doc = scenario()
    doc["workloads"][0]["pods"][0]["ready"] = False
    sim.update(render(doc))
    assert [e[0] for e in _events(api, relist.metadata.resource_version, 1)] == ["MODIFIED"]


# -- faults ------------------------------------------------------------------------------


def test_request_faults(fresh: tuple[SimulatedKubernetes, client.ApiClient]) -> None:
    sim, api = fresh
    v1 = client.CoreV1Api(api)
    sim.inject(Fault(target="kubernetes", type="http503", count=1))
    with pytest.raises(client.ApiException) as err:
        v1.list_namespace()
    assert err.value.status == 503
    assert status_of(err.value)["reason"] == "ServiceUnavailable"
    assert len(v1.list_namespace().items) == 8  # one request only
    sim.inject(Fault(target="kubernetes", type="http500html", count=1))
    with pytest.raises(client.ApiException) as err:
        v1.list_namespace()
    assert err.value.status == 500
    assert "<html>" in err.value.body
    sim.inject(Fault(target="kubernetes", type="latency", count=1, delay=0.3))
    start = time.monotonic()
    v1.list_namespace()
    assert time.monotonic() - start >= 0.3
    sim.inject(Fault(target="kubernetes", type="truncate", count=1))
    with pytest.raises(urllib3.exceptions.HTTPError):
        v1.list_namespace()
    sim.inject(Fault(target="kubernetes", type="reset", count=10))
    with pytest.raises(urllib3.exceptions.HTTPError):
        v1.list_namespace()
    sim.faults.clear()
    assert len(v1.list_namespace().items) == 8
    counts = sim.stats().requests
    assert counts[("fault", "http503")] == 1
    assert counts[("fault", "reset")] >= 2
    with pytest.raises(ValueError, match="does not apply"):
        sim.inject(Fault(target="kubernetes", type="expireTokens"))


def test_truncated_watch_stream(fresh: tuple[SimulatedKubernetes, client.ApiClient]) -> None:
    sim, api = fresh
    sim.inject(Fault(target="kubernetes", type="truncate", count=1))
    with pytest.raises(urllib3.exceptions.HTTPError):
        _events(api, None, 1)


def test_withhold_by_name_allows_watches_narrowed_to_other_names(tmp_path: Path) -> None:
    """resourceNames RBAC: a list narrowed to another object's name is allowed."""
    import httpx

    from monitor.simulate.kube.api import narrowed_name

    assert narrowed_name({"fieldSelector": "metadata.name=a"}) == "a"
    assert narrowed_name({"fieldSelector": "metadata.name=a,metadata.namespace=b"}) is None
    assert narrowed_name({"fieldSelector": "metadata.name!=a"}) is None
    del httpx, tmp_path
