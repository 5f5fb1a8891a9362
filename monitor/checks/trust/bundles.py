"""Trust checks that compare copies of the anchor bundle with the one in force.

Owns two checks:
- `trust_roots_config_mismatch`: the trust-roots ConfigMap (what the identity controller,
  the injector and new proxies use) against the copy in `linkerd-config` values
  (`identityTrustAnchorsPEM`, which `linkerd upgrade` reuses and `linkerd check` reads),
  compared as sets of DER fingerprints. Not applicable (pass, with a note) when
  `identity.externalCA` is true, because then trust-manager or another tool writes the
  ConfigMap and the values copy may be stale by design, or when the anchors were read from
  `linkerd-config` itself (Linkerd 2.10 keeps one copy).
- `proxy_trust_bundle_stale`: each meshed pod's proxy carries the bundle the injector gave
  it, frozen at injection (env `LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS`); a pod whose set of
  anchors differs from the current one must be restarted (Linkerd's `linkerd check --proxy`
  "data plane proxies certificate match CA", but by DER rather than by text). One finding
  per namespace (object: the namespace); critical when a pod's bundle lacks the anchor that
  signs the current issuer, since it cannot verify the new certificates of its peers
  (linkerd2#4287, #8664). The pods are the ones the source lists (the meshed pods behind the
  boundaries), judged as a whole on each boundary like the other mesh-side checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.certs import CertFacts
from monitor.checks.common import bounded, describe
from monitor.checks.outcome import MESH, PASS, Drift, Outcome, Unknown
from monitor.checks.resolve import KUBERNETES
from monitor.checks.trust.inputs import (
    LINKERD_CONFIG,
    config_anchors,
    fingerprints,
    issuing_anchors,
    listed_unknown,
    mesh_anchors,
    mesh_issuer,
    on_linkerd_config,
    proxies,
    roots_object,
    roots_where,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import MeshState, Observed, ProxyBundle
from monitor.policy.model import PodInfo, pod_owner

_RESTART_SHOWN: Final = 3


def _only_in(certs: Sequence[CertFacts], other: set[str]) -> list[CertFacts]:
    return [c for c in certs if c.fingerprint_sha256 not in other]


def trust_roots_config_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Warning when the trust-roots ConfigMap and `linkerd-config` values hold different
    anchors (module docstring); one finding, object: the ConfigMap."""
    mesh = observed.mesh
    if on_linkerd_config(mesh):
        return Outcome(
            notes=(
                f"not applicable: the anchors are read from {LINKERD_CONFIG} itself"
                " (Linkerd 2.10 keeps one copy)",
            )
        )
    if mesh.external_ca is True and not listed_unknown(mesh, "external_ca"):
        return Outcome(
            notes=(
                "not applicable: identity.externalCA is true, so another tool writes the"
                f" trust-roots ConfigMap and the {LINKERD_CONFIG} values copy may be stale",
            )
        )
    current = mesh_anchors(mesh)
    copy = config_anchors(mesh)
    if isinstance(current, Unknown) or isinstance(copy, Unknown):
        return Outcome(unknowns=tuple(u for u in (current, copy) if isinstance(u, Unknown)))
    only_roots = _only_in(current, {c.fingerprint_sha256 for c in copy})
    only_values = _only_in(copy, {c.fingerprint_sha256 for c in current})
    if not only_roots and not only_values:
        return PASS
    if mesh.external_ca is None or listed_unknown(mesh, "external_ca"):
        detail = f"{KUBERNETES}: identity.externalCA in {LINKERD_CONFIG} values unknown"
        return Outcome(unknowns=(Unknown(MESH, detail),))
    values = f"identityTrustAnchorsPEM in ConfigMap {cfg.mesh.linkerd_namespace}/{LINKERD_CONFIG}"
    sides = []
    if only_roots:
        sides.append(f"only in the ConfigMap: {', '.join(describe(c) for c in only_roots)}")
    if only_values:
        sides.append(f"only in {LINKERD_CONFIG}: {', '.join(describe(c) for c in only_values)}")
    message = (
        f"{roots_where(cfg, mesh)} and {values} hold different trust anchors ({'; '.join(sides)});"
        f" the next `linkerd upgrade` reuses the {LINKERD_CONFIG} copy — set"
        " identityTrustAnchorsPEM to the bundle in force"
    )
    evidence = (
        ("only_in_trust_roots", fingerprints(only_roots)),
        ("only_in_linkerd_config", fingerprints(only_values)),
        ("trust_roots", fingerprints(current)),
        ("linkerd_config", fingerprints(copy)),
    )
    return Outcome(drifts=(Drift("warning", roots_object(cfg, mesh), message, evidence),))


