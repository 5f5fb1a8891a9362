"""The series about the exporter itself and its sources: build, process status, polls, cycle.

Owns the families `monitor.render.exposition` renders fresh each cycle, around the ones it
reuses: build info; the process status (`ProcessStatus`: leadership, config reloads, the
poll interval, the Alertmanager push); per source its state, last success, poll duration,
errors by reason and requests by code; the last cycle's duration and time. Pure.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from monitor import __version__
from monitor.model import REASONS, SourceStatus
from monitor.render import metrics as m
from monitor.state.snapshot import KNOWN_CODES, ProcessStatus, PushStats, Snapshot

CACHED = " Refreshed each poll interval."

Family = GaugeMetricFamily | CounterMetricFamily


def gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=tuple(labels))


def build_info() -> GaugeMetricFamily:
    family = gauge(
        m.BUILD_INFO,
        "Build information of f5-linkerd-monitor; always 1.",
        ("version", "python_version"),
    )
    family.add_metric((__version__, platform.python_version()), 1)
    return family


def process_status(process: ProcessStatus) -> Iterator[Family]:
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
        family = gauge(name, help_text)
        family.add_metric((), value)
        yield family
    if process.poll_interval > 0:
        family = gauge(
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
        " failed: no answer or another status), since the exporter started." + CACHED,
        labels=("result",),
    )
    pushes.add_metric(("accepted",), push.sent)
    pushes.add_metric(("failed",), push.failed)
    yield pushes
    last = gauge(
        m.PUSH_SUCCESS,
        "Unix time Alertmanager last accepted a push; 0 when none since the start." + CACHED,
    )
    last.add_metric((), push.last_success.timestamp() if push.last_success else 0)
    yield last
    alerts = gauge(
        m.PUSH_ALERTS,
        "Alerts in the latest push by state: firing, or resolved and still re-sent (for 15"
        " minutes after the finding went)." + CACHED,
        ("state",),
    )
    alerts.add_metric(("firing",), push.firing)
    alerts.add_metric(("resolved",), push.resolved)
    yield alerts


def sources(snapshot: Snapshot | None, configured: tuple[tuple[str, str], ...]) -> Iterator[Family]:
    """Per-source gauges and counters, by (kind, name): the snapshot's sources, plus every
    configured source not polled yet at 0 (up 0, never succeeded, no errors, no requests).
    Sources no longer polled (removed from the config) have no series."""
    polled: dict[tuple[str, str], SourceStatus] = {}
    for source in snapshot.sources if snapshot is not None else ():
        polled[(source.kind, source.source)] = source
    keys = sorted({*polled, *configured})
    names = ("source", "target")
    up = gauge(
        m.SOURCE_UP,
        "1 when the last poll of the source read everything the checks need, else 0 (also"
        " before its first poll)." + CACHED,
        names,
    )
    last = gauge(
        m.SOURCE_LAST_SUCCESS,
        "Unix time of the last complete poll of the source; 0 when none since the start." + CACHED,
        names,
    )
    duration = gauge(
        m.SOURCE_POLL_DURATION, "Seconds the last poll of the source took." + CACHED, names
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
        "reason starts at 0." + CACHED,
        labels=("source", "target", "reason"),
    )
    requests = CounterMetricFamily(
        m.SOURCE_REQUESTS,
        "Requests the source sent, by HTTP status code of the answer (error: none), since "
        "the exporter started; the usual codes start at 0." + CACHED,
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


def cycle(snapshot: Snapshot) -> Iterator[GaugeMetricFamily]:
    duration = gauge(m.CYCLE_DURATION, "Seconds the last poll-and-check cycle took." + CACHED)
    duration.add_metric((), snapshot.duration_seconds)
    stamp = gauge(m.CYCLE_TIMESTAMP, "Unix time at which the last cycle finished." + CACHED)
    stamp.add_metric((), snapshot.taken_at.timestamp())
    yield duration
    yield stamp
