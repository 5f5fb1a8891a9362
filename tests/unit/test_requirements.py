"""The requirement table (`monitor.requirements`) says what the checks really need.

Each need is denied in turn on the clean world of the scenario table, with a plaintext
boundary and pinned anchors added so that every check applies: a BIG-IP collection answers
`401 Authorization failed: user=…` (a read-only role without that permission), util/bash is
refused, a Kubernetes grant is withheld (403). One real cycle must then make exactly the
checks the table names for that need `unknown`, and no other.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.catalogue import ALL_CHECKS
from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor
from monitor.requirements import NEEDS, REQUIREMENTS, checks_without
from monitor.simulate.scenario import PatchOp, apply_patch
from monitor.sources.f5.source import F5Source
from monitor.sources.mesh.source import MeshSource
from tests.support.scenario_table import (
    Case,
    base_case,
    copy_case,
    patch_config,
    resolved_from,
    write_scenario,
)

WEB = {
    "name": "web",
    "mode": "plaintext",
    "devices": ["bigip-a", "bigip-b"],
    "virtual": "/k8s/Shared/web_80",
    "backend": {"service": {"namespace": "web", "name": "web", "port": 8080}},
}
BACKEND_NAMESPACES = ("ingress", "web")
POLICY_KINDS = (
    "servers",
    "serverauthorizations",
    "authorizationpolicies",
    "meshtlsauthentications",
    "networkauthentications",
    "httproutes",
)
# the namespaces the backends' MeshTLSAuthentications name (BIG-IP's identity's)
IDENTITY_NAMESPACES = ("f5-edge",)


def _op(op: str, path: str, value: Any) -> PatchOp:
    return PatchOp(op, path, value, "test")


def _rules(need: str) -> list[dict[str, str]]:
    """The withhold rules that take a Kubernetes need away."""
    named = {
        "trust-roots": ("configmaps", "linkerd-identity-trust-roots"),
        "linkerd-config": ("configmaps", "linkerd-config"),
        "issuer-secret": ("secrets", "linkerd-identity-issuer"),
    }
    if need in named:
        resource, name = named[need]
        return [{"resource": resource, "namespace": "linkerd", "name": name}]
    if need == "control-plane-pods":
        return [{"resource": "pods", "namespace": "linkerd"}]
    if need in ("certificates", "certificaterequests"):
        return [{"resource": need, "namespace": "linkerd"}]
    if need == "namespaces":
        return [{"resource": "namespaces", "name": n} for n in BACKEND_NAMESPACES]
    if need == "serviceaccounts":
        return [{"resource": need, "namespace": n} for n in IDENTITY_NAMESPACES]
    kinds = POLICY_KINDS if need == "policy" else (need,)
    return [{"resource": k, "namespace": n} for k in kinds for n in BACKEND_NAMESPACES]


class Denying(httpx.BaseTransport):
    """The device's HTTPS, but `path` (a REST collection or util/bash) answers as BIG-IP
    answers a role without that permission."""

    def __init__(self, ca_file: Path, path: str) -> None:
        self._inner = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(ca_file)))
        self._path = path

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._path and request.url.path == self._path:
            message = (
                "Authorization failed: user=https://localhost/mgmt/shared/authz/users/monitor"
                f" resource={self._path} verb={request.method}"
            )
            return httpx.Response(401, json={"code": 401, "message": message}, request=request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def _case(need: str) -> Case:
    base = base_case()
    ops = [
        _op("add", "/certificates/anchor-later",
            {"cn": "root.linkerd.cluster.local", "ca": True, "notAfter": "+3650d"}),
    ]  # fmt: skip
    if need in ("certificates", "certificaterequests"):  # cert-manager renews the issuer
        ops += [
            _op("replace", "/kubernetes/linkerd/issuer",
                {"scheme": "kubernetes.io/tls", "cert": "issuer"}),
            _op("add", "/kubernetes/linkerd/certManager",
                {"duration": "8760h", "renewBefore": "720h"}),
        ]  # fmt: skip
    if NEEDS[need].side == "kubernetes":
        ops.append(_op("add", "/kubernetes/withhold", _rules(need)))
    expected = (
        _op("add", "/boundaries/-", WEB),
        _op("add", "/mesh/pinnedTrustAnchors", ["fp:anchor"]),
    )
    return copy_case(base, document=apply_patch(base.document, tuple(ops)), expected_patch=expected)


def unknown_after_denying(need: str, directory: Path) -> set[str]:
    """The checks a real cycle leaves `unknown` with `need` denied."""
    from datetime import UTC, datetime

    from monitor.simulate.world import Scenario, World

    case = _case(need)
    now = datetime.now(UTC).replace(microsecond=0)
    world = World(Scenario.load(write_scenario(case, directory), now), now=now)
    world.start(play_timeline=False)
    try:
        config_file = world.write_outputs(directory / "world")["config"]
        patch_config(config_file, case, resolved_from(world.state))
        cfg = load_config(config_file)
        side = NEEDS[need].side
        path = "/mgmt/tm/" + need if side == "bigip" else ""
        f5 = [
            F5Source(device, cfg, transport=Denying(device.ca_file or Path(), path))
            for device in cfg.bigip
        ]
        monitor = Monitor(cfg, f5, MeshSource(cfg), persist=False)
        try:
            snapshot = monitor.cycle()
        finally:
            monitor.close()
    finally:
        world.stop()
    applied = {s.check for s in snapshot.states}
    assert applied == set(ALL_CHECKS), sorted(set(ALL_CHECKS) - applied)
    return {s.check for s in snapshot.states if s.state == "unknown"}


def test_every_check_has_its_needs_and_every_need_is_known() -> None:
    assert set(REQUIREMENTS) == set(ALL_CHECKS)
    for check, needs in REQUIREMENTS.items():
        assert needs <= set(NEEDS), check


@pytest.mark.parametrize("need", [n for n in NEEDS if n != "cm/device"])
def test_denying_a_need_makes_exactly_its_checks_unknown(need: str, tmp_path: Path) -> None:
    logging.disable(logging.WARNING)
    try:
        found = unknown_after_denying(need, tmp_path)
    finally:
        logging.disable(logging.NOTSET)
    predicted = set(checks_without({need}))
    assert predicted <= found, f"the table names checks that still ran: {predicted - found}"
    extra = found - predicted
    assert not extra, f"unknown but not in the table for {need}: {sorted(extra)}"


def test_cm_device_feeds_no_check(tmp_path: Path) -> None:
    """The source reads cm/device (the status page's device list); no check needs it."""
    assert unknown_after_denying("cm/device", tmp_path) == set()
    assert not checks_without({"cm/device"})
