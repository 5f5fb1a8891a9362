"""Tests for monitor.sources.mesh.reach: when a Server's pods are all among those watched."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.policy.model import LabelSelector
from monitor.sources.mesh.reach import covered


def svc(selector: dict[str, str] | None) -> dict[str, Any]:
    return {"spec": {"selector": selector} if selector is not None else {}}


def sel(labels: dict[str, str] | None = None, *exprs: tuple[str, str, tuple[str, ...]]) -> Any:
    return LabelSelector(tuple(sorted((labels or {}).items())), tuple(exprs))


@pytest.mark.parametrize(
    ("selector", "services", "expected"),
    [
        (sel({"app": "web"}), [svc({"app": "web"})], True),
        (sel({"app": "web", "tier": "x"}), [svc({"app": "web"})], True),  # narrower
        (sel({"app": "api"}), [svc({"app": "web"})], False),  # other pods
        (sel({"tier": "x"}), [svc({"app": "web"})], False),  # may select outside
        (sel(None, ("app", "In", ("web",))), [svc({"app": "web"})], True),
        (sel(None, ("app", "In", ("web", "api"))), [svc({"app": "web"})], False),
        (sel({"app": "api"}), [svc({"app": "web"}), svc({"app": "api"})], True),  # app in (..)
        (sel({"app": "x"}), [svc({"app": "web"}), svc({"role": "api"})], True),  # whole ns
        (sel({"app": "x"}), [svc(None)], True),  # a Service without selector: whole ns
        (sel({"app": "web"}), [], False),  # no backend Service: no pods watched
    ],
)
def test_covered(selector: LabelSelector, services: list[Any], expected: bool) -> None:
    assert covered(selector, services) is expected
