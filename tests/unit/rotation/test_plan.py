"""The rotation planner on observed worlds: every phase, a full anchor rotation, the broken
cases (linkerd2 #4287, #8664), unknown inputs, and the memory of restarted pods.

Worlds are built with tests/support/checkdata.py: the `shop` boundary (bigip-a, bigip-b, CA bundle
`SHOP_BUNDLE`) in front of two meshed ingress pods. Anchor A is the old one, B the new one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from monitor.config.schema import Config
from monitor.daemon.cycle import log_rotation_changes
from monitor.model import (
    CaBundle,
    CertManagerCertificate,
    CheckResult,
    Endpoint,
    Issuer,
    Observed,
    ProxyBundle,
)
from monitor.rotation.context import PHASES
from monitor.rotation.plan import RotationMemory, RotationPlan, plan_rotation, remember
from monitor.state.snapshot import Snapshot, next_snapshot
from tests.support.certhelpers import CLIENT_AUTH, Issued, anchor, intermediate, key_for, leaf
from tests.support.checkdata import (
    BIGIP_ID,
    CLIENT_CERT_PATH,
    DAY,
    NOW,
    SHOP_BUNDLE,
    WEB,
    bigip_certs,
    bundle,
    config,
    f5,
    mesh,
    observed,
    pod_of,
    shop,
    ssl_cert,
)

A = anchor(
    "root.linkerd.cluster.local",
    key=key_for("ec256", 41),
    not_before=NOW - 400 * DAY,
    not_after=NOW + 20 * DAY,
)
B = anchor(
    "root.linkerd.cluster.local",
    key=key_for("ec256", 42),
    not_before=NOW - 2 * DAY,
    not_after=NOW + 3650 * DAY,
)
ISSUER_A = intermediate("identity.linkerd.cluster.local", A, key=key_for("ec256", 43))
ISSUER_B = intermediate("identity.linkerd.cluster.local", B, key=key_for("ec256", 44))
CLIENT_A = leaf(BIGIP_ID, ISSUER_A, eku=(CLIENT_AUTH,), key=key_for("ec256", 45))
CLIENT_B = leaf(BIGIP_ID, ISSUER_B, eku=(CLIENT_AUTH,), key=key_for("ec256", 45))
PODS = ("ingress/nginx-ingress-1", "ingress/nginx-ingress-2")


def fp(issued: Issued) -> str:
    return issued.facts.fingerprint_sha256


def short(issued: Issued) -> str:
    return f"SHA256 {fp(issued)[:16]}…"


def world(
    anchors: Sequence[Issued] = (A,),
    issuer: Issued = ISSUER_A,
    bigip: Sequence[Issued] | dict[str, Sequence[Issued]] = (A,),
    pods: Sequence[Issued] = (A,),
    generation: int = 0,
    client: Issued = CLIENT_A,
    **mesh_changes: object,
) -> Observed:
    """The shop world: `bigip` is the CA bundle on both devices (or per device), `pods`
    the bundle frozen in both pods' proxies, renamed by `generation` (a restart)."""
    per_device = bigip if isinstance(bigip, dict) else {"bigip-a": bigip, "bigip-b": bigip}
    certs = {**bigip_certs(), CLIENT_CERT_PATH: ssl_cert(client, CLIENT_CERT_PATH, parsed=True)}
    devices = []
    for name, held in per_device.items():
        members = tuple(ssl_cert(a, f"/Common/anchor-{fp(a)[:8]}.crt") for a in held)
        devices.append(f5(name, bundles={SHOP_BUNDLE: bundle(*members)}, certs=certs))
    proxies = tuple(ProxyBundle(f"{p}-{generation}", tuple(fp(a) for a in pods)) for p in PODS)
    changes: dict[str, object] = {
        "anchors": tuple(a.facts for a in anchors),
        "issuer": Issuer("linkerd.io/tls", issuer.facts, ()),
        "proxies": proxies,
        **mesh_changes,
    }
    return observed(devices, mesh(**changes))


def plan(
    obs: Observed, memory: RotationMemory | None = None, cfg: Config | None = None
) -> RotationPlan:
    (only,) = plan_rotation(cfg or config(), obs, memory)
    return only


def steps(p: RotationPlan) -> str:
    return "\n".join(p.next_steps)


# --- A full rotation, step by step (research/linkerd.md section 6.1) -----------------------

