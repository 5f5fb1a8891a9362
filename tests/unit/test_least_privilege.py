"""A read-only BIG-IP account: with util/bash refused, only signature checks stay unknown.

The demo world (monitor/simulate/scenarios/demo.yaml, TMOS 15.1) with `bashAllowed: false`
on both devices: the simulated BIG-IP answers util/bash with 401 `Authorization failed`, as
a device does for a role without bash. Its ssl-cert objects carry `subjectAlternativeName`,
so every check except the two that verify signatures (`NEEDS_BASH`) must reach a verdict.
The same world on TMOS 13.1 (not known to report the field) shows what the field buys: the
name checks are unknown there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.checks.access import NEEDS_BASH, NEEDS_SAN_FIELD, needs_bash
from monitor.config.schema import load_config
from monitor.daemon.cycle import check_once
from monitor.render.findings import findings_document
from monitor.simulate.scenario import PatchOp, apply_patch, load_document
from monitor.simulate.world import Scenario, World
from tests.support.paths import DEMO

DEVICES = ("bigip-a", "bigip-b")
# The demo boundary sets clientIdentity: client_identity_unauthorized evaluates it on 13.1.
NAME_CHECKS = NEEDS_SAN_FIELD - {"client_identity_unauthorized"}
VERDICTS = frozenset({"pass", "warning", "critical"})


def run_demo(tmp_path: Path, version: str) -> tuple[dict[str, str], dict[str, Any]]:
    """One cycle against the demo world without bash: {check@boundary: state}, and the
    HTTP status counts of each BIG-IP source."""
    ops = tuple(
        PatchOp(op, f"/bigip/devices/name={name}/{key}", value, "test")
        for name in DEVICES
        for op, key, value in (("replace", "bashAllowed", False), ("replace", "version", version))
    )
    path = tmp_path / "demo-no-bash.yaml"
    path.write_text(yaml.safe_dump(apply_patch(load_document(DEMO), ops), sort_keys=False))
    world = World(Scenario.load(path))
    world.start(play_timeline=False)
    try:
        snapshot = check_once(load_config(world.write_outputs(tmp_path / "out")["config"]))
    finally:
        world.stop()
    document = findings_document(snapshot)
    states = {f"{c['check']}@{c['boundary']}": c["state"] for c in document["checks"]}
    requests = {s.source: dict(s.requests) for s in snapshot.sources if s.kind == "bigip"}
    return states, requests


def check_of(key: str) -> str:
    return key.partition("@")[0]


def test_without_bash_only_signature_checks_are_unknown(tmp_path: Path) -> None:
    states, requests = run_demo(tmp_path, "15.1.10.2")
    for device in DEVICES:  # util/bash was asked and refused, once per device
        assert requests[device].get("401") == 1, requests
    undecided = {k: s for k, s in states.items() if s not in VERDICTS}
    assert {check_of(k) for k in undecided} == NEEDS_BASH, undecided
    assert all(s == "unknown" for s in undecided.values())
    assert {check_of(k) for k, s in states.items() if s in VERDICTS} >= NAME_CHECKS
    assert {check_of(k) for k in states if needs_bash(check_of(k), "15.1.10.2")} == NEEDS_BASH


def test_on_a_tmos_without_the_san_field_the_name_checks_are_unknown(tmp_path: Path) -> None:
    states, _ = run_demo(tmp_path, "13.1.0.8")
    unknown = {check_of(k) for k, s in states.items() if s == "unknown"}
    assert unknown == NEEDS_BASH | NAME_CHECKS
    # what `needs_bash` says of this world (a ca-bundle-manager bundle, clientIdentity set)
    said = {check_of(k) for k in states if needs_bash(check_of(k), "13.1.0.8") is not None}
    assert said == unknown


def test_needs_bash_in_each_situation() -> None:
    assert needs_bash("client_cert_chain", "17.1.1") is not None
    assert needs_bash("edge_sni_uncovered", "14.1.0") is None
    assert needs_bash("edge_sni_uncovered", "") == (
        "needs subject alternative names, which REST reports from TMOS 14.1 on (an unknown"
        " TMOS version)"
    )
    assert needs_bash("client_identity_unauthorized", "13.1.0.8") is None
    assert needs_bash("client_identity_unauthorized", "13.1.0.8", client_identity=False)
    assert needs_bash("bundle_missing_anchor", "15.1.10.2") is None
    assert needs_bash("bundle_missing_anchor", "15.1.10.2", opaque_bundle=True) is not None
    assert needs_bash("pool_member_missing", "11.6.0", opaque_bundle=True) is None
