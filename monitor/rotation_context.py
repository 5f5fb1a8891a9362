"""What the rotation rules work on: the resolved inputs of one boundary and the plan draft.

Owns `Ctx` (the mesh's anchors, issuer and proxies, the boundary's BIG-IP bundles, the
pods that may predate the issuer's current anchors), `Draft` (phase, explanation, steps,
objects, anchor roles as `monitor.rotation_rules` builds them) and the small set helpers
the rules share. Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from monitor.certs import CertFacts
from monitor.config import BoundaryConfig, Config
from monitor.model import Issuer, MeshState, ProxyBundle
from monitor.rotation_steps import Mesh, by_bundle

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

    @property
    def names(self) -> Mesh:
        return Mesh(self.cfg, self.mesh)

    @property
    def pods(self) -> tuple[ProxyBundle, ...]:
        return self.proxies or ()

    def pending_pods(self) -> tuple[ProxyBundle, ...]:
        names = set(self.pending.pods or ())
        return tuple(p for p in self.pods if p.pod in names)


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
