"""`PodIndex` answers the rotation rules' questions about meshed pods exactly as the plain
per-pod loops it replaces (it only remembers them across the boundaries of one plan)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.model import ProxyBundle
from monitor.rotation.context import PodIndex

FPS = st.sampled_from(["a" * 64, "b" * 64, "c" * 64, "d" * 64])
BUNDLES = st.lists(
    st.builds(
        ProxyBundle,
        pod=st.sampled_from([f"ns/pod-{i}" for i in range(8)]),
        anchors=st.one_of(st.none(), st.lists(FPS, max_size=3).map(tuple)),
    ),
    max_size=12,
)


@given(BUNDLES, st.frozensets(FPS), st.lists(st.sampled_from([f"ns/pod-{i}" for i in range(8)])))
def test_the_index_agrees_with_the_plain_loops(
    pods: list[ProxyBundle], fps: frozenset[str], names: list[str]
) -> None:
    index = PodIndex(tuple(pods))
    held = [set(p.anchors or ()) for p in pods]
    for _ in range(2):  # the second answer comes from memory
        assert index.without_any(fps) == tuple(
            p for p, h in zip(pods, held, strict=True) if not h & fps
        )
        assert index.beyond(fps) == tuple(p for p, h in zip(pods, held, strict=True) if h - fps)
        wanted = tuple(names)
        assert index.named(wanted) == tuple(p for p in pods if p.pod in set(names))
        outside: dict[str, str] = {}
        for p in pods:
            for fp in p.anchors or ():
                if fp not in fps:
                    outside.setdefault(fp, "")
        assert index.held_outside(fps) == tuple(outside)
    assert index.named(None) == ()
