"""The shipped alert rules (deploy/prometheus/rules.yaml): promtool-clean, unit-tested firing
and not firing, consistent with the check catalogue and the metric names, documented in
docs/alerts.md (one runbook per alert), and copied unchanged into the Helm chart and the
kustomize base."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.catalogue import CHECKS_BY_FAMILY, FAMILIES, SEVERITIES
from monitor.render.metrics import METRIC_NAMES
from tests.support.markdown import github_anchors
from tests.support.paths import ROOT
from tests.support.tools import require_tool

RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
RULE_TESTS = sorted((ROOT / "deploy" / "prometheus" / "tests").glob("*.test.yaml"))
RUNBOOKS = ROOT / "docs" / "alerts.md"
HELM_COPY = ROOT / "deploy" / "helm" / "f5-linkerd-monitor" / "files" / "rules.yaml"
KUSTOMIZE_RULE = ROOT / "deploy" / "kustomize" / "base" / "prometheusrule.yaml"

ALERT_OF_FAMILY = {
    "trust": "F5LinkerdTrustCheckFailing",
    "boundary": "F5LinkerdBoundaryCheckFailing",
    "routes": "F5LinkerdRouteCheckFailing",
    "edge": "F5LinkerdEdgeCheckFailing",
    "ha": "F5LinkerdHACheckFailing",
    "policy": "F5LinkerdPolicyCheckFailing",
    "oidc": "F5LinkerdOidcCheckFailing",
}
CERT_ROLES = {"trust_anchor", "issuer", "bundle_cert", "client_cert", "edge_cert"}
DURATION = re.compile(r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def seconds(duration: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)([smhdw])", duration))


def test_rules_pass_promtool_check() -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout + result.stderr


def test_rule_unit_tests_pass() -> None:
    promtool = require_tool("promtool")
    assert RULE_TESTS, "no promtool tests under deploy/prometheus/tests"
    result = subprocess.run(
        [promtool, "test", "rules", *map(str, RULE_TESTS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS), result.stdout


def _alert_tests() -> Iterator[dict[str, Any]]:
    for path in RULE_TESTS:
        spec = load(path)
        assert spec["rule_files"] == ["../rules.yaml"], path
        for case in spec["tests"]:
            yield from case.get("alert_rule_test", [])


def test_every_rule_is_tested_firing_and_not_firing() -> None:
    fired = {
        (check["alertname"], alert["exp_labels"]["severity"])
        for check in _alert_tests()
        for alert in check["exp_alerts"]
    }
    quiet = {check["alertname"] for check in _alert_tests() if not check["exp_alerts"]}
    for rule in alerts():
        assert (rule["alert"], rule["labels"]["severity"]) in fired, rule["alert"]
        assert rule["alert"] in quiet, f"{rule['alert']}: no test where it does not fire"
    assert {name for name, _ in fired} | quiet <= {rule["alert"] for rule in alerts()}


def test_check_state_rules_cover_the_catalogue_by_family() -> None:
    seen: dict[str, set[str]] = {}
    for rule in alerts():
        family = rule["labels"].get("family")
        if family is None:
            continue
        severity = rule["labels"]["severity"]
        expr = rule["expr"]
        assert expr.startswith(f'f5_linkerd_check{{state="{severity}", check=~"'), rule["alert"]
        # the same family while unknown with a carried finding of this severity
        assert f'"state", "{severity}", "", "")' in expr, rule["alert"]
        assert f'first_seen_timestamp_seconds{{severity="{severity}"}}' in expr, rule["alert"]
        lists = re.findall(r'check=~"([^"]+)"', expr)
        assert len(lists) == 2, rule["alert"]
        for listed in lists:
            assert set(listed.split("|")) == set(CHECKS_BY_FAMILY[family]), rule["alert"]
        assert severity not in seen.setdefault(family, set()), f"{family} {severity} twice"
        seen[family].add(severity)
        assert rule["alert"] == ALERT_OF_FAMILY[family]
    assert seen == {family: set(SEVERITIES) for family in FAMILIES}


def test_route_rules_ride_out_a_rollout_and_trust_rules_do_not_wait() -> None:
    for rule in alerts():
        family = rule["labels"].get("family")
        if family == "routes":
            assert seconds(rule["for"]) >= 600, rule
        elif family in ("trust", "boundary"):
            assert seconds(rule["for"]) <= 300, rule


def test_expiry_backstops_cover_every_certificate_role() -> None:
    roles: set[str] = set()
    for rule in alerts():
        if "f5_linkerd_certificate_not_after_timestamp_seconds" not in rule["expr"]:
            continue
        assert "time()" in rule["expr"], rule["alert"]
        for match in re.finditer(r'role=~?"([^"]+)"', rule["expr"]):
            roles |= set(match.group(1).split("|"))
    assert roles == CERT_ROLES


def test_rules_use_only_exported_metrics() -> None:
    names = set(METRIC_NAMES)
    for rule in rules():
        for name in re.findall(r"\bf5_linkerd_[a-z_]+", rule["expr"]):
            assert name in names, f"{rule.get('alert')}: {name} is not in monitor/render/metrics.py"


def test_alerts_are_well_formed() -> None:
    for rule in alerts():
        name = rule["alert"]
        assert re.fullmatch(r"F5Linkerd[A-Z][A-Za-z]+", name), name
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, name
        assert "{{" in rule["annotations"]["description"] or name == "F5LinkerdMonitorAbsent"
        assert DURATION.match(rule.get("for", "0")), name


def test_every_alert_has_a_runbook_section_in_the_docs() -> None:
    readme = RUNBOOKS.read_text(encoding="utf-8")
    anchors = github_anchors(readme)
    names = {rule["alert"] for rule in alerts()}
    for rule in alerts():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/alerts.md#alert-{rule['alert'].lower()}", url
        assert url.partition("#")[2] in anchors, f"docs/alerts.md has no heading for {url}"
    documented = set(re.findall(r"^#{2,6} Alert: (\w+)\s*$", readme, flags=re.M))
    assert documented == names


def test_github_anchor_rule() -> None:
    assert github_anchors("### Alert: F5LinkerdSourceDown\n") == {"alert-f5linkerdsourcedown"}
    assert github_anchors("## The `check` command, again\n") == {"the-check-command-again"}


def test_generated_copies_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_deploy.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    source = load(RULES)
    assert load(HELM_COPY) == source
    rule = load(KUSTOMIZE_RULE)
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    assert rule["spec"] == source


def test_gen_deploy_check_notices_a_stale_copy(tmp_path: Path) -> None:
    board = ROOT / "dashboards" / "f5-linkerd-monitor.json"  # gen_deploy's other source
    for path in (RULES, HELM_COPY, KUSTOMIZE_RULE, board):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    script = [sys.executable, str(ROOT / "scripts" / "gen_deploy.py"), "--root", str(tmp_path)]
    edited = tmp_path / RULES.relative_to(ROOT)
    edited.write_text(edited.read_text(encoding="utf-8").replace("for: 2m", "for: 3m"))
    stale = subprocess.run([*script, "--check"], capture_output=True, text=True, check=False)
    assert stale.returncode == 1
    assert "files/rules.yaml is stale" in stale.stderr
    assert "prometheusrule.yaml is stale" in stale.stderr
    subprocess.run(script, capture_output=True, check=True)
    fresh = subprocess.run([*script, "--check"], capture_output=True, text=True, check=False)
    assert fresh.returncode == 0, fresh.stderr
    assert "for: 3m" in (tmp_path / KUSTOMIZE_RULE.relative_to(ROOT)).read_text()


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_rule_tests_use_the_shipped_rule_file(path: Path) -> None:
    spec = load(path)
    assert (path.parent / spec["rule_files"][0]).resolve() == RULES