WALK: list[tuple[str, Observed, str, tuple[str, ...]]] = [
    ("before", world(), "steady", ("nothing to do",)),
    (
        "new anchor B added to the mesh bundle",
        world(anchors=(B, A)),
        "new_anchor_in_mesh",
        (
            f"add anchor {short(B)}",
            f"to {SHOP_BUNDLE} on bigip-a and bigip-b before the issuer is rotated",
            "restart the control plane",
            "only then rotate the issuer",
        ),
    ),
    (
        "B added to the BIG-IP bundles",
        world(anchors=(B, A), bigip=(A, B)),
        "new_anchor_in_mesh",
        ("meshed workloads whose proxies lack it",),
    ),
    (
        "workloads restarted: proxies carry A and B",
        world(anchors=(B, A), bigip=(A, B), pods=(B, A), generation=1),
        "new_anchor_staged_everywhere",
        (f"rotate the identity issuer onto anchor {short(B)}", "linkerd upgrade"),
    ),
    (
        "issuer reissued from B (and BIG-IP's client certificate with it)",
        world(
            anchors=(B, A),
            issuer=ISSUER_B,
            bigip=(A, B),
            pods=(B, A),
            generation=1,
            client=CLIENT_B,
        ),
        "issuer_rotated",
        (
            "restart the meshed workloads so every proxy holds a leaf certificate",
            f"keep {short(A)} in ConfigMap linkerd/linkerd-identity-trust-roots",
            "linkerd2/issues/4287",
        ),
    ),
    (
        "workloads restarted again",
        world(
            anchors=(B, A),
            issuer=ISSUER_B,
            bigip=(A, B),
            pods=(B, A),
            generation=2,
            client=CLIENT_B,
        ),
        "old_anchor_removable",
        (
            f"remove anchor {short(A)}",
            "from ConfigMap linkerd/linkerd-identity-trust-roots",
            f"then remove anchor {short(A)} from {SHOP_BUNDLE} on bigip-a and bigip-b",
        ),
    ),
    (
        "A removed from the mesh bundle",
        world(
            anchors=(B,), issuer=ISSUER_B, bigip=(A, B), pods=(B, A), generation=2, client=CLIENT_B
        ),
        "old_anchor_removable",
        ("still carry the old bundle", f"remove anchor {short(A)} from {SHOP_BUNDLE}"),
    ),
    (
        "A removed from BIG-IP, workloads restarted",
        world(anchors=(B,), issuer=ISSUER_B, bigip=(B,), pods=(B,), generation=3, client=CLIENT_B),
        "steady",
        ("nothing to do",),
    ),
]


def test_a_full_anchor_rotation_walks_every_phase_in_order() -> None:
    memory = None
    seen = []
    for day, (name, obs, phase, texts) in enumerate(WALK):
        memory = remember(memory, obs, NOW + day * DAY)
        result = plan(obs, memory)
        seen.append(result.phase)
        assert result.phase == phase, (name, result.explanation)
        for text in texts:
            assert text in steps(result), (name, text, steps(result))
    assert list(dict.fromkeys(seen)) == [
        "steady",
        "new_anchor_in_mesh",
        "new_anchor_staged_everywhere",
        "issuer_rotated",
        "old_anchor_removable",
    ]


def test_each_plan_names_the_objects_and_anchors() -> None:
    result = plan(world(anchors=(B, A)))
    assert result.objects[:2] == (f"bigip-a:{SHOP_BUNDLE}", f"bigip-b:{SHOP_BUNDLE}")
    assert {(a.fingerprint, a.role) for a in result.anchors} == {(fp(B), "new"), (fp(A), "issuer")}
    cleanup = plan(world(anchors=(B,), issuer=ISSUER_B, bigip=(A, B), pods=(B,), client=CLIENT_B))
    assert (fp(A), "not_in_mesh") in {(a.fingerprint, a.role) for a in cleanup.anchors}


# --- Broken: what outages look like ---------------------------------------------------------


def test_issuer_signed_by_an_anchor_the_bigips_lack_is_broken() -> None:
    # the demo: the issuer already comes from B, which neither BIG-IP bundle holds
    result = plan(world(anchors=(A, B), issuer=ISSUER_B, pods=(A, B), client=CLIENT_B))
    assert result.phase == "broken"
    assert f"add anchor {short(B)}" in result.next_steps[0]
    assert f"to {SHOP_BUNDLE} on bigip-a and bigip-b now" in result.next_steps[0]
    assert result.objects == (f"bigip-a:{SHOP_BUNDLE}", f"bigip-b:{SHOP_BUNDLE}")


