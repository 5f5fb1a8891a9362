"""The dashboard's identity-provider row: the `oidc` checks and the IdP sources.

The `oidc` checks run per identity provider, whose name is their `boundary` label; the
IdPs' own polls are the sources of kind `oidc` (`source="oidc:<name>"`). Queries are built
from `monitor.render.metrics` and the catalogue's `oidc` family, like `queries.py`.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.models import common as cm

from dashboards import queries as q
from dashboards.panels import (
    coloured_cells,
    organize,
    query,
    stat_panel,
    table_panel,
    thresholds,
    unit_of,
    value_map,
)
from monitor.catalogue import CHECKS_BY_FAMILY
from monitor.render import metrics as m

ROW = "Identity providers (OIDC)"
OIDC = f'check=~"{"|".join(CHECKS_BY_FAMILY["oidc"])}"'
OIDC_STATE_CODE = " + ".join(
    f'{code} * max by (check, boundary) ({m.CHECK}{{state="{name}", {OIDC}}})'
    for code, name, _ in q.state_codes()
    if code
)
# findings exist only for checks that found something: any oidc check id
OIDC_FINDING_AGE = (
    f"time() - max by (boundary, device, check, object, severity)"
    f' ({m.FINDING_FIRST_SEEN}{{check=~"oidc_.+"}})'
)
IDP_SOURCES_UP = f'max by (source, target) ({m.SOURCE_UP}{{source="oidc"}})'


def identity_providers(d: dashboard.Dashboard) -> dashboard.Dashboard:
    """The row: IdP sources up, the oidc check states and their open findings."""
    d = d.with_row(dashboard.Row(ROW))
    d = d.with_panel(
        stat_panel(
            "Identity providers readable",
            "1 when the IdP's discovery document and JWK Set were read in the last poll;"
            " while 0, the oidc checks of that provider are unknown.",
            query(IDP_SOURCES_UP, "{{target}}"),
        )
        .mappings(value_map([(1, "up", "green"), (0, "down", "red")]))
        .thresholds(thresholds("red", (1, "green")))
        .color_mode(cm.BigValueColorMode.BACKGROUND)
        .height(8)
        .span(5)
    )
    d = d.with_panel(
        table_panel(
            "OIDC checks now",
            "Each oidc check per identity provider (its name in `boundary`), worst first.",
            query(OIDC_STATE_CODE, instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value": "state", "boundary": "provider"}))
        .override_by_name("state", coloured_cells(value_map(q.state_codes())))
        .height(8)
        .span(9)
    )
    return d.with_panel(
        table_panel(
            "Signing keys out of step",
            "Open oidc findings, oldest first: the object is the key id (kid) or the APM"
            " object; a missing key turns critical after twice the discovery interval.",
            query(OIDC_FINDING_AGE, instant=True, table_format=True),
        )
        .with_transformation(organize(["Time"], {"Value": "age", "boundary": "provider"}))
        .override_by_name("age", unit_of("dtdurations"))
        .height(8)
        .span(10)
    )