def _name(proxy: ProxyBundle) -> str:
    return proxy.pod.partition("/")[2] or proxy.pod


def _restart_hint(namespace: str, stale: Sequence[ProxyBundle], pods: Mapping[str, PodInfo]) -> str:
    """`kubectl -n ns rollout restart deployment/a`, naming the owners the injector's labels
    tell (at most `_RESTART_SHOWN`), else a placeholder."""
    owners: dict[str, None] = {}
    for proxy in stale:
        owner = pod_owner(pods.get(proxy.pod))
        if owner:
            owners[f"{owner[0]}/{owner[1]}"] = None
    names = sorted(owners)
    shown = " ".join(names[:_RESTART_SHOWN]) + (" ..." if len(names) > _RESTART_SHOWN else "")
    return f"kubectl -n {namespace} rollout restart {shown or '<workload>'}"


def _namespace_drift(
    namespace: str,
    stale: list[ProxyBundle],
    current: tuple[CertFacts, ...],
    issuing: frozenset[str],
    mesh: MeshState,
) -> Drift:
    count = len(stale)
    names = [_name(p) for p in stale]
    unreadable = [p for p in stale if p.anchors is None]
    cut_off = [
        p for p in stale if p.anchors is not None and issuing and not issuing & set(p.anchors)
    ]
    pods_word = "meshed pod" if count == 1 else "meshed pods"
    carry, them = ("carries", "it") if count == 1 else ("carry", "them")
    what = "an old or unreadable trust bundle" if unreadable else "an old trust bundle"
    head = f"{count} {pods_word} in {namespace} still {carry} {what}"
    hint = _restart_hint(namespace, stale, mesh.pods)
    if cut_off:
        message = (
            f"{head}, {len(cut_off)} without the anchor that signs the current issuer (they"
            f" cannot verify their peers' new certificates); restart {them} now ({hint})"
        )
    else:
        message = f"{head}; restart {them} ({hint})"
    bundles = sorted({"+".join(p.anchors) for p in stale if p.anchors is not None})
    evidence: list[tuple[str, str]] = [
        ("namespace", namespace),
        ("count", str(count)),
        ("pods", bounded(names)),
        ("current_anchors", fingerprints(current)),
    ]
    if bundles:
        evidence.append(("frozen_bundles", bounded(bundles)))
    if issuing:
        evidence.append(("issuer_anchors", ",".join(sorted(issuing))))
    if cut_off:
        evidence.append(("without_issuer_anchor", bounded([_name(p) for p in cut_off])))
    if unreadable:
        problems = [f"{_name(p)}: {p.problem or 'unreadable'}" for p in unreadable]
        evidence.append(("unreadable", bounded(problems)))
    severity: Severity = "critical" if cut_off else "warning"
    return Drift(severity, namespace, message, tuple(evidence))


def proxy_trust_bundle_stale(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Meshed pods whose frozen bundle differs (as a set) from the current anchors, or
    cannot be read: one finding per namespace (module docstring).

    When the issuer is unknown, stale pods are reported as warnings and the detail says
    the issuer's anchor could not be looked for; when no anchor signs the issuer
    (`issuer_chain` reports that), likewise without the critical grade. The answer depends
    on the mesh alone: registered `mesh_wide`, it is worked out once per run, not once per
    boundary.
    """
    mesh = observed.mesh
    pods = proxies(mesh)
    current = mesh_anchors(mesh)
    if isinstance(pods, Unknown) or isinstance(current, Unknown):
        return Outcome(unknowns=tuple(u for u in (current, pods) if isinstance(u, Unknown)))
    fps = frozenset(a.fingerprint_sha256 for a in current)
    stale: dict[str, list[ProxyBundle]] = {}
    for proxy in pods:
        if proxy.anchors is None or frozenset(proxy.anchors) != fps:
            stale.setdefault(proxy.namespace, []).append(proxy)
    if not stale:
        return PASS
    issuer = mesh_issuer(mesh)
    notes: tuple[str, ...] = ()
    issuing: frozenset[str] = frozenset()
    if isinstance(issuer, Unknown):
        notes = (f"{issuer.detail}: stale bundles graded without looking for its anchor",)
    else:
        issuing = frozenset(a.fingerprint_sha256 for a in issuing_anchors(issuer, current))
    drifts = tuple(
        _namespace_drift(ns, sorted(stale[ns], key=lambda p: p.pod), current, issuing, mesh)
        for ns in sorted(stale)
    )
    return Outcome(drifts=drifts, notes=notes)
