"""The latest snapshot, replaced whole each cycle, and the bookkeeping between cycles.

`next_snapshot` is pure: from the previous snapshot and this cycle's observations
and check results it derives the new one.  What carries over between cycles:
- first-seen times (`Snapshot.seen`, first and last seen per finding key): a finding keeps
  the time it was first seen for as long as it keeps being found; a finding that is
  evaluated and not found is forgotten. At start, `seen` may come from the state file
  (`monitor.state.file`): a restored entry is adopted when its finding shows up again, kept
  while its part is unknown (for at most `RETENTION` since it was last seen), and dropped
  once its part is evaluated without it;
- findings whose inputs became unknown: a failed poll must never clear a finding,
  so a finding whose (check, boundary, device) could not be evaluated this cycle is
  kept, marked `carried`, until its input can be read again;
- per-source counters since the start: errors by reason code and requests by HTTP
  status code ("error" = no response), summed from each cycle's `SourceStatus`. They
  only grow; every source seen gets every reason of `REASONS` and every code of
  `KNOWN_CODES` at 0 from its first cycle, so `rate()` and `increase()` work from the
  first error on.
Ignore rules (`monitor.state.ignore`) are applied here, after the checks: a finding an active
rule matches is marked (`TrackedFinding.ignore`), stays listed, and no longer counts for
its check's state, `counts()` or exit codes. The rotation plans and their memory
(`monitor.rotation.plan`) are computed by the daemon and stored with the snapshot, as is the
config the cycle ran with (`Snapshot.config`: the metrics resolve certificate roles and pool
members through the boundaries). `ProcessStatus` is what the daemon says about itself
besides the cycles (leadership, config reloads, the configured sources); the daemon attaches
it to a snapshot when it publishes one (`Snapshot.process`).
`StateStore` holds the current snapshot for readers on other threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from monitor.config.schema import Config, IgnoreRule
from monitor.model import (
    REASONS,
    CheckResult,
    CheckState,
    F5State,
    Finding,
    MeshState,
    Observed,
    SourceStatus,
)
from monitor.rotation.plan import RotationMemory, RotationPlan
from monitor.state.ignore import FindingKey, IgnoreMatch, apply_ignores

# HTTP status codes the request counters start at 0 ("error": no response at all).
KNOWN_CODES = ("200", "400", "401", "403", "404", "410", "429", "500", "502", "503", "504", "error")
Totals = Mapping[tuple[str, str, str], int]  # (source kind, source name, reason|code) → count
# How long a remembered first-seen time outlives its finding's last sighting while the
# finding cannot be evaluated (a restored entry; also the state file's pruning age).
RETENTION: Final = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Seen:
    """When a finding (by key) was first and last seen."""

    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class PushStats:
    """Totals since start of the Alertmanager push (`monitor.alerts.push.AlertPusher.stats`)."""

    sent: int = 0  # POSTs Alertmanager accepted (2xx)
    failed: int = 0  # POSTs that got no answer or a non-2xx one
    firing: int = 0  # firing alerts in the latest list built
    resolved: int = 0  # resolved alerts still being re-sent in the latest list built
    last_success: datetime | None = None  # when Alertmanager last accepted a POST
    last_error: str = ""  # reason code of the current failure; "" when the last POST worked


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """The daemon process itself, as the metrics and the web server show it."""

    # (kind, name) of each configured source, exported at 0 before its first poll; empty
    # on a follower, which polls nothing
    sources: tuple[tuple[str, str], ...] = ()
    leader: bool = True  # this replica polls and checks (always, without leader election)
    leader_election: bool = False
    holder: str = ""  # the lease holder last seen (leader election only; "" = unknown)
    reload_successful: bool = True  # the last (re)load of the config file succeeded
    reload_success_at: datetime | None = None  # the last successful (re)load
    poll_interval: float = 0.0  # seconds between cycles (`poll.interval`); 0 = not known
    push: PushStats | None = None  # the Alertmanager push, when `alertmanager:` is configured


@dataclass(frozen=True, slots=True)
class TrackedFinding:
    finding: Finding
    first_seen: datetime
    carried: bool = False  # kept from an earlier cycle because its input is unknown now
    ignore: IgnoreMatch | None = None  # the ignore rule that matched (active or expired)

    @property
    def ignored(self) -> bool:
        """Silenced by an active ignore rule: listed, but not counted."""
        return self.ignore is not None and self.ignore.active


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
    seen: Mapping[FindingKey, Seen] = field(default_factory=dict)  # first-seen memory
    rotation: tuple[RotationPlan, ...] = ()  # per boundary, from monitor.rotation.plan
    rotation_memory: RotationMemory | None = None
    config: Config | None = None  # the config this cycle ran with
    process: ProcessStatus | None = None  # set by the daemon when it publishes the snapshot
    # The newest state read with no failed collection, per configured device, and the
    # newest mesh read with anchors and issuer: what the certificate series fall back to
    # while a source cannot be read (`monitor.render.metrics_rows`), so that a failed poll never
    # makes an expiry series, and the alerts on it, disappear.
    known_f5: Mapping[str, F5State] = field(default_factory=dict)
    known_mesh: MeshState | None = None

    @property
    def sources(self) -> tuple[SourceStatus, ...]:
        return self.observed.sources

    @property
    def complete(self) -> bool:
        """Every source was read completely this cycle."""
        return all(s.up for s in self.observed.sources)

    def counts(self) -> dict[str, int]:
        """Findings by severity, ignored ones left out."""
        out = {"critical": 0, "warning": 0}
        for tracked in self.findings:
            if not tracked.ignored:
                out[tracked.finding.severity] += 1
        return out

    def ignored(self) -> int:
        """How many findings ignore rules silence."""
        return sum(1 for t in self.findings if t.ignored)


def _unknown_parts(states: tuple[CheckState, ...]) -> set[tuple[str, str, str]]:
    return {(state.check, state.boundary, part) for state in states for part in state.unknown_parts}


def next_snapshot(
    previous: Snapshot | None,
    observed: Observed,
    result: CheckResult,
    now: datetime,
    duration_seconds: float,
    *,
    ignore: Sequence[IgnoreRule] = (),
    restored: Mapping[FindingKey, Seen] | None = None,
    rotation: tuple[RotationPlan, ...] = (),
    rotation_memory: RotationMemory | None = None,
    config: Config | None = None,
) -> Snapshot:
    """The snapshot that follows `previous` (None for the first cycle).

    `ignore`: the config's ignore rules, judged on the UTC date of `now`; `restored`: the
    first-seen memory to start from when there is no previous snapshot (the state file);
    `rotation`, `rotation_memory`, `config`: stored as given.
    """
    before = {t.finding.key: t for t in previous.findings} if previous else {}
    memory = previous.seen if previous else (restored or {})
    fresh: list[Finding] = []
    keys: set[FindingKey] = set()
    for finding in result.findings:
        if finding.key not in keys:
            keys.add(finding.key)
            fresh.append(finding)
    unknown = _unknown_parts(result.states)
    carried = [
        earlier
        for key, earlier in before.items()
        if key not in keys and (key[0], key[1], key[2]) in unknown
    ]
    applied = apply_ignores(
        fresh, result.states, ignore, now.astimezone(UTC).date(), [t.finding for t in carried]
    )
    tracked: list[TrackedFinding] = []
    seen: dict[FindingKey, Seen] = {}
    for finding in fresh:
        earlier = before.get(finding.key)
        remembered = memory.get(finding.key)
        first = earlier.first_seen if earlier else remembered.first if remembered else now
        tracked.append(TrackedFinding(finding, first, ignore=applied.matches.get(finding.key)))
        seen[finding.key] = Seen(first, now)
    for earlier in carried:
        key = earlier.finding.key
        tracked.append(
            TrackedFinding(
                earlier.finding, earlier.first_seen, carried=True, ignore=applied.matches.get(key)
            )
        )
        seen[key] = memory.get(key) or Seen(earlier.first_seen, earlier.first_seen)
    for key, entry in memory.items():
        if key in seen or key in before:
            continue
        if (key[0], key[1], key[2]) in unknown and now - entry.last <= RETENTION:
            seen[key] = entry  # restored, not evaluable yet
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
    known_f5 = dict(previous.known_f5) if previous else {}
    known_f5.update((name, state) for name, state in observed.f5.items() if not state.failed)
    if config is not None:
        known_f5 = {d.name: known_f5[d.name] for d in config.bigip if d.name in known_f5}
    mesh = observed.mesh
    issuer_read = mesh.issuer is not None or (
        mesh.issuer_source == "certificate" and mesh.issuer_certificate is not None
    )
    read = mesh.anchors is not None and issuer_read
    known_mesh = mesh if read else previous.known_mesh if previous else None
    return Snapshot(
        taken_at=now,
        cycle=(previous.cycle + 1) if previous else 1,
        duration_seconds=duration_seconds,
        observed=observed,
        states=applied.states,
        findings=tuple(sorted(tracked, key=_order)),
        last_success=last_success,
        error_totals=errors,
        request_totals=requests,
        seen=seen,
        rotation=rotation,
        rotation_memory=rotation_memory,
        config=config,
        known_f5=known_f5,
        known_mesh=known_mesh,
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


def _order(tracked: TrackedFinding) -> tuple[bool, int, str, str, str, str]:
    """Ignored findings last; then critical first."""
    f = tracked.finding
    severity = 0 if f.severity == "critical" else 1
    return (tracked.ignored, severity, f.boundary, f.check, f.device, f.object)


class StateStore:
    """The current snapshot, swapped whole under a lock; readers get an immutable value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def current(self) -> Snapshot | None:
        with self._lock:
            return self._snapshot

    def advance(self, step: Callable[[Snapshot | None], Snapshot]) -> Snapshot:
        """Make `step(current)` current and return it, under the lock, so that two advances
        never start from the same snapshot; `step` is `next_snapshot` with the cycle's
        arguments bound."""
        with self._lock:
            snapshot = step(self._snapshot)
            self._snapshot = snapshot
            return snapshot
