"""Sharding (`monitor.daemon.shard`): parsing `--shard`, the units and their stable assignment, the
config a shard runs with, and the properties every assignment must have (a partition that
keeps HA groups and shared boundaries together), over many random configs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.schema import (
    BackendConfig,
    BigIPConfig,
    BoundaryConfig,
    Config,
    IgnoreRule,
    LeaderElectionConfig,
    ServiceRef,
)
from monitor.daemon.leader import elector_for
from monitor.daemon.shard import (
    Shard,
    ShardError,
    Unit,
    describe,
    lease_name,
    parse_shard,
    shard_config,
    shard_of,
    units,
)

# --- builders -------------------------------------------------------------------------------


def device(name: str, group: str | None = None) -> BigIPConfig:
    return BigIPConfig(
        name=name,
        url=f"https://{name}.example.net",
        username="monitor",
        password_env="BIGIP_PASSWORD",
        insecure=True,
        ha_group=group,
    )


def boundary(name: str, *devices: str) -> BoundaryConfig:
    return BoundaryConfig(
        name=name,
        mode="mesh-tls",
        devices=devices,
        virtual=f"/Common/{name}",
        backend=BackendConfig(ServiceRef("ingress", name, 443)),
    )


def rule(boundary_name: str, check: str = "pool_member_extra") -> IgnoreRule:
    return IgnoreRule(check=check, boundary=boundary_name, reason=f"r-{boundary_name}")


def config(
    devices: list[BigIPConfig],
    boundaries: list[BoundaryConfig],
    ignore: list[IgnoreRule] | None = None,
) -> Config:
    return Config(bigip=tuple(devices), boundaries=tuple(boundaries), ignore=tuple(ignore or ()))


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1/1", Shard(1, 1)), ("2/3", Shard(2, 3)), (" 3 / 3 ", Shard(3, 3)), ("08/10", Shard(8, 10))],
)
def test_parse_good_shards(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected
    assert str(expected) == f"{expected.index}/{expected.total}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/3", "the shard number must be between 1 and 3, got 0"),
        ("4/3", "the shard number must be between 1 and 3, got 4"),
        ("1/0", "the number of shards must be at least 1, got 0"),
        ("a/b", "expected i/N such as 1/3, got 'a/b'"),
        ("3", "expected i/N such as 1/3, got '3'"),
        ("", "expected i/N such as 1/3, got ''"),
        ("-1/3", "expected i/N such as 1/3, got '-1/3'"),
        ("1/3/4", "expected i/N such as 1/3, got '1/3/4'"),
        ("١/٣", "expected i/N such as 1/3"),  # other scripts' digits are not numbers here
    ],
)
def test_parse_bad_shards(text: str, message: str) -> None:
    with pytest.raises(ShardError) as raised:
        parse_shard(text)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


# --- units and their assignment ---------------------------------------------------------------


def test_units_join_ha_groups_and_devices_of_one_boundary() -> None:
    cfg = config(
        [
            device("a", "g1"),
            device("b", "g1"),
            device("c"),
            device("d"),
            device("e"),
            device("f", "g2"),
        ],
        [boundary("x", "a"), boundary("y", "d", "c"), boundary("z", "d"), boundary("w", "b")],
    )
    assert units(cfg) == (
        Unit("c,d", ("c", "d"), ("y", "z")),
        Unit("e", ("e",), ()),
        Unit("g1", ("a", "b"), ("x", "w")),
        Unit("g2", ("f",), ()),
    )
    bridged = replace(cfg, boundaries=(*cfg.boundaries, boundary("v", "f", "b")))
    assert Unit("g1,g2", ("a", "b", "f"), ("x", "w", "v")) in units(bridged)


def test_the_assignment_is_fixed() -> None:
    """md5 of the key, last 64 bits, mod N (Prometheus' hashmod), 1-based: the same in every
    process and Python version. A changed hash function moves every shard and fails here."""
    expected = {
        "edge-pair-1": [1, 1, 3, 1, 3, 3, 1, 1],
        "edge-pair-2": [1, 2, 2, 2, 5, 2, 7, 2],
        "bigip-c": [1, 2, 3, 4, 4, 6, 4, 4],
        "c,d": [1, 2, 2, 2, 2, 2, 7, 2],
    }
    for key, shards in expected.items():
        assert [shard_of(key, n) for n in range(1, 9)] == shards, key
    assert [shard_of("solo", n) for n in (4, 7, 8)] == [3, 5, 7]
    # the arithmetic itself, on md5("edge-pair-1") = f8b36e01d0a121c1 256d5a22023db6c0
    assert shard_of("edge-pair-1", 7) == 1 + 0x256D5A22023DB6C0 % 7
    with pytest.raises(ShardError):
        shard_of("x", 0)


def test_an_ha_pair_keeps_its_shard_when_a_device_is_added_or_renamed() -> None:
    pair = config([device("a", "g"), device("b", "g")], [boundary("x", "a", "b")])
    grown = replace(pair, bigip=(*pair.bigip, device("c", "g")))
    renamed = config([device("p", "g"), device("q", "g")], [boundary("x", "p", "q")])
    assert {u.key for u in units(pair)} == {u.key for u in units(grown)} == {"g"}
    assert {u.key for u in units(renamed)} == {"g"}


# --- the properties, over random configs ----------------------------------------------------

NAMES = [f"bigip-{c}" for c in "abcdefghij"]
GROUPS = ["edge-1", "edge-2", "dc2"]


@st.composite
def configs(draw: st.DrawFn) -> Config:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=8, unique=True))
    devices = [device(n, draw(st.sampled_from([None, *GROUPS]))) for n in names]
    count = draw(st.integers(1, 6))
    boundaries = [
        boundary(
            f"b{i}",
            *draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)),
        )
        for i in range(count)
    ]
    targets = st.sampled_from(["*", *(b.name for b in boundaries)])
    ignore = [rule(t) for t in draw(st.lists(targets, max_size=5))]
    return config(devices, boundaries, ignore)


@settings(max_examples=300, deadline=None)
@given(cfg=configs(), total=st.integers(1, 8))
def test_every_device_and_boundary_is_in_exactly_one_shard(cfg: Config, total: int) -> None:
    parts = [shard_config(cfg, Shard(i, total)) for i in range(1, total + 1)]
    devices = [d.name for part in parts for d in part.bigip]
    boundaries = [b.name for part in parts for b in part.boundaries]
    assert sorted(devices) == sorted(d.name for d in cfg.bigip)
    assert sorted(boundaries) == sorted(b.name for b in cfg.boundaries)
    for part in parts:
        owned = {d.name for d in part.bigip}
        groups = {d.ha_group for d in part.bigip if d.ha_group}
        for b in part.boundaries:  # a boundary's devices are all in its shard
            assert set(b.devices) <= owned
        for d in cfg.bigip:  # a group's devices are all in one shard
            if d.ha_group in groups:
                assert d.name in owned
        # config order is kept; every ignore rule too (the file's numbering in logs)
        assert list(part.bigip) == [d for d in cfg.bigip if d.name in owned]
        assert part.ignore == cfg.ignore
        assert part.leader_election.lease_name.endswith(f"-of-{total}")
        # the shard of a unit is the hash of its key
        for unit in units(cfg):
            if set(unit.devices) <= owned:
                assert shard_config(cfg, Shard(shard_of(unit.key, total), total)) == part
    if total == 1:
        assert parts[0] == replace(cfg, leader_election=parts[0].leader_election)


# --- the config a shard runs with ------------------------------------------------------------


def _two_pairs() -> Config:
    """edge-pair-1 hashes to shard 1 of 2, edge-pair-2 to shard 2."""
    return config(
        [
            device("bigip-a", "edge-pair-1"),
            device("bigip-b", "edge-pair-1"),
            device("bigip-c", "edge-pair-2"),
            device("bigip-d", "edge-pair-2"),
        ],
        [
            boundary("shop", "bigip-a", "bigip-b"),
            boundary("dr", "bigip-c", "bigip-d"),
            boundary("web", "bigip-a"),
        ],
        [rule("dr"), rule("*", "virtual_missing"), rule("web"), rule("shop", "sni_mismatch")],
    )


def test_shard_config_keeps_the_shards_devices_and_boundaries_and_every_ignore_rule() -> None:
    cfg = _two_pairs()
    first, second = shard_config(cfg, Shard(1, 2)), shard_config(cfg, Shard(2, 2))
    assert [d.name for d in first.bigip] == ["bigip-a", "bigip-b"]
    assert [b.name for b in first.boundaries] == ["shop", "web"]
    assert first.ignore == second.ignore == cfg.ignore
    assert [d.name for d in second.bigip] == ["bigip-c", "bigip-d"]
    assert [b.name for b in second.boundaries] == ["dr"]
    assert (first.poll, first.mesh, first.server) == (cfg.poll, cfg.mesh, cfg.server)
    assert describe(first, Shard(1, 2)) == (
        "shard 1/2 owns 2 BIG-IP devices (bigip-a, bigip-b) and 2 boundaries (shop, web)"
    )
    assert describe(second, Shard(2, 2)).endswith("and 1 boundary (dr)")


def test_a_shard_may_own_nothing() -> None:
    cfg = config([device("bigip-a", "edge-pair-1")], [boundary("shop", "bigip-a")], [rule("*")])
    empty = shard_config(cfg, Shard(2, 2))
    assert (empty.bigip, empty.boundaries) == ((), ())
    assert empty.ignore == cfg.ignore
    assert describe(empty, Shard(2, 2)) == "shard 2/2 owns 0 BIG-IP devices and 0 boundaries"


# --- leader election: one Lease per shard -----------------------------------------------------


def test_each_shard_has_its_own_lease(tmp_path: Path) -> None:
    cfg = replace(
        _two_pairs(),
        leader_election=LeaderElectionConfig(enabled=True, lease_name="mon", namespace="ops"),
    )
    names = {shard_config(cfg, Shard(i, 3)).leader_election.lease_name for i in (1, 2, 3)}
    assert names == {"mon-shard-1-of-3", "mon-shard-2-of-3", "mon-shard-3-of-3"}
    assert shard_config(cfg, Shard(1, 1)).leader_election.lease_name == "mon-shard-1-of-1"
    assert shard_config(cfg, Shard(2, 3)).leader_election.namespace == "ops"
    elector = elector_for(shard_config(cfg, Shard(2, 3)), lambda leading: None, environ={})
    assert not isinstance(elector, str)
    assert elector.where == "ops/mon-shard-2-of-3"
    unsharded = elector_for(cfg, lambda leading: None, environ={})
    assert not isinstance(unsharded, str)
    assert unsharded.where == "ops/mon"


def test_a_long_lease_name_is_shortened_to_a_valid_name() -> None:
    long = "a" * 240 + "-b.c" + "d" * 9
    name = lease_name(long, Shard(12, 16))
    assert len(name) == 253
    assert name.endswith("-shard-12-of-16")
    assert name == "a" * 238 + "-shard-12-of-16"
    assert lease_name("x" * 238 + ".-yz", Shard(1, 2)) == "x" * 238 + "-shard-1-of-2"
