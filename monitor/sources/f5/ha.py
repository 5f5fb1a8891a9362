"""HA state of a BIG-IP: `cm/sync-status` and `cm/device` → `SyncStatus`, `DeviceInfo`.

Owns the nested-stats shape (research/f5.md §2.0, §2.10): a document whose `entries`
hold one `https://localhost/mgmt/tm/<path>/0` entry, whose `nestedStats.entries` map
each field to `{"description": …}` (or `{"value": …}`), plus a
`…/<camelCase path>/0/details` entry whose own entries each hold one `details` text.
Every details entry is kept, in index order and whitespace-trimmed, including the
truncated ones a real 14.1.4.6 HA pair sends (`"In Sync): All devices …"`): `status`
alone cannot be trusted (that same capture says `offline` while in sync), so the checks
get `color`, `summary` and all details too. `cm/device` items become `DeviceInfo`
(`selfDevice` is a string boolean). Pure; odd shapes raise `Malformed`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from monitor.model import DeviceInfo, SyncStatus
from monitor.sources.f5.parse import Malformed, flag

_DETAIL_INDEX = re.compile(r"/details/(\d+)$")


def _nested(entry: Any, where: str) -> Mapping[str, Any]:
    nested = entry.get("nestedStats") if isinstance(entry, dict) else None
    entries = nested.get("entries") if isinstance(nested, dict) else None
    if not isinstance(entries, dict):
        raise Malformed(f"{where} has no nestedStats.entries")
    return entries


def stats_entries(doc: Any) -> Mapping[str, Any]:
    """The fields of a nested-stats document's (single) `…/0` entry."""
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise Malformed("not a stats document (no entries)")
    key = next((k for k in entries if k.endswith("/0")), next(iter(entries)))
    return _nested(entries[key], f"entry {key}")


def described(entries: Mapping[str, Any], key: str) -> str:
    """A field's `description` (or `value`) as text; "" when absent."""
    field = entries.get(key)
    if not isinstance(field, dict):
        return ""
    value = field.get("description", field.get("value"))
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()


def stats_fields(doc: Any) -> dict[str, str]:
    """Every plain field of a nested-stats document (`sys/version`: Version, Build, …)."""
    entries = stats_entries(doc)
    return {k: described(entries, k) for k in entries if "/" not in k}


def stats_details(entries: Mapping[str, Any]) -> tuple[str, ...]:
    """Every details text, in index order (`…/details/0`, `…/details/1`, …)."""
    container = next((v for k, v in entries.items() if k.endswith("/details")), None)
    if container is None:
        return ()
    numbered: list[tuple[int, str]] = []
    for key, entry in _nested(container, "details").items():
        match = _DETAIL_INDEX.search(key)
        inner = _nested(entry, f"details entry {key}")
        index = int(match.group(1)) if match else len(numbered)
        numbered.append((index, described(inner, "details")))
    return tuple(text for _, text in sorted(numbered))


def parse_sync_status(doc: Any) -> SyncStatus:
    """`cm/sync-status` (also reads `cm/failover-status`, which has the same shape)."""
    entries = stats_entries(doc)
    return SyncStatus(
        color=described(entries, "color"),
        status=described(entries, "status"),
        mode=described(entries, "mode"),
        summary=described(entries, "summary"),
        details=stats_details(entries),
    )


def parse_device(item: Mapping[str, Any]) -> DeviceInfo:
    """One `cm/device` item."""
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise Malformed("no name")

    def text(key: str) -> str:
        value = item.get(key)
        return value.strip() if isinstance(value, str) else ""

    return DeviceInfo(
        name=name,
        hostname=text("hostname") or name,
        failover_state=text("failoverState"),
        version=text("version"),
        management_ip=text("managementIp"),
        self_device=flag(item.get("selfDevice")),
    )
