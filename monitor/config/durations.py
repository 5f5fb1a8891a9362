"""Prometheus-style durations: parsing `1h30m`-style text and formatting it back.

Owns the duration syntax of the config file. Units, largest first: `y` (365 days), `w`, `d`,
`h`, `m`, `s`, `ms`; each unit at most once and in descending order; the plain value `0`
is allowed. No signs, fractions, spaces or bare numbers.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_duration", "parse_duration"]

_UNITS: tuple[tuple[str, timedelta], ...] = (
    ("y", timedelta(days=365)),
    ("w", timedelta(weeks=1)),
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)

_PATTERN = re.compile("".join(f"(?:(?P<{unit}>[0-9]+){unit})?" for unit, _ in _UNITS))

# Units used when formatting: weeks and years are left out so that `14d` reads back as `14d`.
_FORMAT_UNITS = tuple((unit, size) for unit, size in _UNITS if unit not in ("y", "w"))


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as `30s`, `15m`, `1h30m` or `60d`.

    Raises ValueError with a one-line message for anything else.
    """
    if text == "0":
        return timedelta(0)
    match = _PATTERN.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"invalid duration {_quote(text)} (use e.g. 30s, 15m, 60d)")
    total = timedelta(0)
    try:
        for unit, size in _UNITS:
            count = match.group(unit)
            if count is not None:
                total += int(count) * size
    except OverflowError:
        raise ValueError(f"duration {_quote(text)} is too long") from None
    return total


def format_duration(value: timedelta) -> str:
    """Format a non-negative timedelta in the syntax parse_duration reads (`1d12h`, `0s`)."""
    if value < timedelta(0):
        raise ValueError("cannot format a negative duration")
    if not value:
        return "0s"
    remaining = value
    parts: list[str] = []
    for unit, size in _FORMAT_UNITS:
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) if parts else "0s"


def _quote(text: str) -> str:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
