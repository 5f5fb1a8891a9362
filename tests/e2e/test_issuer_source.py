"""`check` on the demo world with the issuer Secret withheld (as RBAC without the grant
would), reading the issuer from its cert-manager Certificate or from a published ConfigMap:
the Kubernetes source is up, the planted drift is found as with the Secret; with the
Certificate every check runs on the issued certificate its CertificateRequest holds, and
without the requests (their optional grant withheld too) only what the Certificate cannot
tell is unknown."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import CLI, DEMO, ROOT
from tests.support.world import running_world

pytestmark = pytest.mark.e2e

PLANTED = [
    ("bundle_cert_expiry", "warning", "bigip-a"),
    ("bundle_cert_expiry", "warning", "bigip-b"),
    ("bundle_missing_anchor", "critical", "bigip-a"),
    ("bundle_missing_anchor", "critical", "bigip-b"),
    ("oidc_jwks_key_missing_on_bigip", "warning", "bigip-a"),  # the demo IdP's next key
    ("oidc_jwks_key_missing_on_bigip", "warning", "bigip-b"),
    ("policy_identity_unknown", "warning", ""),  # the renamed probe account
    ("pool_member_extra", "warning", "bigip-a"),
    ("pool_member_extra", "warning", "bigip-b"),
    ("trust_anchor_expiry", "warning", ""),
]


def check(tmp: Path, source: str, requests: bool = True) -> dict[str, Any]:
    scenario = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    kube = scenario["kubernetes"]
    kube["withhold"] = [{"resource": "secrets", "namespace": "linkerd",
                         "name": "linkerd-identity-issuer"}]  # fmt: skip
    if not requests:
        kube["withhold"].append({"resource": "certificaterequests", "namespace": "linkerd"})
    kube["linkerd"]["issuer"]["publishedConfigMap"] = "linkerd-identity-issuer-public"
    path = tmp / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    with running_world(path, tmp / "out") as (_, config_file):
        doc = yaml.safe_load(config_file.read_text())
        doc["mesh"]["issuer"] = {"source": source}
        config_file.write_text(yaml.safe_dump(doc))
        result = subprocess.run(
            [*CLI, "check", "--config", str(config_file), "-o", "json"],
            capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr  # the planted drift
    assert "Traceback" not in result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    (kubernetes,) = [s for s in document["sources"] if s["source"] == "kubernetes"]
    assert (kubernetes["up"], kubernetes["errors"]) == (True, [])
    found = sorted((f["check"], f["severity"], f["device"]) for f in document["findings"])
    assert found == PLANTED
    return document


def unknown(document: dict[str, Any]) -> dict[str, str]:
    return {c["check"]: c["detail"] for c in document["checks"] if c["state"] == "unknown"}


def test_config_map_mode_evaluates_every_check(tmp_path: Path) -> None:
    assert unknown(check(tmp_path, "configMap")) == {}


def test_certificate_mode_evaluates_every_check_from_the_request(tmp_path: Path) -> None:
    document = check(tmp_path, "certificate")
    assert unknown(document) == {}
    states = {c["check"]: c["state"] for c in document["checks"]}
    assert states["issuer_chain"] == states["issuer_algorithm"] == "pass"


def test_certificate_mode_without_the_requests_leaves_unknown_what_needs_the_certificate(
    tmp_path: Path,
) -> None:
    document = check(tmp_path, "certificate", requests=False)
    details = unknown(document)
    # the demo's issuer ends after anchor-a (expiring) and before anchor-b: whether it
    # outlives its anchor depends on which one signs it, which only the certificate says
    assert set(details) == {"issuer_chain", "issuer_algorithm", "issuer_outlives_anchor"}
    assert "which trust anchor signs the issuer is not read" in details["issuer_outlives_anchor"]
    assert "certificaterequests.cert-manager.io linkerd: forbidden" in details["issuer_chain"]
    states = {c["check"]: c["state"] for c in document["checks"]}
    assert states["issuer_expiry"] == states["issuer_not_ca"] == "pass"
