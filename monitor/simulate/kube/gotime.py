"""Go's `time.Parse` for the apiserver's two timestamp layouts, refusing as it words it.

`metav1.Time` decodes with RFC 3339 (`2006-01-02T15:04:05Z07:00`, any fraction of a
second accepted) and `metav1.MicroTime` with `2006-01-02T15:04:05.000000Z07:00` (exactly
six digits of fraction). `parse_error(text, micro)` is None for a valid timestamp, else
Go's `*time.ParseError` message, e.g. `parsing time "2024-01-01T00:00:00Z" as
"2006-01-02T15:04:05.000000Z07:00": cannot parse "Z" as ".000000"` (Go `time/format.go`:
the literal or layout element that failed and the rest of the value from there).
"""

from __future__ import annotations

import calendar

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
_STEPS = ("2006", "-", "01", "-", "02", "T", "15", ":", "04", ":", "05", ".000000", "Z07:00")
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_RANGE = {
    "01": ("month", 1, 12),
    "15": ("hour", 0, 23),
    "04": ("minute", 0, 59),
    "05": ("second", 0, 59),
}


def _quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode())
    out.append('"')
    return "".join(out)


class _Bad(Exception):
    def __init__(self, elem: str, rest: str, message: str = "") -> None:
        super().__init__(message)
        self.elem, self.rest, self.message = elem, rest, message


def _digits(value: str, count: int) -> bool:
    return len(value) >= count and all(c in "0123456789" for c in value[:count])


def _num(value: str, std: str) -> tuple[int, str]:
    """Go's getnum: two digits, or one or two for the unpadded hour."""
    if not _digits(value, 1):
        raise _Bad(std, value)
    if _digits(value, 2):
        return int(value[:2]), value[2:]
    if std != "15":
        raise _Bad(std, value)
    return int(value[0]), value[1:]


def _zone(value: str) -> str:
    if value.startswith("Z"):
        return value[1:]
    if len(value) < 6 or value[3] != ":" or value[0] not in "+-":
        raise _Bad("Z07:00", value)
    if not (_digits(value[1:3], 2) and _digits(value[4:6], 2)):
        raise _Bad("Z07:00", value)
    if int(value[1:3]) > 24:
        raise _Bad("Z07:00", value[6:], ": time zone offset hour out of range")
    if int(value[4:6]) > 60:
        raise _Bad("Z07:00", value[6:], ": time zone offset minute out of range")
    return value[6:]


def _parse(value: str, micro: bool) -> None:
    steps = _STEPS if micro else tuple(s for s in _STEPS if s != ".000000")
    fields: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step in "-T:":
            if not value.startswith(step):
                raise _Bad(step, value)
            value = value[1:]
        elif step == "2006":
            if not _digits(value, 4):
                raise _Bad(step, value)
            fields[step], value = int(value[:4]), value[4:]
        elif step == ".000000":
            if len(value) < 7 or value[0] not in ".," or not _digits(value[1:], 6):
                raise _Bad(step, value)
            value = value[7:]
        elif step == "Z07:00":
            value = _zone(value)
        else:
            fields[step], value = _num(value, step)
            if step in _RANGE:
                name, low, high = _RANGE[step]
                if not low <= fields[step] <= high:
                    raise _Bad(step, value, f": {name} out of range")
            fraction = len(value) >= 2 and value[0] in ".," and _digits(value[1:], 1)
            if step == "05" and fraction and steps[i + 1] != ".000000":
                n = 2  # a fraction the layout does not name: any number of digits
                while n < len(value) and value[n].isdigit():
                    n += 1
                value = value[n:]
    if value:
        raise _Bad("", value, f": extra text: {_quote(value)}")
    year, month, day = fields["2006"], fields["01"], fields["02"]
    days = 29 if month == 2 and calendar.isleap(year) else _DAYS[month - 1]
    if day < 1 or day > days:
        raise _Bad("", value, ": day out of range")


def parse_error(text: str, micro: bool) -> str | None:
    """None when `text` parses under the layout, else Go's error message."""
    try:
        _parse(text, micro)
    except _Bad as bad:
        head = f"parsing time {_quote(text)}"
        if bad.message:
            return head + bad.message
        layout = RFC3339_MICRO if micro else RFC3339
        return f"{head} as {_quote(layout)}: cannot parse {_quote(bad.rest)} as {_quote(bad.elem)}"
    return None
