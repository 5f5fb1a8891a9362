"""`build_state` contains its parsers: a part whose objects make a parser raise something
unforeseen is unknown (`internal_error`, by the exception's type), the other parts are read."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import pytest

from monitor.sources.mesh import build, records, workloads
from monitor.sources.mesh.build import build_state
from monitor.sources.mesh.source import MeshSource
from tests.support.sim_kube import render, scenario
from tests.unit.sources.mesh.test_build import SHOP, fp, plan_for, views_for
from tests.unit.sources.mesh.test_source import FAST, cluster, mesh_config
from tests.unit.sources.mesh.test_source import SHOP as SHOP_PORT

SECRET = "c2VjcmV0LWtleS1tYXRlcmlhbA=="


def _raise(kind: type[Exception]) -> Any:
    def parser(*args: Any, **kwargs: Any) -> Any:
        raise kind(SECRET)

    return parser


def _built() -> build.Built:
    world = render(scenario())
    plan = plan_for(world, SHOP)
    return build_state(plan, views_for(world, plan))


def test_values_that_make_the_yaml_parser_raise_leave_only_their_parts_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # e.g. a date such as 2025-02-30 in the values: PyYAML raises ValueError, not YAMLError
    monkeypatch.setattr(build, "parse_values", _raise(ValueError))
    built = _built()
    assert [(e.reason, e.target) for e in built.errors] == [
        ("internal_error", "configmap linkerd/linkerd-config")
    ]
    assert built.errors[0].message == (
        "configmap linkerd/linkerd-config: parsing failed with an unexpected ValueError"
        " (stack in the debug log)"
    )
    assert [type(e) for e in built.failures] == [ValueError]
    state = built.state
    # the trust roots ConfigMap is read on its own; what needs the values is unknown
    assert [a.fingerprint_sha256 for a in state.anchors or ()] == fp("anchor-a", "anchor-b")
    assert (state.config_anchors, state.issuer, state.policy) == (None, None, None)
    assert {"config_anchors", "issuer", "policy"} <= state.unknown
    assert state.services["ingress/nginx-ingress"] is not None


def test_a_pod_that_makes_a_parser_raise_makes_the_proxies_unknown_not_the_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(records, "pod_info", _raise(RecursionError))
    built = _built()
    assert {e.reason for e in built.errors} == {"internal_error"}
    assert all(e.target.startswith("pod ingress/") for e in built.errors)
    assert all(SECRET not in e.message for e in built.errors)
    state = built.state
    assert state.proxies is None
    assert "proxies" in state.unknown
    assert state.anchors is not None
    assert state.issuer is not None
    assert state.services["ingress/nginx-ingress"] is not None


def test_a_backend_that_makes_a_parser_raise_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workloads, "slice_endpoints", _raise(TypeError))
    built = _built()
    assert [(e.reason, e.target) for e in built.errors] == [
        ("internal_error", "service ingress/nginx-ingress")
    ]
    assert built.state.services["ingress/nginx-ingress"] is None
    assert built.state.anchors is not None


def test_the_mesh_source_reports_it_down_and_logs_the_failure_once_per_type(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(build, "parse_values", _raise(ValueError))
    caplog.set_level(logging.DEBUG, logger="monitor.sources.mesh.source")
    with cluster(render(scenario()), tmp_path) as (_, kubeconfig):
        source = MeshSource(mesh_config(kubeconfig, SHOP_PORT), watch_options=FAST)
        try:
            state, status = source.poll()
            again, _ = source.poll()
        finally:
            source.close()
    assert not status.up
    assert [e.reason for e in status.errors] == ["internal_error"]
    assert state.anchors is not None  # the rest of the mesh was read
    assert again.anchors is not None
    lines = [r.getMessage() for r in caplog.records if "mesh: parsing failed" in r.getMessage()]
    assert len(lines) == 1  # not once per poll
    assert "Traceback (most recent call last)" in lines[0]  # the stack, at debug level
    assert "in parser" in lines[0]  # the frame that raised
    assert SECRET not in caplog.text


def test_a_pod_whose_parsing_raised_keeps_where_not_what(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The record lives in the watch cache: its failure's stack must not hold the raw pod
    (its containers' env may hold secrets), only where parsing raised."""

    def boom(pod: object) -> object:
        raise ValueError("bad")

    monkeypatch.setattr(records, "pod_info", boom)
    env = [{"name": "TOKEN", "value": "t"}]
    pod = {"metadata": {"name": "p", "namespace": "n"},
           "spec": {"containers": [{"name": "app", "env": env}]}}  # fmt: skip
    record = records.pod_record(pod)
    assert record is not None
    assert record.failure is not None
    assert "boom" in "".join(traceback.format_tb(record.trace))
    tb = record.failure.__traceback__
    assert tb is record.trace
    while tb is not None:
        held = tb.tb_frame.f_locals.values()
        assert not [v for v in held if v is pod or v is pod["spec"] or v is env]
        tb = tb.tb_next
