"""Renders a Snapshot to Prometheus exposition text, with the names of `metrics`.

Rendering happens once per cycle (`document`: the text and its gzip copy; `render`: the
text), and the web server serves the bytes from memory, so a scrape never reaches BIG-IP
or Kubernetes. The text is assembled from parts (`monitor.render.parts`): the series of the
checks' states, the findings, the rotation plans, the certificates and the pool members are
rendered (and compressed) again only when what they show changed.  Values are absolute
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

from collections.abc import Iterable, Iterator

from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from monitor.catalogue import STATES
from monitor.config.schema import Config
from monitor.render import metrics as m
from monitor.render.health import (
    CACHED,
    Family,
    build_info,
    cycle,
    gauge,
    process_status,
    sources,
)
from monitor.render.metrics_rows import POOL_STATES, CertRow, cert_rows, pool_counts
from monitor.render.parts import Document, Last, Part, Same, inputs
from monitor.render.store import StoreCert, store_certs
from monitor.rotation.context import PHASES
from monitor.state.snapshot import ProcessStatus, Snapshot


class _Families(Collector):
    def __init__(self, families: Iterable[Family]) -> None:
        self._families = tuple(families)

    def describe(self) -> Iterable[Family]:
        return []  # never collect at registration

    def collect(self) -> Iterator[Family]:
        return iter(self._families)


def _part(families: Iterable[Family]) -> Part:
    return Part(generate_latest(_Families(families)))


# The series that change only when the checks' results, findings, rotation plans,
# certificates or pool members do: rendered again only then.
_CHECKS: Last[object, Part] = Last()
_IGNORED: Last[object, Part] = Last()
_FIRST_SEEN: Last[object, Part] = Last()
_ROTATION: Last[object, Part] = Last()
_CERTS: Last[object, Part] = Last()
_STORE: Last[object, Part] = Last()
_POOLS: Last[object, Part] = Last()
# The certificate rows and the store, worked out again when a source's state is another.
_CERT_ROWS: Last[Same, list[CertRow]] = Last()
_STORE_ROWS: Last[Same, list[StoreCert]] = Last()


def document(snapshot: Snapshot | None, process: ProcessStatus | None = None) -> Document:
    """Exposition text for a snapshot and the process status (default: the snapshot's),
    with its gzip copy. Without either, build info only (before the first cycle of `check`).
    """
    if process is None and snapshot is not None:
        process = snapshot.process
    return Document.of(_parts(snapshot, process))


def render(snapshot: Snapshot | None, process: ProcessStatus | None = None) -> bytes:
    """`document`'s text."""
    return document(snapshot, process).text


def _parts(snapshot: Snapshot | None, process: ProcessStatus | None) -> Iterator[Part]:
    small: list[Family] = [build_info()]
    if process is not None:
        small += process_status(process)
    configured = process.sources if process is not None else ()
    if snapshot is None:
        if configured:
            small += sources(None, configured)
        yield _part(small)
        return
    small += [_mesh_info(snapshot), _bigip_info(snapshot)]
    if snapshot.config is not None:
        small.append(_tls_verify(snapshot.config))
    yield _part(small)
    yield _CHECKS.get(snapshot.states, lambda: _part([_checks(snapshot)]))
    yield _IGNORED.get(snapshot.states, lambda: _part([_ignored(snapshot)]))
    yield _FIRST_SEEN.get(snapshot.findings, lambda: _part([_first_seen(snapshot)]))
    yield _ROTATION.get(snapshot.rotation, lambda: _part([_rotation(snapshot)]))
    read = inputs(snapshot)
    rows = _CERT_ROWS.get(read, lambda: cert_rows(snapshot))
    yield _CERTS.get(rows, lambda: _part(_certificates(rows)))
    store = _STORE_ROWS.get(read, lambda: store_certs(snapshot, carry=True))
    yield _STORE.get(store, lambda: _part([_store(store)]))
    counts = pool_counts(snapshot)
    yield _POOLS.get(counts, lambda: _part([_pool_members(counts)]))
    yield _part([*sources(snapshot, configured), *cycle(snapshot)])


def _mesh_info(snapshot: Snapshot) -> GaugeMetricFamily:
    mesh = snapshot.observed.mesh
    family = gauge(
        m.MESH_INFO,
        "The Linkerd control plane as read from the cluster (version from its pods' "
        "linkerd.io/proxy-version annotation; empty when unknown); always 1." + CACHED,
        ("linkerd_version", "anchors_from"),
    )
    family.add_metric((mesh.linkerd_version, mesh.anchors_from), 1)
    return family


def _bigip_info(snapshot: Snapshot) -> GaugeMetricFamily:
    family = gauge(
        m.BIGIP_INFO,
        "A BIG-IP device read this cycle: its TMOS version (from the REST answers), and"
        " from cm/device its hostname and failover state (empty when unknown); always 1." + CACHED,
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
    family = gauge(
        m.TLS_VERIFY,
        "1 when the BIG-IP's TLS certificate is verified (caFile), 0 with insecure: true." + CACHED,
        ("device",),
    )
    for device in sorted(config.bigip, key=lambda d: d.name):
        family.add_metric((device.name,), 0 if device.insecure else 1)
    return family


def _checks(snapshot: Snapshot) -> GaugeMetricFamily:
    family = gauge(
        m.CHECK,
        "State of a check for a boundary: one series per state, 1 for the current one "
        "(pass, warning, critical, unknown)." + CACHED,
        ("check", "boundary", "state"),
    )
    for state in snapshot.states:
        for name in STATES:
            family.add_metric((state.check, state.boundary, name), 1 if state.state == name else 0)
    return family


def _ignored(snapshot: Snapshot) -> GaugeMetricFamily:
    ignored = gauge(
        m.FINDINGS_IGNORED,
        "Findings of a check for a boundary that ignore rules silence (they are not counted"
        " in f5_linkerd_check)." + CACHED,
        ("check", "boundary"),
    )
    for state in snapshot.states:
        ignored.add_metric((state.check, state.boundary), state.ignored)
    return ignored


def _first_seen(snapshot: Snapshot) -> GaugeMetricFamily:
    first_seen = gauge(
        m.FINDING_FIRST_SEEN,
        "Unix time a finding (not ignored) was first seen; kept across restarts with a state"
        " file." + CACHED,
        ("check", "boundary", "device", "object", "severity"),
    )
    for tracked in snapshot.findings:
        if tracked.ignored:
            continue
        f = tracked.finding
        labels = (f.check, f.boundary, f.device, f.object, f.severity)
        first_seen.add_metric(labels, tracked.first_seen.timestamp())
    return first_seen


def _rotation(snapshot: Snapshot) -> GaugeMetricFamily:
    family = gauge(
        m.ROTATION_PHASE,
        "Trust-anchor rotation phase of a boundary: one series per phase, 1 for the current"
        " one (see `f5-linkerd-monitor rotation`)." + CACHED,
        ("boundary", "phase"),
    )
    for plan in snapshot.rotation:
        for phase in PHASES:
            family.add_metric((plan.boundary, phase), 1 if plan.phase == phase else 0)
    return family


# --- Certificates and pool members ----------------------------------------------------------


def _certificates(rows: list[CertRow]) -> Iterator[GaugeMetricFamily]:
    labels = ("role", "source", "object", "fingerprint")
    not_after = gauge(
        m.CERT_NOT_AFTER,
        "Expiry (not-after) of a certificate a boundary depends on, as a Unix time; role is"
        " trust_anchor, issuer, bundle_cert, client_cert or edge_cert." + CACHED,
        labels,
    )
    not_before = gauge(
        m.CERT_NOT_BEFORE,
        "Start of validity (not-before) of a certificate a boundary depends on, as a Unix"
        " time (when its PEM was read)." + CACHED,
        labels,
    )
    for row in rows:
        key = (row.role, row.source, row.object, row.fingerprint)
        not_after.add_metric(key, row.not_after)
        if row.not_before is not None:
            not_before.add_metric(key, row.not_before)
    yield not_after
    yield not_before


def _store(certs: list[StoreCert]) -> GaugeMetricFamily:
    store = gauge(
        m.STORE_NOT_AFTER,
        "Expiry of every ssl-cert in a BIG-IP's configured partitions (less excludeCertificates)"
        ", as a Unix time; scope is boundary when a boundary uses the file, else store; a"
        " bundle file: its earliest member when read, else the one its REST fields describe."
        + CACHED,
        ("device", "partition", "path", "scope"),
    )
    for cert in certs:
        if cert.not_after is not None:
            store.add_metric(
                (cert.device, cert.partition, cert.path, cert.scope), cert.not_after.timestamp()
            )
    return store


def _pool_members(counts: list[tuple[str, str, dict[str, int]]]) -> GaugeMetricFamily:
    family = gauge(
        m.POOL_MEMBERS,
        "Pool members of a boundary on a device by state: matched (a ready endpoint), extra"
        " (not a ready endpoint), port_mismatch (a ready endpoint's address on another port),"
        " missing (a ready endpoint that is no member); absent while the pool or the"
        " endpoints are unknown." + CACHED,
        ("boundary", "device", "state"),
    )
    for boundary, device, by_state in counts:
        for state in POOL_STATES:
            family.add_metric((boundary, device, state), by_state[state])
    return family


# --- Sources --------------------------------------------------------------------------------
