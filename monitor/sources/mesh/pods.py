"""The pods' side of the mesh watches: the slim form of a watched pod (`slim_pod`, what a
control-plane pod keeps) and the Services' pod selectors (`selector_of`, `shared_selector`,
`pods_selector`, `selects`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from monitor.sources.mesh.names import ANCHORS_ENV, INIT, PROXY
from monitor.sources.mesh.records import ServiceRecord

__all__ = ["pods_selector", "selector_of", "selects", "shared_selector", "slim_pod"]

Json = dict[str, Any]

_POD_META = ("name", "namespace", "labels", "annotations", "ownerReferences", "deletionTimestamp")
_POD_SPEC = ("serviceAccountName", "serviceAccount", "nodeName")
_POD_STATUS = ("podIP", "phase", "conditions")


# --- the pod transform ---------------------------------------------------------------------


def _container(raw: Any) -> Json | None:
    """Name and ports; for linkerd-proxy only its trust-anchor env, for linkerd-init its
    args (the inbound ports it skips). Everything else, other containers' env above all
    (it may hold secrets), is dropped."""
    if not isinstance(raw, dict):
        return None
    out: Json = {k: raw[k] for k in ("name", "ports") if k in raw}
    if raw.get("name") == PROXY:
        env = raw.get("env")
        env = env if isinstance(env, list) else []
        out["env"] = [e for e in env if isinstance(e, dict) and e.get("name") == ANCHORS_ENV]
    elif raw.get("name") == INIT and "args" in raw:
        out["args"] = raw["args"]
    return out


def slim_pod(obj: Json) -> Json:
    """A pod with only what the monitor uses (the `WatchSpec.transform` of every pod watch):
    metadata name/namespace/labels/annotations/ownerReferences/deletionTimestamp, spec
    serviceAccountName/nodeName and the containers as `_container` keeps them, status
    podIP/phase/conditions."""

    def pick(part: Any, keys: Sequence[str]) -> Json:
        return {k: part[k] for k in keys if k in part} if isinstance(part, dict) else {}

    spec_in = obj.get("spec")
    spec = pick(spec_in, _POD_SPEC)
    for key in ("containers", "initContainers"):
        raw = spec_in.get(key) if isinstance(spec_in, dict) else None
        if isinstance(raw, list):
            spec[key] = [c for c in map(_container, raw) if c is not None]
    out: Json = {k: obj[k] for k in ("apiVersion", "kind") if k in obj}
    out.update(metadata=pick(obj.get("metadata"), _POD_META), spec=spec)
    out["status"] = pick(obj.get("status"), _POD_STATUS)
    return out


# --- selectors ----------------------------------------------------------------------------------


def selector_of(service: Mapping[str, Any] | ServiceRecord) -> Mapping[str, str] | None:
    """A Service's `spec.selector`; None when it has none (EndpointSlices managed by hand)."""
    if not isinstance(service, Mapping):
        return service.selector
    spec = service.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def shared_selector(
    services: Iterable[Mapping[str, Any] | ServiceRecord],
) -> dict[str, set[str]] | None:
    """The keys all `services`' selectors share, each with the values they give it: what
    every pod of any of them carries. None when a Service has no selector (its pods may be
    any of the namespace's); empty when they share no key (or there is no Service)."""
    selectors: list[Mapping[str, str]] = []
    for service in services:
        selector = selector_of(service)
        if selector is None:
            return None
        selectors.append(selector)
    if not selectors:
        return {}
    keys = set.intersection(*(set(s) for s in selectors))
    return {key: {s[key] for s in selectors} for key in keys}


def pods_selector(services: Sequence[Mapping[str, Any] | ServiceRecord]) -> str:
    """A label selector every pod of all `services` matches: each key their selectors share
    (`shared_selector`), as `k=v` or `k in (a,b)`; "" (the whole namespace) when a Service
    has no selector or they share no key."""
    shared = shared_selector(services)
    terms = []
    for key in sorted(shared or {}):
        values = sorted((shared or {})[key])
        terms.append(f"{key}={values[0]}" if len(values) == 1 else f"{key} in ({','.join(values)})")
    return ",".join(terms)


def selects(selector: Mapping[str, str], labels: Any) -> bool:
    """A Service selector (equality only) matches the labels."""
    return isinstance(labels, dict) and all(labels.get(k) == v for k, v in selector.items())
