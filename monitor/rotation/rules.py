"""The phase rules of the rotation planner, on inputs `monitor.rotation.plan` has resolved.

`evaluate(ctx)` decides one boundary's phase and drafts its explanation, steps, objects
and anchor roles; the rules are listed in `monitor.rotation.plan`'s docstring, the broken cases
are `monitor.rotation.broken`'s, the wording `monitor.rotation.steps`'. Pure: no I/O, no
clock reads, no logging.
"""

from __future__ import annotations

from monitor.certs import CertFacts, signed_by
from monitor.checks.common import when
from monitor.checks.trust.inputs import roots_object
from monitor.model import Issuer
from monitor.rotation.broken import early_removal, issuer_unverified, lacking_issuer_anchor
from monitor.rotation.context import (
    Ctx,
    Draft,
    bundle_objects,
    bundle_places,
    fps,
    held_by,
    newest_anchor,
    pods_phrase,
)
from monitor.rotation.steps import (
    ISSUE_4287,
    ISSUE_8664,
    LEAF_REFRESH,
    UNSEEN_WORKLOADS,
    anchor_name,
    and_list,
    bigip_add,
    bigip_remove,
    on_devices,
    restart_commands,
    short,
    workload_objects,
)

__all__ = ["evaluate"]


def evaluate(ctx: Ctx) -> Draft:
    """The phase and the draft of its plan (the rules: `monitor.rotation.plan`)."""
    latest = newest_anchor(ctx.anchors)
    if not ctx.issuing:
        draft = issuer_unverified(ctx)
        draft.anchors = _roles(ctx, latest)
        return draft
    issuing = fps(ctx.issuing)
    draft = Draft("broken")
    lacking_issuer_anchor(ctx, draft)
    old = [a for a in ctx.anchors if a.fingerprint_sha256 not in issuing]
    if latest.fingerprint_sha256 in issuing:
        early_removal(ctx, old, draft)
        if not draft.steps:
            draft = _rotated(ctx, latest, old) if old else _settled(ctx, latest)
    elif not draft.steps:
        draft = _staging(ctx, latest)
    draft.anchors = _roles(ctx, latest)
    return draft


def _roles(ctx: Ctx, latest: CertFacts) -> list[tuple[str, str, str]]:
    issuing = fps(ctx.issuing)
    roles = []
    for anchor in ctx.anchors:
        fp = anchor.fingerprint_sha256
        staged = anchor is latest and bool(issuing)  # newer than the issuer's anchor
        role = "issuer" if fp in issuing else "new" if staged else "old"
        roles.append((fp, role, anchor.subject))
    mesh = fps(ctx.anchors)
    extra: dict[str, str] = {}
    for bundle in ctx.bundles:
        for fp in sorted(bundle.fingerprints - mesh):
            extra.setdefault(fp, bundle.subjects.get(fp, ""))
    for fp in ctx.pod_index.held_outside(frozenset(mesh)):
        extra.setdefault(fp, "")
    roles += [(fp, "not_in_mesh", subject) for fp, subject in extra.items()]
    return roles


