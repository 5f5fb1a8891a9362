"""The trust-anchor rotation planner: where each boundary stands, and the next safe step.

`plan_rotation(cfg, observed, memory)` derives one `RotationPlan` per boundary from both
sides: the mesh's trust anchors, which of them signs the identity issuer (by signature,
`signed_by`), the bundles frozen into the meshed pods' proxies, and the CA bundle each of
the boundary's BIG-IPs verifies the mesh with (server-ssl `caFile`, resolved with the
checks' resolvers). The phases, in the order of Linkerd's procedure (research/linkerd.md
section 6), with N the newest mesh anchor (latest notBefore; on a tie the first in the
bundle, where `step certificate bundle ca-new.crt original-trust.crt` puts it):

- `broken`: the issuer verifies against no mesh anchor; or a BIG-IP bundle or a proxy
  lacks every anchor that signs the issuer (BIG-IP cannot verify pods' certificates,
  proxies their peers', linkerd2 #8664); or, while pods that were running when the issuer
  moved to N are still running (the monitor saw the move itself), an old anchor is gone
  from the mesh bundle or from a BIG-IP bundle (linkerd2 #4287). Established from what was
  read even when other inputs are unknown.
- `unknown`: an input is missing (anchors, issuer, proxies' bundles, a device's bundle).
- `new_anchor_in_mesh`: N does not sign the issuer yet and some BIG-IP bundle or proxy
  lacks it.
- `new_anchor_staged_everywhere`: N does not sign the issuer yet, every BIG-IP bundle and
  every proxy holds it: next, rotate the issuer.
- `issuer_rotated`: N signs the issuer, older anchors are still trusted, and pods that may
  hold a leaf from the old issuer are still running (or BIG-IP's client certificate is
  not from the current issuer): restart them; keep the old anchor until then.
- `old_anchor_removable`: N signs the issuer and every pod running was started after the
  monitor first saw the issuer under N; or the mesh already dropped the old anchor and a
  BIG-IP bundle or a proxy still carries it.
- `steady`: one anchor everywhere, and it signs the issuer.

Leaf certificates are not visible. "Restarted since the issuer changed" is observed the
only way it can be: `RotationMemory` (kept by the daemon across cycles and in the state
file) records the pods present when the monitor first saw the issuer under its current
anchors, and `remember` drops each one once it is gone. Without that memory every
running pod counts as not restarted (never guessed safe).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.certs import CertFacts, signed_by
from monitor.checks.outcome import Unknown
from monitor.checks.resolve import Device, member_fingerprint, resolve_bundle
from monitor.checks.trust.inputs import issuing_anchors, mesh_anchors, mesh_issuer, proxies
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Issuer, Observed, ProxyBundle
from monitor.rotation.context import BigipBundle, Ctx, Draft, Pending, Phase, PodIndex
from monitor.rotation.rules import evaluate

__all__ = [
    "AnchorRole",
    "RotationMemory",
    "RotationPlan",
    "plan_rotation",
    "remember",
]


@dataclass(frozen=True, slots=True)
class AnchorRole:
    """An anchor the plan talks about: `issuer` (signs the current issuer), `new` (staged,
    not signing yet), `old` (still trusted, not signing), or `not_in_mesh` (a certificate in
    a BIG-IP bundle or a proxy's bundle that the mesh no longer trusts)."""

    fingerprint: str
    role: str
    subject: str = ""


@dataclass(frozen=True, slots=True)
class RotationPlan:
    boundary: str
    phase: Phase
    explanation: str
    next_steps: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()  # what the steps change: "bigip-a:/k8s/Shared/b", ...
    anchors: tuple[AnchorRole, ...] = ()


@dataclass(frozen=True, slots=True)
class RotationMemory:
    """What the daemon remembers between cycles about the issuer's anchors.

    `pending`: the meshed pods that were running when the monitor first saw the issuer
    signed by `issuing`, and still are (None: the pods could not be read then);
    `witnessed`: the monitor saw the change itself (it knew other anchors before), so those
    pods certainly predate it.
    """

    issuing: tuple[str, ...]  # sorted fingerprints of the anchors that sign the issuer
    since: datetime
    pending: tuple[str, ...] | None
    witnessed: bool = False


def remember(
    previous: RotationMemory | None, observed: Observed, now: datetime
) -> RotationMemory | None:
    """The memory after this observation (unchanged when the issuer or anchors are unknown)."""
    mesh = observed.mesh
    anchors, issuer, pods = mesh_anchors(mesh), mesh_issuer(mesh), proxies(mesh)
    if isinstance(anchors, Unknown) or isinstance(issuer, Unknown):
        return previous
    key = tuple(sorted(a.fingerprint_sha256 for a in issuing_anchors(issuer, anchors)))
    if not key:
        return previous
    names = None if isinstance(pods, Unknown) else tuple(sorted(p.pod for p in pods))
    if previous is None or previous.issuing != key:
        return RotationMemory(key, now, names, witnessed=previous is not None)
    if names is None:
        return previous
    if previous.pending is None:  # the pods that were running then are not known
        return RotationMemory(key, previous.since, names, previous.witnessed)
    still = set(names)
    pending = tuple(p for p in previous.pending if p in still)
    return RotationMemory(key, previous.since, pending, previous.witnessed)


def plan_rotation(
    cfg: Config, observed: Observed, memory: RotationMemory | None = None
) -> tuple[RotationPlan, ...]:
    """One plan per boundary, in config order (module docstring)."""
    view = _mesh_view(observed)
    if isinstance(view, tuple):
        return tuple(_plan(cfg, b, observed, view, memory, None) for b in cfg.boundaries)
    pending, index = _pending(memory, view), PodIndex(view.proxies or ())
    signer = _outside_signer(view.issuer, view.anchors)
    shared = (pending, index, signer)
    return tuple(_plan(cfg, b, observed, view, memory, shared) for b in cfg.boundaries)


@dataclass(frozen=True, slots=True)
class _MeshView:
    anchors: tuple[CertFacts, ...]
    issuer: Issuer
    issuing: tuple[CertFacts, ...]
    proxies: tuple[ProxyBundle, ...] | None  # None: unknown (a problem says why)
    problems: tuple[str, ...] = ()


def _mesh_view(observed: Observed) -> _MeshView | tuple[str, ...]:
    mesh = observed.mesh
    anchors, issuer, pods = mesh_anchors(mesh), mesh_issuer(mesh), proxies(mesh)
    if isinstance(anchors, Unknown) or isinstance(issuer, Unknown):
        return tuple(u.detail for u in (anchors, issuer, pods) if isinstance(u, Unknown))
    problems: list[str] = []
    known: tuple[ProxyBundle, ...] | None = None
    if isinstance(pods, Unknown):
        problems.append(pods.detail)
    else:
        unreadable = [p for p in pods if p.anchors is None]
        problems += [
            f"kubernetes: trust bundle of pod {p.pod} unreadable ({p.problem or 'no reason'})"
            for p in unreadable[:3]
        ]
        if len(unreadable) > 3:
            problems.append(f"… and {len(unreadable) - 3} more pods with unreadable bundles")
        known = None if unreadable else pods
    return _MeshView(anchors, issuer, issuing_anchors(issuer, anchors), known, tuple(problems))


def _bundle(boundary: BoundaryConfig, observed: Observed, name: str) -> BigipBundle | str:
    """The CA bundle device `name` verifies the mesh with, or why it is unknown."""
    state = observed.f5.get(name)
    if state is None:
        return f"{name}: could not be read"
    errors = tuple(e for s in observed.sources if s.source == name for e in s.errors)
    use = resolve_bundle(boundary, Device(name, state, errors))
    if isinstance(use, Unknown):
        return use.detail
    subjects: dict[str, str] = {}
    for member in use.members:
        fp = member_fingerprint(member)
        if fp is None:
            return f"{name}: member {member.path} of CA bundle {use.bundle.path} has no fingerprint"
        subjects.setdefault(fp, member.subject)
    client = use.profile.cert
    cert = state.certs.get(client) if client else None
    return BigipBundle(
        device=name,
        path=use.bundle.path,
        fingerprints=frozenset(subjects),
        subjects=subjects,
        client=client,
        client_facts=cert.facts if cert else None,
    )


def _plan(
    cfg: Config,
    boundary: BoundaryConfig,
    observed: Observed,
    view: _MeshView | tuple[str, ...],
    memory: RotationMemory | None,
    shared: tuple[Pending, PodIndex, CertFacts | None] | None,
) -> RotationPlan:
    """`shared`: what depends on the mesh alone (pending pods, the pod index, the outside
    signer), worked out once per plan."""
    problems = list(view) if isinstance(view, tuple) else list(view.problems)
    bundles: list[BigipBundle] = []
    if boundary.mode == "mesh-tls":
        for name in boundary.devices:
            found = _bundle(boundary, observed, name)
            if isinstance(found, str):
                problems.append(found)
            else:
                bundles.append(found)
    if isinstance(view, tuple) or shared is None:
        return _unknown(boundary, problems)
    pending, index, signer = shared
    ctx = Ctx(
        cfg=cfg,
        boundary=boundary,
        mesh=observed.mesh,
        anchors=view.anchors,
        issuer=view.issuer,
        issuing=view.issuing,
        proxies=view.proxies,
        bundles=tuple(bundles),
        pending=pending,
        signer=signer,
        index=index,
    )
    draft = evaluate(ctx)
    if draft.phase != "broken" and problems:
        return _unknown(boundary, problems)
    explanation = draft.explanation
    if problems:
        explanation += f" (also unknown: {'; '.join(problems)})"
    if boundary.mode == "plaintext":
        explanation += " BIG-IP sends plaintext on this boundary, so only the mesh side counts."
    return _finish(boundary, draft, explanation)


def _pending(memory: RotationMemory | None, view: _MeshView) -> Pending:
    """The running pods that may predate the issuer's current anchors (module docstring)."""
    current = view.proxies
    if current is None:
        return Pending(None)
    key = tuple(sorted(a.fingerprint_sha256 for a in view.issuing))
    if memory is None or memory.issuing != key:
        return Pending(tuple(p.pod for p in current))
    if memory.pending is None:
        return Pending(None, since=memory.since)
    still = {p.pod for p in current}
    pods = tuple(p for p in memory.pending if p in still)
    return Pending(pods, memory.witnessed, memory.since)


def _outside_signer(issuer: Issuer, anchors: Sequence[CertFacts]) -> CertFacts | None:
    """A certificate shipped with the issuer (ca.crt, its PEM chain) that signs it, when no
    mesh anchor does: the anchor the issuer was made from."""
    if issuing_anchors(issuer, anchors):
        return None
    for cert in (*issuer.ca_bundle, *issuer.chain):
        if cert.der != issuer.cert.der and signed_by(issuer.cert, cert):
            return cert
    return None


def _unknown(boundary: BoundaryConfig, problems: Sequence[str]) -> RotationPlan:
    shown = list(dict.fromkeys(problems))
    return RotationPlan(
        boundary=boundary.name,
        phase="unknown",
        explanation="cannot tell the rotation phase: " + "; ".join(shown),
        next_steps=("make the missing inputs readable (see the sources), then look again",),
    )


def _finish(boundary: BoundaryConfig, draft: Draft, explanation: str) -> RotationPlan:
    return RotationPlan(
        boundary=boundary.name,
        phase=draft.phase,
        explanation=explanation,
        next_steps=tuple(draft.steps),
        objects=tuple(dict.fromkeys(draft.objects)),
        anchors=tuple(AnchorRole(fp, role, subject) for fp, role, subject in draft.anchors),
    )
