"""What the rotation rules work on: the resolved inputs of one boundary and the plan draft.

Owns `Ctx` (the mesh's anchors, issuer and proxies, the boundary's BIG-IP bundles, the
pods that may predate the issuer's current anchors), `Draft` (phase, explanation, steps,
objects, anchor roles as `monitor.rotation.rules` builds them) and the small set helpers
the rules share. Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from monitor.certs import CertFacts
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Issuer, MeshState, ProxyBundle
from monitor.rotation.steps import Mesh, by_bundle

Phase = Literal[
    "steady",
    "new_anchor_in_mesh",
    "new_anchor_staged_everywhere",
    "issuer_rotated",
    "old_anchor_removable",
    "broken",
    "unknown",
]
PHASES: Final[tuple[Phase, ...]] = (
    "steady",
    "new_anchor_in_mesh",
    "new_anchor_staged_everywhere",
    "issuer_rotated",
    "old_anchor_removable",
    "broken",
    "unknown",
)


@dataclass(frozen=True, slots=True)
class BigipBundle:
    """The CA bundle one device of the boundary verifies the mesh with."""

    device: str
    path: str
    fingerprints: frozenset[str]
    subjects: Mapping[str, str]  # fingerprint → subject of the member
    client: str | None = None  # the client certificate BIG-IP presents (server-ssl `cert`)
    client_facts: CertFacts | None = None  # its parsed PEM, when it was read


@dataclass(frozen=True, slots=True)
class Pending:
    """Pods that may still hold a leaf from an issuer under other anchors (None: cannot
    tell); `witnessed`: they certainly predate the issuer's current anchors."""

    pods: tuple[str, ...] | None
    witnessed: bool = False
    since: datetime | None = None


class PodIndex:
    """The meshed pods' bundles, asked the same questions for every boundary: answered
    once per `plan_rotation` (the pods do not depend on the boundary), not once per
    boundary for each of tens of thousands of pods."""

    def __init__(self, pods: tuple[ProxyBundle, ...]) -> None:
        self.pods = pods
        self._held = [frozenset(p.anchors or ()) for p in pods]
        self._memo: dict[tuple[str, frozenset[str]], tuple[ProxyBundle, ...]] = {}
        self._named: tuple[tuple[str, ...] | None, tuple[ProxyBundle, ...]] | None = None
        self._outside: dict[frozenset[str], tuple[str, ...]] = {}

    def without_any(self, fingerprints: frozenset[str]) -> tuple[ProxyBundle, ...]:
        """The pods whose bundle holds none of `fingerprints`."""
        return self._ask("without", fingerprints, lambda held: not held & fingerprints)

    def beyond(self, fingerprints: frozenset[str]) -> tuple[ProxyBundle, ...]:
        """The pods whose bundle holds an anchor not in `fingerprints`."""
        return self._ask("beyond", fingerprints, lambda held: bool(held - fingerprints))

    def named(self, names: tuple[str, ...] | None) -> tuple[ProxyBundle, ...]:
        """The pods called `names` (the same tuple for every boundary of a plan, so it is
        remembered by identity), in bundle order."""
        if self._named is None or self._named[0] is not names:
            wanted = set(names or ())
            self._named = (names, tuple(p for p in self.pods if p.pod in wanted))
        return self._named[1]

    def held_outside(self, fingerprints: frozenset[str]) -> tuple[str, ...]:
        """The anchors some pod's bundle holds that are not in `fingerprints`, in the
        order they first appear."""
        if fingerprints not in self._outside:
            found = (fp for p in self.pods for fp in p.anchors or () if fp not in fingerprints)
            self._outside[fingerprints] = tuple(dict.fromkeys(found))
        return self._outside[fingerprints]

    def _ask(
        self, kind: str, fingerprints: frozenset[str], keep: Callable[[frozenset[str]], bool]
    ) -> tuple[ProxyBundle, ...]:
        key = (kind, fingerprints)
        if key not in self._memo:
            self._memo[key] = tuple(
                p for p, h in zip(self.pods, self._held, strict=True) if keep(h)
            )
        return self._memo[key]


@dataclass(frozen=True, slots=True)
class Ctx:
    cfg: Config
    boundary: BoundaryConfig
    mesh: MeshState
    anchors: tuple[CertFacts, ...]
    issuer: Issuer
    issuing: tuple[CertFacts, ...]
    proxies: tuple[ProxyBundle, ...] | None
    bundles: tuple[BigipBundle, ...]
    pending: Pending
    signer: CertFacts | None  # signs the issuer, shipped with it, not a mesh anchor
    index: PodIndex | None = None  # shared by the boundaries of one plan; None: made here

    @property
    def names(self) -> Mesh:
        return Mesh(self.cfg, self.mesh)

    @property
    def pods(self) -> tuple[ProxyBundle, ...]:
        return self.proxies or ()

    @property
    def pod_index(self) -> PodIndex:
        return self.index if self.index is not None else PodIndex(self.pods)

    def pending_pods(self) -> tuple[ProxyBundle, ...]:
        return self.pod_index.named(self.pending.pods)


@dataclass
class Draft:
    phase: Phase
    explanation: str = ""
    steps: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    anchors: list[tuple[str, str, str]] = field(default_factory=list)


def fps(certs: Sequence[CertFacts]) -> set[str]:
    return {c.fingerprint_sha256 for c in certs}


def held_by(proxy: ProxyBundle) -> set[str]:
    return set(proxy.anchors or ())


def newest_anchor(anchors: Sequence[CertFacts]) -> CertFacts:
    """Latest notBefore; on a tie the first in the bundle."""
    return max(enumerate(anchors), key=lambda item: (item[1].not_before, -item[0]))[1]


def bundle_places(bundles: Sequence[BigipBundle]) -> dict[str, list[str]]:
    return by_bundle((b.device, b.path) for b in bundles)


def bundle_objects(bundles: Sequence[BigipBundle]) -> list[str]:
    return [f"{b.device}:{b.path}" for b in bundles]


def pods_phrase(count: int) -> str:
    return f"{count} meshed pod{'' if count == 1 else 's'}"
