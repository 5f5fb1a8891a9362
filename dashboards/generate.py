"""The Grafana dashboard of f5-linkerd-monitor, and the checked-in JSON generated from it.

`python -m dashboards.generate` (or `make dashboards`) writes `f5-linkerd-monitor.json`
next to this file; `--check` exits 1 when that file differs from a fresh generation.
`expressions()` lists every PromQL expression of the dashboard with its variables
substituted, for tests that run them against a Prometheus.

Rows, top to bottom: boundary status, findings, trust timeline, rotation phase, pool
drift, source health (`rows.py`); queries in `queries.py`, shared settings in `panels.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.rows import sections, variables

UID = "f5-linkerd-monitor"
TITLE = "F5 BIG-IP and Linkerd boundary"
TAGS = ["f5", "linkerd", "f5-linkerd-monitor"]
OUTPUT = Path(__file__).resolve().parent / "f5-linkerd-monitor.json"
# What `expressions()` puts in place of each dashboard variable: match everything.
SUBSTITUTIONS = {"${boundary}": ".*", "$boundary": ".*"}


def build() -> dm.Dashboard:
    """The dashboard model: variables, the six rows, stable panel ids (1, 2, … in order)."""
    d = (
        dashboard.Dashboard(TITLE)
        .uid(UID)
        .description(
            "Trust boundary between F5 BIG-IP and a Linkerd mesh, as f5-linkerd-monitor sees it."
        )
        .tags(TAGS)
        .refresh("30s")
        .time("now-6h", "now")
        .timezone(cm.TimeZoneBrowser)
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .editable()
        .variables(variables())
    )
    model = sections(d).build()
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return model


def render() -> str:
    """The dashboard as JSON text: sorted keys, two-space indent, a final newline."""
    return JSONEncoder(sort_keys=True, indent=2).encode(build()) + "\n"


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard, once each, variables matching everything."""
    found: list[str] = []
    for expr in _exprs(json.loads(render())):
        for variable, value in SUBSTITUTIONS.items():
            expr = expr.replace(variable, value)
        if expr not in found:
            found.append(expr)
    return found


def _exprs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the JSON (or with `--check`, exit 1 when the checked-in file is stale)."""
    parser = argparse.ArgumentParser(prog="python -m dashboards.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the JSON file is stale")
    parser.add_argument("--out", type=Path, default=OUTPUT, help="the JSON file (%(default)s)")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale; run `make dashboards`", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
