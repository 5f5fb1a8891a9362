"""End to end on a real Prometheus stack: the shipped alert rules and dashboard queries.

Owns the proof that deploy/prometheus/rules.yaml and the Grafana dashboard's PromQL work
against what the daemon really exports: the demo world (`simulate --manual-timeline`)
polled by `run`, scraped every second by Debian's `prometheus` (the shipped rule file with
only its `for:` durations shortened, see tests/support/stack.py), alerting through a real
`prometheus-alertmanager` to a webhook receiver in this process.

- every metric, label and label value a rule or a dashboard query names exists in the
  daemon's output (a typo fails: each selector is queried on its own, its matchers' label
  names and values and its `by (...)` labels are looked up on the real series);
- every dashboard query returns data, and exactly the rules whose condition the demo world
  meets return data (FIRING_AT_START; every other rule is in QUIET_AT_START with why);
- the demo's findings fire their alerts in Prometheus and reach the webhook via
  Alertmanager; fixing the CA bundle (the next timeline event) resolves the critical
  boundary alert in both.

The tests share one stack and run in file order: the last one changes the world.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import generate
from monitor.catalogue import ALL_CHECKS
from tests.support.stack import (
    BOUNDARY_CRITICAL,
    RULES,
    SHORT_FOR,
    AlertKey,
    Stack,
    alert_key,
    started_stack,
    wait_for_firing,
    wait_for_webhook,
)
from tests.support.waiting import get_json, wait_until

pytestmark = pytest.mark.e2e

SELECTOR = re.compile(r'(?<![\w:"])(f5_linkerd_[a-z0-9_]+)\s*(?:\{([^}]*)\})?')
MATCHER = re.compile(r'([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
# Labels an expression groups or matches on. `without (...)` is left out: dropping a label
# the series may not have is harmless by design (F5LinkerdNoLeader drops a Kubernetes `pod`).
GROUPING = re.compile(r"\b(?:by|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
ALTERNATIVES = re.compile(r"^\w+(\|\w+)*$")
# What is left of an expression without strings, matchers, ranges and grouping clauses:
# a word not followed by "(" (a function or an aggregation) is a keyword or a metric name,
# and every metric name must be one SELECTOR sees (so `f5_linkrd_check` fails, too).
NOT_A_NAME = re.compile(
    r'"(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]'
    r"|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"
)
WORD = re.compile(r"(?<![\w.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
KEYWORDS = {"and", "or", "unless", "bool", "offset"}

# Check ids a rule's `check=~` list names that have no series in the demo world: a check
# that does not apply to a boundary has no state for it at all (docs/checks.md, "States").
NOT_APPLICABLE = {
    "trust_anchor_pin": "runs only where mesh.pinnedTrustAnchors is set; the demo pins none",
    "open_onramp": "plaintext boundaries only; the demo's one boundary (shop) is mesh-tls",
}

Key = tuple[str, str]  # (alertname, severity): one rule each

# The rules whose condition holds in the demo world at start, with the `check` label of the
# series they return (None: the rule's metric has no `check` label).
FIRING_AT_START: dict[Key, set[str | None]] = {
    ("F5LinkerdBoundaryCheckFailing", "critical"): {"bundle_missing_anchor"},  # 2 findings
    ("F5LinkerdBoundaryCheckFailing", "warning"): {"bundle_cert_expiry"},  # 2 findings
    ("F5LinkerdRouteCheckFailing", "warning"): {"pool_member_extra"},  # 2 findings
    ("F5LinkerdTrustCheckFailing", "warning"): {"trust_anchor_expiry"},  # 1 finding
    ("F5LinkerdOidcCheckFailing", "warning"): {"oidc_jwks_key_missing_on_bigip"},  # 2 findings
    ("F5LinkerdPolicyCheckFailing", "warning"): {"policy_identity_unknown"},  # 1 finding
    ("F5LinkerdTrustAnchorExpiring", "warning"): {None},  # anchor-a: 20 days left (< 30)
}
# The rules that by design return nothing on the demo world at start, and why.
QUIET_AT_START: dict[Key, str] = {
    ("F5LinkerdTrustCheckFailing", "critical"): "no trust check is critical (anchor-a warns)",
    ("F5LinkerdRouteCheckFailing", "critical"): "the extra pool member is a warning",
    ("F5LinkerdEdgeCheckFailing", "critical"): "the edge certificates pass",
    ("F5LinkerdEdgeCheckFailing", "warning"): "the edge certificates pass",
    ("F5LinkerdHACheckFailing", "critical"): "the pair is in sync",
    ("F5LinkerdHACheckFailing", "warning"): "the pair is in sync",
    ("F5LinkerdOidcCheckFailing", "critical"): "the IdP's next key has been missing < 10 min",
    ("F5LinkerdPolicyCheckFailing", "critical"): "ops-probes names one existing identity too",
    ("F5LinkerdCheckUnknown", "warning"): "every source is up",
    ("F5LinkerdTrustAnchorExpiring", "critical"): "anchor-a has 20 days left (> 7)",
    ("F5LinkerdIssuerExpiring", "warning"): "the issuer has most of a year left",
    ("F5LinkerdIssuerExpiring", "critical"): "the issuer has most of a year left",
    ("F5LinkerdCertificateExpiring", "warning"): "BIG-IP's certificates have > 14 days left",
    ("F5LinkerdCertificateExpiring", "critical"): "BIG-IP's certificates have > 3 days left",
    ("F5LinkerdStoreCertificateExpiring", "warning"): "the store's other files have > 14 days",
    ("F5LinkerdStoreCertificateExpiring", "critical"): "the store's other files have > 3 days",
    ("F5LinkerdSourceDown", "warning"): "every source is up",
    ("F5LinkerdSourceStale", "warning"): "every source was polled within the second",
    ("F5LinkerdNoLeader", "warning"): "no leader election configured: the daemon leads",
    ("F5LinkerdConfigReloadFailed", "warning"): "the config file is valid",
    ("F5LinkerdMonitorAbsent", "warning"): "the daemon is scraped",
}


def shipped_rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def expected_alerts() -> set[AlertKey]:
    return {
        (name, sev, check) for (name, sev), checks in FIRING_AT_START.items() for check in checks
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory) as running:
        yield running


def scraped(stack: Stack) -> None:
    """Wait until Prometheus holds 3+ scrapes of completed cycles (rate() needs 2)."""

    def enough() -> bool:
        cycles = stack.query("count_over_time(f5_linkerd_last_cycle_timestamp_seconds[1m])")
        critical = stack.query('f5_linkerd_check{check="bundle_missing_anchor"} == 1')
        return bool(cycles and float(cycles[0]["value"][1]) >= 3 and critical)

    wait_until("3 scrapes of the daemon after its first cycle", enough, context=stack.logs)


def name_problems(stack: Stack, expr: str) -> list[str]:
    """What `expr` names that the daemon's real series lack: metrics, labels, values."""
    words = set(WORD.findall(NOT_A_NAME.sub(" ", expr))) - KEYWORDS
    problems = [
        f"{word} is not an f5_linkerd_ metric" for word in sorted(words) if not SELECTOR.match(word)
    ]
    labels = {"instance", "job"}  # added by Prometheus to every scraped series
    for metric, matchers in SELECTOR.findall(expr):
        series = [s["metric"] for s in stack.query(metric)]
        if not series:
            problems.append(f"metric {metric} has no series")
            continue
        names = {name for s in series for name in s}
        labels |= names
        for label, op, value in MATCHER.findall(matchers):
            if label not in names:
                problems.append(f"{metric} has no label {label!r}")
                continue
            wanted = {value} if op in ("=", "!=") else set()
            if ALTERNATIVES.match(value):  # a list of literal values: each must exist
                wanted = set(value.split("|")) - set(NOT_APPLICABLE)
            missing = wanted - {s.get(label) for s in series}
            if missing:
                problems.append(f"{metric}{{{label}{op}...}}: no series with {sorted(missing)}")
        if matchers.strip() and not stack.query(f"{metric}{{{matchers}}}"):
            problems.append(f"selector {metric}{{{matchers}}} selects nothing")
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            if label not in labels:
                problems.append(f"groups by {label!r}, a label none of its metrics has")
    return [f"{expr}: {problem}" for problem in problems]


