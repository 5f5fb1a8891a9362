"""The `broken` cases of the rotation planner, each with its exact fix.

- `issuer_unverified`: no mesh anchor signs the identity issuer (the identity controller
  cannot verify it);
- `lacking_issuer_anchor`: a BIG-IP bundle or a proxy lacks every anchor that signs the
  issuer (BIG-IP rejects pods' certificates; proxies their peers', linkerd2 #8664);
- `early_removal`: an old anchor is gone from the mesh bundle or a BIG-IP bundle
  while pods the monitor saw running before the issuer moved still run (linkerd2 #4287).
Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from monitor.certs import CertFacts
from monitor.checks.common import when
from monitor.checks.trust.inputs import roots_object
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
    anchor_name,
    and_list,
    bigip_add,
    on_devices,
    restart_commands,
    short,
    workload_objects,
)


def issuer_unverified(ctx: Ctx) -> Draft:
    names, issuer = ctx.names, ctx.issuer.cert
    draft = Draft(
        "broken",
        f"the identity issuer in {names.issuer_secret} ({short(issuer.fingerprint_sha256)},"
        f" {issuer.subject}) is signed by no anchor in {names.roots}: the identity controller"
        " cannot verify it, so meshed pods get no new certificates",
    )
    newest = newest_anchor(ctx.anchors)
    if ctx.signer is not None:
        draft.steps.append(names.add_anchor(ctx.signer, " (the issuer was made from it)"))
        lacking = [b for b in ctx.bundles if ctx.signer.fingerprint_sha256 not in b.fingerprints]
        if lacking:
            why = " so BIG-IP can verify the certificates of pods issued under it"
            draft.steps.append(bigip_add(ctx.signer, bundle_places(lacking), why))
            draft.objects += bundle_objects(lacking)
        draft.steps.append(f"or instead {names.rotate_issuer(newest)}")
    else:
        draft.steps.append(names.rotate_issuer(newest))
    draft.objects += [f"ConfigMap {roots_object(ctx.cfg, ctx.mesh)}", names.issuer_secret]
    return draft


def lacking_issuer_anchor(ctx: Ctx, draft: Draft) -> None:
    """BIG-IP bundles and proxies without any anchor that signs the issuer."""
    issuing = fps(ctx.issuing)
    anchor = ctx.issuing[0]
    lacking = [b for b in ctx.bundles if not issuing & b.fingerprints]
    reasons = []
    if lacking:
        reasons.append(
            f"the identity issuer is signed by {anchor_name(anchor)}, which"
            f" {on_devices(bundle_places(lacking))} lacks: BIG-IP cannot verify the certificates of"
            " pods issued under it"
        )
        why = (
            " now: every meshed pod gets a certificate from this issuer at its next restart"
            f" or leaf refresh ({LEAF_REFRESH}), and BIG-IP rejects it"
        )
        draft.steps.append(bigip_add(anchor, bundle_places(lacking), why))
        draft.objects += bundle_objects(lacking)
    pods = list(ctx.pod_index.without_any(frozenset(issuing)))
    if pods:
        reasons.append(
            f"{pods_phrase(len(pods))} carry a trust bundle without {anchor_name(anchor)}:"
            f" they cannot verify their peers' new certificates ({ISSUE_8664})"
        )
        draft.steps.append(
            f"restart the control plane (`{ctx.names.restart_control_plane()}`), then these"
            f" workloads now: {restart_commands(pods, ctx.mesh.pods)}"
        )
        draft.objects += workload_objects(pods, ctx.mesh.pods)
    draft.explanation = "; ".join(reasons)


def early_removal(ctx: Ctx, old: list[CertFacts], draft: Draft) -> None:
    """linkerd2 #4287: an old anchor gone while pods from before the issuer change run."""
    pending = ctx.pending_pods()
    if not ctx.pending.witnessed or not pending:
        return
    since = when(ctx.pending.since) if ctx.pending.since else "the issuer changed"
    who = f"{pods_phrase(len(pending))} started before the issuer moved (seen at {since})"
    reasons = [draft.explanation] if draft.explanation else []
    restart = f"restart them now: {restart_commands(pending, ctx.mesh.pods)}"
    if not old:
        gone = sorted({fp for p in pending for fp in held_by(p)} - fps(ctx.anchors))
        reasons.append(
            f"the old anchor was removed from {ctx.names.roots} while {who} still run: their"
            " leaf certificates from the old issuer fail at proxies and BIG-IPs that no longer"
            f" trust it ({ISSUE_4287})"
        )
        draft.steps.append(restart)
        if gone:
            back = and_list([short(fp) for fp in gone])
            draft.steps.append(f"or put anchor {back} back into {ctx.names.roots} until then")
        draft.objects += workload_objects(pending, ctx.mesh.pods)
    else:
        lacking = [b for b in ctx.bundles if fps(old) - b.fingerprints]
        for anchor in old:
            places = [b for b in lacking if anchor.fingerprint_sha256 not in b.fingerprints]
            if not places:
                continue
            reasons.append(
                f"{on_devices(bundle_places(places))} no longer holds the old {anchor_name(anchor)}"
                f" while {who} still run: BIG-IP cannot verify their certificates from the old"
                f" issuer ({ISSUE_4287})"
            )
            why = " back until those pods are restarted"
            draft.steps.append(bigip_add(anchor, bundle_places(places), why))
            draft.objects += bundle_objects(places)
        if lacking:
            draft.steps.append(restart)
    draft.explanation = "; ".join(reasons)
