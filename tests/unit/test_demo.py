"""The demo's papercuts: the banner names every endpoint, a busy port says how to choose
another, and `check`/`rotation` on a stopped world's config say that world is not running."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest

from monitor import cli
from monitor.demo import banner, listen_problem, run_demo, stopped_world
from tests.support.paths import ROOT, SCENARIOS
from tests.support.world import running_world


def test_the_banner_names_every_page_the_server_serves() -> None:
    source = (ROOT / "monitor" / "web" / "server.py").read_text(encoding="utf-8")
    served = set(re.findall(r'if path == "(/[^"]*)"', source)) - {"/healthz", "/readyz"}
    assert served == {"/", "/metrics", "/api/findings", "/api/rotation"}
    lines = banner("127.0.0.1:9879")
    urls = {line.split()[-1] for line in lines}
    assert urls == {f"http://127.0.0.1:9879{path}" for path in served}


def test_a_busy_port_says_how_to_choose_another(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        listen = f"127.0.0.1:{port}"
        problem = listen_problem(listen)
        assert "in use" in problem
        assert "--listen 127.0.0.1:" in problem
        assert run_demo(listen, False, "table", "critical", None) == 1
        assert "choose another with --listen" in capsys.readouterr().err
    assert listen_problem(listen) == ""  # free again


def test_check_on_a_stopped_worlds_config_says_it_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.disable(logging.WARNING)
    try:
        with running_world(SCENARIOS / "base.yaml", tmp_path) as (_, config):
            assert cli.main(["check", "--config", str(config)]) == 0
            assert "not running" not in capsys.readouterr().err
        for command in ("check", "rotation"):
            assert cli.main([command, "--config", str(config)]) == 2
            err = capsys.readouterr().err
            assert "simulated world of scenario 'table-base', which is not running" in err
    finally:
        logging.disable(logging.NOTSET)


def test_only_a_worlds_config_with_every_source_refused_gets_the_hint(tmp_path: Path) -> None:
    mine = tmp_path / "config.yaml"
    mine.write_text("bigip: []\n")
    assert stopped_world(mine, {"connect_error"}) == ""
    world = tmp_path / "world.yaml"
    world.write_text("# Expected state for the simulated world of scenario 'demo'; written\n")
    assert stopped_world(world, {"connect_error"})
    assert stopped_world(world, {"connect_error", "auth_failed"}) == ""
    assert stopped_world(tmp_path / "missing.yaml", {"connect_error"}) == ""
