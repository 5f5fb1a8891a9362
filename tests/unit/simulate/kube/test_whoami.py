"""SelfSubjectReview (`kubectl auth whoami`, the kubernetes client) honouring the scenario's
identity, and the strict decoding of the reviews the monitor and kubectl write."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.sim_kube import render, scenario, serve
from tests.unit.simulate.kube.test_conformance import call
from tests.unit.simulate.kube.test_kubectl import kubectl

SA_USER = "system:serviceaccount:monitoring:f5-linkerd-monitor"
SSR = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SSAR = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def test_kubectl_auth_whoami(served: tuple[Path, client.ApiClient]) -> None:
    out = kubectl(served[0], "auth", "whoami")
    assert out.returncode == 0, out.stderr
    lines = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in out.stdout.splitlines()]
    table = dict(lines[1:])
    assert lines[0] == ["ATTRIBUTE", "VALUE"]
    assert table["Username"] == SA_USER
    account = client.CoreV1Api(served[1]).read_namespaced_service_account(
        "f5-linkerd-monitor", "monitoring"
    )
    assert table["UID"] == account.metadata.uid
    assert table["Groups"] == (
        "[system:serviceaccounts system:serviceaccounts:monitoring system:authenticated]"
    )
    assert table["Extra: authentication.kubernetes.io/credential-id"].startswith("[JTI=")


def test_kubectl_auth_whoami_json(served: tuple[Path, client.ApiClient]) -> None:
    out = kubectl(served[0], "auth", "whoami", "-o", "json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert (doc["kind"], doc["apiVersion"]) == ("SelfSubjectReview", "authentication.k8s.io/v1")
    assert doc["metadata"]["creationTimestamp"]
    assert doc["status"]["userInfo"]["username"] == SA_USER


def test_another_user_through_the_kubernetes_client(tmp_path: Path) -> None:
    with serve(render(scenario(user="jane@example.com")), tmp_path) as (_, api):
        body = client.V1SelfSubjectReview()
        got = client.AuthenticationV1Api(api).create_self_subject_review(body)
    info = got.status.user_info
    assert (info.username, info.groups, info.uid, info.extra) == (
        "jane@example.com", ["system:authenticated"], None, None
    )  # fmt: skip


def ssar(**attrs: Any) -> dict[str, Any]:
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "list", "resource": "pods", **attrs}},
    }


def test_reviews_decode_strictly(served: tuple[Path, client.ApiClient]) -> None:
    api = served[1]
    selector = {"fieldSelector": {"rawSelector": "metadata.name=x"}}  # 1.31's, unknown to 1.30
    code, doc, _ = call(api, "POST", SSAR, ssar(**selector), {"fieldValidation": "Strict"})
    assert (code, doc["reason"]) == (400, "BadRequest")
    assert doc["message"] == (
        'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview:'
        ' strict decoding error: unknown field "spec.resourceAttributes.fieldSelector"'
    )
    code, doc, headers = call(api, "POST", SSAR, ssar(**selector))  # Warn, the default
    assert (code, doc["status"]["allowed"]) == (201, True)
    assert 'unknown field \\"spec.resourceAttributes.fieldSelector\\"' in headers["Warning"]
    code, doc, _ = call(api, "POST", SSAR, ssar(verb=1))
    assert code == 400
    assert doc["message"].endswith(
        "json: cannot unmarshal number into Go struct field"
        " ResourceAttributes.spec.resourceAttributes.verb of type string"
    )
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    code, doc, _ = call(api, "POST", SSR, {**review, "status": {"userInfo": {"groups": "x"}}})
    assert code == 400
    assert doc["message"] == (
        'SelfSubjectReview in version "v1" cannot be handled as a SelfSubjectReview: json:'
        " cannot unmarshal string into Go struct field UserInfo.status.userInfo.groups of type"
        " []string"
    )
    code, doc, _ = call(api, "POST", SSR, {**review, "spec": {}}, {"fieldValidation": "Strict"})
    assert (code, doc["message"].rpartition(": ")[2]) == (400, 'unknown field "spec"')
    code, doc, _ = call(api, "POST", SSR, review, {"fieldValidation": "Strict"})
    assert (code, doc["status"]["userInfo"]["username"]) == (201, SA_USER)
    code, doc, _ = call(api, "GET", SSR)
    assert (code, doc["reason"]) == (405, "MethodNotAllowed")
