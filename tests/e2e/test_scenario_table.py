"""The scenario table, end to end: the same case files, through the real processes.

For a representative subset of tests/scenarios/ (every family, the plaintext boundary,
pins set in the expected state, a pod as finding object, a broken rotation), the case's
world runs as `python -m monitor simulate`, and `python -m monitor check -o json` against
the config it writes must give exactly the case's states and findings, with the matching
exit code. One in-process daemon cycle on the same world, published by the web server,
must serve the same findings on `/api/findings` (apart from the cycles' own timestamps),
and its `/api/rotation` the case's rotation phase. The unit path
(tests/unit/test_scenario_table.py) runs every case; this one keeps the subprocesses affordable:
the subset's worlds run two at a time (each its own processes and ports), once per module,
and each case's test then judges its own result.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.catalogue import FAMILIES, family_of
from tests.support.scenario_e2e import comparable, expected_exit_code, run_e2e
from tests.support.scenario_table import CASES_DIR, Case, Result, load_case, problems

pytestmark = pytest.mark.e2e

SUBSET = (
    "trust_anchor_expiry",  # trust; fingerprints as objects
    "trust_anchor_pin",  # trust; fp: placeholders in the expected state's pins
    "proxy_trust_bundle_stale",  # trust; a broken rotation on /api/rotation
    "bundle_missing_anchor",  # boundary; the demo's drift
    "client_identity_unauthorized",  # boundary; Linkerd policy
    "pool_member_unmeshed",  # routes; a pod name as object
    "open_onramp",  # routes; the plaintext boundary next to the mesh-tls one
    "virtual_profile_mismatch",  # routes; the boundary checks judge the attached profile
    "edge_sni_uncovered",  # edge; the certificate's PEM read through util/bash
    "edge_sni_uncovered-no-bash",  # edge; util/bash refused: names from subjectAlternativeName
    "ha_peer_divergence",  # ha; a device override
    "policy_server_selects_nothing",  # policy; the namespace's pods read whole
)


def cases() -> list[Case]:
    return [load_case(CASES_DIR / f"{name}.yaml") for name in SUBSET]


def test_the_subset_covers_every_family() -> None:
    assert {family_of(name.split("-")[0]) for name in SUBSET} == set(FAMILIES)
    assert all(case.expect is not None and not case.xfail for case in cases())


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result | BaseException]:
    """Every case of the subset run end to end, two at a time: its result, or what it raised."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            case.name: pool.submit(run_e2e, case, tmp_path_factory.mktemp(case.name))
            for case in cases()
        }
    return {name: future.exception() or future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", cases(), ids=lambda case: case.name)
def test_case_end_to_end(case: Case, results: dict[str, Result | BaseException]) -> None:
    result = results[case.name]
    if isinstance(result, BaseException):
        raise result
    assert problems(case, result.document, result.rotation, result.resolved) == []
    assert result.exit_code == expected_exit_code(result.document)
    assert result.served is not None
    assert comparable(result.served) == comparable(result.document)


def test_the_attached_profile_is_judged_and_check_fails(
    results: dict[str, Result | BaseException],
) -> None:
    """The configured server-ssl profile is not the one the virtual carries, and the
    attached one's CA bundle lacks the current anchor: `check` exits 1 with the wiring
    reported and the attached profile's bundle judged, and says which profile it judged."""
    result = results["virtual_profile_mismatch"]
    if isinstance(result, BaseException):
        raise result
    assert result.exit_code == 1
    attached = "/k8s/Shared/shop_443_tls_client_old"
    configured = "/k8s/Shared/shop_443_tls_client"
    by_check: dict[str, list[dict[str, object]]] = {}
    for finding in result.document["findings"]:
        by_check.setdefault(str(finding["check"]), []).append(finding)
    assert [f["severity"] for f in by_check["virtual_profile_mismatch"]] == ["critical"] * 2
    for finding in by_check["bundle_missing_anchor"]:
        assert finding["severity"] == "critical"
        assert (
            f"CA bundle /k8s/Shared/serverssl_ca_bundle_old (server-ssl {attached} attached to"
            f" the virtual (configured: {configured})) lacks trust anchor"
        ) in str(finding["message"])
        evidence = finding["evidence"]
        assert isinstance(evidence, dict)
        assert evidence["server_ssl_profile"] == attached
        assert evidence["configured_server_ssl_profile"] == configured
