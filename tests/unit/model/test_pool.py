"""`Pool` keeps its members packed in one string and gives back exactly what it was given."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.model import Pool, PoolMember

USUAL = PoolMember("10.0.0.1", 443, "10.0.0.1:443", "k8s", "user-enabled", "up")


def fields(m: PoolMember) -> tuple[str, int, str, str, str, str]:
    return (m.address, m.port, m.name, m.partition, m.session, m.state)


def test_the_usual_member_costs_its_address_and_port() -> None:
    pool = Pool.packed("/k8s/Shared/web", [fields(USUAL)])
    assert pool.members == (USUAL,)
    assert pool == Pool("/k8s/Shared/web", [USUAL])
    assert len(pool._packed or "") == len("10.0.0.1") + len("443") + 7


@pytest.mark.parametrize(
    "member",
    [
        PoolMember("2001:db8::1", 8443, "2001:db8::1.8443", "k8s", "user-enabled", "up"),
        PoolMember("10.0.0.1", 443, "10.0.0.1%2:443", "k8s", "user-disabled", "down"),
        PoolMember("10.0.0.1", 0, "10.0.0.1:any", "Common", "monitor-enabled", "unchecked"),
        PoolMember("10.0.0.1", 443, "node-a:443", "Common", "", ""),
        PoolMember("10.0.0.1", 443, "10.0.0.1:443", "k8s", "\x01", "\x04"),  # read as codes
        PoolMember("10.0.0.1", 443, "10.0.0.1:443", "k8s", "a\x1fb", "up"),  # a separator
        PoolMember("10.0.0.1", 443, "10.0.0.1:443", "k8s", "up", "a\x1eb"),
    ],
)
def test_unusual_members_come_back_as_they_were(member: PoolMember) -> None:
    pool = Pool.packed("/k8s/Shared/web", [fields(USUAL), fields(member)])
    assert pool.members == (USUAL, member)
    assert pool == Pool("/k8s/Shared/web", (USUAL, member))
    assert hash(pool) == hash(Pool("/k8s/Shared/web", (USUAL, member)))


def test_a_pool_is_equal_by_path_and_members_and_immutable() -> None:
    a = Pool.packed("/Common/a", [fields(USUAL)])
    assert a == Pool.packed("/Common/a", [fields(USUAL)])
    assert a != Pool.packed("/Common/b", [fields(USUAL)])
    assert a != Pool.packed("/Common/a", [])
    assert Pool.packed("/Common/a", []).members == ()
    assert "10.0.0.1:443" in repr(a)
    with pytest.raises(AttributeError):
        a.path = "/Common/b"  # type: ignore[misc]


text = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    path=st.sampled_from(["/Common/p", "/k8s/Shared/p", "/p", "p"]),
    members=st.lists(
        st.builds(
            PoolMember,
            address=text.filter(bool),
            port=st.integers(0, 65535),
            name=text,
            partition=st.sampled_from(["Common", "k8s", "p", ""]) | text,
            session=st.sampled_from(["user-enabled", "user-disabled", ""]) | text,
            state=st.sampled_from(["up", "down", "unchecked"]) | text,
        ),
        max_size=5,
    ),
)
def test_packing_gives_back_any_members(path: str, members: list[PoolMember]) -> None:
    pool = Pool.packed(path, [fields(m) for m in members])
    assert pool.members == tuple(members)
    assert pool == Pool(path, members)
