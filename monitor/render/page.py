"""The status page at `/`: one HTML document rendered per cycle from the snapshot.

Server-rendered, no scripts and no external assets (inline CSS only), so it works without
JavaScript and behind strict Content-Security-Policies. Every value from the snapshot is
HTML-escaped. Ages and days left are counted from the snapshot's `taken_at`, which the page
states ("as of ..."): between cycles the page does not change.

Sections, in order:
- summary: findings by severity (ignored apart), checks unknown and passing, sources down;
- one per boundary: its overall state, the trust-anchor rotation phase with its
  explanation and next steps, its findings (severity, check, device, object, message,
  evidence in a <details> element, first seen and age, marks for carried and ignored
  findings), and its checks grouped by family with their states (unknown ones with why);
- one per identity provider (`identityProviders`): its overall state, its signing keys at
  the IdP and on each device's APM (`monitor.render.identity`), its findings and checks;
- the certificate timeline (`monitor.render.timeline`): days left, expiry,
  role, scope (mesh, boundary, or the rest of a BIG-IP's store), source, object, subject
  and short fingerprint, soonest first;
- source health: up or down, last success, poll duration, this cycle's errors.
States are always written out as words; colour only repeats them.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from functools import partial

from monitor import __version__
from monitor.render.identity import key_table
from monitor.render.page_data import Boundary, ago, boundaries, days_text, sections, when
from monitor.render.parts import Document, Last, LastBy, Part
from monitor.render.timeline import CertRow, certificate_rows
from monitor.rotation.plan import RotationPlan
from monitor.state.snapshot import Snapshot, TrackedFinding

TITLE = "f5-linkerd-monitor status"
MAX_SOURCE_ERRORS = 10  # per source; the rest are counted
# Rotation phases → the state class that colours their badge.
PHASE_CLASS = {"steady": "pass", "broken": "critical", "unknown": "unknown"}

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1b1f24;background:#f6f7f9}
header,main,footer{max-width:78rem;margin:0 auto;padding:0 1rem}
header{padding-top:.75rem}footer{padding-bottom:2rem;color:#57606a}
h1{font-size:1.5rem;margin:.5rem 0}
h2{font-size:1.25rem;margin:1.5rem 0 .5rem;padding-bottom:.2rem;border-bottom:2px solid #d0d7de}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
section.boundary{background:#fff;border:1px solid #d0d7de;border-radius:6px;
padding:0 1rem .5rem;margin:1rem 0}
section.boundary>h2{border-bottom:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:#fff;margin:.25rem 0 1rem}
caption{text-align:left;font-weight:600;padding:.2rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:break-word}
.long{overflow-wrap:anywhere}.nowrap{white-space:nowrap}
th{background:#eef1f4}
.badge{display:inline-block;padding:0 .4rem;border:1px solid #1b1f24;border-radius:3px;
font-weight:700;font-size:.85em;text-transform:uppercase;white-space:nowrap}
.s-critical{color:#fff;background:#b42318}.s-warning{color:#2b1d00;background:#f4b63f}
.s-pass{color:#fff;background:#1a7f37}.s-unknown{color:#fff;background:#57606a}
.s-ignored{color:#1b1f24;background:#e6e9ed}
.mark{margin:.2rem 0 0;font-style:italic;color:#57606a}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
dl{margin:.3rem 0;display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
nav a{margin-right:.8rem;white-space:nowrap}
@media (max-width:40rem){body{font-size:14px}th,td{padding:.2rem .3rem}
dl{grid-template-columns:1fr}header,main,footer{padding:0 .5rem}}
"""


def render_page(snapshot: Snapshot | None, follower_of: str | None = None) -> bytes:
    """The page for `snapshot` (None before the first cycle, or on a follower: then
    `follower_of` is the lease holder last seen, "" when unknown) as UTF-8 bytes."""
    return page_document(snapshot, follower_of).text


_HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    f"<title>{TITLE}</title><style>{CSS}</style></head><body>"
)
_START = Part(_HEAD.encode("utf-8"))
# A boundary's section, made again when what it shows changes (its findings' ages: each
# cycle), and the certificate timeline, made again when a row or a day count changes.
_SECTIONS: LastBy[object, Part] = LastBy()
_TIMELINE: Last[object, Part] = Last()


