"""Route checks: does BIG-IP send traffic to exactly the backend's ready endpoints?

Owns the checks of the `routes` family (DESIGN section 5) implemented so far:
`pool_member_missing` and `pool_member_extra`. Both compare, on each device of a boundary,
the members of the boundary's pool with the endpoints of its backend Service (addresses
compared in canonical form, IPv6 in brackets). They apply to every boundary mode.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from monitor.checks.common import (
    Device,
    backend_endpoints,
    endpoint_key,
    everywhere,
    per_device,
    resolve_pool,
    service_key,
)
from monitor.checks.outcome import Check, Drift, Outcome, Unknown
from monitor.config import BoundaryConfig, Config
from monitor.model import Endpoint, Observed


def _pod(endpoint: Endpoint) -> str:
    return f" (pod {endpoint.pod})" if endpoint.pod else ""


def pool_member_missing(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every ready endpoint of the backend Service should be a member of the pool."""
    service = backend_endpoints(boundary, observed.mesh)
    if isinstance(service, Unknown):
        return everywhere(boundary, service.detail)
    ready: dict[str, Endpoint] = {}
    for endpoint in service.endpoints:
        if endpoint.ready:
            ready.setdefault(endpoint_key(endpoint.address, endpoint.port), endpoint)
    key = service_key(boundary)

    def on_device(device: Device) -> Outcome:
        pool = resolve_pool(boundary, device)
        if isinstance(pool, Unknown):
            return Outcome(unknowns=(pool,))
        members = {endpoint_key(m.address, m.port) for m in pool.members}
        drifts: list[Drift] = []
        for address, endpoint in ready.items():
            if address in members:
                continue
            message = (
                f"{device.name}: pool {pool.path} lacks ready endpoint {address}{_pod(endpoint)}"
                f" of Service {key}; BIG-IP sends it no traffic — add the member (or check"
                " the controller that syncs the pool)"
            )
            evidence = (
                ("pool", pool.path),
                ("endpoint", address),
                ("pod", endpoint.pod or ""),
                ("service", key),
                ("pool_members", str(len(members))),
                ("ready_endpoints", str(len(ready))),
            )
            drifts.append(Drift("warning", address, message, evidence))
        return Outcome(drifts=tuple(drifts))

    return per_device(boundary, observed, on_device)


def pool_member_extra(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every pool member should be a ready endpoint of the backend Service."""
    service = backend_endpoints(boundary, observed.mesh)
    if isinstance(service, Unknown):
        return everywhere(boundary, service.detail)
    known: dict[str, Endpoint] = {}
    for endpoint in service.endpoints:
        address = endpoint_key(endpoint.address, endpoint.port)
        if endpoint.ready or address not in known:
            known[address] = endpoint  # a ready duplicate wins over a not-ready one
    key = service_key(boundary)

    def on_device(device: Device) -> Outcome:
        pool = resolve_pool(boundary, device)
        if isinstance(pool, Unknown):
            return Outcome(unknowns=(pool,))
        drifts: list[Drift] = []
        for member in pool.members:
            address = endpoint_key(member.address, member.port)
            endpoint = known.get(address)
            if endpoint is not None and endpoint.ready:
                continue
            if endpoint is not None:
                what = f"is a not-ready endpoint{_pod(endpoint)} of Service {key}"
                fix = "BIG-IP may send traffic to a pod that is not serving — disable or remove it"
            else:
                what = f"is not an endpoint of Service {key}"
                fix = "BIG-IP may send traffic to a stale or foreign address — remove the member"
            message = f"{device.name}: pool {pool.path} member {address} {what}; {fix}"
            evidence = (
                ("pool", pool.path),
                ("member", address),
                ("member_name", member.name),
                ("member_state", member.state),
                ("service", key),
                ("endpoint", "not-ready" if endpoint is not None else "absent"),
            )
            drifts.append(Drift("warning", address, message, evidence))
        return Outcome(drifts=tuple(drifts))

    return per_device(boundary, observed, on_device)


CHECKS: Final[tuple[Check, ...]] = (
    Check("pool_member_missing", pool_member_missing),
    Check("pool_member_extra", pool_member_extra),
)
