"""The latest snapshot, replaced whole each cycle, and the bookkeeping between cycles.

`next_snapshot` is pure: from the previous snapshot and this cycle's observations
and check results it derives the new one.  Two things carry over between cycles:
- first-seen times: a finding keeps the time it was first seen for as long as it
  keeps being found;
- findings whose inputs became unknown: a failed poll must never clear a finding,
  so a finding whose (check, boundary, device) could not be evaluated this cycle is
  kept, marked `carried`, until its input can be read again;
- per-source counters since the start: errors by reason code and requests by HTTP
  status code ("error" = no response), summed from each cycle's `SourceStatus`. They
  only grow; every source seen gets every reason of `REASONS` and every code of
  `KNOWN_CODES` at 0 from its first cycle, so `rate()` and `increase()` work from the
  first error on.
`StateStore` holds the current snapshot for readers on other threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from monitor.model import REASONS, CheckResult, CheckState, Finding, Observed, SourceStatus

# HTTP status codes the request counters start at 0 ("error": no response at all).
KNOWN_CODES = ("200", "400", "401", "403", "404", "410", "429", "500", "502", "503", "504", "error")
Totals = Mapping[tuple[str, str, str], int]  # (source kind, source name, reason|code) → count


@dataclass(frozen=True, slots=True)
class TrackedFinding:
    finding: Finding
    first_seen: datetime
    carried: bool = False  # kept from an earlier cycle because its input is unknown now


@dataclass(frozen=True)
class Snapshot:
    """Everything one cycle produced; never mutated after it is built."""

    taken_at: datetime
    cycle: int
    duration_seconds: float
    observed: Observed
    states: tuple[CheckState, ...]
    findings: tuple[TrackedFinding, ...]
    last_success: Mapping[str, datetime] = field(default_factory=dict)  # by source name
    error_totals: Totals = field(default_factory=dict)  # (kind, source, reason) → errors
    request_totals: Totals = field(default_factory=dict)  # (kind, source, code) → requests

    @property
    def sources(self) -> tuple[SourceStatus, ...]:
        return self.observed.sources

    @property
    def complete(self) -> bool:
        """Every source was read completely this cycle."""
        return all(s.up for s in self.observed.sources)

    def counts(self) -> dict[str, int]:
        """Findings by severity."""
        out = {"critical": 0, "warning": 0}
        for tracked in self.findings:
            out[tracked.finding.severity] += 1
        return out


def _unknown_parts(states: tuple[CheckState, ...]) -> set[tuple[str, str, str]]:
    return {(state.check, state.boundary, part) for state in states for part in state.unknown_parts}


def next_snapshot(
    previous: Snapshot | None,
    observed: Observed,
    result: CheckResult,
    now: datetime,
    duration_seconds: float,
) -> Snapshot:
    """The snapshot that follows `previous` (None for the first cycle)."""
    before = {t.finding.key: t for t in previous.findings} if previous else {}
    tracked: list[TrackedFinding] = []
    seen: set[tuple[str, str, str, str]] = set()
    for finding in result.findings:
        if finding.key in seen:
            continue
        seen.add(finding.key)
        earlier = before.get(finding.key)
        tracked.append(TrackedFinding(finding, earlier.first_seen if earlier else now))
    unknown = _unknown_parts(result.states)
    for key, earlier in before.items():
        check, boundary, device, _ = key
        if key not in seen and (check, boundary, device) in unknown:
            tracked.append(TrackedFinding(earlier.finding, earlier.first_seen, carried=True))
            seen.add(key)
    last_success = dict(previous.last_success) if previous else {}
    for source in observed.sources:
        if source.up:
            last_success[source.source] = now
    errors = _add(
        previous.error_totals if previous else {},
        observed.sources,
        REASONS,
        lambda s: Counter(e.reason for e in s.errors),
    )
    requests = _add(
        previous.request_totals if previous else {},
        observed.sources,
        KNOWN_CODES,
        lambda s: Counter(dict(s.requests)),
    )
    return Snapshot(
        taken_at=now,
        cycle=(previous.cycle + 1) if previous else 1,
        duration_seconds=duration_seconds,
        observed=observed,
        states=result.states,
        findings=tuple(sorted(tracked, key=_order)),
        last_success=last_success,
        error_totals=errors,
        request_totals=requests,
    )


def _add(
    before: Totals,
    sources: tuple[SourceStatus, ...],
    known: tuple[str, ...],
    counts: Callable[[SourceStatus], Counter[str]],
) -> dict[tuple[str, str, str], int]:
    """`before` plus this cycle's counts; every `known` label at 0 for every source."""
    totals = dict(before)
    for source in sources:
        for label in known:
            totals.setdefault((source.kind, source.source, label), 0)
        for label, count in counts(source).items():
            key = (source.kind, source.source, label)
            totals[key] = totals.get(key, 0) + max(0, count)
    return totals


def _order(tracked: TrackedFinding) -> tuple[int, str, str, str, str]:
    f = tracked.finding
    return (0 if f.severity == "critical" else 1, f.boundary, f.check, f.device, f.object)


class StateStore:
    """The current snapshot, swapped whole under a lock; readers get an immutable value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def current(self) -> Snapshot | None:
        with self._lock:
            return self._snapshot

    def advance(
        self, observed: Observed, result: CheckResult, now: datetime, duration_seconds: float
    ) -> Snapshot:
        with self._lock:
            snapshot = next_snapshot(self._snapshot, observed, result, now, duration_seconds)
            self._snapshot = snapshot
            return snapshot
