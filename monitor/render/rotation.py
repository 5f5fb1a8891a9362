"""The rotation plans as people and programs read them: `rotation -o table|json`, `/api/rotation`.

The JSON document:

    {"taken_at": "…", "complete": true,
     "boundaries": [{"boundary": "shop", "phase": "broken", "explanation": "…",
                     "next_steps": ["…"], "objects": ["bigip-a:/k8s/Shared/b", …],
                     "anchors": [{"fingerprint": "<sha256>", "role": "issuer",
                                  "subject": "CN=…"}]}],
     "sources": [... as in /api/findings ...]}

Exit codes of `rotation`: 2 when a source is down (the answer is incomplete), else 1 when
a boundary is `broken`, else 0.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from monitor.render.findings import source_lines, sources_entries
from monitor.rotation.plan import RotationPlan
from monitor.state.snapshot import Snapshot

WIDTH = 100


def plan_entry(plan: RotationPlan) -> dict[str, Any]:
    return {
        "boundary": plan.boundary,
        "phase": plan.phase,
        "explanation": plan.explanation,
        "next_steps": list(plan.next_steps),
        "objects": list(plan.objects),
        "anchors": [
            {"fingerprint": a.fingerprint, "role": a.role, "subject": a.subject}
            for a in plan.anchors
        ],
    }


def rotation_document(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "taken_at": snapshot.taken_at.isoformat(),
        "complete": snapshot.complete,
        "boundaries": [plan_entry(p) for p in snapshot.rotation],
        "sources": sources_entries(snapshot),
    }


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def rotation_table(snapshot: Snapshot) -> str:
    """Sources, then per boundary its phase, why, and the numbered next steps."""
    lines = [*source_lines(snapshot)]
    for plan in snapshot.rotation:
        lines.append("")
        lines.append(f"BOUNDARY {plan.boundary}: {plan.phase.upper()}")
        lines.extend(_wrap(plan.explanation, "  ", "  "))
        if plan.next_steps:
            lines.append("  next:")
            for number, step in enumerate(plan.next_steps, start=1):
                lines.extend(_wrap(step, f"    {number}. ", "       "))
    if not snapshot.rotation:
        lines.extend(["", "no boundaries"])
    return "\n".join(lines) + "\n"


def rotation_exit_code(snapshot: Snapshot) -> int:
    if not snapshot.complete:
        return 2
    return 1 if any(p.phase == "broken" for p in snapshot.rotation) else 0


def print_rotation(snapshot: Snapshot, output: str) -> int:
    """Print the plans as `rotation` does and return its exit code."""
    if output == "json":
        print(json.dumps(rotation_document(snapshot), indent=2))
    else:
        print(rotation_table(snapshot), end="")
    return rotation_exit_code(snapshot)
