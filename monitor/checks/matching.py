"""How a pool's members pair with the ready endpoints of the backend Service.

Owns `match_members`, the one matching that the member checks (`monitor.checks.routes`)
and the `f5_linkerd_pool_members` series (`monitor.render`) share, and the canonical form
addresses compare in (`canonical_address`; `endpoint_key`: IPv6 compressed, in brackets in
`address:port`). The rules are in `monitor.checks.routes.members`' docstring. May import
`monitor.model` only. Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
from dataclasses import dataclass, field
from typing import Final

from monitor.model import Endpoint, Pool, PoolMember, ServiceEndpoints

# Addresses remembered by `canonical_address` and `endpoint_key`: tens of
# thousands of endpoints and pool members parsed once, not once per check and device.
ADDRESS_CACHE: Final = 1 << 16


@functools.lru_cache(maxsize=ADDRESS_CACHE)
def canonical_address(address: str) -> str:
    """An IP address in canonical (compressed) form; anything else as written (remembered:
    each cycle asks it for every endpoint and pool member, in several checks and metrics)."""
    with contextlib.suppress(ValueError):  # not an IP address: compare as written
        return ipaddress.ip_address(address).compressed
    return address


@functools.lru_cache(maxsize=ADDRESS_CACHE)
def endpoint_key(address: str, port: int) -> str:
    """`address:port` with the address canonical (`canonical_address`), IPv6 in brackets."""
    address = canonical_address(address)
    host = f"[{address}]" if ":" in address else address
    return f"{host}:{port}"


@dataclass(slots=True)
class Matching:
    """How a pool's members and a Service's endpoints pair up (module docstring)."""

    missing: list[tuple[str, Endpoint]] = field(default_factory=list)
    extra: list[tuple[str, PoolMember, Endpoint | None]] = field(default_factory=list)
    port_mismatch: list[tuple[str, PoolMember, list[Endpoint]]] = field(default_factory=list)
    ready_count: int = 0


# The last matchings worked out, by the identity of their (service, pool): the three member
# checks ask for the same pairs one after the other. Few, so that they pin little memory.
RECENT: Final = 16
_recent: dict[tuple[int, int], tuple[ServiceEndpoints, Pool, Matching]] = {}


def match_members(service: ServiceEndpoints, pool: Pool) -> Matching:
    """How `pool`'s members pair with `service`'s endpoints (module docstring); the result
    is shared with later callers of the same two objects: read it, never change it."""
    key = (id(service), id(pool))
    entry = _recent.get(key)
    if entry is not None and entry[0] is service and entry[1] is pool:
        return entry[2]
    found = _match(service, pool)
    if len(_recent) >= RECENT:
        _recent.clear()
    _recent[key] = (service, pool, found)
    return found


def _match(service: ServiceEndpoints, pool: Pool) -> Matching:
    known: dict[str, Endpoint] = {}
    for endpoint in service.endpoints:
        key = endpoint_key(endpoint.address, endpoint.port)
        if endpoint.ready or key not in known:
            known[key] = endpoint  # a ready duplicate wins over a not-ready one
    ready = {key: e for key, e in known.items() if e.ready}
    ready_at: dict[str, list[Endpoint]] = {}
    for endpoint in ready.values():
        ready_at.setdefault(canonical_address(endpoint.address), []).append(endpoint)
    result = Matching(ready_count=len(ready))
    members: set[str] = set()
    mismatched: set[str] = set()  # addresses reached through a port mismatch
    for member in pool.members:
        key = endpoint_key(member.address, member.port)
        members.add(key)
        if key in ready:
            continue
        address = canonical_address(member.address)
        if key not in known and address in ready_at:
            result.port_mismatch.append((key, member, ready_at[address]))
            mismatched.add(address)
        else:
            result.extra.append((key, member, known.get(key)))
    for key, endpoint in ready.items():
        if key not in members and canonical_address(endpoint.address) not in mismatched:
            result.missing.append((key, endpoint))
    return result