def _staging(ctx: Ctx, new: CertFacts) -> Draft:
    fp, names = new.fingerprint_sha256, ctx.names
    signing = and_list([anchor_name(a) for a in ctx.issuing])
    bundles = [b for b in ctx.bundles if fp not in b.fingerprints]
    pods = list(ctx.pod_index.without_any(frozenset((fp,))))
    if not bundles and not pods:
        draft = Draft(
            "new_anchor_staged_everywhere",
            f"the new {anchor_name(new)} is in {names.roots}"
            + (f", in {on_devices(bundle_places(ctx.bundles))}" if ctx.bundles else "")
            + f" and in the bundle of every meshed pod ({len(ctx.pods)}); the identity issuer"
            f" is still signed by {signing}",
        )
        draft.steps.append(names.rotate_issuer(new))
        if ctx.pods:
            draft.steps.append(
                "then restart the meshed workloads so every proxy gets a leaf certificate"
                f" from the new issuer: {restart_commands(ctx.pods, ctx.mesh.pods)};"
                f" {UNSEEN_WORKLOADS}"
            )
        draft.steps.append(
            f"keep {and_list([short(a.fingerprint_sha256) for a in ctx.issuing])} in"
            f" {names.roots} and on BIG-IP until then ({ISSUE_4287})"
        )
        draft.objects += [names.issuer_secret, *workload_objects(ctx.pods, ctx.mesh.pods)]
        return draft
    missing = []
    if bundles:
        missing.append(f"{on_devices(bundle_places(bundles))} lacks it")
    if pods:
        missing.append(f"{pods_phrase(len(pods))} carry a bundle without it")
    draft = Draft(
        "new_anchor_in_mesh",
        f"the mesh trusts the new {anchor_name(new)} besides {signing}, which still signs the"
        f" identity issuer; {' and '.join(missing)}",
    )
    if bundles:
        draft.steps.append(bigip_add(new, bundle_places(bundles), " before the issuer is rotated"))
        draft.objects += bundle_objects(bundles)
    if pods:
        draft.steps.append(
            f"restart the control plane (`{names.restart_control_plane()}`) and the meshed"
            f" workloads whose proxies lack it: {restart_commands(pods, ctx.mesh.pods)}"
        )
        draft.objects += workload_objects(pods, ctx.mesh.pods)
    draft.steps.append(
        f"only then rotate the issuer: one signed by {short(fp)} now would give pods"
        f" certificates that BIG-IP and older proxies cannot verify ({ISSUE_8664})"
    )
    return draft


def _from_issuer(cert: CertFacts, issuer: Issuer) -> bool:
    return any(signed_by(cert, c) for c in (issuer.cert, *issuer.chain))


def _rotated(ctx: Ctx, new: CertFacts, old: list[CertFacts]) -> Draft:
    """The issuer is under `new`; `old` anchors are still in the mesh bundle."""
    names, pending = ctx.names, ctx.pending_pods()
    old_names = and_list([anchor_name(a) for a in old])
    old_short = and_list([short(a.fingerprint_sha256) for a in old])
    stale_client = [
        b for b in ctx.bundles if b.client_facts and not _from_issuer(b.client_facts, ctx.issuer)
    ]
    unread_client = [b for b in ctx.bundles if b.client and b.client_facts is None]
    since = f" at {when(ctx.pending.since)}" if ctx.pending.since else ""
    head = f"the identity issuer is signed by the new {anchor_name(new)}; {old_names} is still"
    if ctx.pending.pods is not None and not pending and not stale_client:
        draft = Draft(
            "old_anchor_removable",
            f"{head} trusted, and every meshed pod behind the boundaries was started after the"
            f" monitor first saw the issuer under the new anchor{since}, so none holds a leaf"
            " certificate from the old issuer",
        )
        for bundle in unread_client:
            draft.steps.append(
                f"first confirm that BIG-IP's client certificate {bundle.client} on"
                f" {bundle.device} was issued under {short(new.fingerprint_sha256)} (its PEM"
                " was not read)"
            )
        draft.steps.append(names.remove_anchors(old, ctx.issuing))
        holding = [b for b in ctx.bundles if fps(old) & b.fingerprints]
        if holding:
            held = sorted(fps(old) & set().union(*(b.fingerprints for b in holding)))
            draft.steps.append("then " + bigip_remove(held, bundle_places(holding)))
            draft.objects += bundle_objects(holding)
        draft.objects.insert(0, f"ConfigMap {roots_object(ctx.cfg, ctx.mesh)}")
        return draft
    if ctx.pending.pods is None:
        why = "which meshed pods were restarted since the issuer changed cannot be told"
    elif pending:
        why = (
            f"{pods_phrase(len(pending))} running since before the monitor first saw the issuer"
            f" under the new anchor{since} may still hold leaf certificates from the old issuer"
            " (leaf certificates are not visible, only pods being replaced are; each proxy also"
            f" refreshes its leaf {LEAF_REFRESH}, but the monitor cannot confirm that)"
        )
    else:
        why = "BIG-IP's client certificate is not from the current issuer"
    draft = Draft("issuer_rotated", f"{head} trusted; {why}")
    for bundle in stale_client:
        draft.steps.append(
            f"renew BIG-IP's client certificate {bundle.client} on {bundle.device} from the"
            f" current issuer ({names.issuer_secret}) before the old anchor goes: proxies that"
            " trust only the new anchor would reject BIG-IP"
        )
        draft.objects.append(f"{bundle.device}:{bundle.client}")
    if pending or ctx.pending.pods is None:
        which = restart_commands(pending, ctx.mesh.pods) if pending else "every meshed workload"
        draft.steps.append(
            "restart the meshed workloads so every proxy holds a leaf certificate from the new"
            f" issuer: {which}; {UNSEEN_WORKLOADS}"
        )
        draft.objects += workload_objects(pending, ctx.mesh.pods)
    lacking = [b for b in ctx.bundles if fps(old) - b.fingerprints]
    for anchor in old:
        places = [b for b in lacking if anchor.fingerprint_sha256 not in b.fingerprints]
        if places:
            why = " back: pods with a leaf from the old issuer cannot be verified without it"
            draft.steps.append(bigip_add(anchor, bundle_places(places), why))
            draft.objects += bundle_objects(places)
    keep = f" and in {on_devices(bundle_places(ctx.bundles))}" if ctx.bundles else ""
    draft.steps.append(
        f"keep {old_short} in {names.roots}{keep} until then: removing it earlier breaks every"
        f" proxy still holding a leaf from the old issuer ({ISSUE_4287})"
    )
    return draft


