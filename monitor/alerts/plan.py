"""Which alerts to push to Alertmanager, and the memory between pushes: pure, no I/O.

`alerts_for` turns the latest `Snapshot` into the list a client of Alertmanager's
`POST /api/v2/alerts` must send (prometheus/alertmanager `docs/alerts_api.md`), and the
bookkeeping the next call needs:
- one firing alert per finding that is not silenced by an ignore rule and whose severity
  is at or above `min_severity`; carried findings (their input is unknown this cycle)
  keep firing, because a failed poll never clears a finding;
- `startsAt` is the finding's first-seen time; a firing alert's `endsAt` is
  now + 4 × `resend_interval` (what Prometheus does: "allow for two … send failures"),
  so Alertmanager resolves it by itself if the monitor stops sending;
- an alert whose finding disappeared (evaluated and not found, silenced, or below the
  severity) becomes resolved: `endsAt` is the `taken_at` of the first snapshot without
  it; it is sent again with every push for `RESOLVED_RETENTION` (15 minutes, as
  Prometheus) and then forgotten;
- an alert is identified by its labels (`LABEL_NAMES`); they derive from the finding's
  key and severity only, so they are stable while the finding lasts.  A severity change
  is a different alert: the old one is resolved, the new one fires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from monitor.catalogue import SEVERITIES, Severity
from monitor.config.schema import AlertmanagerConfig
from monitor.state.snapshot import Snapshot, TrackedFinding

ALERT_NAME: Final = "F5LinkerdFinding"
SOURCE: Final = "f5-linkerd-monitor"
# The labels of every pushed alert, in order; `device` is left out when it is empty
# (a finding about the mesh side): in Alertmanager an empty label is an absent label.
LABEL_NAMES: Final = ("alertname", "source", "check", "severity", "boundary", "device", "object")
RESOLVED_RETENTION: Final = timedelta(minutes=15)
ENDS_AT_FACTOR: Final = 4  # a firing alert's endsAt = now + 4 × resend interval
MAX_EVIDENCE: Final = 1000  # characters of the `evidence` annotation

Pairs = tuple[tuple[str, str], ...]  # sorted by name: label sets and annotations


@dataclass(frozen=True, slots=True)
class Alert:
    """One element of the JSON array `POST /api/v2/alerts` takes."""

    labels: Pairs
    annotations: Pairs
    starts_at: datetime
    ends_at: datetime
    resolved: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "startsAt": rfc3339(self.starts_at),
            "endsAt": rfc3339(self.ends_at),
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """What is remembered about one alert (by its labels) between pushes."""

    labels: Pairs
    annotations: Pairs
    starts_at: datetime
    resolved_at: datetime | None = None  # None while firing


AlertState = Mapping[Pairs, Entry]
Signature = frozenset[tuple[Pairs, Pairs, datetime, bool]]


def rfc3339(moment: datetime) -> str:
    """`2026-11-26T03:42:19.000Z`: RFC 3339 in UTC, as Alertmanager's API expects."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def at_or_above(severity: Severity, minimum: Severity) -> bool:
    """Is `severity` at least as bad as `minimum` (warning < critical)?"""
    return SEVERITIES.index(severity) >= SEVERITIES.index(minimum)


def labels_of(tracked: TrackedFinding) -> Pairs:
    """The alert's identity: stable for as long as the finding keeps its key and severity."""
    f = tracked.finding
    values = {
        "alertname": ALERT_NAME,
        "source": SOURCE,
        "check": f.check,
        "severity": f.severity,
        "boundary": f.boundary,
        "device": f.device,
        "object": f.object,
    }
    return tuple(sorted((name, value) for name, value in values.items() if value))


def annotations_of(tracked: TrackedFinding) -> Pairs:
    """What a person reads: summary, the finding's message, first seen, evidence."""
    f = tracked.finding
    where = f"boundary {f.boundary}" + (f" on {f.device}" if f.device else "")
    values = {
        "summary": f"{f.severity}: {f.check} on {where}: {f.object}",
        "description": f.message,
        "first_seen": rfc3339(tracked.first_seen),
        "evidence": evidence_text(f.evidence),
        "carried": (
            "the input of this check could not be read this cycle; kept from an earlier cycle"
            if tracked.carried
            else ""
        ),
    }
    return tuple(sorted((name, value) for name, value in values.items() if value))


def evidence_text(evidence: tuple[tuple[str, str], ...]) -> str:
    """`name=value; name=value`, at most MAX_EVIDENCE characters."""
    text = "; ".join(f"{name}={value}" for name, value in evidence)
    return text if len(text) <= MAX_EVIDENCE else text[: MAX_EVIDENCE - 1] + "…"


def alerts_for(
    snapshot: Snapshot, previous: AlertState, now: datetime, cfg: AlertmanagerConfig
) -> tuple[tuple[Alert, ...], dict[Pairs, Entry]]:
    """The alerts to send at `now` for `snapshot`, and the state for the next call.

    Calling it again with the same snapshot gives the same alerts (with endsAt moved on)
    and the same state, so resends and retries may recompute freely. Firing alerts come
    first, each group sorted by labels.
    """
    valid_until = now + ENDS_AT_FACTOR * cfg.resend_interval
    state: dict[Pairs, Entry] = {}
    firing: list[Alert] = []
    for tracked in snapshot.findings:
        if tracked.ignored or not at_or_above(tracked.finding.severity, cfg.min_severity):
            continue
        labels = labels_of(tracked)
        if labels in state:  # a duplicate key; monitor.state de-duplicates, stay safe anyway
            continue
        entry = Entry(labels, annotations_of(tracked), tracked.first_seen)
        state[labels] = entry
        firing.append(Alert(labels, entry.annotations, entry.starts_at, valid_until))
    resolved: list[Alert] = []
    for labels, earlier in previous.items():
        if labels in state:
            continue
        ended = earlier.resolved_at or snapshot.taken_at
        if now - ended > RESOLVED_RETENTION:
            continue  # re-sent long enough: forgotten
        entry = Entry(labels, earlier.annotations, earlier.starts_at, ended)
        state[labels] = entry
        ends_at = max(ended, entry.starts_at)  # Alertmanager rejects endsAt before startsAt
        resolved.append(Alert(labels, entry.annotations, entry.starts_at, ends_at, True))
    alerts = sorted(firing, key=lambda a: a.labels) + sorted(resolved, key=lambda a: a.labels)
    return tuple(alerts), state


def signature(alerts: tuple[Alert, ...]) -> Signature:
    """What a push says, apart from the firing alerts' moving endsAt: when it changes, the
    alerts are worth sending before the next resend is due."""
    return frozenset((a.labels, a.annotations, a.starts_at, a.resolved) for a in alerts)