def test_one_device_lacking_the_issuer_anchor_is_named_alone() -> None:
    obs = world(anchors=(A, B), issuer=ISSUER_B, bigip={"bigip-a": (A, B), "bigip-b": (A,)})
    result = plan(dataclasses.replace(obs, mesh=dataclasses.replace(obs.mesh, proxies=())))
    assert result.phase == "broken"
    assert f"{SHOP_BUNDLE} on bigip-b now" in result.next_steps[0]
    assert "bigip-a" not in result.next_steps[0]


def test_proxies_without_the_issuer_anchor_are_broken() -> None:
    result = plan(world(anchors=(B, A), issuer=ISSUER_B, bigip=(A, B), pods=(A,)))
    assert result.phase == "broken"
    assert "linkerd2/issues/8664" in result.explanation
    assert "kubectl -n ingress rollout restart" in steps(result)


def test_an_issuer_no_mesh_anchor_signs_is_broken() -> None:
    # the issuer Secret's ca.crt holds B, but the mesh bundle only A
    issuer = Issuer("kubernetes.io/tls", ISSUER_B.facts, (), ca_bundle=(B.facts,))
    result = plan(_with_issuer(issuer))
    assert result.phase == "broken"
    assert "is signed by no anchor in ConfigMap linkerd/linkerd-identity-trust-roots" in (
        result.explanation
    )
    assert result.next_steps[0].startswith(f"add anchor {short(B)} (")
    assert "to ConfigMap linkerd/linkerd-identity-trust-roots" in result.next_steps[0]
    assert f"to {SHOP_BUNDLE} on bigip-a and bigip-b" in result.next_steps[1]
    assert [(a.fingerprint, a.role) for a in result.anchors] == [(fp(A), "old")]
    assert "or instead rotate the identity issuer" in steps(result)


def _with_issuer(issuer: Issuer) -> Observed:
    obs = world()
    return dataclasses.replace(obs, mesh=dataclasses.replace(obs.mesh, issuer=issuer))


def _after_issuer_change(final: Observed) -> RotationMemory | None:
    """The memory of a monitor that saw the issuer move from A to B with pods generation 1."""
    before = world(anchors=(B, A), bigip=(A, B), pods=(B, A), generation=1)
    memory = remember(None, before, NOW)
    changed = world(
        anchors=(B, A), issuer=ISSUER_B, bigip=(A, B), pods=(B, A), generation=1, client=CLIENT_B
    )
    memory = remember(memory, changed, NOW + DAY)
    return remember(memory, final, NOW + 2 * DAY)


def test_old_anchor_removed_from_the_mesh_before_the_restart_is_broken_4287() -> None:
    early = world(
        anchors=(B,), issuer=ISSUER_B, bigip=(A, B), pods=(B, A), generation=1, client=CLIENT_B
    )
    memory = _after_issuer_change(early)
    assert memory is not None
    assert memory.witnessed
    result = plan(early, memory)
    assert result.phase == "broken"
    assert "linkerd2/issues/4287" in result.explanation
    assert "restart them now" in result.next_steps[0]
    assert f"or put anchor {short(A)} back into ConfigMap" in result.next_steps[1]
    # without the memory (a one-shot run) the same world is the cleanup phase, not a guess
    assert plan(early).phase == "old_anchor_removable"


def test_old_anchor_removed_from_bigip_before_the_restart_is_broken_4287() -> None:
    early = world(
        anchors=(B, A), issuer=ISSUER_B, bigip=(B,), pods=(B, A), generation=1, client=CLIENT_B
    )
    result = plan(early, _after_issuer_change(early))
    assert result.phase == "broken"
    assert f"add anchor {short(A)}" in result.next_steps[0]
    assert "back until those pods are restarted" in result.next_steps[0]
    # not witnessed: still asks to put it back, without claiming an outage
    unsure = plan(early)
    assert unsure.phase == "issuer_rotated"
    assert f"add anchor {short(A)}" in steps(unsure)


