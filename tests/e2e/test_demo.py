"""End to end: `simulate` → `run` → /metrics and `check -o json`, as separate processes.

The demo scenario runs with its timeline stepped by hand (`--manual-timeline`, one
event per SIGUSR1): first the operator adds the new anchor to the BIG-IP bundle,
then both BIG-IPs drop off the network. The test waits for each consequence to
show on the real metrics endpoint rather than sleeping for fixed times.
"""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.paths import CLI, DEMO, ROOT
from tests.support.waiting import free_port, wait_until
from tests.support.world import Running, start_simulate

pytestmark = pytest.mark.e2e


def compressed_demo(tmp: Path, port: int) -> Path:
    doc = yaml.safe_load(DEMO.read_text())
    doc["expected"]["poll"] = {"interval": "1s", "timeout": "1s"}
    doc["expected"]["server"] = {"listen": f"127.0.0.1:{port}"}
    fix = [e for e in doc["timeline"] if "patch" in e and "anchor" in e["description"]]
    doc["timeline"] = [
        {**fix[0], "at": "1s"},
        {"at": "2s", "fault": {"target": "bigip-a", "type": "reset", "seconds": 600}},
        {"at": "3s", "fault": {"target": "bigip-b", "type": "reset", "seconds": 600}},
    ]
    path = tmp / "demo-e2e.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def scrape(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def check_state(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], check: str) -> str:
    for (name, labels), value in samples.items():
        labels_d = dict(labels)
        if name == "f5_linkerd_check" and labels_d["check"] == check and value == 1:
            return labels_d["state"]
    return "absent"


def findings(port: int) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/findings", timeout=5) as response:
        return list(json.loads(response.read())["findings"])


