"""What the daemon says after each cycle: the cycle's line, and rotation phase changes.

Used by `monitor.daemon.cycle.Monitor` (which re-exports both).
"""

from __future__ import annotations

import logging

from monitor.state.snapshot import Snapshot

log = logging.getLogger(__name__)


def cycle_line(snapshot: Snapshot) -> str:
    counts = snapshot.counts()
    unknown = sum(1 for s in snapshot.states if s.state == "unknown")
    down = [
        f"{s.source} ({', '.join(sorted({e.reason for e in s.errors})) or 'down'})"
        for s in snapshot.sources
        if not s.up
    ]
    return (
        f"cycle {snapshot.cycle} done in {snapshot.duration_seconds:.2f}s: "
        f"{counts['critical']} critical, {counts['warning']} warning, {unknown} unknown; "
        f"sources down: {', '.join(down) if down else 'none'}"
    )


def log_rotation_changes(previous: Snapshot | None, snapshot: Snapshot) -> None:
    """One line when a boundary's rotation phase changes (on the first cycle: unless it is
    `steady`), naming the next step; `broken` as a warning."""
    before = {p.boundary: p.phase for p in previous.rotation} if previous else {}
    for plan in snapshot.rotation:
        was = before.get(plan.boundary)
        if was == plan.phase or (was is None and plan.phase == "steady"):
            continue
        level = logging.WARNING if plan.phase == "broken" else logging.INFO
        log.log(
            level,
            "rotation: boundary %s is %s%s; next: %s",
            plan.boundary,
            plan.phase,
            f" (was {was})" if was else "",
            plan.next_steps[0] if plan.next_steps else "nothing",
        )
