"""Conformance of the simulated BIG-IP with real captured iControl REST responses.

For each captured response in `../shared/fixtures/f5/` (one test id per file) the
same kind is fetched from the simulator over HTTPS and compared by shape:

- every key the capture has must be present with the same JSON type (str, int,
  bool, list, dict; recursing into nested dicts and list items);
- the simulator may add no key the capture lacks;
- `kind` values must be identical, and links must point at https://localhost with `ver=`.

Departures are allowed only when listed below with a reason: per fixture
(`missing` / `extra` / `polymorphic`, by dotted path with `[]` for list items) or
anywhere for the optional keys in `OPTIONAL_KEYS`.  In a captured *collection*, a
key present in only some of the captured items is optional by the capture's own
evidence (e.g. `serialNumber` is missing on `ca-bundle.crt`).  Maps whose keys
are indexed links (`.../details/0`, `.../details/1`) are compared like lists.

The fixtures are read at test time only (some are GPL-3.0 test data); nothing of
their content is copied into the project.  Each test records the allowances it
used as the `allowances` property (visible in junit XML and in failure messages).
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import shared_fixtures
from tests.support.sim_bigip import PASSWORD, USER, Running, running

OPTIONAL_KEYS = {
    "subPath": "only objects inside a folder (AS3 application, iApp) have subPath",
    "description": "only set when the object has a description",
    "email": "only when the certificate subject has an emailAddress",
    "issuerCert": "only when an issuer certificate is configured on the ssl-cert",
    "systemPath": "only system certificates under /config/ssl have systemPath",
    "sourcePath": "imported certificates carry sourcePath (13.0 capture); system ones do not",
    "subjectAlternativeName": "only certificates with the SAN extension (none captured),"
    " TMOS 14.1+ (docs/scenario.md)",
}
_LINK = re.compile(r"^https://localhost/mgmt/\S+[?&]ver=")
_INDEXED = re.compile(r"^https://localhost/.+/\d+$")
_LATER = "a field of later TMOS versions (seen in the 14.1.2.1 genieparser capture)"


@dataclass(frozen=True)
class Case:
    fixture: str
    device: str
    url: str
    list_of_items: bool = False  # the capture is a bare list of subcollection items
    missing: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)
    polymorphic: Mapping[str, str] = field(default_factory=dict)


_TM_OPTIONS = "tmOptions is a list or the string form '{ a b }' (AS3 map_mcp.js; both captured)"
CASES = [
    Case(
        "genieparser_sys_file_ssl_cert_collection_v14.1.2.1.json",
        "solo",
        "/mgmt/tm/sys/file/ssl-cert",
    ),
    Case(
        "load_sys_file_ssl_cert_with_issuer_cert.json",
        "solo",
        "/mgmt/tm/sys/file/ssl-cert/~Common~edge.crt",
        missing={
            "certValidationOptions": "only when OCSP/CRL validation is configured on the cert",
            "issuerCertReference": "only when issuerCert is set",
        },
        extra={"fingerprint": _LATER + "; this capture is 13.0.0"},
    ),
    Case(
        "genieparser_sys_crypto_cert_collection_v14.1.2.1.json",
        "solo",
        "/mgmt/tm/sys/crypto/cert",
        missing={
            f"items[].{k}": f"present only when the subject has {rdn}; the scenario's subjects "
            "carry CN and sometimes O"
            for k, rdn in (("country", "C"), ("ou", "OU"), ("organization", "O"))
        },
    ),
    Case(
        "genieparser_ltm_profile_server_ssl_collection_v14.1.2.1.json",
        "solo",
        "/mgmt/tm/ltm/profile/server-ssl",
        extra={"items[].chainReference": "present when chain is set (13.1 single-profile capture)"},
        polymorphic={"items[].tmOptions": _TM_OPTIONS},
    ),
    Case(
        "load_ltm_profile_serverssl_1.json",
        "solo",
        "/mgmt/tm/ltm/profile/server-ssl/~Common~chain_serverssl",
        extra={"crl": _LATER, "sslForwardProxyVerifiedHandshake": _LATER},
    ),
    Case(
        "load_ltm_profile_clientssl.json",
        "solo",
        "/mgmt/tm/ltm/profile/client-ssl/~Common~edge_clientssl",
    ),
    Case(
        "genieparser_ltm_virtual_collection_v14.1.2.1.json",
        "solo",
        "/mgmt/tm/ltm/virtual",
    ),
    Case(
        "load_ltm_virtual_3.json",
        "solo",
        "/mgmt/tm/ltm/virtual/~Common~edge_vs?expandSubcollections=true",
        missing={
            "rules": "the scenario's virtual has no iRules",
            "rulesReference": "the scenario's virtual has no iRules",
            "policiesReference.items": "no LTM policy attached (empty subcollection: no items)",
        },
        extra={
            "creationTime": _LATER,
            "lastModifiedTime": _LATER,
            "pool": "the scenario's virtual has a default pool (the 14.1 capture shows pool)",
            "poolReference": "comes with pool (the 14.1 capture shows poolReference)",
        },
    ),
    Case("load_ltm_pool.json", "solo", "/mgmt/tm/ltm/pool/~Common~edge_pool"),
    Case(
        "pool_members_subcollection.json",
        "solo",
        "/mgmt/tm/ltm/pool/~Common~edge_pool/members",
        list_of_items=True,
        extra={
            "[].ephemeral": "a member field since TMOS 12 (research §2.8); the capture is 11.5.4",
            "[].fqdn": "a member field since TMOS 12 (research §2.8); the capture is 11.5.4",
        },
    ),
    Case("load_tm_cm_device.json", "ha-a", "/mgmt/tm/cm/device/~Common~ha-a.example.net"),
    Case("genieparser_cm_sync_status_standalone_v14.1.2.1.json", "solo", "/mgmt/tm/cm/sync-status"),
    Case(
        "e-xpert_cm_sync_status_high_availability_v14.1.4.6.json", "ha-a", "/mgmt/tm/cm/sync-status"
    ),
    Case("genieparser_cm_failover_status_v14.1.2.1.json", "ha-a", "/mgmt/tm/cm/failover-status"),
    Case("genieparser_sys_version_v14.1.2.1.json", "solo", "/mgmt/tm/sys/version"),
]


@dataclass
class Report:
    case: Case
    errors: list[str] = field(default_factory=list)
    used: dict[str, str] = field(default_factory=dict)

    def _allowed(self, table: Mapping[str, str], path: str, key: str) -> bool:
        if path in table:
            self.used[path] = table[path]
            return True
        if key in OPTIONAL_KEYS:
            self.used[f"*.{key}"] = OPTIONAL_KEYS[key]
            return True
        return False

    def missing(self, path: str, key: str) -> None:
        if not self._allowed(self.case.missing, path, key):
            self.errors.append(f"{path}: in the capture, missing from the simulator")

    def extra(self, path: str, key: str) -> None:
        if not self._allowed(self.case.extra, path, key):
            self.errors.append(f"{path}: added by the simulator, not in the capture")


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}[
        type(value)
    ]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _compare(captured: Any, simulated: Any, path: str, report: Report) -> None:
    if _type(captured) != _type(simulated):
        if path in report.case.polymorphic:
            report.used[path] = report.case.polymorphic[path]
        else:
            report.errors.append(
                f"{path}: {_type(simulated)} where the capture has {_type(captured)}"
            )
        return
    if isinstance(captured, dict):
        if captured and all(_INDEXED.match(k) for k in captured):
            _compare_items(list(captured.values()), list(simulated.values()), f"{path}{{}}", report)
            return
        _compare_dicts([captured], simulated, path, report)
    elif isinstance(captured, list):
        _compare_items(captured, simulated, f"{path}[]", report)


def _compare_dicts(
    captures: list[dict[str, Any]], sim: dict[str, Any], path: str, report: Report
) -> None:
    """`sim` against one or more captured objects of the same kind."""
    required = set.intersection(*(set(c) for c in captures))
    example: dict[str, Any] = {}
    for c in captures:
        for key, value in c.items():
            example.setdefault(key, value)
    for key in sorted(required - set(sim)):
        report.missing(_join(path, key), key)
    for key in sorted(set(sim) - set(example)):
        report.extra(_join(path, key), key)
    for key in sim.keys() & example.keys():
        where = _join(path, key)
        if key == "kind":
            kinds = {c[key] for c in captures if key in c}
            if sim[key] not in kinds:
                report.errors.append(f"{where}: {sim[key]!r}, the capture has {sorted(kinds)}")
        elif key in ("selfLink", "link") and not re.match(_LINK, str(sim[key])):
            report.errors.append(f"{where}: {sim[key]!r} is not a localhost link with ver=")
        _compare(example[key], sim[key], where, report)


def _compare_items(captures: list[Any], sims: list[Any], path: str, report: Report) -> None:
    if not captures or not sims:
        return  # nothing to compare an empty list with
    if all(isinstance(c, dict) for c in captures):
        for sim in sims:
            if not isinstance(sim, dict):
                report.errors.append(f"{path}: {_type(sim)} where the capture has dict")
                continue
            _compare_dicts(captures, sim, path, report)
        return
    types = {_type(c) for c in captures}
    for sim in sims:
        if _type(sim) not in types:
            report.errors.append(f"{path}: {_type(sim)} where the capture has {sorted(types)}")


@pytest.fixture(scope="module")
def fixtures() -> Path:
    return shared_fixtures("f5")


@pytest.fixture(scope="module")
def simulator() -> Iterator[Running]:
    with running() as rt:
        yield rt


def _fetch(rt: Running, case: Case) -> Any:
    ctx = ssl.create_default_context(cadata=rt.ca_pem)
    with httpx.Client(base_url=rt.sim.url(case.device), verify=ctx, timeout=10) as c:
        r = c.get(case.url, auth=(USER, PASSWORD))
    assert r.status_code == 200, r.text
    body = r.json()
    return body["items"] if case.list_of_items else body


def test_every_fixture_has_a_case(fixtures: Path) -> None:
    assert sorted(p.name for p in fixtures.glob("*.json")) == sorted(c.fixture for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.fixture.removesuffix(".json") for c in CASES])
def test_conforms_to_capture(
    case: Case, fixtures: Path, simulator: Running, record_property: Any
) -> None:
    captured = json.loads((fixtures / case.fixture).read_text(encoding="utf-8"))
    simulated = _fetch(simulator, case)
    report = Report(case)
    if isinstance(captured, dict) and "items" in captured:
        assert "items" in simulated, "the simulated collection is empty"
    _compare(captured, simulated, "", report)
    record_property("allowances", json.dumps(report.used, sort_keys=True))
    unused = sorted(
        (set(case.missing) | set(case.extra) | set(case.polymorphic)) - set(report.used)
    )
    assert not report.errors, "\n".join([*report.errors, f"allowances used: {report.used}"])
    assert not unused, f"allowances listed but not needed (remove them): {unused}"


def test_the_comparison_can_fail() -> None:
    """The checker itself catches a missing key, an added key and a changed type."""
    case = Case("x", "solo", "/")
    report = Report(case)
    _compare(
        {"kind": "k", "a": "1", "b": {"c": [1]}, "subPath": "s"},
        {"kind": "k", "a": 1, "b": {"c": ["1"]}, "z": True},
        "",
        report,
    )
    assert sorted(report.errors) == [
        "a: int where the capture has str",
        "b.c[]: str where the capture has ['int']",
        "z: added by the simulator, not in the capture",
    ]
    assert report.used == {"*.subPath": OPTIONAL_KEYS["subPath"]}