def summary(items: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted((f["check"], f["severity"], f["device"], f["object"]) for f in items)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Running, subprocess.Popen[str], Path, int]]:
    tmp = tmp_path_factory.mktemp("e2e")
    port = free_port()
    sim = start_simulate(compressed_demo(tmp, port), tmp / "world", "--manual-timeline")
    run: subprocess.Popen[str] | None = None
    try:
        sim.wait_for("ready")
        log = (tmp / "run.log").open("w")
        run = subprocess.Popen(
            [*CLI, "run", "--config", str(tmp / "world" / "config.yaml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        yield sim, run, tmp, port
    finally:
        for proc in (run, sim.proc):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def test_planted_drift_then_fix_then_bigip_down(
    stack: tuple[Running, subprocess.Popen[str], Path, int],
) -> None:
    sim, run, tmp, port = stack
    wait_until(
        "a first cycle on /metrics", lambda: check_state(scrape(port), "issuer_chain") != "absent"
    )

    # 1. exactly the planted findings, from the metrics endpoint and from `check -o json`
    samples = scrape(port)
    assert check_state(samples, "trust_anchor_expiry") == "warning"
    assert check_state(samples, "bundle_missing_anchor") == "critical"
    assert check_state(samples, "bundle_cert_expiry") == "warning"
    assert check_state(samples, "pool_member_extra") == "warning"
    for passing in (
        "issuer_expiry",
        "issuer_chain",
        "bundle_stale_anchor",
        "sni_mismatch",
        "pool_member_missing",
        # these need the certificates' PEMs, read through util/bash (bashAllowed)
        "client_cert_chain",
        "client_identity_mismatch",
        "client_cert_outlives_issuer",
        "edge_sni_uncovered",
    ):
        assert check_state(samples, passing) == "pass", passing
    result = subprocess.run(
        [*CLI, "check", "--config", str(tmp / "world" / "config.yaml"), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    anchor_a_b = {
        f["object"]
        for f in document["findings"]
        if f["check"]
        not in ("pool_member_extra", "policy_identity_unknown", "oidc_jwks_key_missing_on_bigip")
    }
    planted = summary(document["findings"])
    assert [(c, s, d) for c, s, d, _ in planted] == [
        ("bundle_cert_expiry", "warning", "bigip-a"),  # anchor-a, seen in the BIG-IP bundle
        ("bundle_cert_expiry", "warning", "bigip-b"),
        ("bundle_missing_anchor", "critical", "bigip-a"),
        ("bundle_missing_anchor", "critical", "bigip-b"),
        ("oidc_jwks_key_missing_on_bigip", "warning", "bigip-a"),  # the IdP's next key
        ("oidc_jwks_key_missing_on_bigip", "warning", "bigip-b"),
        ("policy_identity_unknown", "warning", ""),  # the renamed probe account
        ("pool_member_extra", "warning", "bigip-a"),
        ("pool_member_extra", "warning", "bigip-b"),
        ("trust_anchor_expiry", "warning", ""),
    ]
    assert {o for c, _, _, o in planted if c == "pool_member_extra"} == {"10.42.9.99:443"}
    assert {o for c, _, _, o in planted if c == "policy_identity_unknown"} == {
        "ingress/ops-probes blackbox.monitoring.serviceaccount.identity.linkerd.cluster.local"
    }
    assert {o for c, _, _, o in planted if c.startswith("oidc")} == {"k2"}
    assert {f["boundary"] for f in document["findings"] if f["check"].startswith("oidc")} == {
        "workforce"
    }
    assert len(anchor_a_b) == 2  # the new anchor (missing) and the old one (expiring)
    expiring = {o for c, _, _, o in planted if c in ("bundle_cert_expiry", "trust_anchor_expiry")}
    assert len(expiring) == 1  # the same anchor-a, from the mesh side and the BIG-IP side
    assert all(s["up"] for s in document["sources"])
    assert [c["check"] for c in document["checks"] if c["state"] == "unknown"] == []
    assert summary(findings(port)) == planted
    # what README.md and docs/development.md say of the demo
    grades = [s for _, s, _, _ in planted]
    said = f"{grades.count('critical')} critical and {grades.count('warning')} warning findings"
    for doc in ("README.md", "docs/development.md"):
        assert said in " ".join((ROOT / doc).read_text().split()), doc

    # 2. the operator adds the new anchor to the BIG-IP bundle: the next cycle clears it
    sim.proc.send_signal(signal.SIGUSR1)
    sim.wait_for("timeline: t+1s the operator adds the new anchor", prefix=True)
    wait_until("bundle fixed", lambda: check_state(scrape(port), "bundle_missing_anchor") == "pass")
    after_fix = summary(findings(port))
    # anchor-a stays in the BIG-IP bundle (both anchors are current), still expiring
    assert [c for c, *_ in after_fix] == [
        "bundle_cert_expiry",
        "bundle_cert_expiry",
        "oidc_jwks_key_missing_on_bigip",
        "oidc_jwks_key_missing_on_bigip",
        "policy_identity_unknown",
        "pool_member_extra",
        "pool_member_extra",
        "trust_anchor_expiry",
    ]
    assert [f for f in after_fix if f[0] == "bundle_cert_expiry"] == [
        f for f in planted if f[0] == "bundle_cert_expiry"
    ]

    # 3. both BIG-IPs drop off: unknown, not pass; nothing cleared, nothing invented
    def bigips_down() -> bool:
        samples = scrape(port)
        return all(
            samples.get(("f5_linkerd_source_up", frozenset({("source", "bigip"), ("target", d)})))
            == 0
            for d in ("bigip-a", "bigip-b")
        )

    sim.proc.send_signal(signal.SIGUSR1)
    sim.wait_for("timeline: t+2s reset", prefix=True)
    sim.proc.send_signal(signal.SIGUSR1)
    sim.wait_for("timeline: t+3s reset", prefix=True)
    wait_until("both BIG-IPs reported down", bigips_down)
    samples = scrape(port)
    for needs_bigip in (
        "bundle_missing_anchor",
        "bundle_cert_expiry",
        "bundle_stale_anchor",
        "sni_mismatch",
        "pool_member_missing",
        "pool_member_extra",
    ):
        assert check_state(samples, needs_bigip) == "unknown", needs_bigip
    assert check_state(samples, "trust_anchor_expiry") == "warning"
    assert check_state(samples, "issuer_chain") == "pass"
    kept = findings(port)
    assert summary(kept) == after_fix
    # the BIG-IP side only (the boundaries' and the identity provider's findings on devices)
    assert [f["carried"] for f in kept if f["device"]] == [True] * 6
    up = ("f5_linkerd_source_up", frozenset({("source", "kubernetes"), ("target", "kubernetes")}))
    assert samples[up] == 1

    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=30) == 0
    stderr = (tmp / "run.log").read_text()
    assert "Traceback" not in stderr
    assert "cycle " in stderr
    assert "sources down: bigip-a" in stderr
    password = (tmp / "world" / "bigip-password").read_text().strip()
    assert password not in stderr
    sim.proc.send_signal(signal.SIGTERM)
    assert sim.proc.wait(timeout=30) == 0