def page_document(snapshot: Snapshot | None, follower_of: str | None = None) -> Document:
    """`render_page`'s bytes and their gzip copy; a snapshot's page is assembled from parts
    (`monitor.render.parts`), each boundary's section rendered again only when it changes."""
    if snapshot is not None:
        return Document.of(_status_parts(snapshot))
    if follower_of is not None:
        holder = f" (the leader is {e(follower_of)})" if follower_of else ""
        body = (
            f"<header><h1>{TITLE}</h1></header><main><p>This replica is a follower{holder}:"
            " it polls nothing and shows no findings. The leader's page has them.</p></main>"
        )
    else:
        body = (
            f"<header><h1>{TITLE}</h1></header><main><p>Waiting for the first complete cycle;"
            " this page is rendered after every cycle.</p></main>"
        )
    return Document.plain(f"{_HEAD}{body}{_footer()}</body></html>".encode())


def e(value: object) -> str:
    """HTML-escaped text (quotes included, so it is also safe inside attributes)."""
    return html.escape(str(value), quote=True)


def badge(text: str, state: str | None = None) -> str:
    return f'<span class="badge s-{e(state or text)}">{e(text)}</span>'


def _table(caption: str, head: list[str], rows: list[list[str]], named: bool = True) -> str:
    """A table; cells are HTML already. `named`: the first column names the row (a th)."""
    heads = "".join(f'<th scope="col">{e(h)}</th>' for h in head)
    first = '<th scope="row">{}</th>' if named else "<td>{}</td>"
    body = "".join(
        f"<tr>{first.format(row[0])}{''.join(f'<td>{c}</td>' for c in row[1:])}</tr>"
        for row in rows
    )
    return (
        f'<div class="scroll"><table><caption>{e(caption)}</caption>'
        f"<thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _status_parts(snapshot: Snapshot) -> Iterator[Part]:
    shown = boundaries(snapshot)
    idps = (
        sections(snapshot, [i.name for i in snapshot.config.identity_providers])
        if (snapshot.config is not None)
        else []
    )
    links = "".join(f'<a href="#b-{e(b.name)}">Boundary {e(b.name)}</a>' for b in shown)
    links += "".join(f'<a href="#idp-{e(b.name)}">Identity provider {e(b.name)}</a>' for b in idps)
    header = (
        f'<header><h1>{TITLE}</h1><p>As of <time datetime="{e(snapshot.taken_at.isoformat())}">'
        f"{e(when(snapshot.taken_at))}</time> (cycle {snapshot.cycle}, took"
        f" {snapshot.duration_seconds:.1f} s). The page is rendered once per cycle; ages and"
        " days left are counted from that time.</p>"
        f'<nav aria-label="Sections"><a href="#summary">Summary</a>{links}'
        '<a href="#certificates">Certificates</a><a href="#sources">Sources</a></nav></header>'
    )
    plans = {p.boundary: p for p in snapshot.rotation}
    yield _START
    yield Part(f"{header}<main>{_summary(snapshot)}".encode())
    for b in shown:
        plan = plans.get(b.name)
        key = (b, plan, snapshot.taken_at if b.findings else None)
        yield _SECTIONS.get(b.name, key, partial(_boundary_part, b, plan, snapshot))
    _SECTIONS.keep(b.name for b in shown)
    if not shown:
        yield Part(b"<p>No boundaries are configured.</p>")
    for b in idps:  # a few; their key tables change with the keys' ages
        yield Part(_identity_provider(b, snapshot).encode())
    rows = certificate_rows(snapshot)
    days = [row.days_left(snapshot.taken_at) for row in rows]
    yield _TIMELINE.get((rows, days), lambda: Part(_certificates(rows, days).encode()))
    yield Part(f"{_sources(snapshot)}</main>{_footer()}</body></html>".encode())


def _boundary_part(b: Boundary, plan: RotationPlan | None, snapshot: Snapshot) -> Part:
    return Part(_boundary(b, plan, snapshot).encode())


def _summary(snapshot: Snapshot) -> str:
    counts = snapshot.counts()
    states = Counter(s.state for s in snapshot.states)
    down = [s for s in snapshot.sources if not s.up]
    overall = next((s for s in ("critical", "warning", "unknown") if states[s]), "pass")
    if down and overall == "pass":
        overall = "unknown"
    down_text = (
        ", ".join(
            f"{e(s.source)} ({e(', '.join(sorted({x.reason for x in s.errors})) or 'down')})"
            for s in down
        )
        or "none"
    )
    rows = [
        ["Critical findings", str(counts["critical"])],
        ["Warning findings", str(counts["warning"])],
        ["Ignored findings (not counted)", str(snapshot.ignored())],
        ["Checks unknown (inputs missing)", str(states["unknown"])],
        ["Checks passing", f"{states['pass']} of {len(snapshot.states)}"],
        ["Sources down", down_text],
    ]
    return (
        '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>'
        f"<p>Overall state: {badge(overall)}</p>"
        + _table("Counts", ["What", "How many"], rows)
        + "</section>"
    )


def _boundary(b: Boundary, plan: RotationPlan | None, snapshot: Snapshot) -> str:
    anchor = f"b-{b.name}"
    return (
        f'<section class="boundary" id="{e(anchor)}" aria-labelledby="{e(anchor)}-h">'
        f'<h2 id="{e(anchor)}-h">Boundary {e(b.name)} {badge(b.state)}</h2>'
        + _rotation(plan)
        + _findings(b, snapshot)
        + _checks(b)
        + "</section>"
    )


def _identity_provider(b: Boundary, snapshot: Snapshot) -> str:
    anchor = f"idp-{b.name}"
    config = snapshot.config
    idp = next(i for i in config.identity_providers if i.name == b.name) if config else None
    keys = ""
    if idp is not None:
        table = key_table(snapshot, idp)
        keys = (
            f"<p>Issuer <code>{e(idp.issuer)}</code>, APM provider"
            f" <code>{e(idp.oauth_provider)}</code>.</p>"
        )
        if table.note:
            keys += f"<p>{e(table.note)}: the keys it publishes are unknown.</p>"
        rows = [[e(c) for c in row] for row in table.rows]
        keys += _table("Signing keys", list(table.head), rows)
    return (
        f'<section class="boundary" id="{e(anchor)}" aria-labelledby="{e(anchor)}-h">'
        f'<h2 id="{e(anchor)}-h">Identity provider {e(b.name)} {badge(b.state)}</h2>'
        + keys
        + _findings(b, snapshot)
        + _checks(b)
        + "</section>"
    )


def _rotation(plan: RotationPlan | None) -> str:
    if plan is None:
        return "<h3>Trust-anchor rotation</h3><p>No rotation plan for this boundary.</p>"
    steps = "".join(f"<li>{e(step)}</li>" for step in plan.next_steps)
    anchors = "".join(
        f"<li>{e(a.role)}: {e(a.subject or '?')} {_fingerprint(a.fingerprint)}</li>"
        for a in plan.anchors
    )
    return (
        "<h3>Trust-anchor rotation</h3>"
        f"<p>Phase: {badge(plan.phase, PHASE_CLASS.get(plan.phase, 'warning'))}</p>"
        f"<p>{e(plan.explanation)}</p>"
        + (f"<p>Next steps:</p><ol>{steps}</ol>" if steps else "<p>Nothing to do.</p>")
        + (
            f"<details><summary>Anchors involved</summary><ul>{anchors}</ul></details>"
            if anchors
            else ""
        )
    )


def _findings(b: Boundary, snapshot: Snapshot) -> str:
    title = f"Findings ({len(b.findings)})"
    if not b.findings:
        return f"<h3>{e(title)}</h3><p>No findings.</p>"
    rows = [_finding_row(t, snapshot) for t in b.findings]
    head = ["Check", "Severity", "Device", "Object", "Message and evidence", "First seen"]
    return f"<h3>{e(title)}</h3>" + _table(f"Findings of boundary {b.name}", head, rows)


def _finding_row(t: TrackedFinding, snapshot: Snapshot) -> list[str]:
    f = t.finding
    marks: list[str] = []
    if t.carried:
        marks.append("Kept from an earlier cycle: its source cannot be read now.")
    if t.ignore is not None and t.ignore.active:
        until = f" until {t.ignore.until.isoformat()}" if t.ignore.until else ""
        marks.append(f"Ignored{until} (not counted): {t.ignore.reason}")
    elif t.ignore is not None:
        until = t.ignore.until.isoformat() if t.ignore.until else "?"
        marks.append(f"Ignore rule expired on {until}: {t.ignore.reason}")
    evidence = "".join(
        f'<dt>{e(k)}</dt><dd><code class="long">{e(v)}</code></dd>' for k, v in f.evidence
    )
    details = (
        f"<details><summary>Evidence ({len(f.evidence)})</summary><dl>{evidence}</dl></details>"
        if f.evidence
        else ""
    )
    severity = badge(f.severity) + (" " + badge("ignored") if t.ignored else "")
    return [
        f"<code>{e(f.check)}</code>",
        severity,
        f'<span class="nowrap">{e(f.device or "mesh")}</span>',
        f'<code class="long">{e(f.object)}</code>',
        e(f.message) + "".join(f'<p class="mark">{e(m)}</p>' for m in marks) + details,
        _moment(t.first_seen, snapshot),
    ]


def _checks(b: Boundary) -> str:
    findings = Counter(t.finding.check for t in b.findings if not t.ignored)
    tables = []
    for family, states in b.families:
        rows = []
        for s in states:
            notes = []
            if s.detail:
                notes.append(e(s.detail))
            if findings[s.check]:
                notes.append(f"{findings[s.check]} finding{'s' if findings[s.check] > 1 else ''}")
            if s.ignored:
                notes.append(f"{s.ignored} ignored")
            rows.append([f"<code>{e(s.check)}</code>", badge(s.state), "; ".join(notes)])
        tables.append(_table(f"{family} checks", ["Check", "State", "Detail"], rows))
    return "<h3>Checks</h3>" + ("".join(tables) or "<p>No checks ran.</p>")


def _moment(moment: datetime, snapshot: Snapshot) -> str:
    """A time and how long before the snapshot it was: `2026-08-23 07:47 UTC (3 d 4 h ago)`."""
    return f'<span class="nowrap">{e(when(moment))}</span> ({e(ago(snapshot.taken_at - moment))})'


def _fingerprint(fingerprint: str) -> str:
    if not fingerprint:
        return "<code>unknown</code>"
    short = fingerprint[:16] + ("…" if len(fingerprint) > 16 else "")
    return f'<code title="SHA-256 {e(fingerprint)}">{e(short)}</code>'


def _certificates(timeline: list[CertRow], days: list[int | None]) -> str:
    rows = [_cert_row(row, left) for row, left in zip(timeline, days, strict=True)]
    head = ["Days left", "Not after", "Role", "Scope", "Source", "Object", "Subject", "SHA-256"]
    caption = "Certificates, soonest expiry first"
    table = _table(caption, head, rows, named=False) if rows else "<p>No certificates read.</p>"
    return (
        '<section id="certificates" aria-labelledby="certificates-h">'
        f'<h2 id="certificates-h">Certificate timeline</h2>{table}</section>'
    )


def _cert_row(row: CertRow, days: int | None) -> list[str]:
    return [
        f'<span class="nowrap">{e(days_text(days))}</span>',
        e(when(row.not_after)) if row.not_after else "unknown",
        f"<code>{e(row.role)}</code>",
        e(row.scope),
        e(row.source),
        f'<code class="long">{e(row.object or "?")}</code>',
        e(row.subject) + (f'<p class="mark">{e(row.note)}</p>' if row.note else ""),
        _fingerprint(row.fingerprint),
    ]


def _sources(snapshot: Snapshot) -> str:
    rows = []
    for s in snapshot.sources:
        last = snapshot.last_success.get(s.source)
        last_text = _moment(last, snapshot) if last else "never"
        errors = "".join(
            f"<li><code>{e(x.reason)}</code>: {e(x.message)}"
            + (f" ({e(x.target)})" if x.target else "")
            + "</li>"
            for x in s.errors[:MAX_SOURCE_ERRORS]
        )
        more = len(s.errors) - MAX_SOURCE_ERRORS
        if more > 0:
            errors += f"<li>and {more} more</li>"
        rows.append(
            [
                e(s.source),
                e(s.kind),
                badge("up", "pass") if s.up else badge("down", "critical"),
                last_text,
                f"{s.duration_seconds:.2f} s",
                f"<ul>{errors}</ul>" if errors else "none",
            ]
        )
    head = ["Source", "Kind", "State", "Last success", "Poll took", "Errors this cycle"]
    table = _table("Sources", head, rows) if rows else "<p>No sources.</p>"
    return (
        '<section id="sources" aria-labelledby="sources-h">'
        f'<h2 id="sources-h">Source health</h2>{table}</section>'
    )


def _footer() -> str:
    links = ("/metrics", "/api/findings", "/api/rotation", "/healthz", "/readyz")
    return (
        f"<footer><p>f5-linkerd-monitor {e(__version__)} · "
        + " · ".join(f'<a href="{link}">{link}</a>' for link in links)
        + "</p></footer>"
    )
