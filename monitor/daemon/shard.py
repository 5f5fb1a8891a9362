"""Sharding: which BIG-IP devices and boundaries one replica of `run --shard i/N` owns.

Owns `--shard` parsing (`parse_shard`), the assignment of devices to shards (`units`,
`shard_of`) and the config a shard runs with (`shard_config`). Pure: no I/O, no logging.

DESIGN section 8: devices are split across replicas by hashing, the way Prometheus splits
targets (`hashmod`). What is hashed is a *unit*: devices that must be checked together,
because the HA checks compare an `haGroup`'s devices and a boundary's checks read every
device it lists. A unit is a connected component of "in the same `haGroup`" and "listed by
the same boundary". Its key is its `haGroup` names, sorted and joined with ","; for a unit
without any `haGroup`, its device names, sorted and joined. A unit belongs to shard
`1 + (the last 64 bits of md5(key), big-endian) mod N`, as Prometheus' `hashmod` computes
a target's shard. The key of an HA pair is its group's name, so adding or renaming a
device of the pair does not move it; md5 (not `hash()`) makes the assignment the same in
every process and Python version. A boundary belongs to the shard of its devices' unit;
every device and every boundary is in exactly one shard.

An identity provider joins its devices into one unit the same way and belongs to its
unit's shard. `shard_config` returns the config with only the shard's `bigip` devices,
`boundaries` and `identityProviders` (every `ignore` rule is kept, so that logs number
them as the file does; a rule for another shard's boundary never matches here), and the
shard's own Lease
(`leaderElection.leaseName` + `-shard-<i>-of-<N>`), so replicas of different shards never
compete for one Lease. Sources, checks and metrics then work
unchanged on it. A shard may own no boundary (and no device) at all: the tuples are then
empty, which file validation would reject but the daemon accepts.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from monitor.config.schema import Config

__all__ = [
    "Shard",
    "ShardError",
    "Unit",
    "describe",
    "lease_name",
    "parse_shard",
    "shard_config",
    "shard_of",
    "units",
]

MAX_LEASE_NAME = 253  # a Kubernetes object name (DNS subdomain)


class ShardError(ValueError):
    """A `--shard` value that is not `i/N` with 1 ≤ i ≤ N."""


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` (1-based) of `total`."""

    index: int
    total: int

    def __post_init__(self) -> None:
        if self.total < 1:
            raise ShardError(f"the number of shards must be at least 1, got {self.total}")
        if not 1 <= self.index <= self.total:
            raise ShardError(
                f"the shard number must be between 1 and {self.total}, got {self.index}"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def parse_shard(text: str) -> Shard:
    """`"2/3"` → `Shard(2, 3)`; `ShardError` (a one-line message) for anything else."""
    found = re.fullmatch(r"\s*([0-9]+)\s*/\s*([0-9]+)\s*", text)
    if found is None:
        raise ShardError(f"expected i/N such as 1/3, got {text!r}")
    return Shard(int(found[1]), int(found[2]))


@dataclass(frozen=True, slots=True)
class Unit:
    """Devices that go to one shard together, and the boundaries on them."""

    key: str
    devices: tuple[str, ...]  # sorted
    boundaries: tuple[str, ...]  # in config order
    providers: tuple[str, ...] = ()  # identity providers, in config order


def units(cfg: Config) -> tuple[Unit, ...]:
    """The config's units (module docstring), sorted by key."""
    parent = {device.name: device.name for device in cfg.bigip}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    def join(names: Iterable[str]) -> None:
        first, *rest = names
        for name in rest:
            parent[root(name)] = root(first)

    groups: dict[str, list[str]] = {}
    for device in cfg.bigip:
        if device.ha_group is not None:
            groups.setdefault(device.ha_group, []).append(device.name)
    for members in groups.values():
        join(members)
    for boundary in cfg.boundaries:
        join(boundary.devices)  # validated: non-empty, every name a configured device
    for idp in cfg.identity_providers:
        join(idp.devices)  # its checks read every device it lists, like a boundary's
    devices: dict[str, list[str]] = {}
    for name in parent:
        devices.setdefault(root(name), []).append(name)
    ha_groups: dict[str, set[str]] = {}
    for device in cfg.bigip:
        if device.ha_group is not None:
            ha_groups.setdefault(root(device.name), set()).add(device.ha_group)
    boundaries: dict[str, list[str]] = {}
    for boundary in cfg.boundaries:
        boundaries.setdefault(root(boundary.devices[0]), []).append(boundary.name)
    providers: dict[str, list[str]] = {}
    for idp in cfg.identity_providers:
        providers.setdefault(root(idp.devices[0]), []).append(idp.name)
    found = [
        Unit(
            key=",".join(sorted(ha_groups.get(top) or members)),
            devices=tuple(sorted(members)),
            boundaries=tuple(boundaries.get(top, ())),
            providers=tuple(providers.get(top, ())),
        )
        for top, members in devices.items()
    ]
    return tuple(sorted(found, key=lambda unit: (unit.key, unit.devices)))


def shard_of(key: str, total: int) -> int:
    """The shard (1-based) of the unit `key` among `total`: Prometheus' hashmod, plus 1."""
    if total < 1:
        raise ShardError(f"the number of shards must be at least 1, got {total}")
    digest = hashlib.md5(key.encode("utf-8"), usedforsecurity=False).digest()
    return 1 + int.from_bytes(digest[8:], "big") % total


def lease_name(base: str, shard: Shard) -> str:
    """The shard's Lease: `<base>-shard-<i>-of-<N>`, `base` shortened to stay a valid name."""
    suffix = f"-shard-{shard.index}-of-{shard.total}"
    return base[: MAX_LEASE_NAME - len(suffix)].rstrip("-.") + suffix


def shard_config(cfg: Config, shard: Shard) -> Config:
    """`cfg` as shard `shard` runs it (module docstring)."""
    owned = [unit for unit in units(cfg) if shard_of(unit.key, shard.total) == shard.index]
    devices = {name for unit in owned for name in unit.devices}
    boundaries = {name for unit in owned for name in unit.boundaries}
    providers = {name for unit in owned for name in unit.providers}
    return replace(
        cfg,
        bigip=tuple(device for device in cfg.bigip if device.name in devices),
        boundaries=tuple(b for b in cfg.boundaries if b.name in boundaries),
        identity_providers=tuple(i for i in cfg.identity_providers if i.name in providers),
        leader_election=replace(
            cfg.leader_election,
            lease_name=lease_name(cfg.leader_election.lease_name, shard),
        ),
    )


def describe(cfg: Config, shard: Shard) -> str:
    """One line: what shard `shard` (with its config `cfg`) owns."""

    def listed(names: list[str], one: str, many: str) -> str:
        noun = one if len(names) == 1 else many
        return f"{len(names)} {noun}" + (f" ({', '.join(names)})" if names else "")

    devices = listed([d.name for d in cfg.bigip], "BIG-IP device", "BIG-IP devices")
    boundaries = listed([b.name for b in cfg.boundaries], "boundary", "boundaries")
    return f"shard {shard} owns {devices} and {boundaries}"