def test_broken_is_reported_even_when_another_device_is_unknown() -> None:
    obs = world(anchors=(A, B), issuer=ISSUER_B, pods=(A, B), client=CLIENT_B)
    obs = dataclasses.replace(obs, f5={"bigip-a": obs.f5["bigip-a"]})  # bigip-b unreadable
    result = plan(obs)
    assert result.phase == "broken"
    assert "also unknown: bigip-b: could not be read" in result.explanation


# --- issuer_rotated versus old_anchor_removable -------------------------------------------


def test_without_memory_every_running_pod_counts_as_not_restarted() -> None:
    rotated = world(
        anchors=(B, A), issuer=ISSUER_B, bigip=(A, B), pods=(B, A), generation=5, client=CLIENT_B
    )
    result = plan(rotated)
    assert result.phase == "issuer_rotated"
    assert "2 meshed pods running since before" in result.explanation
    assert "leaf certificates are not visible" in result.explanation


def test_a_client_certificate_from_the_old_issuer_holds_the_old_anchor() -> None:
    final = world(anchors=(B, A), issuer=ISSUER_B, bigip=(A, B), pods=(B, A), generation=2)
    result = plan(final, _after_issuer_change(final))
    assert result.phase == "issuer_rotated"
    assert result.next_steps[0].startswith(
        f"renew BIG-IP's client certificate {CLIENT_CERT_PATH} on bigip-a from the current issuer"
    )
    assert f"bigip-b:{CLIENT_CERT_PATH}" in result.objects


def test_removal_with_trust_manager_uses_the_previous_anchor_secret() -> None:
    final = world(
        anchors=(B, A),
        issuer=ISSUER_B,
        bigip=(A, B),
        pods=(B, A),
        generation=2,
        client=CLIENT_B,
        external_ca=True,
    )
    result = plan(final, _after_issuer_change(final))
    assert result.phase == "old_anchor_removable"
    assert "copy Secret cert-manager/linkerd-trust-anchor onto" in result.next_steps[0]
    assert "cert-manager/linkerd-previous-anchor" in result.next_steps[0]


def test_issuer_rotation_with_cert_manager_uses_cmctl() -> None:
    certificate = CertManagerCertificate(
        "linkerd/linkerd-identity-issuer", None, None, None, None, True
    )
    staged = world(anchors=(B, A), bigip=(A, B), pods=(B, A), issuer_certificate=certificate)
    result = plan(staged)
    assert result.phase == "new_anchor_staged_everywhere"
    assert "`cmctl renew -n linkerd linkerd-identity-issuer`" in result.next_steps[0]


def test_restart_commands_name_the_owning_workload() -> None:
    obs = world(anchors=(B, A), bigip=(A, B))
    proxies = obs.mesh.proxies or ()
    labels = {"linkerd.io/proxy-deployment": "nginx-ingress"}
    pods = {
        p.pod: pod_of(Endpoint("10.42.0.1", 443, True, p.pod, "nginx-ingress", True), labels, {})
        for p in proxies
    }
    result = plan(dataclasses.replace(obs, mesh=dataclasses.replace(obs.mesh, pods=pods)))
    assert "`kubectl -n ingress rollout restart deployment/nginx-ingress` (2 pods)" in steps(result)
    assert "Deployment ingress/nginx-ingress" in result.objects


def test_the_newest_anchor_is_the_latest_not_before_then_the_first_listed() -> None:
    twin = anchor(
        "root.linkerd.cluster.local",
        key=key_for("ec256", 46),
        not_before=A.facts.not_before,
        not_after=NOW + 900 * DAY,
    )
    issuer_twin = intermediate("identity.linkerd.cluster.local", twin, key=key_for("ec256", 47))
    # same notBefore: the first in the bundle counts as new (step certificate bundle new old)
    assert plan(world(anchors=(twin, A), pods=(twin, A), bigip=(A, twin))).phase == (
        "new_anchor_staged_everywhere"
    )
    assert plan(
        world(anchors=(A, twin), issuer=issuer_twin, pods=(twin, A), bigip=(A, twin))
    ).phase == ("new_anchor_staged_everywhere")


def test_a_plaintext_boundary_is_judged_on_the_mesh_side_only() -> None:
    cfg = config(shop(), WEB)
    plans = plan_rotation(cfg, world(anchors=(B, A), pods=(B, A)))
    assert [p.phase for p in plans] == ["new_anchor_in_mesh", "new_anchor_staged_everywhere"]
    assert "only the mesh side counts" in plans[1].explanation


