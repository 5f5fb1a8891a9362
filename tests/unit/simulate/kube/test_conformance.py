"""Conformance of the simulated API server's writes and watches, driven by the `kubernetes`
client: each operation passes, or is refused with the status code and body a real
apiserver answers (sources in docs/scenario.md, "Kubernetes API conformance")."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client

from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.simulate.kube.table import human_duration
from tests.support.sim_kube import BASE, CA, TOKEN, render, serve

NS = "monitoring"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NS}/leases"
DECODE = 'Lease in version "v1" cannot be handled as a Lease: '
Pair = tuple[SimulatedKubernetes, client.ApiClient]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Pair]:
    with serve(render(BASE), tmp_path) as pair:
        yield pair


def call(
    api: client.ApiClient,
    method: str,
    path: str,
    body: Any = None,
    query: dict[str, str] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One raw request (the body as given, not through a model): (status, JSON, headers)."""
    params = api.param_serialize(
        method, path, query_params=list((query or {}).items()), body=body,
        header_params={"Content-Type": content_type}, auth_settings=["BearerToken"],
    )  # fmt: skip
    resp = api.call_api(*params)
    resp.read()
    return resp.status, json.loads(resp.data), dict(resp.getheaders())


def lease(name: str = "lm", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, **spec},
    }


def test_create_and_read_a_valid_lease(fresh: Pair) -> None:
    _, api = fresh
    good = lease(renewTime="2026-03-01T12:00:00.000000Z", acquireTime="2026-03-01T12:00:00.5+00:00")
    code, doc, _ = call(api, "POST", LEASES, good)
    assert code == 400  # acquireTime has three fraction digits where MicroTime wants six
    good["spec"]["acquireTime"] = "2026-03-01T12:00:00.000000+00:00"
    code, doc, _ = call(api, "POST", LEASES, good)
    assert code == 201, doc
    read = client.CoordinationV1Api(api).read_namespaced_lease("lm", NS)
    assert read.spec.holder_identity == "a"
    assert read.metadata.uid == doc["metadata"]["uid"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"leaseDurationSeconds": "15"}, "json: cannot unmarshal string into Go struct field "
         "LeaseSpec.spec.leaseDurationSeconds of type int32"),
        ({"leaseTransitions": 1.5}, "json: cannot unmarshal number 1.5 into Go struct field "
         "LeaseSpec.spec.leaseTransitions of type int32"),
        ({"holderIdentity": 7}, "json: cannot unmarshal number into Go struct field "
         "LeaseSpec.spec.holderIdentity of type string"),
        ({"renewTime": "2026-03-01T12:00:00Z"}, 'parsing time "2026-03-01T12:00:00Z" as '
         '"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"'),
        ({"renewTime": "yesterday"}, 'parsing time "yesterday" as '
         '"2006-01-02T15:04:05.000000Z07:00": cannot parse "yesterday" as "2006"'),
        ({"acquireTime": "2026-13-01T12:00:00.000000Z"},
         'parsing time "2026-13-01T12:00:00.000000Z": month out of range'),
    ],
)  # fmt: skip
def test_a_lease_that_does_not_decode_is_400(fresh: Pair, spec: Any, message: str) -> None:
    _, api = fresh
    code, doc, _ = call(api, "POST", LEASES, lease(**spec))
    assert (code, doc["reason"], doc["message"]) == (400, "BadRequest", DECODE + message)
    assert doc["kind"] == "Status"
    assert doc["status"] == "Failure"
    assert doc["code"] == 400


