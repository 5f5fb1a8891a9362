"""Server-side printing: a pod LIST or GET asked for as a `meta.k8s.io/v1` Table.

kubectl asks `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` and prints the
columns the server sends. For pods these are kubectl's (`pkg/printers/internalversion`
`printPod`): NAME, READY (ready/total containers), STATUS (the phase, or the reason of a
waiting or terminated container, `Terminating` once deleted), RESTARTS (with `(<age>
ago)` of the last restart), AGE (`duration.HumanDuration`), and at priority 1 IP and
NODE. Each row carries the object as PartialObjectMetadata (`includeObject=Metadata`, the
default). `negotiate` decides when a Table is the answer; `printers` has the other kinds'
columns (Services, ConfigMaps, Secrets, Leases); kinds without a printer are served as
plain lists, which kubectl prints as NAME and AGE.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

TABLE_KINDS = frozenset({("", "pods")})
_COLUMNS = (
    ("Name", "string", "name", 0, "Name must be unique within a namespace."),
    ("Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."),
    ("Status", "string", "", 0, "The aggregate status of the containers in this pod."),
    ("Restarts", "string", "", 0, "The number of times the containers in this pod have been "
     "restarted and when the last container in this pod has restarted."),
    ("Age", "string", "", 0, "CreationTimestamp is a timestamp representing the server time "
     "when this object was created."),
    ("IP", "string", "", 1, "podIP is an IP address allocated to the pod."),
    ("Node", "string", "", 1, "NodeName indicates in which node this pod is scheduled."),
)  # fmt: skip


def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a meta.k8s.io/v1 Table first."""
    first = accept.split(",")[0]
    params = {p.strip() for p in first.split(";")[1:]}
    return {"as=Table", "g=meta.k8s.io", "v=v1"} <= params


def human_duration(seconds: float) -> str:
    """Go's `k8s.io/apimachinery/pkg/util/duration.HumanDuration`."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _since(stamp: Any, now: datetime) -> str | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return human_duration((now - moment).total_seconds())


def _status(pod: Mapping[str, Any]) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or ""
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated is not None:
            if terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Signal:{terminated['signal']}"
            else:
                reason = f"ExitCode:{terminated.get('exitCode', 0)}"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def _restarts(pod: Mapping[str, Any], now: datetime) -> str:
    total, last = 0, ""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        total += int(cs.get("restartCount") or 0)
        finished = ((cs.get("lastState") or {}).get("terminated") or {}).get("finishedAt")
        if isinstance(finished, str) and finished > last:
            last = finished
    ago = _since(last, now) if total and last else None
    return f"{total} ({ago} ago)" if ago else str(total)


def pod_row(pod: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    total = len((pod.get("spec") or {}).get("containers") or [])
    cells = [
        meta.get("name", ""),
        f"{ready}/{total}",
        _status(pod),
        _restarts(pod, now),
        _since(meta.get("creationTimestamp"), now) or "<unknown>",
        (pod.get("status") or {}).get("podIP") or "<none>",
        (pod.get("spec") or {}).get("nodeName") or "<none>",
    ]
    partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
    return {"cells": cells, "object": partial}


def table(doc: Mapping[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A pod list (or one pod) as a Table."""
    now = now or datetime.now(UTC)
    items = doc.get("items") if "items" in doc else [doc]
    meta = doc.get("metadata") or {}
    list_meta = {k: meta[k] for k in ("resourceVersion", "continue") if k in meta}
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": [
            {"name": n, "type": t, "format": f, "description": d, "priority": p}
            for n, t, f, p, d in _COLUMNS
        ],
        "rows": [pod_row(item, now) for item in items or []],
    }