# --- Unknown inputs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"anchors": None}, "trust anchors unknown"),
        ({"issuer": None}, "identity issuer unknown"),
        ({"proxies": None}, "trust bundles of the meshed pods unknown"),
        (
            {"proxies": (ProxyBundle("ingress/x", None, "env from a Secret"),)},
            "trust bundle of pod ingress/x unreadable (env from a Secret)",
        ),
    ],
    ids=["anchors", "issuer", "proxies", "unreadable-proxy"],
)
def test_unknown_mesh_inputs_give_unknown(change: dict[str, Any], detail: str) -> None:
    obs = world()
    result = plan(dataclasses.replace(obs, mesh=dataclasses.replace(obs.mesh, **change)))
    assert result.phase == "unknown"
    assert detail in result.explanation


def test_unknown_bundle_contents_give_unknown() -> None:
    obs = world()
    unread = CaBundle(SHOP_BUNDLE, None, "none", "bundleReader none")
    bigip_b = dataclasses.replace(obs.f5["bigip-b"], bundles={SHOP_BUNDLE: unread})
    result = plan(dataclasses.replace(obs, f5={**obs.f5, "bigip-b": bigip_b}))
    assert result.phase == "unknown"
    assert f"contents of CA bundle {SHOP_BUNDLE} unknown" in result.explanation
    down = plan(dataclasses.replace(obs, f5={"bigip-a": obs.f5["bigip-a"]}))
    assert (down.phase, "bigip-b: could not be read" in down.explanation) == ("unknown", True)


# --- The memory -----------------------------------------------------------------------------


def test_remember_follows_the_pods_running_when_the_issuer_moved() -> None:
    start = remember(None, world(), NOW)
    assert start == RotationMemory((fp(A),), NOW, tuple(f"{p}-0" for p in PODS), witnessed=False)
    same = remember(start, world(generation=1), NOW + DAY)
    assert same is not None
    assert (same.since, same.pending) == (NOW, ())  # every pod of then was replaced
    moved = remember(
        same, world(anchors=(B, A), issuer=ISSUER_B, pods=(B, A), generation=1), NOW + 2 * DAY
    )
    assert moved is not None
    assert (moved.issuing, moved.since, moved.witnessed) == ((fp(B),), NOW + 2 * DAY, True)
    assert moved.pending == tuple(f"{p}-1" for p in PODS)
    obs = world(anchors=(B, A), issuer=ISSUER_B, pods=(B, A), generation=1)
    blind = dataclasses.replace(obs, mesh=dataclasses.replace(obs.mesh, proxies=None))
    assert remember(moved, blind, NOW + 3 * DAY) == moved
    no_issuer = dataclasses.replace(obs, mesh=dataclasses.replace(obs.mesh, issuer=None))
    assert remember(moved, no_issuer, NOW + 3 * DAY) == moved


def test_every_phase_is_named_in_the_state_set() -> None:
    assert PHASES == (
        "steady",
        "new_anchor_in_mesh",
        "new_anchor_staged_everywhere",
        "issuer_rotated",
        "old_anchor_removable",
        "broken",
        "unknown",
    )


def test_since_is_reported_when_the_memory_has_it() -> None:
    final = world(
        anchors=(B, A), issuer=ISSUER_B, bigip=(A, B), pods=(B, A), generation=1, client=CLIENT_B
    )
    result = plan(final, _after_issuer_change(final))
    assert result.phase == "issuer_rotated"
    assert f"at {(NOW + DAY):%Y-%m-%d %H:%M} UTC" in result.explanation


def test_the_daemon_logs_phase_changes_once(caplog: pytest.LogCaptureFixture) -> None:
    def snap(previous: Snapshot | None, obs: Observed, memory: RotationMemory | None) -> Snapshot:
        plans = plan_rotation(config(), obs, memory)
        return next_snapshot(previous, obs, CheckResult(), NOW, 0.1, rotation=plans)

    steady = snap(None, world(), None)
    staged = snap(steady, world(anchors=(B, A)), None)
    again = snap(staged, world(anchors=(B, A)), None)
    with caplog.at_level(logging.INFO, logger="monitor"):
        log_rotation_changes(None, steady)
        log_rotation_changes(steady, staged)
        log_rotation_changes(staged, again)
    lines = [r.message for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith(
        "rotation: boundary shop is new_anchor_in_mesh (was steady); next: add anchor SHA256"
    )