def test_an_invalid_lease_is_422_with_causes(fresh: Pair) -> None:
    _, api = fresh
    bad = client.V1Lease(metadata=client.V1ObjectMeta(name="Bad_Name"),
                         spec=client.V1LeaseSpec(lease_duration_seconds=0))  # fmt: skip
    with pytest.raises(client.ApiException) as err:
        client.CoordinationV1Api(api).create_namespaced_lease(NS, bad)
    doc = json.loads(err.value.body)
    assert err.value.status == 422
    assert doc["reason"] == "Invalid"
    assert doc["message"].startswith(
        'Lease.coordination.k8s.io "Bad_Name" is invalid: [metadata.name: Invalid value: '
        '"Bad_Name": a lowercase RFC 1123 subdomain must consist of'
    )
    assert doc["message"].endswith(
        ", spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0]"
    )
    assert doc["details"]["name"] == "Bad_Name"
    assert doc["details"]["kind"] == "Lease"
    assert doc["details"]["group"] == "coordination.k8s.io"
    assert [(c["reason"], c["field"]) for c in doc["details"]["causes"]] == [
        ("FieldValueInvalid", "metadata.name"),
        ("FieldValueInvalid", "spec.leaseDurationSeconds"),
    ]


def test_a_lease_in_an_unknown_namespace_is_404(fresh: Pair) -> None:
    _, api = fresh
    with pytest.raises(client.ApiException) as err:
        client.CoordinationV1Api(api).create_namespaced_lease("nope", lease())
    doc = json.loads(err.value.body)
    assert err.value.status == 404
    assert doc["message"] == 'namespaces "nope" not found'
    assert doc["details"] == {"name": "nope", "kind": "namespaces"}


def test_unknown_fields_strict_warn_and_ignore(fresh: Pair) -> None:
    _, api = fresh
    body = lease()
    body["spec"]["holder"] = "typo"
    code, doc, _ = call(api, "POST", LEASES, body, {"fieldValidation": "Strict"})
    assert (code, doc["reason"]) == (400, "BadRequest")
    assert doc["message"] == DECODE + 'strict decoding error: unknown field "spec.holder"'
    code, doc, headers = call(api, "POST", LEASES, body)  # Warn, the default
    assert code == 201
    assert "holder" not in doc["spec"]
    assert headers["Warning"] == '299 - "unknown field \\"spec.holder\\""'
    body["metadata"]["name"] = "other"
    code, _, headers = call(api, "POST", LEASES, body, {"fieldValidation": "Ignore"})
    assert code == 201
    assert "Warning" not in headers
    code, doc, _ = call(api, "POST", LEASES, body, {"fieldValidation": "Loose"})
    assert (code, doc["reason"]) == (422, "Invalid")


