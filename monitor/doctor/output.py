"""The `doctor` report as readable text or as a JSON document.

Text: one block per source (each probe: status, what, detail), then the table of every
check (will run / will be unknown, and why), then one summary line with the exit code.
JSON: the same content, for scripts (`-o json`). Neither ever holds a secret: probe
details come from the sources' scrubbed messages.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.doctor.result import Report, SourceReport

_TITLES = {"bigip": "BIG-IP", "kubernetes": "Kubernetes"}
_WORDS = {0: "everything the config needs is granted", 1: "not everything is granted",
          2: "a source cannot be read at all"}  # fmt: skip


def _source(report: SourceReport) -> list[str]:
    if report.kind == "bigip":
        lines = [f"{_TITLES[report.kind]} {report.source} ({report.where})"]
    else:
        lines = [_TITLES[report.kind]]
    width = max((len(p.name) for p in report.probes), default=0)
    for probe in report.probes:
        lines.append(f"  {probe.status:<8} {probe.name:<{width}}  {probe.detail}")
    if not report.reachable:
        lines.append("  → nothing of this source can be read: every check that needs it is unknown")
    return lines


def text(report: Report) -> str:
    lines: list[str] = []
    for source in report.sources:
        lines += [*_source(source), ""]
    lines.append("Checks with these accounts")
    width = max(len(v.check) for v in report.verdicts)
    for verdict in report.verdicts:
        will = "will run" if verdict.runs else "will be unknown: " + "; ".join(verdict.why)
        if not verdict.applies:
            will = "does not apply to any configured boundary"
        lines.append(f"  {verdict.check:<{width}}  {verdict.family:<8}  {will}")
    code = report.exit_code()
    applicable = sum(v.applies for v in report.verdicts)
    lines += [
        "",
        f"{len(report.unknown)} of {applicable} applicable checks will be unknown;"
        f" {_WORDS[code]} (exit {code})",
    ]
    return "\n".join(lines) + "\n"


def document(report: Report) -> dict[str, Any]:
    return {
        "sources": [
            {
                "source": s.source,
                "kind": s.kind,
                "where": s.where,
                "reachable": s.reachable,
                "probes": [
                    {"name": p.name, "status": p.status, "detail": p.detail} for p in s.probes
                ],
                "missing": dict(s.missing),
                "problems": list(s.problems),
            }
            for s in report.sources
        ],
        "checks": [
            {
                "check": v.check,
                "family": v.family,
                "will": "run" if v.runs else "unknown" if v.applies else "not applicable",
                "why": list(v.why),
            }
            for v in report.verdicts
        ],
        "exit_code": report.exit_code(),
    }


def render(report: Report, output: str) -> str:
    if output == "json":
        return json.dumps(document(report), indent=2) + "\n"
    return text(report)
