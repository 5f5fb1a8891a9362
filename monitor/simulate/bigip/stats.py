"""Stats documents of the simulated BIG-IP's virtual servers and pools.

`GET /mgmt/tm/ltm/virtual/<~P~v>/stats` and `GET /mgmt/tm/ltm/pool/<~P~p>/stats` answer
the nested-stats shape of the other stats documents (`cm/sync-status`, `sys/version`):
`{kind: tm:ltm:virtual:virtualstats, selfLink, entries: {<link>: {nestedStats: {kind,
selfLink, entries: {...}}}}}`, where the inner key repeats the object in the path
(`.../ltm/virtual/~P~v/~P~v/stats`); `GET /mgmt/tm/ltm/virtual/stats` (and `pool/stats`)
holds every object's entry, as bigip_exporter reads it (research/f5.md §3).  Live status
is under `status.availabilityState` (`available` / `offline` / `unknown`),
`status.enabledState` and `status.statusReason`, each `{"description": …}`; counters are
`{"value": 0}` (research/f5.md §2.7–2.8, after f5-ansible `bigip_device_info`).

Availability follows the configuration: a pool is `available` when a member is `up`,
`offline` when every checked member is down, `unknown` when no member is checked; a
virtual takes its pool's, `unknown` without a pool.

UNVERIFIED and chosen here (no public capture of an LTM stats document was found): the
counter names beyond `clientside.*`/`serverside.*`, the status reasons' texts, and the
collection document's `kind`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.simulate.bigip.links import LOCALHOST, encode_path, link, stats_kind

_COUNTERS = (
    "bitsIn",
    "bitsOut",
    "curConns",
    "maxConns",
    "pktsIn",
    "pktsOut",
    "totConns",
)
_REASONS = {
    ("pool", "available"): "The pool is available",
    ("virtual", "available"): "The virtual server is available",
    ("pool", "offline"): "The children pool member(s) are down",
    ("virtual", "offline"): "The children pool member(s) are down",
    ("pool", "unknown"): "The children pool member(s) either don't have service checking "
    "enabled, or service check results are not available yet",
    ("virtual", "unknown"): "The children pool member(s) either don't have service checking "
    "enabled, or service check results are not available yet",
}


def _described(value: Any) -> dict[str, Any]:
    return {"description": value}


def _pool_state(members: list[dict[str, Any]]) -> str:
    states = [m.get("state") for m in members]
    if "up" in states:
        return "available"
    if any(s in ("down", "user-down") for s in states):
        return "offline"
    return "unknown"


def _entry(
    kind: str, item: Mapping[str, Any], fields: dict[str, Any], version: str
) -> tuple[str, dict[str, Any]]:
    collection = f"ltm/{kind}"
    encoded = encode_path(str(item["fullPath"]))
    inner = f"{collection}/{encoded}/{encoded}/stats"
    nested = {
        "kind": stats_kind(collection),
        "selfLink": link(inner, version),
        "entries": dict(sorted(fields.items())),
    }
    return f"{LOCALHOST}/mgmt/tm/{inner}", {"nestedStats": nested}


def _counters(side: str) -> dict[str, Any]:
    return {f"{side}.{name}": {"value": 0} for name in _COUNTERS}


def render_ltm_stats(
    collections: Mapping[str, list[dict[str, Any]]], version: str
) -> dict[str, dict[str, Any]]:
    """REST path → stats document for each pool and virtual, and both collections."""
    out: dict[str, dict[str, Any]] = {}
    pool_state: dict[str, str] = {}
    for kind in ("pool", "virtual"):
        everything: dict[str, Any] = {}
        for item in collections.get(f"ltm/{kind}", []):
            encoded = encode_path(str(item["fullPath"]))
            if kind == "pool":
                members = collections.get(f"ltm/pool/{encoded}/members", [])
                state = pool_state[str(item["fullPath"])] = _pool_state(members)
                fields = {
                    **_counters("serverside"),
                    "activeMemberCnt": {"value": sum(m.get("state") == "up" for m in members)},
                    "memberCnt": {"value": len(members)},
                    "status.enabledState": _described("enabled"),
                }
            else:
                state = pool_state.get(str(item.get("pool")), "unknown")
                fields = {
                    **_counters("clientside"),
                    "destination": _described(str(item["destination"]).rsplit("/", 1)[-1]),
                    "status.enabledState": _described(
                        "enabled" if item.get("enabled") else "disabled"
                    ),
                }
            fields["status.availabilityState"] = _described(state)
            fields["status.statusReason"] = _described(_REASONS[(kind, state)])
            fields["tmName"] = _described(item["fullPath"])
            key, entry = _entry(kind, item, fields, version)
            path = f"ltm/{kind}/{encoded}/stats"
            out[path] = {
                "kind": stats_kind(f"ltm/{kind}"),
                "generation": int(item.get("generation", 1)),
                "selfLink": link(path, version),
                "entries": {key: entry},
            }
            everything[key] = entry
        out[f"ltm/{kind}/stats"] = {
            "kind": stats_kind(f"ltm/{kind}"),
            "selfLink": link(f"ltm/{kind}/stats", version),
            "entries": everything,
        }
    return out
