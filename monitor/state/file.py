"""The optional state file: the monitor's memory across restarts.

Holds only keys and timestamps: per finding key (check, boundary, device, object) when it
was first and last seen, the time of the last snapshot, and the rotation planner's memory
(`monitor.rotation.plan.RotationMemory`: the issuer's anchors, since when, and which pods that
were running then still run). No messages, evidence or secrets. Format (version 1):

    {"format": "f5-linkerd-monitor/state", "version": 1,
     "taken_at": "2026-11-26T12:00:00Z",
     "findings": [{"check": "pool_member_extra", "boundary": "shop", "device": "bigip-a",
                   "object": "10.42.9.99:443", "first_seen": "…Z", "last_seen": "…Z"}],
     "rotation": {"issuing": ["<sha256>"], "since": "…Z", "pending": ["ns/pod"],
                  "witnessed": true}}            # or null

`save` writes it atomically after each cycle (a temporary file in the same directory,
fsync, rename), so a reader never sees half a file. `load` reads it at start: a missing
file is a fresh start; an unreadable or corrupt one too, with a `warning` to log (never an
exception). Entries not seen for more than `snapshot.RETENTION` (7 days) are dropped on both
reading and writing. `check` and `rotation` only read it; the daemon writes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from monitor.config.files import read_limited
from monitor.rotation.plan import RotationMemory
from monitor.state.ignore import FindingKey
from monitor.state.snapshot import RETENTION, Seen, Snapshot

FORMAT: Final = "f5-linkerd-monitor/state"
VERSION: Final = 1
# A state file is the monitor's own, a few MB at the design's scale; a larger one is not.
STATE_LIMIT: Final = 64 * 1024 * 1024


class StateFileError(ValueError):
    """The state file's content is not a state file this version understands."""


@dataclass(frozen=True, slots=True)
class Restored:
    """What a state file gave back (empty on a fresh start)."""

    seen: Mapping[FindingKey, Seen] = field(default_factory=dict)
    rotation: RotationMemory | None = None
    taken_at: datetime | None = None
    warning: str | None = None  # why the file could not be used, for the log


def prune(seen: Mapping[FindingKey, Seen], now: datetime) -> dict[FindingKey, Seen]:
    """`seen` without the entries last seen more than `RETENTION` before `now`."""
    return {key: entry for key, entry in seen.items() if now - entry.last <= RETENTION}


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(
    seen: Mapping[FindingKey, Seen],
    taken_at: datetime,
    rotation: RotationMemory | None,
) -> str:
    """The state file's text (entries older than `RETENTION` before `taken_at` left out)."""
    findings = [
        {
            "check": key[0],
            "boundary": key[1],
            "device": key[2],
            "object": key[3],
            "first_seen": _ts(entry.first),
            "last_seen": _ts(entry.last),
        }
        for key, entry in sorted(prune(seen, taken_at).items())
    ]
    memory = None
    if rotation is not None:
        memory = {
            "issuing": list(rotation.issuing),
            "since": _ts(rotation.since),
            "pending": None if rotation.pending is None else list(rotation.pending),
            "witnessed": rotation.witnessed,
        }
    document = {
        "format": FORMAT,
        "version": VERSION,
        "taken_at": _ts(taken_at),
        "findings": findings,
        "rotation": memory,
    }
    return json.dumps(document, indent=1) + "\n"


def _str(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise StateFileError(f"{where}.{key}: expected a string")
    return value


def _time(item: Mapping[str, Any], key: str, where: str) -> datetime:
    text = _str(item, key, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise StateFileError(f"{where}.{key}: invalid timestamp {text!r}") from None
    if moment.tzinfo is None:
        raise StateFileError(f"{where}.{key}: timestamp {text!r} has no time zone")
    return moment


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StateFileError(f"{where}: expected a list of strings")
    return tuple(value)


def _rotation(value: object) -> RotationMemory | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StateFileError("rotation: expected an object or null")
    pending = value.get("pending")
    witnessed = value.get("witnessed", False)
    if not isinstance(witnessed, bool):
        raise StateFileError("rotation.witnessed: expected true or false")
    return RotationMemory(
        issuing=_strings(value.get("issuing"), "rotation.issuing"),
        since=_time(value, "since", "rotation"),
        pending=None if pending is None else _strings(pending, "rotation.pending"),
        witnessed=witnessed,
    )


def parse(text: str, now: datetime) -> Restored:
    """A state file's content; raises StateFileError when it is not one (version 1)."""
    try:
        document = json.loads(text)
    except ValueError as err:
        raise StateFileError(f"not JSON ({err})") from None
    except RecursionError:  # deeper than the decoder's stack: not a file this daemon wrote
        raise StateFileError("not JSON (nested too deeply)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f'not a state file (no "format": "{FORMAT}")')
    if document.get("version") != VERSION:
        raise StateFileError(f"version {document.get('version')!r} is not {VERSION}")
    items = document.get("findings")
    if not isinstance(items, list):
        raise StateFileError("findings: expected a list")
    seen: dict[FindingKey, Seen] = {}
    for index, item in enumerate(items):
        where = f"findings[{index}]"
        if not isinstance(item, dict):
            raise StateFileError(f"{where}: expected an object")
        key = (
            _str(item, "check", where),
            _str(item, "boundary", where),
            _str(item, "device", where),
            _str(item, "object", where),
        )
        seen[key] = Seen(_time(item, "first_seen", where), _time(item, "last_seen", where))
    return Restored(
        seen=prune(seen, now),
        rotation=_rotation(document.get("rotation")),
        taken_at=_time(document, "taken_at", "state"),
    )


def load(path: Path, now: datetime) -> Restored:
    """The state in `path`; a fresh start (with a `warning` unless the file is simply
    missing) when it cannot be read or understood."""
    try:
        text = read_limited(path, STATE_LIMIT).decode("utf-8")
    except FileNotFoundError:
        return Restored()
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        return Restored(warning=f"cannot read state file {path} ({why}); starting fresh")
    try:
        return parse(text, now)
    except StateFileError as err:
        return Restored(warning=f"state file {path} is unusable ({err}); starting fresh")


def save(path: Path, snapshot: Snapshot) -> None:
    """Write the snapshot's memory to `path` atomically; raises OSError on failure."""
    text = dumps(snapshot.seen, snapshot.taken_at, snapshot.rotation_memory)
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where supported
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
