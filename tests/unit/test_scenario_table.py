"""The scenario table, unit path: every case of tests/scenarios/ in an in-process world.

Each case (tests/scenarios/README.md) is its base scenario with patches; the simulated
BIG-IPs and Kubernetes API are served in-process (`World`), and one `check_once` cycle on
the config the world writes must give exactly the case's states and findings (and rotation
phase, where the case names one). The base world itself must pass every applicable check;
every check id has a case of its own that makes it fire. The same files run end to end in
tests/e2e/test_scenario_table.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.catalogue import ALL_CHECKS, CHECKS_BY_FAMILY
from monitor.checks import CHECKS, oidc
from monitor.config.schema import load_config
from tests.support.scenario_table import (
    BASE,
    CASES_DIR,
    Case,
    CaseError,
    Expect,
    Result,
    base_case,
    case_paths,
    copy_case,
    load_case,
    problems,
    run_unit,
    start_world,
    state_problems,
)

CASES = [load_case(path) for path in case_paths()]
TABLE = [case for case in CASES if case.expect is not None]


def param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.fixture(scope="module")
def base_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, Result]:
    case = base_case()
    return case, run_unit(case, tmp_path_factory.mktemp("base"))


# --- the base world -------------------------------------------------------------------------------


def test_the_base_world_passes_every_applicable_check(base_result: tuple[Case, Result]) -> None:
    case, result = base_result
    assert problems(case, result.document, result.rotation, result.resolved) == []
    document = result.document
    assert [s for s in document["sources"] if not s["up"]] == []
    assert document["findings"] == []
    assert {c["state"] for c in document["checks"]} == {"pass"}
    # every check applies to the mesh-tls boundary but the pin check (no pins) and the
    # plaintext-only open_onramp: nothing passes by not being evaluated
    applicable = {c["check"] for c in document["checks"]}
    assert applicable == ALL_CHECKS - {"trust_anchor_pin", "open_onramp"}
    # the oidc checks run per identity provider: under its name
    assert [c["boundary"] for c in document["checks"]] == ["shop"] * (
        len(applicable) - len(CHECKS_BY_FAMILY["oidc"])
    ) + ["okta"] * len(CHECKS_BY_FAMILY["oidc"])
    assert [p["phase"] for p in result.rotation["boundaries"]] == ["steady"]


def test_the_base_world_reads_every_input(base_result: tuple[Case, Result]) -> None:
    """No state passes on a note alone: nothing unknown, no input left unread."""
    _, result = base_result
    details = {c["check"]: c["detail"] for c in result.document["checks"] if c["detail"]}
    assert details == {}


# --- every case -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [param(c) for c in TABLE])
def test_case(case: Case, tmp_path: Path) -> None:
    result = run_unit(case, tmp_path)
    assert problems(case, result.document, result.rotation, result.resolved) == []


# --- the table covers the catalogue ---------------------------------------------------------------


def test_every_check_id_has_a_case_that_makes_it_fire() -> None:
    by_name = {case.name: case for case in TABLE}
    for check in sorted(ALL_CHECKS):
        assert check in by_name, f"no tests/scenarios/{check}.yaml"
        expect = by_name[check].expect
        assert expect is not None
        assert expect.states.get(check) in ("warning", "critical"), check
        assert any(f[0] == check for f in expect.findings), check


def test_every_case_belongs_to_a_check_or_is_a_combined_case() -> None:
    combined = {"plaintext-clean", "rotation-walk", "rotation-early-removal", "oidc-rotation-walk"}
    for case in CASES:
        check = case.name.partition("-")[0]
        assert check in ALL_CHECKS or case.name in combined, case.name
        assert case.description, case.name


def test_severity_variants_exist_where_a_check_grades_both_ways() -> None:
    graded: dict[str, set[str]] = {}
    for case in TABLE:
        assert case.expect is not None
        for check, severity, *_ in case.expect.findings:
            graded.setdefault(check, set()).add(severity)
    both = {check for check, severities in graded.items() if severities == {"warning", "critical"}}
    assert {
        "bundle_missing_anchor",
        "trust_anchor_expiry",
        "issuer_expiry",
        "proxy_trust_bundle_stale",
        "authenticate_name_mismatch",
        "client_cert_missing",
        "client_cert_expiry",
        "edge_cert_expiry",
        "ha_sync_status",
    } <= both


def test_the_registry_is_the_catalogue() -> None:
    """The table's 'one case per check id' means every implemented check, in every family."""
    assert {c.id for c in (*CHECKS, *oidc.CHECKS)} == ALL_CHECKS
    assert sum(len(ids) for ids in CHECKS_BY_FAMILY.values()) == len(ALL_CHECKS)


