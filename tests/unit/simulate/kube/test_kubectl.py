"""The simulated API server driven by kubectl (from .tools/bin, installed by scripts/helm.sh):
listing pods, `auth can-i`, `wait`, a Lease created, refused when invalid, patched and deleted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sim_kube import BASE, render, serve
from tests.support.tools import require_tool


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("kubectl")
    with serve(render(BASE), tmp):
        yield tmp / "kubeconfig"


def kubectl(
    config: Path, *args: str, stdin: str | None = None, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(config), "HOME": str(config.parent), **extra_env}
    return subprocess.run(
        [require_tool("kubectl"), "--request-timeout=20s", *args],
        input=stdin, capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip


def test_get_pods_across_namespaces(kubeconfig: Path) -> None:
    out = kubectl(kubeconfig, "get", "pods", "-A")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    rows = [line.split() for line in lines[1:]]
    assert any(row[0] == "linkerd" and row[3] == "Running" for row in rows)
    assert all("/" in row[2] for row in rows)


INVALID = """apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: Bad_Name, namespace: monitoring}
spec: {holderIdentity: a, leaseDurationSeconds: 0}
"""
VALID = INVALID.replace("Bad_Name", "lm").replace(
    "leaseDurationSeconds: 0", "leaseDurationSeconds: 15"
)


def test_lease_refused_created_patched_deleted(kubeconfig: Path) -> None:
    # --validate=false: no client-side schema check (the server serves no OpenAPI documents)
    out = kubectl(kubeconfig, "create", "--validate=false", "-f", "-", stdin=INVALID)
    assert out.returncode != 0
    assert 'The Lease "Bad_Name" is invalid' in out.stderr  # kubectl renders details.causes
    assert "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0" in out.stderr
    out = kubectl(kubeconfig, "create", "--validate=false", "-f", "-", stdin=VALID)
    assert out.returncode == 0, out.stderr
    out = kubectl(kubeconfig, "-n", "monitoring", "patch", "lease", "lm", "--type=merge",
                  "-p", '{"spec":{"holderIdentity":"b"}}')  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = kubectl(kubeconfig, "-n", "monitoring", "get", "lease", "lm",
                  "-o", "jsonpath={.spec.holderIdentity}")  # fmt: skip
    assert out.stdout == "b"
    out = kubectl(kubeconfig, "-n", "monitoring", "delete", "lease", "lm")
    assert out.returncode == 0, out.stderr
    out = kubectl(kubeconfig, "-n", "monitoring", "get", "lease", "lm")
    assert out.returncode != 0
    assert 'leases.coordination.k8s.io "lm" not found' in out.stderr


def test_auth_can_i(kubeconfig: Path) -> None:
    """kubectl posts the SelfSubjectAccessReview as protobuf."""
    out = kubectl(kubeconfig, "auth", "can-i", "list", "pods", "-n", "linkerd")
    assert (out.returncode, out.stdout.strip()) == (0, "yes"), out.stderr


@pytest.mark.parametrize("watch_list", ["false", "true"])
def test_wait_for_ready(kubeconfig: Path, watch_list: str) -> None:
    """With client-go's WatchListClient gate on, kubectl first asks for a sendInitialEvents
    watch; the server refuses it as a 1.30 server does and kubectl falls back."""
    name = kubectl(kubeconfig, "-n", "linkerd", "get", "pods", "-o", "name").stdout.split()[0]
    out = kubectl(kubeconfig, "-n", "linkerd", "wait", "--for=condition=Ready", name,
                  "--timeout=20s", "-v=6", KUBE_FEATURE_WatchListClient=watch_list)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{name} condition met"
    assert ("sendInitialEvents=true" in out.stderr) == (watch_list == "true")
    assert ("422 Unprocessable Entity" in out.stderr) == (watch_list == "true")
