"""Findings as people and programs read them: the JSON document and the text table.

The same document backs `check -o json` and `/api/findings`; `table` is what
`check` and `demo` print by default. Ignored findings (`monitor.state.ignore`) are listed with
`"ignored": true` and the rule's reason, shown apart in the table, and left out of the
counts and of `check`'s exit code; a finding whose ignore rule has expired carries it as
`expired_ignore`. `certificates` is the status page's certificate timeline
(`monitor.render.timeline`), soonest expiry first, with absolute times only.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from monitor.render.parts import Document, Last, Part
from monitor.render.timeline import CertRow, certificate_rows
from monitor.state.snapshot import Snapshot, TrackedFinding

SEVERITY_RANK = {"warning": 1, "critical": 2}


def finding_entry(t: TrackedFinding) -> dict[str, Any]:
    """One finding as `/api/findings` and `check -o json` show it."""
    match = t.ignore
    active = match is not None and match.active
    return {
        "check": t.finding.check,
        "severity": t.finding.severity,
        "boundary": t.finding.boundary,
        "device": t.finding.device,
        "object": t.finding.object,
        "message": t.finding.message,
        "first_seen": t.first_seen.isoformat(),
        "carried": t.carried,
        "ignored": active,
        "ignore_reason": match.reason if match is not None and active else None,
        "ignore_until": _date(match.until) if match is not None and active else None,
        "expired_ignore": (
            {"reason": match.reason, "until": _date(match.until)}
            if match is not None and not match.active
            else None
        ),
        "evidence": dict(t.finding.evidence),
    }


def _date(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def findings_document(snapshot: Snapshot, lists: bool = True) -> dict[str, Any]:
    """The document (`lists`: with the findings, checks, sources and certificates)."""
    counts = snapshot.counts()
    head = {
        "taken_at": snapshot.taken_at.isoformat(),
        "counts": {**counts, "ignored": snapshot.ignored()},
    }
    if not lists:
        return head
    return {
        **head,
        "findings": [finding_entry(t) for t in snapshot.findings],
        "checks": _checks(snapshot),
        "sources": sources_entries(snapshot),
        "certificates": certificate_entries(snapshot),
    }


# The document's long lists, made again when what they list changes.
_FINDINGS: Last[object, Part] = Last()
_CHECKS: Last[object, Part] = Last()
_CERTIFICATES: Last[object, Part] = Last()


def _indented(value: object) -> str:
    """`value` as `json.dumps(..., indent=2)` writes it one level down (JSON text has no raw
    newline but between its lines)."""
    return json.dumps(value, indent=2).replace("\n", "\n  ")


def findings_json(snapshot: Snapshot) -> Document:
    """`json.dumps(findings_document(snapshot), indent=2)` as bytes, with its gzip copy,
    assembled from parts: the findings, the checks and the certificates are rendered again
    only when they change."""
    document = findings_document(snapshot, lists=False)
    head = ",\n".join(f"  {json.dumps(k)}: {_indented(v)}" for k, v in document.items())
    rows = certificate_rows(snapshot)
    parts = (
        Part(f'{{\n{head},\n  "findings": '.encode()),
        _FINDINGS.get(
            snapshot.findings,
            lambda: Part(_indented([finding_entry(t) for t in snapshot.findings]).encode()),
        ),
        _CHECKS.get(
            snapshot.states, lambda: Part(f',\n  "checks": {_indented(_checks(snapshot))}'.encode())
        ),
        Part(f',\n  "sources": {_indented(sources_entries(snapshot))}'.encode()),
        _CERTIFICATES.get(
            rows, lambda: Part(f',\n  "certificates": {_indented(_certificates(rows))}'.encode())
        ),
        Part(b"\n}"),
    )
    return Document.of(parts)


def _checks(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [
        {
            "check": s.check,
            "boundary": s.boundary,
            "state": s.state,
            "detail": s.detail,
            "ignored": s.ignored,
        }
        for s in snapshot.states
    ]


def certificate_entries(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Every certificate the snapshot knows, by role and source, soonest expiry first."""
    return _certificates(certificate_rows(snapshot))


