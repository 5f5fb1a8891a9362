"""Findings as people and programs read them: the JSON document and the text table.

The same document backs `check -o json` and `/api/findings`; `table` is what
`check` and `demo` print by default.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.state import Snapshot

SEVERITY_RANK = {"warning": 1, "critical": 2}


def findings_document(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "taken_at": snapshot.taken_at.isoformat(),
        "findings": [
            {
                "check": t.finding.check,
                "severity": t.finding.severity,
                "boundary": t.finding.boundary,
                "device": t.finding.device,
                "object": t.finding.object,
                "message": t.finding.message,
                "first_seen": t.first_seen.isoformat(),
                "carried": t.carried,
                "evidence": dict(t.finding.evidence),
            }
            for t in snapshot.findings
        ],
        "checks": [
            {"check": s.check, "boundary": s.boundary, "state": s.state, "detail": s.detail}
            for s in snapshot.states
        ],
        "sources": [
            {
                "source": s.kind,
                "target": s.source,
                "up": s.up,
                "errors": [
                    {"reason": e.reason, "message": e.message, "target": e.target} for e in s.errors
                ],
            }
            for s in snapshot.sources
        ],
    }


def table(snapshot: Snapshot) -> str:
    """A readable report: sources, then findings, then the checks that are not passing."""
    lines = ["SOURCES"]
    for s in snapshot.sources:
        status = "up" if s.up else "DOWN"
        lines.append(f"  {s.kind:<11} {s.source:<16} {status}")
        lines.extend(f"      {e.reason}: {e.message}" for e in s.errors[:5])
        if len(s.errors) > 5:
            lines.append(f"      … and {len(s.errors) - 5} more errors")
    lines.append("")
    if snapshot.findings:
        lines.append("FINDINGS")
        for t in snapshot.findings:
            f = t.finding
            where = f"{f.boundary}/{f.device}" if f.device else f.boundary
            carried = " (kept: its source is unreadable now)" if t.carried else ""
            lines.append(
                f"  {f.severity.upper():<8} {f.check:<24} {where:<18} {f.message}{carried}"
            )
    else:
        lines.append("FINDINGS: none")
    unknown = [s for s in snapshot.states if s.state == "unknown"]
    if unknown:
        lines.append("")
        lines.append("UNKNOWN (inputs missing)")
        lines.extend(f"  {s.check:<24} {s.boundary:<18} {s.detail}" for s in unknown)
    counts = snapshot.counts()
    lines.append("")
    lines.append(
        f"{counts['critical']} critical, {counts['warning']} warning, "
        f"{len(unknown)} unknown, "
        f"{sum(1 for s in snapshot.states if s.state == 'pass')} passing checks"
    )
    return "\n".join(lines) + "\n"


def exit_code(snapshot: Snapshot, fail_on: str) -> int:
    """`check`'s answer: 2 when a source is down (incomplete), 1 for findings at or above
    `fail_on`, else 0."""
    if not snapshot.complete:
        return 2
    threshold = SEVERITY_RANK[fail_on]
    if any(SEVERITY_RANK[t.finding.severity] >= threshold for t in snapshot.findings):
        return 1
    return 0


def print_report(snapshot: Snapshot, output: str, fail_on: str) -> int:
    """Print the snapshot as `check` does and return its exit code."""
    if output == "json":
        print(json.dumps(findings_document(snapshot), indent=2))
    else:
        print(table(snapshot), end="")
    return exit_code(snapshot, fail_on)
