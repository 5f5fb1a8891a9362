"""The one place metric names live; renders a Snapshot to Prometheus exposition text.

Rendering happens once per cycle (`render`), and the web server serves the bytes
from memory, so a scrape never reaches BIG-IP or Kubernetes.  Values are absolute
(timestamps, 0/1 states, counters since the start); anything relative to now is left
to PromQL (`f5_linkerd_certificate_not_after_timestamp_seconds - time()`).

Counters are families without the `_total` suffix (OpenMetrics naming); their samples,
and the names in the text format, end in `_total`. `METRIC_NAMES` lists both forms.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.catalogue import STATES
from monitor.model import SslCert
from monitor.rotation import PHASES
from monitor.state import Snapshot

PREFIX = "f5_linkerd_"
CHECK = PREFIX + "check"
CERT_NOT_AFTER = PREFIX + "certificate_not_after_timestamp_seconds"
CERT_NOT_BEFORE = PREFIX + "certificate_not_before_timestamp_seconds"
SOURCE_UP = PREFIX + "source_up"
SOURCE_LAST_SUCCESS = PREFIX + "source_last_success_timestamp_seconds"
SOURCE_POLL_DURATION = PREFIX + "source_poll_duration_seconds"
SOURCE_ERRORS = PREFIX + "source_errors"  # counter: f5_linkerd_source_errors_total
SOURCE_REQUESTS = PREFIX + "source_requests"  # counter: f5_linkerd_source_requests_total
CYCLE_DURATION = PREFIX + "cycle_duration_seconds"
CYCLE_TIMESTAMP = PREFIX + "last_cycle_timestamp_seconds"
BUILD_INFO = PREFIX + "build_info"
MESH_INFO = PREFIX + "mesh_info"
FINDINGS_IGNORED = PREFIX + "findings_ignored"
FINDING_FIRST_SEEN = PREFIX + "finding_first_seen_timestamp_seconds"
ROTATION_PHASE = PREFIX + "rotation_phase"

METRIC_NAMES = (
    CHECK,
    CERT_NOT_AFTER,
    CERT_NOT_BEFORE,
    SOURCE_UP,
    SOURCE_LAST_SUCCESS,
    SOURCE_POLL_DURATION,
    SOURCE_ERRORS,
    SOURCE_ERRORS + "_total",
    SOURCE_REQUESTS,
    SOURCE_REQUESTS + "_total",
    CYCLE_DURATION,
    CYCLE_TIMESTAMP,
    BUILD_INFO,
    MESH_INFO,
    FINDINGS_IGNORED,
    FINDING_FIRST_SEEN,
    ROTATION_PHASE,
)

_CACHED = " Refreshed each poll interval."


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot | None) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # never collect at registration

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield _build_info()
        if self._snapshot is None:
            return
        yield _mesh_info(self._snapshot)
        yield from _checks(self._snapshot)
        yield from _findings(self._snapshot)
        yield from _rotation(self._snapshot)
        yield from _certificates(self._snapshot)
        yield from _sources(self._snapshot)
        yield from _source_counters(self._snapshot)
        yield from _cycle(self._snapshot)


def render(snapshot: Snapshot | None) -> bytes:
    """Exposition text for a snapshot (None before the first cycle: build info only)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)


def _build_info() -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        BUILD_INFO,
        "Build information of f5-linkerd-monitor; always 1.",
        labels=("version", "python_version"),
    )
    family.add_metric((__version__, platform.python_version()), 1)
    return family


def _mesh_info(snapshot: Snapshot) -> GaugeMetricFamily:
    mesh = snapshot.observed.mesh
    family = GaugeMetricFamily(
        MESH_INFO,
        "The Linkerd control plane as read from the cluster (version from its pods' "
        "linkerd.io/proxy-version annotation; empty when unknown); always 1." + _CACHED,
        labels=("linkerd_version", "anchors_from"),
    )
    family.add_metric((mesh.linkerd_version, mesh.anchors_from), 1)
    return family


