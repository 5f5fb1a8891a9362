"""Small constructors over grafana-foundation-sdk builders that the dashboard shares.

Each returns an SDK builder with the common settings (the `${datasource}` variable, a
title, a description, queries) so `generate.py` only chains what differs: unit, size,
mappings.  Nothing here knows a metric name.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")


def query(
    expr: str,
    legend: str = "",
    *,
    ref: str = "A",
    instant: bool = False,
    table_format: bool = False,
) -> prometheus.Dataquery:
    """A Prometheus query; range unless `instant`, time series unless `table_format`."""
    q = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    q = q.instant() if instant else q.range()
    if table_format:
        q = q.format(PromQueryFormat.TABLE)
    if legend:
        q = q.legend_format(legend)
    return q


def thresholds(base: str, *steps: tuple[float, str]) -> dashboard.ThresholdsConfig:
    """Absolute thresholds: `base` colour below the first step, then each (value, colour)."""
    return (
        dashboard.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps(
            [dm.Threshold(value=None, color=base)]
            + [dm.Threshold(value=v, color=c) for v, c in steps]
        )
    )


def value_map(entries: Sequence[tuple[int | str, str, str]]) -> list[dm.ValueMapping]:
    """One value mapping from (value, text, colour) entries."""
    options = {
        str(value): dm.ValueMappingResult(text=text, color=colour, index=i)
        for i, (value, text, colour) in enumerate(entries)
    }
    return [dm.ValueMap(options=options)]


def coloured_cells(
    mappings: list[dm.ValueMapping], mode: str = "color-background"
) -> list[dm.DynamicConfigValue]:
    """Override properties that show a table column's mapped text on its colour."""
    return [
        dm.DynamicConfigValue(id_val="mappings", value=mappings),
        dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": mode}),
    ]


def fixed_colour(colour: str) -> list[dm.DynamicConfigValue]:
    """Override properties that draw a series in one colour."""
    return [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})]


def unit_of(unit: str) -> list[dm.DynamicConfigValue]:
    """Override properties that set a column's unit."""
    return [dm.DynamicConfigValue(id_val="unit", value=unit)]


def organize(hide: Sequence[str], rename: dict[str, str] | None = None) -> dm.DataTransformerConfig:
    """The `organize` transformation: hide columns and rename others."""
    options: dict[str, object] = {"excludeByName": dict.fromkeys(hide, True)}
    if rename:
        options["renameByName"] = rename
    return dm.DataTransformerConfig(id_val="organize", options=options)


def merge() -> dm.DataTransformerConfig:
    """The `merge` transformation: one table from several instant table queries."""
    return dm.DataTransformerConfig(id_val="merge", options={})


def sort_rows(field: str, *, desc: bool = False) -> dm.DataTransformerConfig:
    """The `sortBy` transformation (a bar gauge draws rows in data order)."""
    return dm.DataTransformerConfig(
        id_val="sortBy", options={"sort": [{"field": field, "desc": desc}]}
    )


def last_value(*, values: bool = False, fields: str = "") -> common.ReduceDataOptions:
    """Reduce each series to its last value (`values`: one item per table row)."""
    return common.ReduceDataOptions().calcs(["lastNotNull"]).values(values).fields(fields)


def stat_panel(title: str, description: str, *queries: prometheus.Dataquery) -> stat.Panel:
    """A stat: the last value of each series, no sparkline."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(last_value())
    )
    for q in queries:
        panel = panel.with_target(q)
    return panel


def timeseries_panel(
    title: str, description: str, *queries: prometheus.Dataquery
) -> timeseries.Panel:
    """A time series with a table legend (last and max) on the right."""
    legend = (
        common.VizLegendOptions()
        .display_mode(cm.LegendDisplayMode.TABLE)
        .placement(cm.LegendPlacement.RIGHT)
        .show_legend(True)
        .calcs(["lastNotNull", "max"])
    )
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .legend(legend)
        .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI))
    )
    for q in queries:
        panel = panel.with_target(q)
    return panel


def table_panel(title: str, description: str, *queries: prometheus.Dataquery) -> table.Panel:
    """A table of instant queries; more than one query is merged into one table."""
    panel = table.Panel().title(title).description(description).datasource(DATASOURCE)
    for q in queries:
        panel = panel.with_target(q)
    if len(queries) > 1:
        panel = panel.with_transformation(merge())
    return panel


def state_timeline_panel(
    title: str, description: str, expr: str, legend: str, mappings: list[dm.ValueMapping]
) -> statetimeline.Panel:
    """A state timeline of a coded state set, one row per series, coloured by `mappings`."""
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query(expr, legend))
        .mappings(mappings)
        .show_value(cm.VisibilityMode.AUTO)
        .merge_values(True)
        .fill_opacity(80)
        .legend(common.VizLegendOptions().show_legend(False))
    )


def bar_gauge_panel(title: str, description: str, expr: str) -> bargauge.Panel:
    """A horizontal bar gauge, one bar per row of an instant table query (in row order)."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query(expr, instant=True, table_format=True))
        .reduce_options(last_value(values=True, fields="/^Value$/"))
        .orientation(cm.VizOrientation.HORIZONTAL)
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .show_unfilled(True)
    )
