"""The form of the simulated API server's answers, driven by kubectl and the `kubernetes`
client: kubectl's columns for Services, ConfigMaps, Secrets and Leases (Tables), and the
metadata-only forms (PartialObjectMetadata) of a GET, a LIST and a WATCH."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.unit.simulate.kube.test_kubectl import kubectl

PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"


def rows(out: str) -> tuple[list[str], dict[str, list[str]]]:
    """kubectl's table: the header's columns and each row by its NAME."""
    lines = out.splitlines()
    return lines[0].split(), {line.split()[0]: line.split() for line in lines[1:]}


def request(api: client.ApiClient, path: str, accept: str, **query: str) -> tuple[int, bytes]:
    """A GET through the kubernetes client with the given Accept header: (status, body)."""
    params = api.param_serialize(
        "GET", path, query_params=list(query.items()), header_params={"Accept": accept},
        auth_settings=["BearerToken"],
    )  # fmt: skip
    resp = api.call_api(*params)
    resp.read()
    return resp.status, resp.data


def raw(api: client.ApiClient, path: str, accept: str, **query: str) -> Any:
    status, data = request(api, path, accept, **query)
    assert status == 200, data
    return json.loads(data)


def test_get_services_wide(served: tuple[Path, client.ApiClient]) -> None:
    out = kubectl(served[0], "-n", "ingress", "get", "services", "-o", "wide")
    assert out.returncode == 0, out.stderr
    header, by_name = rows(out.stdout)
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR"]
    name, kind, cluster_ip, external, ports, _, selector = by_name["nginx-ingress"]
    assert (name, kind, external, ports, selector) == (
        "nginx-ingress", "ClusterIP", "<none>", "443/TCP", "app=nginx-ingress"
    )  # fmt: skip
    svc = client.CoreV1Api(served[1]).read_namespaced_service("nginx-ingress", "ingress")
    assert cluster_ip == svc.spec.cluster_ip


def test_get_configmaps_and_secrets(served: tuple[Path, client.ApiClient]) -> None:
    core = client.CoreV1Api(served[1])
    out = kubectl(served[0], "-n", "linkerd", "get", "configmaps")
    assert out.returncode == 0, out.stderr
    header, by_name = rows(out.stdout)
    assert header == ["NAME", "DATA", "AGE"]
    for cm in core.list_namespaced_config_map("linkerd").items:
        assert by_name[cm.metadata.name][1] == str(len(cm.data or {}) + len(cm.binary_data or {}))
    assert {"kube-root-ca.crt", "linkerd-config", "linkerd-identity-trust-roots"} <= set(by_name)
    out = kubectl(served[0], "-n", "linkerd", "get", "secrets")
    assert out.returncode == 0, out.stderr
    header, by_name = rows(out.stdout)
    assert header == ["NAME", "TYPE", "DATA", "AGE"]
    secrets = core.list_namespaced_secret("linkerd").items
    assert set(by_name) == {s.metadata.name for s in secrets}
    for secret in secrets:
        assert by_name[secret.metadata.name][1:3] == [secret.type, str(len(secret.data or {}))]


LEASE = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: printed, namespace: monitoring}
spec: {holderIdentity: monitor-0, leaseDurationSeconds: 15}
"""


def test_get_leases(served: tuple[Path, client.ApiClient]) -> None:
    out = kubectl(served[0], "create", "--validate=false", "-f", "-", stdin=LEASE)
    assert out.returncode == 0, out.stderr
    out = kubectl(served[0], "-n", "monitoring", "get", "leases")
    assert out.returncode == 0, out.stderr
    header, by_name = rows(out.stdout)
    assert header == ["NAME", "HOLDER", "AGE"]
    assert by_name["printed"][:2] == ["printed", "monitor-0"]


def test_table_rows_carry_partial_object_metadata(served: tuple[Path, client.ApiClient]) -> None:
    table = raw(served[1], "/api/v1/namespaces/linkerd/configmaps",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")  # fmt: skip
    assert (table["kind"], table["apiVersion"]) == ("Table", "meta.k8s.io/v1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["metadata"]["resourceVersion"]
    assert table["rows"]
    for row in table["rows"]:
        assert row["object"]["kind"] == "PartialObjectMetadata"
        assert row["cells"][0] == row["object"]["metadata"]["name"]
    # a kind without a printer falls back to the next media type, plain JSON
    plain = raw(served[1], "/api/v1/namespaces",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")  # fmt: skip
    assert plain["kind"] == "NamespaceList"


def test_partial_object_metadata_list_and_get(served: tuple[Path, client.ApiClient]) -> None:
    api = served[1]
    full = client.CoreV1Api(api).list_namespaced_pod("ingress")
    doc = raw(api, "/api/v1/namespaces/ingress/pods", PARTIAL_LIST, limit="2")
    assert (doc["kind"], doc["apiVersion"]) == ("PartialObjectMetadataList", "meta.k8s.io/v1")
    assert doc["metadata"]["continue"]  # the list's own metadata is kept
    assert len(doc["items"]) == 2
    for item in doc["items"]:
        assert set(item) == {"kind", "apiVersion", "metadata"}
        assert item["kind"] == "PartialObjectMetadata"
    assert doc["items"][0]["metadata"]["uid"] == full.items[0].metadata.uid
    name = full.items[0].metadata.name
    one = raw(api, f"/api/v1/namespaces/ingress/pods/{name}", PARTIAL)
    assert (one["kind"], one["metadata"]["name"]) == ("PartialObjectMetadata", name)
    assert "spec" not in one


def test_partial_object_metadata_watch(served: tuple[Path, client.ApiClient]) -> None:
    api = served[1]
    status, data = request(
        api, "/api/v1/namespaces/ingress/pods", PARTIAL, watch="true", timeoutSeconds="1"
    )
    assert status == 200
    events = [json.loads(line) for line in data.splitlines() if line.strip()]
    assert events
    assert {e["type"] for e in events} == {"ADDED"}
    assert {e["object"]["kind"] for e in events} == {"PartialObjectMetadata"}
    assert all(set(e["object"]) == {"kind", "apiVersion", "metadata"} for e in events)


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/api/v1/namespaces/ingress/pods/x", PARTIAL_LIST),  # a list form for one object
        ("/api/v1/namespaces/ingress/pods", PARTIAL),  # an object form for a list
        ("/api/v1/namespaces/ingress/pods", PARTIAL_LIST.replace("v=v1", "v=v2")),
    ],
)
def test_a_form_that_cannot_be_served_is_not_acceptable(
    served: tuple[Path, client.ApiClient], path: str, accept: str
) -> None:
    code, data = request(served[1], path, accept)
    assert code == 406
    status = json.loads(data)
    assert (status["kind"], status["reason"]) == ("Status", "NotAcceptable")
    assert status["message"].startswith("only the following media types are accepted: ")
