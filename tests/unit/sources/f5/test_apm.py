"""APM's OAuth objects read from the simulated BIG-IP: what the source keeps, that the HMAC
key's sharedSecret is never asked for nor kept, and that a device without APM is one clear
state (no APM request, no error)."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import httpx
import pytest

from monitor.config.schema import load_config
from monitor.model import F5State, SourceStatus
from monitor.requirements import JWK_CONFIGS, OAUTH_PROVIDERS, OIDC_TASKS, PROVISION
from monitor.simulate.bigip.server import RequestStats
from monitor.simulate.scenario import PatchOp, apply_patch
from monitor.sources.f5.apm import APM_SELECT
from monitor.sources.f5.source import F5Source, options
from tests.support.scenario_table import base_case, copy_case, start_world

SECRET = "sim-client-secret-0-do-not-export"


def poll(
    tmp_path: Path, ops: tuple[PatchOp, ...] = ()
) -> tuple[F5State, SourceStatus, RequestStats, str]:
    case = base_case()
    case = copy_case(case, document=apply_patch(case.document, ops))
    world, config, _ = start_world(case, tmp_path)
    try:
        cfg = load_config(config)
        source = F5Source(cfg.device("bigip-a"), cfg)
        try:
            state, status = source.poll()
        finally:
            source.close()
        stats = world.bigip.stats("bigip-a")
        verify = ssl.create_default_context(cafile=str(config.parent / "bigip-ca.pem"))
        with httpx.Client(verify=verify) as client:
            user = (config.parent / "bigip-username").read_text().strip()
            password = (config.parent / "bigip-password").read_text().strip()
            raw = client.get(
                f"{world.bigip.url('bigip-a')}/mgmt/tm/{JWK_CONFIGS}", auth=(user, password)
            ).text
    finally:
        world.stop()
    assert state is not None
    return state, status, stats, raw


def test_apm_objects_are_read_and_the_shared_secret_never(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state, status, stats, raw = poll(tmp_path)
    assert status.up, status.errors
    apm = state.apm
    assert apm is not None
    assert apm.provisioned is True
    provider = apm.providers["/Common/okta-provider"]
    assert provider.use_auto_jwt_config
    assert provider.discovery_interval == 60
    assert provider.jwt_config == "/Common/auto_jwt_okta-provider"
    jwt = apm.jwt_configs["/Common/auto_jwt_okta-provider"]
    assert jwt.allowed_keys == ("/Common/auto_jwk_okta-provider1",)
    assert jwt.allowed_algs == ("RS256",)
    key = apm.jwk_configs["/Common/auto_jwk_okta-provider1"]
    assert (key.kid, key.kty, key.alg) == ("k1", "RSA", "RS256")
    assert key.n
    assert key.e == "AQAB"
    assert [(t.provider, t.cancelled) for t in apm.tasks] == [("/Common/okta-provider", False)]
    assert "sharedSecret" not in APM_SELECT[JWK_CONFIGS]
    assert ("$select", APM_SELECT[JWK_CONFIGS]) in options(JWK_CONFIGS)
    # the simulated device does serve the secret to a request without $select ...
    assert SECRET in raw
    # ... but nothing the source kept or logged holds it
    assert SECRET not in repr(state)
    assert SECRET not in caplog.text
    assert stats.by_endpoint[("GET", f"/mgmt/tm/{PROVISION}")] == 1


def test_a_device_without_apm_is_one_clear_state(tmp_path: Path) -> None:
    ops = (PatchOp("add", "/bigip/devices/name=bigip-a/apm", "none", "test"),)
    state, status, stats, _ = poll(tmp_path, ops)
    assert status.up
    assert status.errors == ()
    assert state.apm is not None
    assert state.apm.provisioned is False
    assert state.apm.providers == {}
    asked = {path for _, path in stats.by_endpoint}
    assert f"/mgmt/tm/{PROVISION}" in asked
    assert not {f"/mgmt/tm/{OAUTH_PROVIDERS}", f"/mgmt/tm/{OIDC_TASKS}"} & asked
