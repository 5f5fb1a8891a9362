"""Fixtures shared by the Kubernetes simulator's conformance tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tests.support.sim_kube import BASE, render, serve


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, client.ApiClient]]:
    """The base world served for one test module: its kubeconfig, and an API client."""
    tmp = tmp_path_factory.mktemp("served")
    with serve(render(BASE), tmp) as (_, api):
        yield tmp / "kubeconfig", api