def _settled(ctx: Ctx, anchor: CertFacts) -> Draft:
    """The issuer is under every mesh anchor (normally: the only one)."""
    names, mesh = ctx.names, fps(ctx.anchors)
    trusted = and_list([anchor_name(a) for a in ctx.anchors])
    extra_bundles = [b for b in ctx.bundles if b.fingerprints - mesh]
    extra_pods = list(ctx.pod_index.beyond(frozenset(mesh)))
    if not extra_bundles and not extra_pods:
        where = f", in {on_devices(bundle_places(ctx.bundles))}" if ctx.bundles else ""
        draft = Draft(
            "steady",
            f"one trust anchor, {trusted}, in {names.roots}{where} and in the bundle of every"
            f" meshed pod ({len(ctx.pods)}); it signs the identity issuer",
        )
        bigip = f" and to {on_devices(bundle_places(ctx.bundles))}" if ctx.bundles else ""
        draft.steps.append(
            f"nothing to do; to rotate, first add the new anchor to {names.roots}{bigip} and"
            " restart the meshed workloads, before touching the issuer"
        )
        return draft
    gone = sorted(
        set().union(*(b.fingerprints for b in extra_bundles), *(held_by(p) for p in extra_pods))
        - mesh
    )
    places = []
    if extra_bundles:
        places.append(on_devices(bundle_places(extra_bundles)))
    if extra_pods:
        places.append(f"the bundles of {pods_phrase(len(extra_pods))}")
    draft = Draft(
        "old_anchor_removable",
        f"the mesh trusts only {trusted}, which signs the identity issuer;"
        f" {and_list([short(fp) for fp in gone])} is no longer in {names.roots} but still in"
        f" {' and '.join(places)}",
    )
    if extra_pods:
        draft.steps.append(
            "restart the meshed workloads whose proxies still carry the old bundle:"
            f" {restart_commands(extra_pods, ctx.mesh.pods)}"
        )
        draft.objects += workload_objects(extra_pods, ctx.mesh.pods)
    for fp in gone:
        holding = [b for b in extra_bundles if fp in b.fingerprints]
        if holding:
            draft.steps.append(bigip_remove([fp], bundle_places(holding)))
            draft.objects += bundle_objects(holding)
    return draft
