"""Ignore rules: accepted findings turned into `pass`, never hidden.

Applied after the pure checks, in the state layer (`monitor.state.snapshot.next_snapshot`), so the
checks stay unaware of them. A rule (`monitor.config.schema.IgnoreRule`) matches a finding when
- `check` equals the finding's check,
- `boundary` equals the finding's boundary, or is `"*"` (any boundary),
- `object` equals the finding's object, or is not set (any object),
and it is *active* on the cycle's date: `until` is not set, or the date is on or before
`until` (inclusive: a rule `until: 2027-01-31` silences through 2027-01-31 23:59:59 UTC
and stops on 2027-02-01). The date is the UTC date of the cycle.

A finding matched by an active rule is *ignored*: it is still listed (in `/api/findings`
and `check -o json`, with `"ignored": true` and the rule's reason), but it no longer
counts for the state of its (check, boundary), for `check`'s exit code, or for alerts. A
finding matched only by expired rules is not ignored and carries the expired rule, so
people see why the silence ended.

The state of a (check, boundary) after ignoring follows the runner's rules on what is
left: the worst severity of this cycle's non-ignored findings; without any, `unknown`
when an input was unknown (an ignore never turns unknown into pass); otherwise `pass`.
`CheckState.ignored` counts the ignored findings of the pair (carried ones included).

Pure: no I/O, no clock reads (the date is an argument), no logging.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from monitor.catalogue import State
from monitor.config.schema import IgnoreRule
from monitor.model import CheckState, Finding, worst

FindingKey = tuple[str, str, str, str]  # Finding.key: (check, boundary, device, object)


@dataclass(frozen=True, slots=True)
class IgnoreMatch:
    """The rule that matched a finding; `active` False when its `until` date has passed."""

    rule: int  # index into the config's `ignore` list
    reason: str
    until: date | None
    active: bool


@dataclass(frozen=True, slots=True)
class Applied:
    """The states after ignoring, and the rule (if any) that matched each finding."""

    states: tuple[CheckState, ...]
    matches: Mapping[FindingKey, IgnoreMatch]

    def ignored(self, key: FindingKey) -> bool:
        found = self.matches.get(key)
        return found is not None and found.active


def rule_matches(rule: IgnoreRule, finding: Finding) -> bool:
    """Whether `rule` names `finding` (whatever its `until` date)."""
    return (
        rule.check == finding.check
        and rule.boundary in ("*", finding.boundary)
        and (rule.object is None or rule.object == finding.object)
    )


def is_active(rule: IgnoreRule, today: date) -> bool:
    """A rule silences on every date up to and including `until`."""
    return rule.until is None or today <= rule.until


def match(finding: Finding, rules: Sequence[IgnoreRule], today: date) -> IgnoreMatch | None:
    """The first active rule (config order) that matches `finding`; else the first
    expired one; else None."""
    expired: IgnoreMatch | None = None
    for index, rule in enumerate(rules):
        if not rule_matches(rule, finding):
            continue
        if is_active(rule, today):
            return IgnoreMatch(index, rule.reason, rule.until, active=True)
        if expired is None:
            expired = IgnoreMatch(index, rule.reason, rule.until, active=False)
    return expired


def apply_ignores(
    findings: Sequence[Finding],
    states: Sequence[CheckState],
    rules: Sequence[IgnoreRule],
    today: date,
    carried: Iterable[Finding] = (),
) -> Applied:
    """Match `findings` (this cycle's) and `carried` (kept from earlier cycles because their
    input is unknown now) against `rules`; recompute each state from what is not ignored.

    Only this cycle's findings decide a state, as in the runner; carried ones are matched
    (so they are marked) and counted in `ignored`.
    """
    matches: dict[FindingKey, IgnoreMatch] = {}
    for finding in (*findings, *carried):
        if finding.key not in matches and (found := match(finding, rules, today)) is not None:
            matches[finding.key] = found
    if not matches:
        return Applied(tuple(states), matches)
    counted: set[FindingKey] = set()
    ignored: Counter[tuple[str, str]] = Counter()
    kept: dict[tuple[str, str], list[Finding]] = {}
    for finding in (*findings, *carried):
        if finding.key in counted:
            continue
        counted.add(finding.key)
        found = matches.get(finding.key)
        if found is not None and found.active:
            ignored[(finding.check, finding.boundary)] += 1
    for finding in findings:
        found = matches.get(finding.key)
        if found is None or not found.active:
            kept.setdefault((finding.check, finding.boundary), []).append(finding)
    out: list[CheckState] = []
    for state in states:
        pair = (state.check, state.boundary)
        count = ignored.get(pair, 0)
        if count == 0:
            out.append(state)
            continue
        out.append(replace(state, state=_state_after(state, kept.get(pair, [])), ignored=count))
    return Applied(tuple(out), matches)


def _state_after(state: CheckState, remaining: list[Finding]) -> State:
    if state.state in ("pass", "unknown"):
        return state.state  # no finding of this cycle decided it
    if remaining:
        return worst(remaining)
    return "unknown" if state.unknown_parts else "pass"
