"""SelfSubjectAccessReview on the simulated API, through the real `kubernetes` client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from monitor.simulate.kube.server import SimulatedKubernetes
from tests.support.sim_kube import render, scenario, serve

WITHHOLD = [
    {"resource": "secrets", "namespace": "linkerd", "name": "linkerd-identity-issuer"},
    {"resource": "pods", "namespace": "ingress"},
    {"resource": "servers", "namespace": "ingress"},
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, client.ApiClient]]:
    with serve(render(scenario(withhold=WITHHOLD)), tmp_path_factory.mktemp("kube")) as pair:
        yield pair


def ask(api: client.ApiClient, **attrs: str) -> client.V1SubjectAccessReviewStatus:
    body = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(**attrs)
        )
    )
    answer = client.AuthorizationV1Api(api).create_self_subject_access_review(body)
    assert answer.spec.resource_attributes.resource == attrs["resource"]  # echoed
    return answer.status


@pytest.mark.parametrize(
    ("attrs", "allowed"),
    [
        ({"verb": "list", "resource": "secrets", "namespace": "linkerd",
          "name": "linkerd-identity-issuer"}, False),
        ({"verb": "watch", "resource": "secrets", "namespace": "linkerd"}, False),
        ({"verb": "list", "resource": "secrets", "namespace": "linkerd", "name": "other"}, True),
        ({"verb": "list", "resource": "configmaps", "namespace": "linkerd"}, True),
        ({"verb": "list", "resource": "pods", "namespace": "ingress"}, False),
        ({"verb": "list", "resource": "pods", "namespace": "linkerd"}, True),
        ({"verb": "list", "resource": "pods"}, False),  # all namespaces: the rule covers one
        ({"verb": "watch", "resource": "servers", "group": "policy.linkerd.io",
          "namespace": "ingress"}, False),
        ({"verb": "watch", "resource": "servers", "group": "other.example",
          "namespace": "ingress"}, True),
    ],
)  # fmt: skip
def test_reviews_answer_as_the_withheld_grants_say(
    api: tuple[SimulatedKubernetes, client.ApiClient], attrs: dict[str, str], allowed: bool
) -> None:
    sim, apic = api
    status = ask(apic, **attrs)
    assert status.allowed is allowed
    assert bool(status.reason) is allowed  # RBAC names what allowed it, and nothing else
    assert sim.stats().requests[("create", "selfsubjectaccessreviews.authorization.k8s.io")]


def test_the_same_requests_are_forbidden_or_served(
    api: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, apic = api
    core = client.CoreV1Api(apic)
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_pod("ingress")
    assert err.value.status == 403
    assert ask(apic, verb="list", resource="pods", namespace="linkerd").allowed
    core.list_namespaced_pod("linkerd")


def test_a_review_without_attributes_is_invalid(
    api: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, apic = api
    body = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec())
    with pytest.raises(client.ApiException) as err:
        client.AuthorizationV1Api(apic).create_self_subject_access_review(body)
    assert err.value.status == 422