def test_prometheus_evaluates_every_shipped_rule(stack: Stack) -> None:
    shipped = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in shipped["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = SHORT_FOR
    assert yaml.safe_load(stack.rules.read_text(encoding="utf-8")) == shipped
    scraped(stack)

    def evaluated() -> bool:
        loaded = [r for g in stack.rule_groups() for r in g["rules"]]
        return bool(loaded) and all(r["lastEvaluation"] > "2000" for r in loaded)

    wait_until("every rule evaluated once", evaluated, context=stack.logs)
    groups = stack.rule_groups()
    assert sorted(g["name"] for g in groups) == sorted(g["name"] for g in shipped["groups"])
    loaded = [r for g in groups for r in g["rules"]]
    assert sorted(r["name"] for r in loaded) == sorted(r["alert"] for r in shipped_rules())
    broken = [(r["name"], r.get("lastError")) for r in loaded if r["health"] != "ok"]
    assert broken == [], f"rules Prometheus cannot evaluate: {broken}\n{stack.logs()}"


def test_every_dashboard_query_returns_data(stack: Stack) -> None:
    scraped(stack)
    exprs = generate.expressions()
    assert exprs
    problems = [problem for expr in exprs for problem in name_problems(stack, expr)]
    problems += [f"{expr}: returns nothing" for expr in exprs if not stack.query(expr)]
    assert problems == [], "\n".join(problems)
    # the boundary variable's `label_values(f5_linkerd_check, boundary)`
    query = urllib.parse.urlencode({"match[]": "f5_linkerd_check"})
    values = get_json(f"{stack.prometheus_url}/api/v1/label/boundary/values?{query}")["data"]
    assert values == ["shop", "workforce"]  # the boundary and the identity provider


def test_rule_expressions_name_real_series_and_fire_where_the_demo_is_wrong(
    stack: Stack,
) -> None:
    scraped(stack)
    rules = shipped_rules()
    keys = [(r["alert"], r["labels"]["severity"]) for r in rules]
    assert sorted(keys) == sorted({*FIRING_AT_START, *QUIET_AT_START}), (
        "a rule was added or removed: classify it in FIRING_AT_START or QUIET_AT_START"
    )
    exported = {s["metric"]["check"] for s in stack.query("f5_linkerd_check")}
    for check, why in NOT_APPLICABLE.items():
        assert check in ALL_CHECKS, check
        assert check not in exported, (
            f"{check} is exported now; drop it from NOT_APPLICABLE ({why})"
        )

    problems = [problem for r in rules for problem in name_problems(stack, r["expr"])]
    assert problems == [], "\n".join(problems)
    returned: dict[Key, set[str | None]] = {}
    for rule, key in zip(rules, keys, strict=True):
        result = stack.query(rule["expr"])
        if result:
            returned[key] = {s["metric"].get("check") for s in result}
    assert returned == FIRING_AT_START


def test_demo_findings_fire_their_alerts_through_alertmanager(stack: Stack) -> None:
    scraped(stack)
    wanted = expected_alerts()
    firing = wait_for_firing(stack, wanted)
    assert firing == wanted, f"unexpected alerts firing: {firing - wanted}"
    alert = next(
        a for a in stack.prometheus_alerts() if alert_key(a["labels"]) == BOUNDARY_CRITICAL
    )
    assert alert["labels"]["boundary"] == "shop"
    assert alert["labels"]["family"] == "boundary"
    assert alert["annotations"]["summary"] == (
        "Boundary check bundle_missing_anchor is critical for boundary shop"
    )
    wait_for_webhook(stack, wanted, "firing")


def test_fixing_the_bundle_resolves_the_boundary_alert(stack: Stack) -> None:
    scraped(stack)
    wait_for_webhook(stack, {BOUNDARY_CRITICAL}, "firing")

    stack.step_timeline()
    assert "the operator adds the new anchor" in stack.procs["simulate"].output()
    wait_until(
        "bundle_missing_anchor passes in Prometheus",
        lambda: bool(
            stack.query('f5_linkerd_check{check="bundle_missing_anchor", state="pass"} == 1')
        ),
        context=stack.logs,
    )
    wait_until(
        "the critical boundary alert leaves Prometheus' alerts",
        lambda: (
            BOUNDARY_CRITICAL not in {alert_key(a["labels"]) for a in stack.prometheus_alerts()}
        ),
        context=stack.logs,
    )
    wait_for_webhook(stack, {BOUNDARY_CRITICAL}, "resolved")
    still = expected_alerts() - {BOUNDARY_CRITICAL}
    assert wait_for_firing(stack, still) == still
    assert stack.webhook is not None
    resolved = {alert_key(a["labels"]) for a in stack.webhook.alerts() if a["status"] == "resolved"}
    assert resolved == {BOUNDARY_CRITICAL}


def test_stack_directory_holds_each_process_log(stack: Stack) -> None:
    names = sorted(p.name for p in Path(stack.directory).glob("*.log"))
    assert names == ["alertmanager.log", "daemon.log", "prometheus.log", "simulate.log"]
    assert "Traceback" not in stack.procs["daemon"].output(), stack.logs()