# --- the harness itself can fail ------------------------------------------------------------------


def test_a_wrong_expectation_is_reported(base_result: tuple[Case, Result]) -> None:
    case, result = base_result
    wrong = copy_case(
        case,
        expect=Expect(
            states={"sni_mismatch": "critical"},
            na=("ha_peer_divergence",),
            findings=(("sni_mismatch", "critical", "bigip-a", "/k8s/x", "shop"),),
            rotation={"shop": "broken"},
        ),
    )
    found = problems(wrong, result.document, result.rotation, result.resolved)
    assert sorted(found) == [
        "ha_peer_divergence@shop: expected not applicable, but its state is pass",
        "missing finding ('sni_mismatch', 'critical', 'bigip-a', '/k8s/x', 'shop')",
        "rotation of shop: expected broken, got steady",
        "sni_mismatch@shop: expected critical, got pass",
    ]


def test_an_unlisted_non_pass_state_and_an_unexpected_finding_are_reported() -> None:
    actual = {("sni_mismatch", "shop"): "critical", ("issuer_chain", "shop"): "pass"}
    assert state_problems({}, (), actual) == ["sni_mismatch@shop: expected pass, got critical"]
    assert state_problems(
        {"issuer_chain@web": "warning", "sni_mismatch": "critical"}, (), actual
    ) == ["issuer_chain@web: expected warning, but it has no state (not applicable)"]


def test_an_unexpected_or_unignored_finding_is_reported(base_result: tuple[Case, Result]) -> None:
    case, result = base_result
    finding = {
        "check": "sni_mismatch",
        "severity": "critical",
        "device": "bigip-a",
        "object": "/k8s/x",
        "boundary": "shop",
        "ignored": False,
    }
    document = {**result.document, "findings": [finding]}
    assert problems(case, document, result.rotation, result.resolved) == [
        "unexpected finding ('sni_mismatch', 'critical', 'bigip-a', '/k8s/x', 'shop')"
    ]
    key = ("sni_mismatch", "critical", "bigip-a", "/k8s/x", "shop")
    expected = copy_case(case, expect=Expect(findings=(key,), ignored=(key,)))
    assert problems(expected, document, result.rotation, result.resolved) == [
        f"ignored findings: expected [{key}], got []"
    ]


def test_placeholders_resolve_from_the_world_and_unknown_ones_fail(tmp_path: Path) -> None:
    case = next(c for c in TABLE if c.name == "pool_member_unmeshed")
    world, config, resolved = start_world(case, tmp_path)
    world.stop()
    assert resolved.value("fp:anchor") == world.state.certs["anchor"].sha256
    assert resolved.value("pod:ingress/10.42.0.14").startswith("ingress/nginx-ingress-canary-")
    assert resolved.words("SHA256 {anchor}…") == f"SHA256 {resolved.value('fp:anchor')[:16]}…"
    assert resolved.value("/k8s/Shared/shop_443") == "/k8s/Shared/shop_443"
    with pytest.raises(CaseError, match="no certificate 'nope'"):
        resolved.value("fp:nope")
    with pytest.raises(CaseError, match="no pod at"):
        resolved.value("pod:ingress/10.9.9.9")
    load_config(config)  # the written config is valid


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("description: x\nexpect: {}\nbogus: 1\n", "unknown keys \\['bogus'\\]"),
        ("description: x\nexpect: {states: {sni_mismach: critical}}\n", "unknown check id"),
        ("description: x\nexpect: {states: {sni_mismatch: bad}}\n", "state 'bad'"),
        ("description: x\nexpect: {findings: [[sni_mismatch, critical]]}\n", "findings\\[0\\]"),
        ("description: x\nexpect: {rotation: {shop: nowhere}}\n", "unknown phase"),
        ("description: x\n", "exactly one"),
        ("description: x\nexpect: {}\npatch: [{op: move, path: /a}]\n", "patch\\[0\\]"),
    ],
)
def test_a_malformed_case_is_rejected(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "case.yaml"
    path.write_text(text)
    (tmp_path / BASE).write_text((CASES_DIR / BASE).read_text())
    with pytest.raises(CaseError, match=error):
        load_case(path)
