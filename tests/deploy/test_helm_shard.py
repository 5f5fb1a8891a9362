"""The Helm chart's `shard` value: a shard runs with `--shard` and may take its own Lease,
a bad value is refused, and the chart and the monitor agree on long lease names
(`monitor.daemon.shard.lease_name`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.daemon.shard import Shard, lease_name
from tests.deploy.test_manifests import (
    NAMESPACE,
    allowed,
    config_of,
    grants,
    helm_result,
    helm_template,
    one,
)


def test_helm_runs_a_shard_with_its_own_lease(tmp_path: Path) -> None:
    objs = helm_template(tmp_path, {"shard": "2/3", "replicas": 2})
    (container,) = one(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert container["args"][-2:] == ["--shard", "2/3"]
    election = config_of(objs).leader_election
    sharded = lease_name(election.lease_name, Shard(2, 3))
    rules = grants(objs)
    for verb in ("get", "update", "create"):
        assert allowed(rules, verb, "coordination.k8s.io", "leases", NAMESPACE, sharded)
    assert not allowed(rules, "update", "coordination.k8s.io", "leases", NAMESPACE, "other")
    unsharded = helm_template(tmp_path)
    (plain,) = one(unsharded, "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "--shard" not in plain["args"]


@pytest.mark.parametrize("value", ["0/3", "4/3", "a/b", "3"])
def test_helm_refuses_a_bad_shard(tmp_path: Path, value: str) -> None:
    result = helm_result(tmp_path, {"shard": value})
    assert result.returncode != 0
    assert "shard: " in result.stderr


def test_the_chart_and_the_monitor_agree_on_long_lease_names(tmp_path: Path) -> None:
    base = "lease-" + "x" * 240 + ".y"
    values = {"shard": "12/16", "leaderElection": {"leaseName": base}}
    objs = helm_template(tmp_path, values)
    role = one(objs, "Role", "f5-linkerd-monitor-leader-election")
    (named,) = (r for r in role["rules"] if r.get("resourceNames"))
    assert named["resourceNames"] == [lease_name(base, Shard(12, 16))]
