"""The status page in a real browser: headless Chromium (Debian `chromium`) on the demo world.

The bundled demo scenario runs in-process (timeline paused, so its planted problems stay
put); the daemon (`serve`, what `run` starts) polls it once and serves its page; Chromium
loads `/` twice: once to dump the DOM (the text is asserted) and once to take a screenshot,
kept as a test artifact at `test-artifacts/status-page.png` (gitignored).

Skipped when `chromium` is missing, except under CI=true, where that is a failure
(`make test` installs it).
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from monitor.config.schema import load_config
from monitor.daemon.serve import serve
from monitor.demo import DEMO_SCENARIO
from monitor.simulate.world import Scenario, World
from tests.support.paths import ROOT
from tests.support.tools import require_tool
from tests.support.waiting import free_port, get_json, get_text, wait_until

pytestmark = pytest.mark.e2e

SCREENSHOT = ROOT / "test-artifacts" / "status-page.png"
WIDTH, HEIGHT = 1280, 2000
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    f"--window-size={WIDTH},{HEIGHT}",
)


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """The URL of the status page the daemon (`serve`, as `run` starts it) publishes after
    its first cycle on the demo world, and that cycle's `/api/findings` document."""
    world = World(Scenario.load(DEMO_SCENARIO), log=lambda line: None)
    world.start(play_timeline=False)
    stop = threading.Event()
    daemon = None
    try:
        files = world.write_outputs(tmp_path_factory.mktemp("demo"))
        port = free_port()
        cfg = load_config(files["config"])
        cfg = replace(
            cfg,
            server=replace(cfg.server, listen=f"127.0.0.1:{port}"),
            poll=replace(cfg.poll, interval=timedelta(hours=1)),  # one cycle, then still
        )
        daemon = threading.Thread(target=serve, args=(cfg, stop), daemon=True)
        daemon.start()
        url = f"http://127.0.0.1:{port}/"
        wait_until("the daemon's first cycle", lambda: "ready" in get_text(url + "readyz"))
        yield url, get_json(url + "api/findings")
    finally:
        stop.set()
        if daemon is not None:
            daemon.join(timeout=30)
        world.stop()


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_tool("chromium")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def visible_text(dom: str) -> str:
    """The DOM's text with tags, the style sheet and entities' noise removed."""
    body = re.sub(r"<style>.*?</style>|<title>.*?</title>", " ", dom, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    return " ".join(text.replace("&amp;", "&").split())


def test_the_status_page_of_the_demo_world_in_headless_chromium(
    demo_page: tuple[str, dict[str, Any]],
) -> None:
    url, document = demo_page
    dom = chromium("--dump-dom", url).stdout
    assert dom.startswith("<!DOCTYPE html>") or dom.lower().startswith("<html")
    text = visible_text(dom)
    assert "f5-linkerd-monitor status" in text
    assert "(cycle 1," in text
    assert "Boundary shop critical" in text
    assert "Phase: broken" in text
    planted = {f["check"] for f in document["findings"]}
    assert planted >= {"bundle_missing_anchor", "bundle_cert_expiry", "pool_member_extra"}
    for check in planted:
        assert check in text
    assert "Critical findings 2" in text
    assert "10.42.9.99:443" in text
    assert "Certificate timeline" in text
    for role in ("trust_anchor", "issuer", "bundle_cert", "client_cert", "edge_cert"):
        assert re.search(rf"\d+ days \S+ \S+ UTC {role} ", text), role
    assert re.search(r"19 days \S+ \S+ UTC (bundle_cert|trust_anchor) ", text)  # anchor-a
    assert "Source health" in text
    assert "bigip-a bigip up" in text
    assert "kubernetes kubernetes up" in text

    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    chromium(f"--screenshot={SCREENSHOT}", url)
    png = SCREENSHOT.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (WIDTH, HEIGHT)
    assert len(png) > 50_000  # a rendered page, not a blank one
