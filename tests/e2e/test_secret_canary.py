"""The secret canary: `check --log-level debug` against the demo world, with every device's
first token refused so that each is renewed, never prints the password or any token the
simulated BIG-IPs issued (stdout and stderr, every logger on)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from monitor.simulate.bigip.auth import TokenStore
from tests.support.paths import CLI, DEMO, ROOT
from tests.support.world import running_world

pytestmark = pytest.mark.e2e


def test_debug_logs_carry_no_password_and_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued: list[str] = []
    refused: set[int] = set()  # the stores whose first token was refused once
    lock = threading.Lock()
    login, user_of = TokenStore.login, TokenStore.user_of

    def recording_login(self: TokenStore, *args: Any) -> dict[str, Any]:
        answer = login(self, *args)
        with lock:
            issued.append(answer["token"])
        return answer

    def refuse_first(self: TokenStore, value: str) -> str | None:
        with lock:
            if id(self) not in refused:
                refused.add(id(self))
                return None  # 401 "X-F5-Auth-Token does not exist.": a renewal
        return user_of(self, value)

    monkeypatch.setattr(TokenStore, "login", recording_login)
    monkeypatch.setattr(TokenStore, "user_of", refuse_first)
    with running_world(DEMO, tmp_path / "world") as (_, config):
        result = subprocess.run(
            [*CLI, "--log-level", "debug", "check", "--config", str(config), "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len(issued) >= 4, issued  # two devices, each token renewed once
    assert "logging in again" in result.stderr
    assert "DEBUG" in result.stderr
    assert "/mgmt/shared/authz/tokens/***" in result.stderr  # httpx's request lines were on
    password = (tmp_path / "world" / "bigip-password").read_text().strip()
    assert password not in output
    for token in issued:
        assert token not in output
