"""`doctor` through `cli.main` against the simulated world of the scenario table.

The must-show: with util/bash refused on both BIG-IPs and one Kubernetes grant withheld,
the table names exactly the checks a real cycle leaves unknown, and doctor exits 1. Also
the clean world (exit 0), the ways a source cannot be reached (exit 2: closed port, name
that does not resolve, a caFile that does not verify the device, a refused login, a bad
config), basic auth, a partition the user cannot see, and a bundleReader that never runs
bash. No secret is ever printed.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import cli
from monitor.config.schema import load_config
from monitor.daemon.cycle import check_once
from monitor.simulate.scenario import PatchOp, apply_patch
from monitor.simulate.world import World
from tests.support.scenario_table import base_case, copy_case, start_world

BASH_REFUSED = [
    {"op": "replace", "path": f"/bigip/devices/name={d}/bashAllowed", "value": False}
    for d in ("bigip-a", "bigip-b")
]
ISSUER_WITHHELD = [
    {
        "op": "add",
        "path": "/kubernetes/withhold",
        "value": [{"resource": "secrets", "namespace": "linkerd",
                   "name": "linkerd-identity-issuer"}],
    }
]  # fmt: skip
# What the requirement table says these two take away: util/bash (the signature chains)
# and the issuer Secret (every issuer check).
MUST_SHOW_UNKNOWN = {
    "client_cert_chain",
    "client_cert_outlives_issuer",
    "issuer_expiry",
    "issuer_algorithm",
    "issuer_not_ca",
    "issuer_chain",
    "issuer_outlives_anchor",
}


@pytest.fixture
def world_with(tmp_path: Path) -> Iterator[Any]:
    started: list[World] = []

    def start(ops: list[dict[str, Any]]) -> tuple[World, Path]:
        base = base_case()
        patch = tuple(PatchOp(o["op"], o["path"], o["value"], "test") for o in ops)
        case = copy_case(base, document=apply_patch(base.document, patch))
        world, config, _ = start_world(case, tmp_path / f"w{len(started)}")
        started.append(world)
        return world, config

    yield start
    for world in started:
        world.stop()


def doctor(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = cli.main(["doctor", "--config", str(config), "-o", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def will(document: dict[str, Any], what: str) -> set[str]:
    return {c["check"] for c in document["checks"] if c["will"] == what}


def edit(config: Path, change: Any) -> Path:
    doc = yaml.safe_load(config.read_text())
    change(doc)
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    return config


def test_the_clean_world_is_all_granted(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    world, config = world_with([])
    code, document = doctor(config, capsys)
    assert code == 0
    assert will(document, "unknown") == set()
    assert "trust_anchor_pin" in will(document, "not applicable")  # no pins in this config
    assert all(s["reachable"] and not s["missing"] for s in document["sources"])
    password = world.state.bigip.credentials.password
    assert password not in json.dumps(document)


def test_bash_refused_and_a_grant_withheld_names_exactly_the_unknown_checks(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = world_with([*BASH_REFUSED, *ISSUER_WITHHELD])
    code, document = doctor(config, capsys)
    assert code == 1
    unknown = will(document, "unknown")
    assert unknown == MUST_SHOW_UNKNOWN
    why = {c["check"]: c["why"] for c in document["checks"]}
    assert any("bigip-a: util/bash: refused (http_401)" in w for w in why["client_cert_chain"])
    assert any("kubernetes: issuer-secret" in w for w in why["issuer_expiry"])
    # the same world, one real cycle: the checks it leaves unknown are the ones named
    logging.disable(logging.WARNING)
    try:
        snapshot = check_once(load_config(config))
    finally:
        logging.disable(logging.NOTSET)
    real = {s.check for s in snapshot.states if s.state == "unknown"}
    assert unknown == real
    # and the text report says it in words
    assert cli.main(["doctor", "--config", str(config)]) == 1
    text = capsys.readouterr().out
    assert "refused  util/bash" in text
    assert '"list" and "watch" on secrets (resourceNames: linkerd-identity-issuer)' in text
    assert "7 of 48 applicable checks will be unknown" in text


def test_on_tmos_before_14_1_the_name_checks_need_bash_too(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """TMOS 13.1 lists no `subjectAlternativeName`: without util/bash the names are unknown,
    and doctor says so as the cycle finds it (clientIdentity is set: the policy check runs)."""
    old = [
        {"op": "add", "path": f"/bigip/devices/name={d}/version", "value": "13.1.0.8"}
        for d in ("bigip-a", "bigip-b")
    ]
    _, config = world_with([*BASH_REFUSED, *old])
    code, document = doctor(config, capsys)
    assert code == 1
    unknown = will(document, "unknown")
    assert unknown == {
        "client_cert_chain",
        "client_cert_outlives_issuer",
        "client_identity_mismatch",
        "edge_sni_uncovered",
    }
    why = {c["check"]: c["why"] for c in document["checks"]}
    assert any("TMOS 13.1.0.8" in w for w in why["edge_sni_uncovered"])
    logging.disable(logging.WARNING)
    try:
        snapshot = check_once(load_config(config))
    finally:
        logging.disable(logging.NOTSET)
    assert unknown == {s.check for s in snapshot.states if s.state == "unknown"}


def test_an_unreachable_device_exits_2(world_with: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _, config = world_with([])
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def close(doc: dict[str, Any]) -> None:
        doc["bigip"][0]["url"] = f"https://127.0.0.1:{port}"

    code, document = doctor(edit(config, close), capsys)
    assert code == 2
    first = document["sources"][0]
    assert not first["reachable"]
    assert first["probes"][-1]["name"] == "TCP"
    assert first["probes"][-1]["status"] == "failed"
    assert "bigip-a" in " ".join(w for c in document["checks"] for w in c["why"])


def test_a_name_that_does_not_resolve_exits_2(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = world_with([])

    def rename(doc: dict[str, Any]) -> None:
        doc["bigip"][1]["url"] = "https://bigip-b.invalid"

    code, document = doctor(edit(config, rename), capsys)
    assert code == 2
    assert document["sources"][1]["probes"][0]["name"] == "DNS"
    assert document["sources"][1]["probes"][0]["status"] == "failed"


def test_a_ca_file_that_does_not_verify_names_the_presented_certificate(
    world_with: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world, config = world_with([])
    other = tmp_path / "other-ca.pem"
    other.write_text(world.state.certs["anchor"].pem)  # a CA, but not the one that signed it

    def swap(doc: dict[str, Any]) -> None:
        doc["bigip"][0]["caFile"] = str(other)

    code, document = doctor(edit(config, swap), capsys)
    assert code == 2
    tls = document["sources"][0]["probes"][-1]
    assert tls["name"] == "TLS"
    assert tls["status"] == "failed"
    assert "CN=localhost" in tls["detail"]
    assert "issuer CN=f5-linkerd-monitor simulation CA" in tls["detail"]


def test_a_refused_login_exits_2_without_the_password(
    world_with: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, config = world_with([])
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password-0123\n")

    def break_password(doc: dict[str, Any]) -> None:
        doc["bigip"][0]["passwordFile"] = str(wrong)

    code, document = doctor(edit(config, break_password), capsys)
    assert code == 2
    login = document["sources"][0]["probes"][-1]
    assert login["name"] == "login"
    assert login["status"] == "failed"
    assert "not-the-password-0123" not in json.dumps(document)


def test_basic_auth_a_hidden_partition_and_a_reader_without_bash(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = world_with([])

    def change(doc: dict[str, Any]) -> None:
        doc["bigip"][0]["authType"] = "basic"
        doc["bigip"][0]["partitions"] = ["Common", "k8s", "tenant-b"]
        doc["bigip"][1]["bundleReader"] = "ca-bundle-manager"

    code, document = doctor(edit(config, change), capsys)
    assert code == 1
    a, b = document["sources"][0], document["sources"][1]
    probes_a = {p["name"]: p for p in a["probes"]}
    assert probes_a["login"]["status"] == "ok"
    assert "basic auth" in probes_a["login"]["detail"]
    assert probes_a["partitions"]["status"] == "failed"
    assert "tenant-b" in probes_a["partitions"]["detail"]
    assert a["problems"]
    assert b["missing"] == {"util/bash": "not used: bundleReader ca-bundle-manager never runs"
                            " util/bash"}  # fmt: skip
    assert will(document, "unknown") == {"client_cert_chain", "client_cert_outlives_issuer"}


def test_a_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("bigip: []\n")
    assert cli.main(["doctor", "--config", str(config)]) == 2
    assert str(config) in capsys.readouterr().err


def test_an_unreachable_kubernetes_api_exits_2(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = world_with([])
    kubeconfig = config.parent / "kubeconfig"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    doc = yaml.safe_load(kubeconfig.read_text())
    doc["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    kubeconfig.write_text(yaml.safe_dump(doc))
    code, document = doctor(config, capsys)
    assert code == 2
    kube = document["sources"][-1]
    assert not kube["reachable"]
    assert kube["probes"][-1]["name"] == "API server"
    assert "trust_anchor_expiry" in will(document, "unknown")


def test_leader_election_needs_its_lease(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    withhold = [{"op": "add", "path": "/kubernetes/withhold",
                 "value": [{"resource": "leases", "namespace": "monitoring"}]}]  # fmt: skip
    _, config = world_with(withhold)

    def elect(doc: dict[str, Any]) -> None:
        doc["leaderElection"] = {"enabled": True, "namespace": "monitoring"}

    code, document = doctor(edit(config, elect), capsys)
    assert code == 1
    assert will(document, "unknown") == set()  # no check needs the Lease; `run` does
    kube = document["sources"][-1]
    lease = kube["probes"][-1]
    assert lease["name"] == "get, update, create lease monitoring/f5-linkerd-monitor"
    assert lease["status"] == "refused"
    assert kube["problems"]


def test_cluster_scope_reviews_the_policy_familys_kinds_cluster_wide(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """watchScope cluster: the ServiceAccounts and routes the policy family reads are
    reviewed once, cluster-wide, beside the backends' kinds."""
    _, config = world_with([])
    edit(config, lambda doc: doc.setdefault("mesh", {}).update(watchScope="cluster"))
    code, document = doctor(config, capsys)
    assert code == 0, document
    assert will(document, "unknown") == set()
    text = json.dumps(document)
    targets = ("serviceaccounts", "httproutes.policy.linkerd.io", "servers.policy.linkerd.io",
               "services")  # fmt: skip
    for target in targets:
        assert f"list, watch {target} (cluster-wide)" in text, target