def test_put_without_resource_version_is_422_and_a_stale_one_409(fresh: Pair) -> None:
    _, api = fresh
    code, created, _ = call(api, "POST", LEASES, lease())
    assert code == 201
    code, doc, _ = call(api, "PUT", f"{LEASES}/lm", lease(holderIdentity="b"))
    assert (code, doc["reason"]) == (422, "Invalid")
    assert doc["message"] == (
        'leases.coordination.k8s.io "lm" is invalid: metadata.resourceVersion: Invalid value: '
        "0x0: must be specified for an update"
    )
    assert doc["details"] == {
        "name": "lm", "group": "coordination.k8s.io", "kind": "leases",
        "causes": [{"reason": "FieldValueInvalid", "field": "metadata.resourceVersion",
                    "message": "Invalid value: 0x0: must be specified for an update"}],
    }  # fmt: skip
    stale = lease(holderIdentity="b")
    stale["metadata"]["resourceVersion"] = "1"
    code, doc, _ = call(api, "PUT", f"{LEASES}/lm", stale)
    assert (code, doc["reason"]) == (409, "Conflict")
    current = lease(holderIdentity="b")
    current["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    code, doc, _ = call(api, "PUT", f"{LEASES}/lm", current)
    assert code == 200
    assert doc["metadata"]["uid"] == created["metadata"]["uid"]


@pytest.mark.parametrize(
    "content_type",
    ["application/merge-patch+json", "application/strategic-merge-patch+json"],
)
def test_lease_patch(fresh: Pair, content_type: str) -> None:
    _, api = fresh
    leases = client.CoordinationV1Api(api)
    leases.create_namespaced_lease(NS, lease())
    patched = leases.patch_namespaced_lease(
        "lm", NS, {"spec": {"holderIdentity": "b", "leaseTransitions": 1}},
        _content_type=content_type,
    )  # fmt: skip
    assert patched.spec.holder_identity == "b"
    assert patched.spec.lease_transitions == 1
    assert patched.spec.lease_duration_seconds == 15  # untouched
    code, doc, _ = call(api, "PATCH", f"{LEASES}/lm", {"spec": {"leaseTransitions": -1}},
                        content_type=content_type)  # fmt: skip
    assert (code, doc["reason"]) == (422, "Invalid")
    assert doc["details"]["causes"][0]["field"] == "spec.leaseTransitions"
    code, doc, _ = call(api, "PATCH", f"{LEASES}/lm", {"metadata": {"resourceVersion": "1"}},
                        content_type=content_type)  # fmt: skip
    assert (code, doc["reason"]) == (409, "Conflict")
    code, doc, _ = call(api, "PATCH", f"{LEASES}/absent", {"spec": {}}, content_type=content_type)
    assert code == 404
    assert doc["message"] == 'leases.coordination.k8s.io "absent" not found'


def test_json_patch_and_unsupported_patch_type(fresh: Pair) -> None:
    _, api = fresh
    call(api, "POST", LEASES, lease())
    ops = [{"op": "replace", "path": "/spec/holderIdentity", "value": "z"}]
    code, doc, _ = call(
        api, "PATCH", f"{LEASES}/lm", ops, content_type="application/json-patch+json"
    )
    assert code == 200
    assert doc["spec"]["holderIdentity"] == "z"
    code, doc, _ = call(api, "PATCH", f"{LEASES}/lm", {}, content_type="application/json")
    assert (code, doc["reason"]) == (415, "UnsupportedMediaType")
    assert doc["message"].startswith("the body of the request was in an unknown format")


def test_delete_with_a_body_keeps_the_connection_in_step(fresh: Pair) -> None:
    sim, api = fresh
    call(api, "POST", LEASES, lease())
    url = urlsplit(sim.url)
    ctx = ssl.create_default_context(cadata=CA.pem)
    conn = http.client.HTTPSConnection(url.hostname or "", url.port, context=ctx)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    stale = json.dumps({"kind": "DeleteOptions", "apiVersion": "v1",
                        "preconditions": {"resourceVersion": "1"}})  # fmt: skip
    conn.request("DELETE", f"{LEASES}/lm", body=stale, headers=headers)
    resp = conn.getresponse()
    assert resp.status == 409
    assert b"Precondition failed" in resp.read()
    body = json.dumps(
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    )
    conn.request("DELETE", f"{LEASES}/lm", body=body, headers=headers)
    resp = conn.getresponse()
    assert resp.status == 200
    assert json.loads(resp.read())["status"] == "Success"
    conn.request("GET", f"{LEASES}/lm", headers=headers)  # the same kept-alive connection
    resp = conn.getresponse()
    assert resp.status == 404
    assert json.loads(resp.read())["reason"] == "NotFound"
    conn.close()


def test_send_initial_events_is_refused_as_by_a_1_30_server(fresh: Pair) -> None:
    _, api = fresh
    query = {"watch": "true", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
             "resourceVersionMatch": "NotOlderThan"}  # fmt: skip
    code, doc, _ = call(api, "GET", "/api/v1/pods", query=query)
    assert (code, doc["reason"]) == (422, "Invalid")
    assert doc["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents '
        "is forbidden for watch unless the WatchList feature gate is enabled"
    )
    assert doc["details"] == {"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
        {"reason": "FieldValueForbidden", "field": "sendInitialEvents",
         "message": "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList "
                    "feature gate is enabled"}]}  # fmt: skip
    code, doc, _ = call(api, "GET", "/api/v1/pods", query={"sendInitialEvents": "true"})
    assert (code, doc["message"]) == (422, 'ListOptions.meta.k8s.io "" is invalid: '
                                      "sendInitialEvents: Forbidden: sendInitialEvents is "
                                      "forbidden for list")  # fmt: skip


