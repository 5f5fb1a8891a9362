"""Ignore rules: which findings they match, what the states become, and what users see."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config.schema import IgnoreRule
from monitor.model import CheckResult, CheckState, Finding, MeshState, Observed, SourceStatus
from monitor.render import exposition, metrics
from monitor.render.findings import exit_code, findings_document, table
from monitor.state.ignore import apply_ignores, is_active, match, rule_matches
from monitor.state.snapshot import next_snapshot
from monitor.web.server import Published

TODAY = date(2027, 1, 31)
NOW = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
UP = (
    SourceStatus("bigip-a", "bigip", up=True),
    SourceStatus("kubernetes", "kubernetes", up=True),
)


def finding(
    check: str = "pool_member_extra",
    boundary: str = "shop",
    obj: str = "10.0.0.9:443",
    severity: str = "warning",
    device: str = "bigip-a",
) -> Finding:
    return Finding(check, severity, boundary, device, obj, f"{check} {obj}")  # type: ignore[arg-type]


def rule(**changes: Any) -> IgnoreRule:
    base: dict[str, Any] = {
        "check": "pool_member_extra",
        "boundary": "shop",
        "reason": "canary",
        "object": None,
        "until": None,
    }
    return IgnoreRule(**{**base, **changes})


@pytest.mark.parametrize(
    ("rule_", "found", "matches"),
    [
        (rule(), finding(), True),
        (rule(object="10.0.0.9:443"), finding(), True),
        (rule(object="10.0.0.8:443"), finding(), False),
        (rule(boundary="*"), finding(boundary="web"), True),
        (rule(boundary="web"), finding(), False),
        (rule(check="pool_member_missing"), finding(), False),
        (rule(boundary="*", object="10.0.0.9:443"), finding(boundary="web"), True),
        (rule(object="10.0.0.9"), finding(), False),  # exact object, no prefix match
    ],
    ids=[
        "any-object",
        "same-object",
        "other-object",
        "star-boundary",
        "other-boundary",
        "other-check",
        "star-and-object",
        "object-prefix",
    ],
)
def test_rule_matching(rule_: IgnoreRule, found: Finding, matches: bool) -> None:
    assert rule_matches(rule_, found) is matches


@pytest.mark.parametrize(
    ("until", "today", "active"),
    [
        (None, TODAY, True),
        (TODAY, TODAY, True),  # inclusive: the whole of `until` is still silenced
        (TODAY, TODAY - timedelta(days=1), True),
        (TODAY, TODAY + timedelta(days=1), False),
    ],
    ids=["no-until", "on-until", "before-until", "day-after"],
)
def test_until_is_inclusive(until: date | None, today: date, active: bool) -> None:
    assert is_active(rule(until=until), today) is active


def test_an_active_rule_wins_over_an_earlier_expired_one() -> None:
    rules = [rule(until=date(2026, 1, 1), reason="old"), rule(reason="current")]
    found = match(finding(), rules, TODAY)
    assert found is not None
    assert (found.rule, found.reason, found.active) == (1, "current", True)
    expired = match(finding(), rules[:1], TODAY)
    assert expired is not None
    assert (expired.rule, expired.active, expired.until) == (0, False, date(2026, 1, 1))
    assert match(finding(check="sni_mismatch"), rules, TODAY) is None


STATES_AND_FINDINGS = [
    # (state in, findings, rules, state out, ignored count)
    ("warning", [finding()], [rule()], "pass", 1),
    (
        "warning",
        [finding(), finding(obj="10.0.0.8:443")],
        [rule(object="10.0.0.9:443")],
        "warning",
        1,
    ),
    (
        "critical",
        [finding(severity="critical"), finding(obj="10.0.0.8:443")],
        [rule(object="10.0.0.9:443")],
        "warning",  # the worst of what is left
        1,
    ),
    ("warning", [finding()], [rule(until=TODAY - timedelta(days=1))], "warning", 0),
    ("warning", [finding()], [rule(boundary="web")], "warning", 0),
]


@pytest.mark.parametrize(("before", "found", "rules", "after", "ignored"), STATES_AND_FINDINGS)
def test_states_after_ignoring(
    before: str, found: list[Finding], rules: list[IgnoreRule], after: str, ignored: int
) -> None:
    state = CheckState("pool_member_extra", "shop", before)  # type: ignore[arg-type]
    other = CheckState("sni_mismatch", "shop", "pass")
    applied = apply_ignores(found, [state, other], rules, TODAY)
    assert (applied.states[0].state, applied.states[0].ignored) == (after, ignored)
    assert applied.states[1] == other


def test_unknown_stays_unknown() -> None:
    # every finding of this cycle ignored, but bigip-b could not be evaluated: not pass
    state = CheckState("pool_member_extra", "shop", "warning", "bigip-b: down", ("bigip-b",))
    applied = apply_ignores([finding()], [state], [rule()], TODAY)
    assert (applied.states[0].state, applied.states[0].ignored) == ("unknown", 1)
    # an unknown state with a carried finding that is ignored stays unknown, counted
    unknown = CheckState("pool_member_extra", "shop", "unknown", "down", ("bigip-a",))
    applied = apply_ignores([], [unknown], [rule()], TODAY, carried=[finding()])
    assert (applied.states[0].state, applied.states[0].ignored) == ("unknown", 1)
    assert applied.ignored(finding().key)


def _snapshots(rules: list[IgnoreRule], now: datetime = NOW) -> Any:
    extra = finding()
    missing = finding("bundle_missing_anchor", obj="ab" * 32, severity="critical")
    states = (
        CheckState("pool_member_extra", "shop", "warning"),
        CheckState("bundle_missing_anchor", "shop", "critical"),
    )
    observed = Observed(f5={}, mesh=MeshState(), sources=UP)
    return next_snapshot(
        None, observed, CheckResult(states, (extra, missing)), now, 0.1, ignore=rules
    )


def test_an_ignored_finding_is_listed_marked_and_not_counted() -> None:
    snap = _snapshots([rule(object="10.0.0.9:443", until=TODAY)])
    assert [s.state for s in snap.states] == ["pass", "critical"]
    assert [s.ignored for s in snap.states] == [1, 0]
    assert snap.counts() == {"critical": 1, "warning": 0}
    assert snap.ignored() == 1
    assert [t.finding.check for t in snap.findings] == [
        "bundle_missing_anchor",
        "pool_member_extra",
    ]
    document = findings_document(snap)
    entries = {f["check"]: f for f in document["findings"]}
    assert entries["pool_member_extra"]["ignored"] is True
    assert entries["pool_member_extra"]["ignore_reason"] == "canary"
    assert entries["pool_member_extra"]["ignore_until"] == "2027-01-31"
    assert entries["bundle_missing_anchor"]["ignored"] is False
    assert entries["bundle_missing_anchor"]["ignore_reason"] is None
    assert document["counts"] == {"critical": 1, "warning": 0, "ignored": 1}
    assert {c["check"]: c["ignored"] for c in document["checks"]} == {
        "pool_member_extra": 1,
        "bundle_missing_anchor": 0,
    }
    text = table(snap)
    assert "IGNORED (by ignore rules; not counted)" in text
    assert "[ignored until 2027-01-31: canary]" in text
    assert "1 critical, 0 warning, 0 unknown, 1 passing checks (1 ignored finding)" in text
    # /api/findings serves the same document, ignored finding included
    served = json.loads(Published.of(snap).findings_json)
    assert served == json.loads(json.dumps(document))


def test_exit_codes_leave_ignored_findings_out() -> None:
    both = [rule(), rule(check="bundle_missing_anchor")]
    snap = _snapshots(both)
    assert exit_code(snap, "warning") == 0
    assert all(s.state == "pass" for s in snap.states)
    assert exit_code(_snapshots([rule()]), "critical") == 1
    assert exit_code(_snapshots([rule(check="bundle_missing_anchor")]), "warning") == 1


def test_an_expired_rule_stops_ignoring_and_says_so() -> None:
    day_after = NOW + timedelta(minutes=2)  # 2027-02-01 00:01 UTC
    snap = _snapshots([rule(until=TODAY)], now=day_after)
    assert [s.state for s in snap.states] == ["warning", "critical"]
    entry = next(
        f for f in findings_document(snap)["findings"] if f["check"] == "pool_member_extra"
    )
    assert entry["ignored"] is False
    assert entry["expired_ignore"] == {"reason": "canary", "until": "2027-01-31"}
    assert "[ignore rule expired on 2027-01-31: canary]" in table(snap)


def test_metrics_reflect_the_state_after_ignoring() -> None:
    snap = _snapshots([rule()])
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition.render(snap).decode())
        for s in family.samples
    }
    labels = (("boundary", "shop"), ("check", "pool_member_extra"))
    assert samples[(metrics.CHECK, (*labels, ("state", "pass")))] == 1
    assert samples[(metrics.CHECK, (*labels, ("state", "warning")))] == 0
    assert samples[(metrics.FINDINGS_IGNORED, labels)] == 1
    first_seen = [k for k in samples if k[0] == metrics.FINDING_FIRST_SEEN]
    assert [dict(k[1])["check"] for k in first_seen] == ["bundle_missing_anchor"]
