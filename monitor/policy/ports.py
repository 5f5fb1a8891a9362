"""Ports as the pod annotations list them: `443`, `4000-4100`.

- `port_listed(entries, port)`: whether a port is among annotation entries (the
  `config.linkerd.io/skip-inbound-ports` and `proxy-require-identity-inbound-ports`
  lists), bad entries skipped.
Pure; imports nothing else of the monitor.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=4096)
def port_listed(entries: tuple[str, ...], port: int) -> bool:
    """Whether `port` is among annotation entries (`443`, `4000-4100`); bad entries are skipped."""
    for entry in entries:
        low, _, high = entry.strip().partition("-")
        first, last = _port(low), _port(high or low)
        if first is not None and last is not None and first <= port <= last:
            return True
    return False


def _port(text: str) -> int | None:
    """A port number of ASCII digits (`"²".isdigit()` is true, and int() refuses it)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 5 else None
