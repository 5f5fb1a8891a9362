"""The benchmark's budgets: named limits, their measured values, and bench/results/latest.json."""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LATEST = Path(__file__).resolve().parent / "results" / "latest.json"

# name -> (limit, unit); every limit is an upper bound at the design's scale.
LIMITS: dict[str, tuple[float, str]] = {
    "f5_poll_floor_ratio": (1.25, "ratio"),
    "warm_cycle_cpu_s": (2.0, "s"),
    "checks_ms": (100.0, "ms"),
    "mesh_warm_ms": (200.0, "ms"),
    "cold_cycle_s": (15.0, "s"),
    "rss_peak_mib": (200.0, "MiB"),
    "rss_growth_pct": (5.0, "%"),
    "watch_threads": (50.0, "threads"),
    "metrics_p99_ms": (10.0, "ms"),
    "metrics_errors_50_scrapers": (0.0, "errors"),
    "k8s_lists_steady": (0.0, "requests"),
    "f5_requests_vs_paged_minimum": (1.05, "ratio"),
    "f5_object_gets": (0.0, "requests"),
}


@dataclass(frozen=True)
class Budget:
    """One measured value against its limit (the median when measured several times)."""

    name: str
    value: float
    limit: float
    unit: str
    runs: int = 1

    @property
    def passed(self) -> bool:
        return self.value <= self.limit

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": None if math.isnan(self.value) else round(self.value, 3),
            "limit": self.limit,
            "unit": self.unit,
            "runs": self.runs,
            "pass": self.passed,
        }


def budget(name: str, values: Sequence[float], *, scale: float = 1.0) -> Budget:
    """The median of ``values`` against ``name``'s limit, loosened by ``scale`` (quick runs)."""
    if not values:
        raise ValueError(f"no measurement for budget {name}")
    limit, unit = LIMITS[name]
    return Budget(name, float(statistics.median(values)), limit * scale, unit, len(values))


def unmeasured(name: str, *, scale: float = 1.0) -> Budget:
    """A budget nothing measured: no value (null in JSON), and it does not pass."""
    limit, unit = LIMITS[name]
    return Budget(name, math.nan, limit * scale, unit, 0)


def relimit(found: Budget, *, scale: float = 1.0) -> Budget:
    """`found` (measured elsewhere) against its limit in `LIMITS`, loosened by ``scale``."""
    limit, unit = LIMITS[found.name]
    return Budget(found.name, found.value, limit * scale, unit, found.runs)


def markdown(budgets: Iterable[Budget]) -> str:
    """The budgets as a Markdown table, in `LIMITS` order."""
    order = {name: i for i, name in enumerate(LIMITS)}
    lines = ["| budget | value | limit | unit | runs | pass |", "|---|---|---|---|---|---|"]
    for b in sorted(budgets, key=lambda b: order.get(b.name, len(order))):
        value = "not measured" if math.isnan(b.value) else f"{b.value:,.3g}"
        if not math.isnan(b.value) and abs(b.value) >= 1000:
            value = f"{b.value:,.0f}"
        verdict = "**yes**" if b.passed else "**NO**"
        lines.append(f"| `{b.name}` | {value} | {b.limit:g} | {b.unit} | {b.runs} | {verdict} |")
    return "\n".join(lines) + "\n"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def write_latest(budgets: Iterable[Budget], path: Path = LATEST, **extra: object) -> None:
    """Writes ``{"commit", "machine", "budgets": [...]}`` (plus ``extra``) to ``path``."""

    doc: dict[str, object] = {
        "commit": _commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "budgets": [b.as_json() for b in budgets],
    }
    doc.update(extra)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
