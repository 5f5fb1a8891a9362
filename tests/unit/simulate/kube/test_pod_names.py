"""Pod names of a simulated ReplicaSet stay unique when two generated suffixes collide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.simulate.kube import pods
from monitor.simulate.kube.meta import AppContainer, PodInput, Workload

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _workload(n: int) -> Workload:
    return Workload(
        namespace="team-00",
        name="app-000",
        service_account="app-000",
        labels={"app": "app-000"},
        containers=(AppContainer("app", "registry.example/app:1", ()),),
        pods=tuple(PodInput(f"10.128.0.{i + 1}") for i in range(n)),
    )


def test_generated_names_of_distinct_pods_differ() -> None:
    names = [p["metadata"]["name"] for p in pods.render_pods(_workload(50), None, NOW, 30)]
    assert len(set(names)) == 50
    assert all(name.startswith("app-000-") for name in names)


def test_a_collision_gets_another_suffix_as_the_controller_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = pods.generated_name
    calls: list[Any] = []

    def colliding(base: str, material: Any) -> str:  # the first two pods' suffixes collide
        calls.append(list(material))
        return base + "aaaaa" if len(calls) <= 2 else real(base, material)

    monkeypatch.setattr(pods, "generated_name", colliding)
    names = [p["metadata"]["name"] for p in pods.render_pods(_workload(3), None, NOW, 30)]
    assert names[0].endswith("-aaaaa")
    assert len(set(names)) == 3
    assert calls[2][:-1] == calls[1]  # the same pod, its material and an attempt
