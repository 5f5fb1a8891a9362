"""Numbers and ports written as text: `443`, `4000-4100`.

- `ascii_number(text, most)`: the number ASCII digits write, at most `most` of them
  (the one rule for digits read from outside: the sources use it too);
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
        first, last = ascii_number(low, 5), ascii_number(high or low, 5)
        if first is not None and last is not None and first <= port <= last:
            return True
    return False


def ascii_number(text: str, most: int) -> int | None:
    """`text` as a number when it is ASCII digits only, at most `most` of them; else None.
    ASCII: `"²".isdigit()` is true but int() refuses it; bounded: a string of thousands
    of digits is beyond int()'s limit."""
    return int(text) if len(text) <= most and text.isascii() and text.isdigit() else None