def test_kube_root_ca_crt_in_every_namespace(fresh: Pair) -> None:
    _, api = fresh
    v1 = client.CoreV1Api(api)
    namespaces = sorted(n.metadata.name for n in v1.list_namespace().items)
    selector = "metadata.name=kube-root-ca.crt"
    found = v1.list_config_map_for_all_namespaces(field_selector=selector).items
    assert sorted(c.metadata.namespace for c in found) == namespaces
    assert {c.data["ca.crt"] for c in found} == {CA.pem}
    assert "kubernetes.io/description" in found[0].metadata.annotations


def test_pods_as_a_table(fresh: Pair) -> None:
    _, api = fresh
    params = api.param_serialize(
        "GET", "/api/v1/namespaces/linkerd/pods", auth_settings=["BearerToken"],
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"},
    )  # fmt: skip
    resp = api.call_api(*params)
    resp.read()
    doc = json.loads(resp.data)
    assert (doc["kind"], doc["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    names = [c["name"] for c in doc["columnDefinitions"] if c["priority"] == 0]
    assert names == ["Name", "Ready", "Status", "Restarts", "Age"]
    pods = client.CoreV1Api(api).list_namespaced_pod("linkerd").items
    assert [r["cells"][0] for r in doc["rows"]] == [p.metadata.name for p in pods]
    row, pod = doc["rows"][0], pods[0]
    ready = sum(1 for cs in pod.status.container_statuses if cs.ready)
    assert row["cells"][1] == f"{ready}/{len(pod.spec.containers)}"
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["uid"] == pod.metadata.uid


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "<invalid>"), (59, "59s"), (119, "119s"), (150, "2m30s"), (600, "10m"),
     (3 * 3600 + 60, "3h1m"), (30 * 3600, "30h"), (50 * 3600, "2d2h"), (400 * 86400, "400d"),
     (3 * 365 * 86400 + 86400, "3y1d")],
)  # fmt: skip
def test_age_as_kubectl_prints_it(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_a_node_for_every_pod(fresh: Pair) -> None:
    _, api = fresh
    v1 = client.CoreV1Api(api)
    nodes = {n.metadata.name: n for n in v1.list_node().items}
    used = {p.spec.node_name for p in v1.list_pod_for_all_namespaces().items if p.spec.node_name}
    assert used
    assert set(nodes) == used
    node = next(iter(nodes.values()))
    assert node.metadata.labels["kubernetes.io/hostname"] == node.metadata.name
    assert [(c.type, c.status) for c in node.status.conditions] == [("Ready", "True")]
    assert node.status.node_info.kubelet_version == client.VersionApi(api).get_code().git_version


def test_pods_owners_are_served(fresh: Pair) -> None:
    _, api = fresh
    apps = client.AppsV1Api(api)
    sets = {(r.metadata.namespace, r.metadata.name): r for r in
            apps.list_replica_set_for_all_namespaces().items}  # fmt: skip
    deployments = {(d.metadata.namespace, d.metadata.name): d for d in
                   apps.list_deployment_for_all_namespaces().items}  # fmt: skip
    pods = client.CoreV1Api(api).list_pod_for_all_namespaces().items
    owned = [p for p in pods if p.metadata.owner_references]
    assert owned
    for pod in owned:
        ref = pod.metadata.owner_references[0]
        rs = sets[(pod.metadata.namespace, ref.name)]
        assert (ref.kind, rs.metadata.uid) == ("ReplicaSet", ref.uid)
        top = rs.metadata.owner_references[0]
        deployment = deployments[(pod.metadata.namespace, top.name)]
        assert deployment.metadata.uid == top.uid
        assert set(deployment.spec.selector.match_labels.items()) <= set(
            pod.metadata.labels.items()
        )
    assert sum(r.spec.replicas for r in sets.values()) == len(owned)