def _certificates(rows: list[CertRow]) -> list[dict[str, Any]]:
    return [
        {
            "role": row.role,
            "scope": row.scope,
            "source": row.source,
            "object": row.object,
            "subject": row.subject,
            "fingerprint": row.fingerprint,
            "not_after": row.not_after.isoformat() if row.not_after else None,
            "note": row.note,
        }
        for row in rows
    ]


def sources_entries(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [
        {
            "source": s.kind,
            "target": s.source,
            "up": s.up,
            "errors": [
                {"reason": e.reason, "message": e.message, "target": e.target} for e in s.errors
            ],
        }
        for s in snapshot.sources
    ]


def source_lines(snapshot: Snapshot) -> list[str]:
    """The SOURCES block of the table."""
    lines = ["SOURCES"]
    for s in snapshot.sources:
        status = "up" if s.up else "DOWN"
        lines.append(f"  {s.kind:<11} {s.source:<16} {status}")
        lines.extend(f"      {e.reason}: {e.message}" for e in s.errors[:5])
        if len(s.errors) > 5:
            lines.append(f"      … and {len(s.errors) - 5} more errors")
    return lines


def _line(t: TrackedFinding) -> str:
    f = t.finding
    where = f"{f.boundary}/{f.device}" if f.device else f.boundary
    carried = " (kept: its source is unreadable now)" if t.carried else ""
    if t.ignore is not None and t.ignore.active:
        until = f" until {t.ignore.until.isoformat()}" if t.ignore.until else ""
        carried += f" [ignored{until}: {t.ignore.reason}]"
    elif t.ignore is not None and t.ignore.until is not None:
        carried += f" [ignore rule expired on {t.ignore.until.isoformat()}: {t.ignore.reason}]"
    return f"  {f.severity.upper():<8} {f.check:<24} {where:<18} {f.message}{carried}"


def table(snapshot: Snapshot) -> str:
    """A readable report: sources, then findings (ignored ones apart), then the checks that
    are not passing."""
    lines = [*source_lines(snapshot), ""]
    active = [t for t in snapshot.findings if not t.ignored]
    ignored = [t for t in snapshot.findings if t.ignored]
    if active:
        lines.append("FINDINGS")
        lines.extend(_line(t) for t in active)
    else:
        lines.append("FINDINGS: none")
    if ignored:
        lines.append("")
        lines.append("IGNORED (by ignore rules; not counted)")
        lines.extend(_line(t) for t in ignored)
    unknown = [s for s in snapshot.states if s.state == "unknown"]
    if unknown:
        lines.append("")
        lines.append("UNKNOWN (inputs missing)")
        lines.extend(f"  {s.check:<24} {s.boundary:<18} {s.detail}" for s in unknown)
    counts = snapshot.counts()
    lines.append("")
    summary = (
        f"{counts['critical']} critical, {counts['warning']} warning, "
        f"{len(unknown)} unknown, "
        f"{sum(1 for s in snapshot.states if s.state == 'pass')} passing checks"
    )
    if ignored:
        summary += f" ({len(ignored)} ignored finding{'' if len(ignored) == 1 else 's'})"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def exit_code(snapshot: Snapshot, fail_on: str) -> int:
    """`check`'s answer: 2 when a source is down (incomplete), 1 for findings at or above
    `fail_on` (ignored ones left out), else 0."""
    if not snapshot.complete:
        return 2
    threshold = SEVERITY_RANK[fail_on]
    if any(
        SEVERITY_RANK[t.finding.severity] >= threshold for t in snapshot.findings if not t.ignored
    ):
        return 1
    return 0


def print_report(snapshot: Snapshot, output: str, fail_on: str) -> int:
    """Print the snapshot as `check` does and return its exit code."""
    if output == "json":
        print(json.dumps(findings_document(snapshot), indent=2))
    else:
        print(table(snapshot), end="")
    return exit_code(snapshot, fail_on)