def _checks(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    family = GaugeMetricFamily(
        CHECK,
        "State of a check for a boundary: one series per state, 1 for the current one "
        "(pass, warning, critical, unknown)." + _CACHED,
        labels=("check", "boundary", "state"),
    )
    for state in snapshot.states:
        for name in STATES:
            family.add_metric((state.check, state.boundary, name), 1 if state.state == name else 0)
    yield family


def _findings(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    ignored = GaugeMetricFamily(
        FINDINGS_IGNORED,
        "Findings of a check for a boundary that ignore rules silence (they are not counted"
        " in f5_linkerd_check)." + _CACHED,
        labels=("check", "boundary"),
    )
    for state in snapshot.states:
        ignored.add_metric((state.check, state.boundary), state.ignored)
    first_seen = GaugeMetricFamily(
        FINDING_FIRST_SEEN,
        "Unix time a finding (not ignored) was first seen; kept across restarts with a state"
        " file." + _CACHED,
        labels=("check", "boundary", "device", "object", "severity"),
    )
    for tracked in snapshot.findings:
        if tracked.ignored:
            continue
        f = tracked.finding
        labels = (f.check, f.boundary, f.device, f.object, f.severity)
        first_seen.add_metric(labels, tracked.first_seen.timestamp())
    yield ignored
    yield first_seen


def _rotation(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    family = GaugeMetricFamily(
        ROTATION_PHASE,
        "Trust-anchor rotation phase of a boundary: one series per phase, 1 for the current"
        " one (see `f5-linkerd-monitor rotation`)." + _CACHED,
        labels=("boundary", "phase"),
    )
    for plan in snapshot.rotation:
        for phase in PHASES:
            family.add_metric((plan.boundary, phase), 1 if plan.phase == phase else 0)
    yield family


def _cert_rows(snapshot: Snapshot) -> Iterator[tuple[str, str, str, str, float, float | None]]:
    """(role, source, object, fingerprint, not_after, not_before) of every known certificate."""
    mesh = snapshot.observed.mesh
    for anchor in mesh.anchors or ():
        yield (
            "trust_anchor",
            "kubernetes",
            mesh.anchors_from,
            anchor.fingerprint_sha256,
            anchor.not_after.timestamp(),
            anchor.not_before.timestamp(),
        )
    if mesh.issuer is not None:
        issuer = mesh.issuer.cert
        yield (
            "issuer",
            "kubernetes",
            mesh.issuer_from,
            issuer.fingerprint_sha256,
            issuer.not_after.timestamp(),
            issuer.not_before.timestamp(),
        )
    for device, f5 in sorted(snapshot.observed.f5.items()):
        for path, bundle in sorted(f5.bundles.items()):
            for member in bundle.members or ():
                row = _bundle_row(device, path, member)
                if row is not None:
                    yield row


def _bundle_row(
    device: str, path: str, member: SslCert
) -> tuple[str, str, str, str, float, float | None] | None:
    if member.not_after is None or member.fingerprint is None:
        return None
    not_before = member.facts.not_before.timestamp() if member.facts else None
    return (
        "bundle_cert",
        device,
        path,
        member.fingerprint,
        member.not_after.timestamp(),
        not_before,
    )


def _certificates(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    labels = ("role", "source", "object", "fingerprint")
    not_after = GaugeMetricFamily(
        CERT_NOT_AFTER,
        "Expiry (not-after) of a certificate the boundary depends on, as a Unix time." + _CACHED,
        labels=labels,
    )
    not_before = GaugeMetricFamily(
        CERT_NOT_BEFORE,
        "Start of validity (not-before) of a certificate, as a Unix time." + _CACHED,
        labels=labels,
    )
    seen: set[tuple[str, str, str, str]] = set()
    for role, source, obj, fingerprint, after, before in _cert_rows(snapshot):
        key = (role, source, obj, fingerprint)
        if key in seen:
            continue
        seen.add(key)
        not_after.add_metric(key, after)
        if before is not None:
            not_before.add_metric(key, before)
    yield not_after
    yield not_before


def _sources(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    labels = ("source", "target")
    up = GaugeMetricFamily(
        SOURCE_UP,
        "1 when the last poll of the source read everything the checks need, else 0." + _CACHED,
        labels=labels,
    )
    last = GaugeMetricFamily(
        SOURCE_LAST_SUCCESS,
        "Unix time of the last complete poll of the source." + _CACHED,
        labels=labels,
    )
    duration = GaugeMetricFamily(
        SOURCE_POLL_DURATION,
        "Seconds the last poll of the source took." + _CACHED,
        labels=labels,
    )
    for status in snapshot.sources:
        key = (status.kind, status.source)
        up.add_metric(key, 1 if status.up else 0)
        duration.add_metric(key, status.duration_seconds)
        success = snapshot.last_success.get(status.source)
        if success is not None:
            last.add_metric(key, success.timestamp())
    yield up
    yield last
    yield duration


def _source_counters(snapshot: Snapshot) -> Iterator[CounterMetricFamily]:
    errors = CounterMetricFamily(
        SOURCE_ERRORS,
        "Errors of the source's polls by reason code, since the exporter started; every "
        "reason starts at 0." + _CACHED,
        labels=("source", "target", "reason"),
    )
    for key, value in sorted(snapshot.error_totals.items()):
        errors.add_metric(key, value)
    requests = CounterMetricFamily(
        SOURCE_REQUESTS,
        "Requests the source sent, by HTTP status code of the answer (error: none), since "
        "the exporter started." + _CACHED,
        labels=("source", "target", "code"),
    )
    for key, value in sorted(snapshot.request_totals.items()):
        requests.add_metric(key, value)
    yield errors
    yield requests


def _cycle(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    duration = GaugeMetricFamily(
        CYCLE_DURATION, "Seconds the last poll-and-check cycle took." + _CACHED
    )
    duration.add_metric((), snapshot.duration_seconds)
    stamp = GaugeMetricFamily(
        CYCLE_TIMESTAMP, "Unix time at which the last cycle finished." + _CACHED
    )
    stamp.add_metric((), snapshot.taken_at.timestamp())
    yield duration
    yield stamp
