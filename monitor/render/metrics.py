"""The one place metric names live: every family the exporter serves, by name.

The names are a public contract (dashboards, alert rules and docs/metrics.md use them);
`monitor.render.exposition` renders a Snapshot with them. Counters are families without
the `_total` suffix (OpenMetrics naming); their samples, and the names in the text format,
end in `_total`. `METRIC_NAMES` lists both forms.
"""

from __future__ import annotations

PREFIX = "f5_linkerd_"
CHECK = PREFIX + "check"
CERT_NOT_AFTER = PREFIX + "certificate_not_after_timestamp_seconds"
CERT_NOT_BEFORE = PREFIX + "certificate_not_before_timestamp_seconds"
STORE_NOT_AFTER = PREFIX + "bigip_certificate_not_after_timestamp_seconds"
POOL_MEMBERS = PREFIX + "pool_members"
SOURCE_UP = PREFIX + "source_up"
SOURCE_LAST_SUCCESS = PREFIX + "source_last_success_timestamp_seconds"
SOURCE_POLL_DURATION = PREFIX + "source_poll_duration_seconds"
SOURCE_ERRORS = PREFIX + "source_errors"  # counter: f5_linkerd_source_errors_total
SOURCE_REQUESTS = PREFIX + "source_requests"  # counter: f5_linkerd_source_requests_total
CYCLE_DURATION = PREFIX + "cycle_duration_seconds"
CYCLE_TIMESTAMP = PREFIX + "last_cycle_timestamp_seconds"
BUILD_INFO = PREFIX + "build_info"
MESH_INFO = PREFIX + "mesh_info"
BIGIP_INFO = PREFIX + "bigip_info"
TLS_VERIFY = PREFIX + "bigip_tls_verify"
FINDINGS_IGNORED = PREFIX + "findings_ignored"
FINDING_FIRST_SEEN = PREFIX + "finding_first_seen_timestamp_seconds"
ROTATION_PHASE = PREFIX + "rotation_phase"
LEADER = PREFIX + "leader"
RELOAD_OK = PREFIX + "config_last_reload_successful"
RELOAD_SUCCESS = PREFIX + "config_last_reload_success_timestamp_seconds"
POLL_INTERVAL = PREFIX + "poll_interval_seconds"
PUSHES = PREFIX + "alertmanager_pushes"  # counter: f5_linkerd_alertmanager_pushes_total
PUSH_SUCCESS = PREFIX + "alertmanager_last_push_success_timestamp_seconds"
PUSH_ALERTS = PREFIX + "alertmanager_alerts"

METRIC_NAMES = (
    CHECK,
    CERT_NOT_AFTER,
    CERT_NOT_BEFORE,
    STORE_NOT_AFTER,
    POOL_MEMBERS,
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
    BIGIP_INFO,
    TLS_VERIFY,
    FINDINGS_IGNORED,
    FINDING_FIRST_SEEN,
    ROTATION_PHASE,
    LEADER,
    RELOAD_OK,
    RELOAD_SUCCESS,
    POLL_INTERVAL,
    PUSHES,
    PUSHES + "_total",
    PUSH_SUCCESS,
    PUSH_ALERTS,
)
