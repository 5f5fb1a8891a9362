"""The dashboard's PromQL, built from the metric names and label values of `monitor`.

Every metric name comes from `monitor.render.metrics`, and the label values from
`monitor.catalogue.STATES`, `monitor.rotation.context.PHASES` and
`monitor.render.metrics_rows.POOL_STATES`:
a renamed metric fails the import, a new state or phase without a colour here fails
generation.  `$boundary` is the
dashboard's boundary variable (a regex; "All" is `.*`).

Series are aggregated `by` the exporter's own labels, so several scrape targets (replicas,
shards) collapse to one row each instead of repeating it per `instance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.catalogue import CHECKS_BY_FAMILY, STATES
from monitor.render import metrics as m
from monitor.render.metrics_rows import POOL_STATES
from monitor.rotation.context import PHASES

BOUNDARY = 'boundary=~"$boundary"'
BOUNDARY_VALUES = f"label_values({m.CHECK}, boundary)"  # the variable's query (not PromQL)
RATE_WINDOW = "5m"

# Check states as numbers, worst highest, so a table sorts critical first; name, colour.
STATE_CODES: dict[str, tuple[int, str]] = {
    "pass": (0, "green"),
    "unknown": (1, "#8e8e8e"),
    "warning": (2, "orange"),
    "critical": (3, "red"),
}
PHASE_COLOURS: dict[str, str] = {
    "steady": "green",
    "new_anchor_in_mesh": "blue",
    "new_anchor_staged_everywhere": "blue",
    "issuer_rotated": "purple",
    "old_anchor_removable": "yellow",
    "broken": "red",
    "unknown": "#8e8e8e",
}
POOL_STATE_COLOURS: dict[str, str] = {
    "matched": "green",
    "extra": "orange",
    "port_mismatch": "yellow",
    "missing": "red",
}
SEVERITY_COLOURS = {"warning": "orange", "critical": "red"}
CERT_THRESHOLD_DAYS = (14, 28, 60)


def _require(kind: str, names: Sequence[str], table: Mapping[str, object]) -> None:
    if set(names) != set(table):
        raise SystemExit(
            f"dashboards/queries.py: the {kind} of monitor {sorted(names)} differ from the"
            f" ones the dashboard colours {sorted(table)}; update the table"
        )


_require("check states", STATES, STATE_CODES)
_require("rotation phases", PHASES, PHASE_COLOURS)
_require("pool member states", POOL_STATES, POOL_STATE_COLOURS)


def state_codes() -> list[tuple[int, str, str]]:
    """(code, state, colour) of every check state, in `STATES` order."""
    return [(STATE_CODES[s][0], s, STATE_CODES[s][1]) for s in STATES]


def phase_codes() -> list[tuple[int, str, str]]:
    """(code, phase, colour) of every rotation phase: its index in `PHASES`."""
    return [(i, p, PHASE_COLOURS[p]) for i, p in enumerate(PHASES)]


def _encode(
    metric: str, label: str, by: str, codes: Sequence[tuple[int, str, str]], where: str = ""
) -> str:
    """A state set as one number per `by` group: the sum of code × (state is current).

    Every state's series exists (the exporter writes all of them, 0 or 1), so the terms
    match one to one; the code 0 term is always 0 and is left out. `where`: more matchers.
    """
    terms = []
    for code, name, _ in sorted(codes):
        if code == 0:
            continue
        matchers = f'{label}="{name}", {BOUNDARY}' + (f", {where}" if where else "")
        series = f"max by ({by}) ({metric}{{{matchers}}})"
        terms.append(series if code == 1 else f"{code} * {series}")
    return " + ".join(terms)


# --- boundary status -------------------------------------------------------------------------

CHECK_STATE_CODE = _encode(m.CHECK, "state", "check, boundary", state_codes())


def checks_in_state(state: str) -> str:
    """How many (check, boundary) pairs are in `state` now (0 when none)."""
    return f'sum(max by (check, boundary) ({m.CHECK}{{state="{state}", {BOUNDARY}}}))'


FINDINGS_IGNORED = f"sum(max by (check, boundary) ({m.FINDINGS_IGNORED}{{{BOUNDARY}}}))"

# --- findings --------------------------------------------------------------------------------

_FINDING_LABELS = "check, boundary, device, object, severity"
_FINDING = f"max by ({_FINDING_LABELS}) ({m.FINDING_FIRST_SEEN}{{{BOUNDARY}}})"
FINDING_FIRST_SEEN_MS = f"{_FINDING} * 1000"
FINDING_AGE = f"time() - {_FINDING}"

# --- trust timeline --------------------------------------------------------------------------

CERT_DAYS_LEFT = f"min by (role, source, object) (({m.CERT_NOT_AFTER} - time()) / 86400)"

# --- rotation phase --------------------------------------------------------------------------

ROTATION_PHASE_CODE = _encode(m.ROTATION_PHASE, "phase", "boundary", phase_codes())
ROTATION_PHASE_NOW = f"max by (boundary, phase) ({m.ROTATION_PHASE}{{{BOUNDARY}}}) == 1"

# --- pool drift ------------------------------------------------------------------------------

POOL_DRIFT_BY_STATE = f'sum by (boundary, state) ({m.POOL_MEMBERS}{{state!="matched", {BOUNDARY}}})'
POOL_MEMBERS_NOW = f"max by (boundary, device, state) ({m.POOL_MEMBERS}{{{BOUNDARY}}})"

# --- mesh policy ---------------------------------------------------------------------------

_POLICY = f'check=~"{"|".join(CHECKS_BY_FAMILY["policy"])}"'
POLICY_STATE_CODE = _encode(m.CHECK, "state", "check, boundary", state_codes(), _POLICY)
# findings exist only for checks that found something: any policy check id
POLICY_FINDINGS_MS = (
    f'max by ({_FINDING_LABELS}) ({m.FINDING_FIRST_SEEN}{{{BOUNDARY}, check=~"policy_.+"}}) * 1000'
)

# --- source health ---------------------------------------------------------------------------

SOURCE_UP = f"max by (source, target) ({m.SOURCE_UP})"
SOURCE_SINCE_SUCCESS = f"time() - max by (source, target) ({m.SOURCE_LAST_SUCCESS})"
SOURCE_POLL_DURATION = f"max by (source, target) ({m.SOURCE_POLL_DURATION})"
CYCLE_DURATION = f"max({m.CYCLE_DURATION})"
SOURCE_ERROR_RATE = (
    f"sum by (source, target, reason) (rate({m.SOURCE_ERRORS}_total[{RATE_WINDOW}]))"
)
SOURCE_REQUEST_RATE = (
    f"sum by (source, target, code) (rate({m.SOURCE_REQUESTS}_total[{RATE_WINDOW}]))"
)
SINCE_LAST_CYCLE = f"time() - max({m.CYCLE_TIMESTAMP})"
BUILD_INFO = f"max by (version) ({m.BUILD_INFO})"
CONFIG_RELOADED = f"min({m.RELOAD_OK})"
LEADER_BY_INSTANCE = f"max by (instance) ({m.LEADER})"
MESH_INFO = f"max by (linkerd_version, anchors_from) ({m.MESH_INFO})"
