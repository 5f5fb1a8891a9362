"""Renders a Snapshot to Prometheus exposition text, with the names of `metrics`.

Rendering happens once per cycle (`render`), and the web server serves the bytes
from memory, so a scrape never reaches BIG-IP or Kubernetes.  Values are absolute
(timestamps, 0/1 states, counters since the start); anything relative to now is left
to PromQL (`f5_linkerd_certificate_not_after_timestamp_seconds - time()`).

Every series is rebuilt from the snapshot each time: an object that is no longer observed
(a deleted certificate, a removed boundary or device) loses its series on the next cycle,
while an expired certificate that is still observed keeps its series. Which certificates
(by role) and pool members there are is worked out in `monitor.render.metrics_rows`; the
whole certificate store of each BIG-IP (one series per ssl-cert path) in
`monitor.render.store`.
The process status (`ProcessStatus`: leadership, config reloads, configured sources, the
Alertmanager push when configured) is
rendered with or without a snapshot: a follower exports build info, `f5_linkerd_leader 0`
and the reload gauges only; a leader before its first cycle also every per-source series
at 0.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor import __version__
from monitor.catalogue import STATES
from monitor.config.schema import Config
from monitor.model import REASONS, SourceStatus
from monitor.render import metrics as m
from monitor.render.metrics_rows import POOL_STATES, cert_rows, pool_counts
from monitor.render.store import store_certs
from monitor.rotation.context import PHASES
from monitor.state.snapshot import KNOWN_CODES, ProcessStatus, PushStats, Snapshot

_CACHED = " Refreshed each poll interval."

Family = GaugeMetricFamily | CounterMetricFamily


class _Collector(Collector):
    def __init__(self, snapshot: Snapshot | None, process: ProcessStatus | None) -> None:
        self._snapshot = snapshot
        self._process = process

    def describe(self) -> Iterable[Family]:
        return []  # never collect at registration

    def collect(self) -> Iterator[Family]:
        yield _build_info()
        if self._process is not None:
            yield from _process(self._process)
        snapshot = self._snapshot
        configured = self._process.sources if self._process is not None else ()
        if snapshot is None:
            if configured:
                yield from _sources(None, configured)
            return
        yield _mesh_info(snapshot)
        yield _bigip_info(snapshot)
        if snapshot.config is not None:
            yield _tls_verify(snapshot.config)
        yield _checks(snapshot)
        yield from _findings(snapshot)
        yield _rotation(snapshot)
        yield from _certificates(snapshot)
        yield _pool_members(snapshot)
        yield from _sources(snapshot, configured)
        yield from _cycle(snapshot)


def render(snapshot: Snapshot | None, process: ProcessStatus | None = None) -> bytes:
    """Exposition text for a snapshot and the process status (default: the snapshot's).

    Without either, build info only (before the first cycle of `check`).
    """
    if process is None and snapshot is not None:
        process = snapshot.process
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(snapshot, process))
    return generate_latest(registry)


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=tuple(labels))


def _build_info() -> GaugeMetricFamily:
    family = _gauge(
        m.BUILD_INFO,
        "Build information of f5-linkerd-monitor; always 1.",
        ("version", "python_version"),
    )
    family.add_metric((__version__, platform.python_version()), 1)
    return family


def _process(process: ProcessStatus) -> Iterator[Family]:
    at = process.reload_success_at
    for name, help_text, value in (
        (
            m.LEADER,
            "1 when this replica is the one that polls, checks and alerts (always 1 without"
            " leader election); a follower exports no snapshot series. Refreshed each poll"
            " interval and when leadership changes.",
            1 if process.leader else 0,
        ),
        (
            m.RELOAD_OK,
            "1 when the last load of the config file (at start, on SIGHUP or on a change of"
            " the file) succeeded; 0 while an invalid file is ignored. Refreshed each poll"
            " interval and on each reload.",
            1 if process.reload_successful else 0,
        ),
        (
            m.RELOAD_SUCCESS,
            "Unix time of the last successful load of the config file. Refreshed each poll"
            " interval and on each reload.",
            at.timestamp() if at is not None else 0,
        ),
    ):
        family = _gauge(name, help_text)
        family.add_metric((), value)
        yield family
    if process.poll_interval > 0:
        family = _gauge(
            m.POLL_INTERVAL,
            "Seconds between two polls (`poll.interval` of the config in force), for alerts"
            " on sources that stop succeeding. Refreshed each poll interval and on each"
            " reload.",
        )
        family.add_metric((), process.poll_interval)
        yield family
    if process.push is not None:
        yield from _push(process.push)


def _push(push: PushStats) -> Iterator[Family]:
    """The Alertmanager push (`alertmanager:` configured), totals since the start."""
    pushes = CounterMetricFamily(
        m.PUSHES,
        "POSTs of the findings to Alertmanager's /api/v2/alerts by result (accepted: 2xx;"
        " failed: no answer or another status), since the exporter started." + _CACHED,
        labels=("result",),
    )
    pushes.add_metric(("accepted",), push.sent)
    pushes.add_metric(("failed",), push.failed)
    yield pushes
    last = _gauge(
        m.PUSH_SUCCESS,
        "Unix time Alertmanager last accepted a push; 0 when none since the start." + _CACHED,
    )
    last.add_metric((), push.last_success.timestamp() if push.last_success else 0)
    yield last
    alerts = _gauge(
        m.PUSH_ALERTS,
        "Alerts in the latest push by state: firing, or resolved and still re-sent (for 15"
        " minutes after the finding went)." + _CACHED,
        ("state",),
    )
    alerts.add_metric(("firing",), push.firing)
    alerts.add_metric(("resolved",), push.resolved)
    yield alerts


def _mesh_info(snapshot: Snapshot) -> GaugeMetricFamily:
    mesh = snapshot.observed.mesh
    family = _gauge(
        m.MESH_INFO,
        "The Linkerd control plane as read from the cluster (version from its pods' "
        "linkerd.io/proxy-version annotation; empty when unknown); always 1." + _CACHED,
        ("linkerd_version", "anchors_from"),
    )
    family.add_metric((mesh.linkerd_version, mesh.anchors_from), 1)
    return family


def _bigip_info(snapshot: Snapshot) -> GaugeMetricFamily:
    family = _gauge(
        m.BIGIP_INFO,
        "A BIG-IP device read this cycle: its TMOS version (from the REST answers), and"
        " from cm/device its hostname and failover state (empty when unknown); always 1." + _CACHED,
        ("device", "version", "hostname", "failover_state"),
    )
    for name, state in sorted(snapshot.observed.f5.items()):
        me = next((d for d in state.devices if d.self_device), None)
        hostname, failover = (me.hostname, me.failover_state) if me else ("", "")
        family.add_metric(
            (name, state.version or (me.version if me else ""), hostname, failover), 1
        )
    return family


def _tls_verify(config: Config) -> GaugeMetricFamily:
    family = _gauge(
        m.TLS_VERIFY,
        "1 when the BIG-IP's TLS certificate is verified (caFile), 0 with insecure: true."
        + _CACHED,
        ("device",),
    )
    for device in sorted(config.bigip, key=lambda d: d.name):
        family.add_metric((device.name,), 0 if device.insecure else 1)
    return family


def _checks(snapshot: Snapshot) -> GaugeMetricFamily:
    family = _gauge(
        m.CHECK,
        "State of a check for a boundary: one series per state, 1 for the current one "
        "(pass, warning, critical, unknown)." + _CACHED,
        ("check", "boundary", "state"),
    )
    for state in snapshot.states:
        for name in STATES:
            family.add_metric((state.check, state.boundary, name), 1 if state.state == name else 0)
    return family


def _findings(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    ignored = _gauge(
        m.FINDINGS_IGNORED,
        "Findings of a check for a boundary that ignore rules silence (they are not counted"
        " in f5_linkerd_check)." + _CACHED,
        ("check", "boundary"),
    )
    for state in snapshot.states:
        ignored.add_metric((state.check, state.boundary), state.ignored)
    first_seen = _gauge(
        m.FINDING_FIRST_SEEN,
        "Unix time a finding (not ignored) was first seen; kept across restarts with a state"
        " file." + _CACHED,
        ("check", "boundary", "device", "object", "severity"),
    )
    for tracked in snapshot.findings:
        if tracked.ignored:
            continue
        f = tracked.finding
        labels = (f.check, f.boundary, f.device, f.object, f.severity)
        first_seen.add_metric(labels, tracked.first_seen.timestamp())
    yield ignored
    yield first_seen


def _rotation(snapshot: Snapshot) -> GaugeMetricFamily:
    family = _gauge(
        m.ROTATION_PHASE,
        "Trust-anchor rotation phase of a boundary: one series per phase, 1 for the current"
        " one (see `f5-linkerd-monitor rotation`)." + _CACHED,
        ("boundary", "phase"),
    )
    for plan in snapshot.rotation:
        for phase in PHASES:
            family.add_metric((plan.boundary, phase), 1 if plan.phase == phase else 0)
    return family


# --- Certificates and pool members ----------------------------------------------------------


def _certificates(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    labels = ("role", "source", "object", "fingerprint")
    not_after = _gauge(
        m.CERT_NOT_AFTER,
        "Expiry (not-after) of a certificate a boundary depends on, as a Unix time; role is"
        " trust_anchor, issuer, bundle_cert, client_cert or edge_cert." + _CACHED,
        labels,
    )
    not_before = _gauge(
        m.CERT_NOT_BEFORE,
        "Start of validity (not-before) of a certificate a boundary depends on, as a Unix"
        " time (when its PEM was read)." + _CACHED,
        labels,
    )
    for row in cert_rows(snapshot):
        key = (row.role, row.source, row.object, row.fingerprint)
        not_after.add_metric(key, row.not_after)
        if row.not_before is not None:
            not_before.add_metric(key, row.not_before)
    yield not_after
    yield not_before
    store = _gauge(
        m.STORE_NOT_AFTER,
        "Expiry of every ssl-cert in a BIG-IP's configured partitions (less excludeCertificates)"
        ", as a Unix time; scope is boundary when a boundary uses the file, else store; a"
        " bundle file: its earliest member when read, else the one its REST fields describe."
        + _CACHED,
        ("device", "partition", "path", "scope"),
    )
    for cert in store_certs(snapshot, carry=True):
        if cert.not_after is not None:
            store.add_metric(
                (cert.device, cert.partition, cert.path, cert.scope), cert.not_after.timestamp()
            )
    yield store


def _pool_members(snapshot: Snapshot) -> GaugeMetricFamily:
    family = _gauge(
        m.POOL_MEMBERS,
        "Pool members of a boundary on a device by state: matched (a ready endpoint), extra"
        " (not a ready endpoint), port_mismatch (a ready endpoint's address on another port),"
        " missing (a ready endpoint that is no member); absent while the pool or the"
        " endpoints are unknown." + _CACHED,
        ("boundary", "device", "state"),
    )
    for boundary, device, counts in pool_counts(snapshot):
        for state in POOL_STATES:
            family.add_metric((boundary, device, state), counts[state])
    return family


# --- Sources --------------------------------------------------------------------------------


def _sources(
    snapshot: Snapshot | None, configured: tuple[tuple[str, str], ...]
) -> Iterator[Family]:
    """Per-source gauges and counters, by (kind, name): the snapshot's sources, plus every
    configured source not polled yet at 0 (up 0, never succeeded, no errors, no requests).
    Sources no longer polled (removed from the config) have no series."""
    polled: dict[tuple[str, str], SourceStatus] = {}
    for source in snapshot.sources if snapshot is not None else ():
        polled[(source.kind, source.source)] = source
    keys = sorted({*polled, *configured})
    names = ("source", "target")
    up = _gauge(
        m.SOURCE_UP,
        "1 when the last poll of the source read everything the checks need, else 0 (also"
        " before its first poll)." + _CACHED,
        names,
    )
    last = _gauge(
        m.SOURCE_LAST_SUCCESS,
        "Unix time of the last complete poll of the source; 0 when none since the start." + _CACHED,
        names,
    )
    duration = _gauge(
        m.SOURCE_POLL_DURATION, "Seconds the last poll of the source took." + _CACHED, names
    )
    for pair in keys:
        status = polled.get(pair)
        success = snapshot.last_success.get(pair[1]) if snapshot is not None else None
        up.add_metric(pair, 1 if status is not None and status.up else 0)
        last.add_metric(pair, success.timestamp() if success is not None else 0)
        duration.add_metric(pair, status.duration_seconds if status is not None else 0)
    errors = CounterMetricFamily(
        m.SOURCE_ERRORS,
        "Errors of the source's polls by reason code, since the exporter started; every "
        "reason starts at 0." + _CACHED,
        labels=("source", "target", "reason"),
    )
    requests = CounterMetricFamily(
        m.SOURCE_REQUESTS,
        "Requests the source sent, by HTTP status code of the answer (error: none), since "
        "the exporter started; the usual codes start at 0." + _CACHED,
        labels=("source", "target", "code"),
    )
    wanted = set(keys)
    for family, totals, known in (
        (errors, snapshot.error_totals if snapshot else {}, REASONS),
        (requests, snapshot.request_totals if snapshot else {}, KNOWN_CODES),
    ):
        values = {k: v for k, v in totals.items() if (k[0], k[1]) in wanted}
        for kind, name in keys:
            for label in known:
                values.setdefault((kind, name, label), 0)
        for labels, value in sorted(values.items()):
            family.add_metric(labels, value)
    yield up
    yield last
    yield duration
    yield errors
    yield requests


def _cycle(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    duration = _gauge(m.CYCLE_DURATION, "Seconds the last poll-and-check cycle took." + _CACHED)
    duration.add_metric((), snapshot.duration_seconds)
    stamp = _gauge(m.CYCLE_TIMESTAMP, "Unix time at which the last cycle finished." + _CACHED)
    stamp.add_metric((), snapshot.taken_at.timestamp())
    yield duration
    yield stamp
