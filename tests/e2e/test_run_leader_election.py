"""`run` with leader election: the daemon (`serve`, what `run` starts) follows while another
replica holds the Lease of the simulated Kubernetes API, then leads once it is released,
as its /metrics show. The electors themselves are unit-tested in
tests/unit/daemon/test_leader.py."""

from __future__ import annotations

import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes import config as kube_config

from monitor.config.schema import load_config
from monitor.daemon.leader import (
    LeaseClient,
    LeaseElector,
)
from monitor.daemon.serve import serve
from tests.support.paths import DEMO
from tests.support.waiting import free_port, wait_until
from tests.support.world import running_world

pytestmark = pytest.mark.e2e

NAMESPACE = "monitoring"


def test_run_with_leader_election_follows_until_the_lease_is_released(tmp_path: Path) -> None:
    with running_world(DEMO, tmp_path / "world") as (_, config_file):
        doc = yaml.safe_load(config_file.read_text())
        port = free_port()
        doc["server"] = {"listen": f"127.0.0.1:{port}"}
        doc["poll"] = {"interval": "2s", "timeout": "2s"}
        doc["leaderElection"] = {"enabled": True, "namespace": NAMESPACE, "leaseName": "lm"}
        config_file.write_text(yaml.safe_dump(doc))
        cfg = load_config(config_file)
        api = kube_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(cfg.mesh.kubeconfig)
        )
        other = LeaseElector(LeaseClient(lambda: api, NAMESPACE, "lm"), "other-replica")
        assert other.step()  # the other replica leads when this one starts
        stop_other, stop = threading.Event(), threading.Event()
        renewing = threading.Thread(target=other.run, args=(stop_other,), daemon=True)
        renewing.start()
        daemon = threading.Thread(target=serve, args=(cfg, stop), daemon=True)
        daemon.start()
        try:
            wait_until(
                "a follower", lambda: "f5_linkerd_leader 0.0" in _scrape(port), 30, every=0.02
            )
            time.sleep(3)  # a poll interval and more: a follower still polls nothing
            text = _scrape(port)
            assert "f5_linkerd_leader 0.0" in text
            assert "f5_linkerd_check{" not in text
            assert "f5_linkerd_source_up{" not in text
            stop_other.set()  # the other replica shuts down and releases the lease
            renewing.join(timeout=10)
            wait_until(
                "the leader's checks", lambda: "f5_linkerd_check{" in _scrape(port), 30, every=0.02
            )
            assert "f5_linkerd_leader 1.0" in _scrape(port)
        finally:
            stop.set()
            stop_other.set()
            daemon.join(timeout=30)
        lease = client.CoordinationV1Api(api).read_namespaced_lease("lm", NAMESPACE)
        api.close()
    assert lease.spec is not None
    assert lease.spec.holder_identity in (None, "")  # released on the way out
    assert lease.spec.lease_transitions == 1


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""
