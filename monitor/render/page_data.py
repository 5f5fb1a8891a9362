"""What the status page shows, before any HTML: boundaries (and identity providers), check
groups, and how times read. Pure: "now" is always the snapshot's `taken_at`. The
certificate timeline the page shows is `monitor.render.timeline`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from monitor.catalogue import CHECKS_BY_FAMILY, FAMILIES, family_of
from monitor.model import CheckState
from monitor.state.snapshot import Snapshot, TrackedFinding

STATE_RANK = {"pass": 0, "unknown": 1, "warning": 2, "critical": 3}


@dataclass(frozen=True, slots=True)
class Boundary:
    """One boundary as the page shows it."""

    name: str
    state: str  # the worst of its checks' states
    families: tuple[tuple[str, tuple[CheckState, ...]], ...]  # catalogue order
    findings: tuple[TrackedFinding, ...]


def providers(snapshot: Snapshot) -> tuple[str, ...]:
    """The configured identity providers' names (their checks report under them)."""
    config = snapshot.config
    return tuple(i.name for i in config.identity_providers) if config is not None else ()


def boundaries(snapshot: Snapshot) -> list[Boundary]:
    """Every boundary the snapshot mentions: the configured ones in config order, then any
    other its checks, findings or rotation plans name (identity providers aside)."""
    names: dict[str, None] = {}
    for configured in snapshot.config.boundaries if snapshot.config is not None else ():
        names.setdefault(configured.name)
    for state in snapshot.states:
        names.setdefault(state.boundary)
    for tracked in snapshot.findings:
        names.setdefault(tracked.finding.boundary)
    for plan in snapshot.rotation:
        names.setdefault(plan.boundary)
    for idp in providers(snapshot):
        names.pop(idp, None)
    return sections(snapshot, names)


def sections(snapshot: Snapshot, names: Iterable[str]) -> list[Boundary]:
    """Each of `names` (a boundary or an identity provider) with its checks by family
    (the snapshot's states and findings grouped by name in one pass)."""
    by_name: dict[str, list[CheckState]] = {name: [] for name in names}
    for state in snapshot.states:
        if (group := by_name.get(state.boundary)) is not None:
            group.append(state)
    found: dict[str, list[TrackedFinding]] = {name: [] for name in by_name}
    for tracked in snapshot.findings:
        if (listed := found.get(tracked.finding.boundary)) is not None:
            listed.append(tracked)
    out: list[Boundary] = []
    for name in by_name:
        states = sorted(by_name[name], key=lambda s: _ORDER.get(s.check, len(_ORDER)))
        of = [(_family(s.check), s) for s in states]
        families = tuple(
            (family, grouped)
            for family in (*FAMILIES, "other")
            if (grouped := tuple(s for f, s in of if f == family))
        )
        worst = max((s.state for s in states), key=STATE_RANK.__getitem__, default="pass")
        out.append(Boundary(name, worst, families, tuple(found[name])))
    return out


_ORDER = {check: i for i, check in enumerate(c for f in FAMILIES for c in CHECKS_BY_FAMILY[f])}


def _family(check: str) -> str:
    try:
        return family_of(check)
    except KeyError:
        return "other"


def when(moment: datetime) -> str:
    """A time as the page prints it: `2026-08-23 07:47 UTC`."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def age(delta: timedelta) -> str:
    """A duration, coarse and short: `just now`, `12 min`, `5 h 3 min`, `3 d 4 h`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(delta: timedelta) -> str:
    """`just now`, `12 min ago`, `3 d 4 h ago`."""
    text = age(delta)
    return text if text == "just now" else f"{text} ago"


def days_text(days: int | None) -> str:
    """Days left, in words that do not need colour: `12 days`, `expired 3 days ago`."""
    if days is None:
        return "unknown"
    if days < 0:
        return f"expired {-days} day{'s' if -days != 1 else ''} ago"
    return f"{days} day{'s' if days != 1 else ''}"