def test_a_device_without_apm_is_one_note_not_a_row_of_refusals(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = world_with(
        [{"op": "add", "path": "/bigip/devices/name=bigip-a/apm", "value": "none"}]
    )
    code, document = doctor(config, capsys)
    assert code == 0
    probes = {s["source"]: s["probes"] for s in document["sources"] if s["kind"] == "bigip"}
    without = {p["name"]: p["status"] for p in probes["bigip-a"]}
    assert without["sys/provision"] == "note"
    assert not any(name.startswith(("apm/", "access/")) for name in without)
    with_apm = {p["name"]: p["status"] for p in probes["bigip-b"]}
    assert with_apm["sys/provision"] == "ok"
    assert with_apm["apm/aaa/oauth-provider"] == "ok"


def test_certificate_mode_reviews_the_requests_as_an_optional_grant(
    world_with: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """mesh.issuer.source: certificate reads the issued certificate from cert-manager's
    CertificateRequests: reviewed, and without them a note (nothing new is unknown)."""
    cert_manager = [
        {"op": "replace", "path": "/kubernetes/linkerd/issuer",
         "value": {"scheme": "kubernetes.io/tls", "cert": "issuer"}},
        {"op": "add", "path": "/kubernetes/linkerd/certManager", "value": {}},
    ]  # fmt: skip

    def by_certificate(doc: dict[str, Any]) -> None:
        doc.setdefault("mesh", {})["issuer"] = {"source": "certificate"}

    _, config = world_with(cert_manager)
    code, document = doctor(edit(config, by_certificate), capsys)
    assert code == 0, document
    probes = {p["name"]: p for p in document["sources"][-1]["probes"]}
    requests = probes["list, watch certificaterequests.cert-manager.io linkerd"]
    assert requests["status"] == "ok"
    rule = {"resource": "certificaterequests", "namespace": "linkerd"}
    withheld = [{"op": "add", "path": "/kubernetes/withhold", "value": [rule]}]
    _, config = world_with([*cert_manager, *withheld])
    code, document = doctor(edit(config, by_certificate), capsys)
    assert code == 0, document
    kube = document["sources"][-1]
    requests = {p["name"]: p for p in kube["probes"]}[
        "list, watch certificaterequests.cert-manager.io linkerd"
    ]
    assert requests["status"] == "note"
    assert "optional" in requests["detail"]
    assert "issuer_chain" in requests["detail"]
    assert not kube["missing"]
