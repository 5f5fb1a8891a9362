"""The `simulate` and `validate-config` commands, run as a user runs them (subprocesses)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from kubernetes import client, config

from tests.support.paths import CLI, DEMO, ROOT
from tests.support.world import Running, start_simulate

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Path]]:
    out = tmp_path_factory.mktemp("demo-out")
    running = start_simulate(DEMO, out)
    try:
        running.wait_for("ready")
        yield running, out
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait()


def _bigip_urls(out: Path) -> dict[str, str]:
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    return {entry["name"]: entry["url"] for entry in cfg["bigip"]}


def test_simulate_writes_what_a_client_needs(demo: tuple[Running, Path]) -> None:
    _, out = demo
    for name in ("kubeconfig", "bigip-ca.pem", "bigip-username", "bigip-password", "config.yaml"):
        assert (out / name).is_file(), name
    assert (out / "bigip-password").stat().st_mode & 0o077 == 0
    assert set(_bigip_urls(out)) == {"bigip-a", "bigip-b"}
    result = subprocess.run(
        [*CLI, "validate-config", str(out / "config.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "valid (2 BIG-IP device(s), 1 boundary)" in result.stdout


def test_bigip_answers_with_the_scenario_objects_over_verified_tls(
    demo: tuple[Running, Path],
) -> None:
    _, out = demo
    user = (out / "bigip-username").read_text().strip()
    password = (out / "bigip-password").read_text().strip()
    for url in _bigip_urls(out).values():
        ctx = ssl.create_default_context(cafile=str(out / "bigip-ca.pem"))
        with httpx.Client(verify=ctx, base_url=url, timeout=10) as http:
            login = http.post(
                "/mgmt/shared/authn/login",
                json={"username": user, "password": password, "loginProviderName": "tmos"},
            )
            assert login.status_code == 200
            token = login.json()["token"]["token"]
            virtuals = http.get("/mgmt/tm/ltm/virtual", headers={"X-F5-Auth-Token": token})
            assert [v["fullPath"] for v in virtuals.json()["items"]] == ["/k8s/Shared/shop_443"]
            pool = http.get(
                "/mgmt/tm/ltm/pool/~k8s~Shared~nginx_ingress_443_ingress/members",
                auth=(user, password),
            )
            addresses = sorted(m["address"] for m in pool.json()["items"])
            assert addresses == ["10.42.0.11", "10.42.1.12", "10.42.2.13", "10.42.9.99"]
    with httpx.Client(verify=True, timeout=5) as strict, pytest.raises(httpx.ConnectError):
        strict.get(next(iter(_bigip_urls(out).values())) + "/mgmt/tm/sys/version")


def test_kubernetes_client_lists_the_scenario_objects(demo: tuple[Running, Path]) -> None:
    _, out = demo
    api_client = config.new_client_from_config(config_file=str(out / "kubeconfig"))
    core = client.CoreV1Api(api_client)
    roots = core.read_namespaced_config_map("linkerd-identity-trust-roots", "linkerd")
    assert roots.data["ca-bundle.crt"].count("BEGIN CERTIFICATE") == 2
    pods = core.list_namespaced_pod("ingress", label_selector="app=nginx-ingress")
    assert sorted(p.status.pod_ip for p in pods.items) == ["10.42.0.11", "10.42.1.12", "10.42.2.13"]
    slices = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        "ingress", label_selector="kubernetes.io/service-name=nginx-ingress"
    )
    ready = sorted(
        address
        for item in slices.items
        for endpoint in item.endpoints
        if endpoint.conditions.ready
        for address in endpoint.addresses
    )
    assert ready == ["10.42.0.11", "10.42.1.12", "10.42.2.13"]


def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    running = start_simulate(DEMO, tmp_path)
    running.wait_for("ready")
    running.proc.send_signal(signal.SIGTERM)
    assert running.proc.wait(timeout=20) == 0
    assert running.proc.stderr is not None
    assert "Traceback" not in running.proc.stderr.read()


def test_sigint_stops_it_cleanly(tmp_path: Path) -> None:
    running = start_simulate(DEMO, tmp_path)
    running.wait_for("ready")
    running.proc.send_signal(signal.SIGINT)
    assert running.proc.wait(timeout=20) == 0


def test_bad_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncertificates:\n  a: {cn: a, signer: nope}\n")
    result = subprocess.run(
        [*CLI, "simulate", "--scenario", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'simulate: {bad}: certificates.a.signer: unknown certificate "nope"'
    )


def test_validate_config_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "bigip:\n  - {name: a, url: 'https://a', username: u, passwordEnv: P, insecure: true}\n"
        "boundaries:\n  - name: b\n    mode: mesh-tls\n    devices: [a, c]\n"
        "    virtual: /Common/v\n    backend: {service: {namespace: n, name: s, port: 443}}\n"
    )
    result = subprocess.run(
        [*CLI, "validate-config", str(bad)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f'{bad}: boundaries[0].devices[1]: unknown device "c"'
    assert "Traceback" not in result.stderr
    missing = subprocess.run(
        [*CLI, "validate-config", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "Traceback" not in missing.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "f5-linkerd-monitor"
    assert script.exists()
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "simulate" in result.stdout
    assert "validate-config" in result.stdout
    assert os.access(script, os.X_OK)


def test_simulate_writes_into_dot_simulate_by_default(tmp_path: Path) -> None:
    """`simulate --scenario FILE`, as the design writes it, needs no --out."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [*CLI, "simulate", "--scenario", str(DEMO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    running = Running(proc)
    try:
        running.wait_for("ready")
        assert (tmp_path / ".simulate" / "config.yaml").is_file()
        assert (tmp_path / ".simulate" / "kubeconfig").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
