"""The status page in a real browser: headless Chromium (Debian `chromium`) on the demo world.

The bundled demo scenario runs in-process (timeline paused, so its planted problems stay
put); one monitor cycle against it publishes to a `WebServer` on a free port; Chromium
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
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.cycle import build_monitor
from monitor.demo import DEMO_SCENARIO
from monitor.simulate.world import Scenario, World
from monitor.state import Snapshot
from monitor.web import Published, WebServer
from tests.conftest import require_tool

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
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
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Snapshot]]:
    """The URL of the status page of the demo world after one cycle, and that snapshot."""
    world = World(Scenario.load(DEMO_SCENARIO), log=lambda line: None)
    world.start(play_timeline=False)
    web = WebServer("127.0.0.1:0")
    try:
        files = world.write_outputs(tmp_path_factory.mktemp("demo"))
        cfg = load_config(files["config"])
        monitor = build_monitor(cfg, publish=lambda s: web.publish(Published.of(s)), persist=False)
        try:
            snapshot = monitor.cycle()
        finally:
            monitor.close()
        web.start()
        yield f"http://127.0.0.1:{web.port}/", snapshot
    finally:
        web.stop()
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
    demo_page: tuple[str, Snapshot],
) -> None:
    url, snapshot = demo_page
    dom = chromium("--dump-dom", url).stdout
    assert dom.startswith("<!DOCTYPE html>") or dom.lower().startswith("<html")
    text = visible_text(dom)
    assert "f5-linkerd-monitor status" in text
    assert f"cycle {snapshot.cycle}" in text
    assert "Boundary shop critical" in text
    assert "Phase: broken" in text
    planted = {t.finding.check for t in snapshot.findings}
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
