"""The seven rows of the dashboard and its variables, each a function over the builder.

Each section adds its row and panels with `Dashboard.with_row`/`with_panel`, which lay
panels out left to right in 24 columns; each row's widths add up to 24.  Queries come from
`queries.py`, shared panel settings from `panels.py`.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common, dashboard
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards import queries as q
from dashboards.panels import (
    DATASOURCE,
    bar_gauge_panel,
    coloured_cells,
    fixed_colour,
    organize,
    query,
    sort_rows,
    stat_panel,
    state_timeline_panel,
    table_panel,
    thresholds,
    timeseries_panel,
    unit_of,
    value_map,
)

ROWS = (
    "Boundary status",
    "Findings",
    "Trust timeline",
    "Rotation phase",
    "Pool drift",
    "Mesh policy",
    "Source health",
)

_STATES = value_map(q.state_codes())
_PHASES = value_map(q.phase_codes())
_PHASE_NAMES = value_map([(name, name, colour) for _, name, colour in q.phase_codes()])
_SEVERITIES = value_map([(s, s, c) for s, c in q.SEVERITY_COLOURS.items()])
_POOL_STATES = value_map([(s, s, c) for s, c in q.POOL_STATE_COLOURS.items()])
_UP = value_map([(1, "up", "green"), (0, "down", "red")])
_OK = value_map([(1, "ok", "green"), (0, "failed", "red")])
_LEADER = value_map([(1, "leader", "green"), (0, "standby", "blue")])
_LABELS = "Time", "Value"


def variables() -> list[cogbuilder.Builder[dm.VariableModel]]:
    """`datasource` (any Prometheus) and `boundary` (multi-select, All = `.*`)."""
    datasource = dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus")
    boundary = (
        dashboard.QueryVariable("boundary")
        .label("Boundary")
        .description("Boundaries of the expected state (label values of the check metric).")
        .datasource(DATASOURCE)
        .query(q.BOUNDARY_VALUES)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )
    return [datasource, boundary]


def _status(d: dashboard.Dashboard) -> dashboard.Dashboard:
    d = d.with_row(dashboard.Row(ROWS[0]))
    for state in ("critical", "warning", "unknown"):
        colour = q.STATE_CODES[state][1]
        d = d.with_panel(
            stat_panel(
                f"Checks {state}",
                f"(check, boundary) pairs whose state is {state} now.",
                query(q.checks_in_state(state)),
            )
            .thresholds(thresholds("green", (1, colour)))
            .color_mode(cm.BigValueColorMode.BACKGROUND)
            .height(4)
            .span(6)
        )
    d = d.with_panel(
        stat_panel(
            "Findings ignored",
            "Findings that ignore rules silence; they do not count in the check states.",
            query(q.FINDINGS_IGNORED),
        )
        .thresholds(thresholds("text"))
        .height(4)
        .span(6)
    )
    d = d.with_panel(
        table_panel(
            "Check state now",
            "Every check of every boundary, worst first.",
            query(q.CHECK_STATE_CODE, instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value": "state"}))
        .override_by_name("state", coloured_cells(_STATES))
        .sort_by([_sort("state", desc=True)])
        .height(12)
        .span(9)
    )
    return d.with_panel(
        state_timeline_panel(
            "Check state history",
            "State of each check over time (pass, unknown, warning, critical).",
            q.CHECK_STATE_CODE,
            "{{boundary}} {{check}}",
            _STATES,
        )
        .height(12)
        .span(15)
    )


def _findings(d: dashboard.Dashboard) -> dashboard.Dashboard:
    return d.with_row(dashboard.Row(ROWS[1])).with_panel(
        table_panel(
            "Open findings",
            "Findings that are not ignored, oldest first; first seen is kept across restarts"
            " with a state file. /api/findings on the monitor has the messages.",
            query(q.FINDING_FIRST_SEEN_MS, ref="A", instant=True, table_format=True),
            query(q.FINDING_AGE, ref="B", instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value #A": "first seen", "Value #B": "age"}))
        .override_by_name("first seen", unit_of("dateTimeAsIso"))
        .override_by_name("age", unit_of("dtdurations"))
        .override_by_name("severity", coloured_cells(_SEVERITIES, "color-text"))
        .sort_by([_sort("age", desc=True)])
        .height(10)
        .span(24)
    )


def _trust(d: dashboard.Dashboard) -> dashboard.Dashboard:
    steps = zip(q.CERT_THRESHOLD_DAYS, ("orange", "yellow", "green"), strict=True)
    cert_thresholds = thresholds("red", *steps)
    described = (
        "Days until each certificate expires (the soonest per object): trust anchors,"
        " issuer, BIG-IP bundle, client and edge certificates."
    )
    d = d.with_row(dashboard.Row(ROWS[2]))
    d = d.with_panel(
        bar_gauge_panel("Days left per certificate", described, q.CERT_DAYS_LEFT)
        .with_transformation(sort_rows("Value"))
        .unit("d")
        .decimals(0)
        .min(0)
        .max(90)
        .thresholds(cert_thresholds)
        .height(10)
        .span(10)
    )
    return d.with_panel(
        timeseries_panel(
            "Days left over time",
            described,
            query(q.CERT_DAYS_LEFT, "{{role}} {{source}} {{object}}"),
        )
        .unit("d")
        .decimals(0)
        .thresholds(cert_thresholds)
        .thresholds_style(_dashed_thresholds())
        .height(10)
        .span(14)
    )


def _rotation(d: dashboard.Dashboard) -> dashboard.Dashboard:
    d = d.with_row(dashboard.Row(ROWS[3]))
    d = d.with_panel(
        table_panel(
            "Rotation phase now",
            "Where a trust-anchor rotation stands per boundary; `f5-linkerd-monitor rotation`"
            " and /api/rotation name the next step.",
            query(q.ROTATION_PHASE_NOW, instant=True, table_format=True),
        )
        .with_transformation(organize(_LABELS))
        .override_by_name("phase", coloured_cells(_PHASE_NAMES))
        .height(8)
        .span(9)
    )
    return d.with_panel(
        state_timeline_panel(
            "Rotation phase history",
            "Rotation phase of each boundary over time.",
            q.ROTATION_PHASE_CODE,
            "{{boundary}}",
            _PHASES,
        )
        .height(8)
        .span(15)
    )


def _pools(d: dashboard.Dashboard) -> dashboard.Dashboard:
    d = d.with_row(dashboard.Row(ROWS[4]))
    drift = timeseries_panel(
        "Pool members out of step",
        "BIG-IP pool members that do not match the backend's ready endpoints, per boundary:"
        " extra (not a ready endpoint), port_mismatch (an endpoint's address on another"
        " port), missing (a ready endpoint that is no member).",
        query(q.POOL_DRIFT_BY_STATE, "{{boundary}} {{state}}"),
    )
    for state, colour in q.POOL_STATE_COLOURS.items():
        drift = drift.override_by_regexp(f".* {state}", fixed_colour(colour))
    d = d.with_panel(drift.decimals(0).min(0).height(8).span(14))
    return d.with_panel(
        table_panel(
            "Pool members now",
            "Pool members per boundary, device and state (matched: at a ready endpoint).",
            query(q.POOL_MEMBERS_NOW, instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value": "members"}))
        .override_by_name("state", coloured_cells(_POOL_STATES, "color-text"))
        .height(8)
        .span(10)
    )


def _policy(d: dashboard.Dashboard) -> dashboard.Dashboard:
    d = d.with_row(dashboard.Row(ROWS[5]))
    d = d.with_panel(
        table_panel(
            "Policy checks now",
            "The policy family per boundary: do the backend namespace's MeshTLSAuthentications"
            " name ServiceAccounts that exist, its AuthorizationPolicies targets that exist,"
            " its Servers pods that exist?",
            query(q.POLICY_STATE_CODE, instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value": "state"}))
        .override_by_name("state", coloured_cells(_STATES))
        .sort_by([_sort("state", desc=True)])
        .height(8)
        .span(9)
    )
    return d.with_panel(
        table_panel(
            "Policy findings",
            "The objects that name what does not exist (object: namespace/name, and for an"
            " identity the entry); /api/findings on the monitor has the messages.",
            query(q.POLICY_FINDINGS_MS, instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value": "first seen"}))
        .override_by_name("first seen", unit_of("dateTimeAsIso"))
        .override_by_name("severity", coloured_cells(_SEVERITIES, "color-text"))
        .height(8)
        .span(15)
    )


def _sources(d: dashboard.Dashboard) -> dashboard.Dashboard:
    d = d.with_row(dashboard.Row(ROWS[6]))
    d = d.with_panel(
        stat_panel(
            "Sources up",
            "1 when the last poll of the source read everything the checks need.",
            query(q.SOURCE_UP, "{{source}} {{target}}"),
        )
        .mappings(_UP)
        .thresholds(thresholds("red", (1, "green")))
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .height(6)
        .span(6)
    )
    d = d.with_panel(
        timeseries_panel(
            "Since last complete poll",
            "Seconds since the source's last complete poll; grows while it fails.",
            query(q.SOURCE_SINCE_SUCCESS, "{{source}} {{target}}"),
        )
        .unit("s")
        .height(6)
        .span(9)
    )
    d = d.with_panel(
        timeseries_panel(
            "Poll duration",
            "Seconds the last poll of each source and the whole cycle took.",
            query(q.SOURCE_POLL_DURATION, "{{source}} {{target}}"),
            query(q.CYCLE_DURATION, "whole cycle", ref="B"),
        )
        .unit("s")
        .height(6)
        .span(9)
    )
    window = q.RATE_WINDOW
    d = d.with_panel(
        timeseries_panel(
            "Source errors by reason",
            f"Errors per second of each source's polls by reason code (rate over {window}).",
            query(q.SOURCE_ERROR_RATE, "{{target}} {{reason}}"),
        )
        .unit("cps")
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        timeseries_panel(
            "Requests by status code",
            f"Requests per second each source sent, by HTTP status (rate over {window}).",
            query(q.SOURCE_REQUEST_RATE, "{{target}} {{code}}"),
        )
        .unit("reqps")
        .height(8)
        .span(12)
    )
    return _monitor(d)


def _monitor(d: dashboard.Dashboard) -> dashboard.Dashboard:
    panels = (
        stat_panel(
            "Since last cycle",
            "Seconds since the monitor finished a poll-and-check cycle.",
            query(q.SINCE_LAST_CYCLE),
        ).unit("s"),
        stat_panel(
            "Config reload",
            "Whether the last reload of the configuration succeeded.",
            query(q.CONFIG_RELOADED),
        )
        .mappings(_OK)
        .thresholds(thresholds("red", (1, "green"))),
        stat_panel(
            "Leader",
            "Which replica holds the leader-election lease.",
            query(q.LEADER_BY_INSTANCE, "{{instance}}"),
        )
        .mappings(_LEADER)
        .thresholds(thresholds("blue", (1, "green"))),
        stat_panel(
            "Versions",
            "Monitor version, and the Linkerd version and trust-anchor object it read.",
            query(q.BUILD_INFO, "monitor {{version}}"),
            query(q.MESH_INFO, "linkerd {{linkerd_version}} ({{anchors_from}})", ref="B"),
        )
        .text_mode(cm.BigValueTextMode.NAME)
        .thresholds(thresholds("text")),
    )
    for panel in panels:
        d = d.with_panel(panel.height(4).span(6))
    return d


def sections(d: dashboard.Dashboard) -> dashboard.Dashboard:
    """The dashboard with the seven rows (`ROWS`) and their panels added, in order."""
    for section in (_status, _findings, _trust, _rotation, _pools, _policy, _sources):
        d = section(d)
    return d


def _sort(field: str, *, desc: bool) -> common.TableSortByFieldState:
    return common.TableSortByFieldState().display_name(field).desc(desc)


def _dashed_thresholds() -> common.GraphThresholdsStyleConfig:
    return common.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED)
