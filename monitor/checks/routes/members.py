"""Route checks on pool members: does BIG-IP send traffic to exactly the ready endpoints?

Owns `pool_member_missing`, `pool_member_extra` and `pool_member_port_mismatch`
(registered in `routes.CHECKS`, every boundary mode). They share one matching,
`monitor.checks.matching.match_members`, so that each member and each ready endpoint is
reported by one check at most. Addresses compare in canonical form (IPv6 compressed, in
brackets in `address:port`).

- A member at a ready endpoint's `address:port` is right.
- A member at a not-ready endpoint's `address:port` is extra (BIG-IP may send traffic to a
  pod that is not serving).
- A member whose address is a ready endpoint's but whose port is not (and is no endpoint of
  that address at all) is a port mismatch — only that: its endpoint is not also missing,
  and the member is not also extra.
- Any other member is extra; any ready endpoint no member matches, by address and port or
  by address through a port mismatch, is missing.
Missing, extra and port mismatch are warnings, one finding per endpoint / member (object:
`address:port`).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from monitor.checks.matching import Matching, canonical_address, match_members
from monitor.checks.outcome import Drift, Outcome, Unknown
from monitor.checks.resolve import (
    Device,
    backend_endpoints,
    everywhere,
    per_device,
    resolve_pool,
    service_key,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Endpoint, Observed, Pool


def _pod(endpoint: Endpoint) -> str:
    return f" (pod {endpoint.pod})" if endpoint.pod else ""


Judge = Callable[[Device, Pool, Matching, str], list[Drift]]


def _member_check(boundary: BoundaryConfig, observed: Observed, judge: Judge) -> Outcome:
    service = backend_endpoints(boundary, observed.mesh)
    if isinstance(service, Unknown):
        return everywhere(boundary, service.detail)
    key = service_key(boundary)

    def on_device(device: Device) -> Outcome:
        pool = resolve_pool(boundary, device)
        if isinstance(pool, Unknown):
            return Outcome(unknowns=(pool,))
        return Outcome(drifts=tuple(judge(device, pool, match_members(service, pool), key)))

    return per_device(boundary, observed, on_device)


def pool_member_missing(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every ready endpoint of the backend Service should be a member of the pool."""

    def judge(device: Device, pool: Pool, found: Matching, key: str) -> list[Drift]:
        drifts = []
        for address, endpoint in found.missing:
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
                ("pool_members", str(len(pool.members))),
                ("ready_endpoints", str(found.ready_count)),
            )
            drifts.append(Drift("warning", address, message, evidence))
        return drifts

    return _member_check(boundary, observed, judge)


def pool_member_extra(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every pool member should be a ready endpoint of the backend Service."""

    def judge(device: Device, pool: Pool, found: Matching, key: str) -> list[Drift]:
        drifts = []
        for address, member, endpoint in found.extra:
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
        return drifts

    return _member_check(boundary, observed, judge)


def pool_member_port_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """A member at a ready endpoint's address must use the endpoint's port."""

    def judge(device: Device, pool: Pool, found: Matching, key: str) -> list[Drift]:
        drifts = []
        for address, member, endpoints in found.port_mismatch:
            ports = ", ".join(str(p) for p in sorted({e.port for e in endpoints}))
            first = endpoints[0]
            message = (
                f"{device.name}: pool {pool.path} member {address} points at ready endpoint"
                f" {canonical_address(member.address)}{_pod(first)} of Service {key} on port"
                f" {member.port}, but the endpoint serves port {ports}; BIG-IP's traffic misses"
                f" the pod's serving port — set the member's port to {ports}"
            )
            evidence = (
                ("pool", pool.path),
                ("member", address),
                ("member_name", member.name),
                ("member_port", str(member.port)),
                ("endpoint_ports", ports),
                ("pod", first.pod or ""),
                ("service", key),
            )
            drifts.append(Drift("warning", address, message, evidence))
        return drifts

    return _member_check(boundary, observed, judge)
