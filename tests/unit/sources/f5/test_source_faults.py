"""F5Source against the simulated BIG-IP: faults, retries, and what survives them."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from monitor.simulate.faults import Fault
from monitor.simulate.httpserver import sim_server_identity
from monitor.sources.f5.exchange import MAX_ATTEMPTS
from monitor.sources.f5.source import F5Source
from tests.support.sim_bigip import NOW, render, running
from tests.unit.sources.f5.test_source import make_config, ok, small_section, world

# -- failures ----------------------------------------------------------------------------


def test_credentials_file_missing_sends_no_request(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        (tmp_path / "password").unlink()
        state, status = w.poll()
        assert w.rt.sim.stats("solo").total == 0
    assert state is None
    assert [e.reason for e in status.errors] == ["credentials_unreadable"]
    assert str(tmp_path / "password") in status.errors[0].message
    assert status.requests == {}


def test_unknown_ca_is_tls_error(tmp_path: Path) -> None:
    other_ca, _ = sim_server_identity(NOW, "some-other-ca")
    with running(render(small_section())) as rt:
        cfg = make_config(tmp_path, rt.sim.url("solo"), other_ca.pem)
        source = F5Source(cfg.bigip[0], cfg, clock=rt.clock)
        state, status = source.poll()
        source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["tls_error"]
    assert "CERTIFICATE_VERIFY_FAILED" in status.errors[0].message


def test_connection_refused_is_connect_error_after_retries(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = make_config(tmp_path, f"https://127.0.0.1:{port}", sim_server_identity(NOW, "x")[0].pem)
    waits: list[float] = []
    source = F5Source(cfg.bigip[0], cfg, sleep=waits.append)
    state, status = source.poll()
    source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["connect_error"]
    assert status.requests == {"error": MAX_ATTEMPTS}  # the login, tried and retried
    # jittered exponential backoff: 0.25-0.5 s, 0.5-1 s, 1-2 s
    assert len(waits) == MAX_ATTEMPTS - 1
    for n, wait in enumerate(waits):
        assert 0.25 * 2**n <= wait <= 0.5 * 2**n


def _after_first_poll(tmp_path: Path, *faults: Fault, **settings: Any) -> tuple[Any, Any]:
    """Poll once (logged in), arm `faults` for the next requests, poll with concurrency 1:
    they hit the first collection read (ltm/virtual, partition Common)."""
    with world(tmp_path, f5Concurrency=1, **settings) as w:
        ok(w.poll())
        for fault in faults:
            w.rt.sim.inject(fault)
        return w.poll()


def test_a_503_burst_is_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    state, status = _after_first_poll(tmp_path, Fault("solo", "http503", count=MAX_ATTEMPTS - 1))
    assert ok((state, status)) is not None
    assert status.requests["503"] == MAX_ATTEMPTS - 1
    assert set(state.virtuals) == {"/k8s/Shared/shop_443", "/Common/edge_vs"}


def test_a_503_that_outlasts_the_retries_fails_one_collection_only(tmp_path: Path) -> None:
    state, status = _after_first_poll(tmp_path, Fault("solo", "http503", count=MAX_ATTEMPTS))
    assert state is not None
    assert not status.up
    assert state.failed == frozenset({"ltm/virtual"})
    [error] = status.errors
    assert (error.reason, error.target) == ("http_5xx", "ltm/virtual")
    assert error.message == (
        "solo: ltm/virtual (partition Common): HTTP 503:"
        " There is an active asynchronous task executing."
    )
    assert status.requests["503"] == MAX_ATTEMPTS
    # what was read is kept (presence is proven), but absence is not: the collection failed
    assert set(state.virtuals) == {"/k8s/Shared/shop_443"}
    assert "/k8s/Shared/nginx_ingress_443" in state.pools
    assert state.bundles["/k8s/Shared/serverssl_ca_bundle"].members is not None


def test_html_500_page_is_http_5xx(tmp_path: Path) -> None:
    state, status = _after_first_poll(tmp_path, Fault("solo", "http500html", count=1))
    assert state is not None
    [error] = status.errors
    assert error.reason == "http_5xx"
    assert error.message == (
        "solo: ltm/virtual (partition Common): HTTP 500: HTML error page"
        ' "Error 500 AsyncContext timeout"'
    )


def test_truncated_body_is_bad_json(tmp_path: Path) -> None:
    state, status = _after_first_poll(tmp_path, Fault("solo", "truncate", count=1))
    assert state is not None
    assert [e.reason for e in status.errors] in (["bad_json"], ["protocol_error"])
    assert state.failed == frozenset({"ltm/virtual"})


def test_resets_are_retried(tmp_path: Path) -> None:
    state, status = _after_first_poll(tmp_path, Fault("solo", "reset", count=2))
    assert ok((state, status)) is not None
    assert status.requests["error"] == 2
    assert len(state.virtuals) == 2


def test_reset_on_every_attempt_is_protocol_or_connect_error(tmp_path: Path) -> None:
    state, status = _after_first_poll(tmp_path, Fault("solo", "reset", count=MAX_ATTEMPTS))
    assert [e.reason for e in status.errors] in (["protocol_error"], ["connect_error"])
    assert status.requests.get("error") == MAX_ATTEMPTS
    if state is not None:
        assert "ltm/virtual" in state.failed


def test_latency_beyond_the_timeout_is_retried_then_timeout(tmp_path: Path) -> None:
    slow = Fault("solo", "latency", count=MAX_ATTEMPTS, delay=0.6)
    state, status = _after_first_poll(tmp_path, slow, timeout="200ms")
    assert state is not None
    [error] = status.errors
    assert (error.reason, error.target) == ("timeout", "ltm/virtual")
    assert error.message.startswith("solo: ltm/virtual (partition Common): timed out")
    assert status.requests["error"] == MAX_ATTEMPTS
    assert "/k8s/Shared/nginx_ingress_443" in state.pools


def test_one_slow_answer_is_retried(tmp_path: Path) -> None:
    slow = Fault("solo", "latency", count=1, delay=0.6)
    state, status = _after_first_poll(tmp_path, slow, timeout="200ms")
    assert ok((state, status)) is not None
    assert status.requests["error"] == 1
    assert len(state.virtuals) == 2


def test_ssl_cert_failure_makes_the_bundles_unknown(tmp_path: Path) -> None:
    with world(tmp_path, partitions=["k8s", "Common"], f5Concurrency=1) as w:
        ok(w.poll())
        # concurrency 1 reads in order: 4 LTM collections x 2 partitions, then ssl-cert
        w.rt.sim.inject(Fault("solo", "latency", count=8, delay=0.001))
        w.rt.sim.inject(Fault("solo", "http503", count=MAX_ATTEMPTS))
        state, status = w.poll()
    assert state is not None
    assert state.failed == frozenset({"sys/file/ssl-cert"})
    made = state.bundles["/k8s/Shared/serverssl_ca_bundle"]
    assert made.members is None
    assert made.unknown_reason == "sys/file/ssl-cert could not be read completely (http_5xx)"
    assert [e.target for e in status.errors] == ["sys/file/ssl-cert"]
