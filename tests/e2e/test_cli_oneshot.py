"""`check` and `rotation` beside a source that does not answer in time, run as processes.

They run the daemon's cycle once: each source is awaited no longer than the cycle's
deadline (90 % of `poll.interval`), one still polling then is down with reason `timeout`,
and the process exits without waiting for threads still blocked.
- A BIG-IP of the simulated demo world that answers its login, then drips every body one
  byte a second (the simulator's `latency` fault for that one request, then its `drip`
  fault), with `poll.timeout` = `poll.interval` (its own budget outlasts the cycle's
  deadline): exit 2 within the deadline, the closing grace, the exit grace and the start
  of the process; that device down (`timeout`, cut by the cycle), every other source up
  and shown; no traceback, no "unexpected" error.
- A BIG-IP source stuck for good in a library call (its read on a pool worker, which the
  interpreter joins at exit, never returns; put in by a wrapper around `cli.main`): the
  same answer, and the process leaves that thread behind instead of hanging; interrupted
  (SIGINT, Ctrl-C) while it waits for that source, exit 130 at once, the same way.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.daemon.cycle import CLOSE_GRACE
from monitor.daemon.polls import deadline
from monitor.daemon.stopping import EXIT_GRACE
from monitor.simulate.faults import Fault
from tests.support.paths import CLI, DEMO, ROOT
from tests.support.waiting import wait_until
from tests.support.world import running_world

pytestmark = pytest.mark.e2e

STARTUP = 5.0  # seconds a loaded machine may take to start the process and its first requests
LIMIT = 60.0  # the process is killed after this: a hang fails the test, it does not block it
UP = {"bigip-a": True, "bigip-b": True, "kubernetes": True, "oidc:workforce": True}

STUCK = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor

from monitor import cli
from monitor.daemon import cycle


class Stuck:
    '''A BIG-IP source whose read never returns, on a pool worker as F5Source reads.'''

    def __init__(self, name):
        self.name = name
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"f5-{name}")

    def poll(self):
        print("stuck poll started", file=sys.stderr, flush=True)
        return self._pool.submit(threading.Event().wait).result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


real = cycle.real_f5
cycle.real_f5 = lambda d, cfg: Stuck(d.name) if d.name == "bigip-stuck" else real(d, cfg)
sys.exit(cli.main(sys.argv[1:]))
"""


def _config(world_config: Path, interval: int, timeout: int, stuck: bool = False) -> Path:
    doc: dict[str, Any] = yaml.safe_load(world_config.read_text())
    doc["poll"] = {"interval": f"{interval}s", "timeout": f"{timeout}s"}
    if stuck:
        doc["bigip"].append({**doc["bigip"][0], "name": "bigip-stuck"})
    path = world_config.parent / "oneshot.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _run(command: list[str]) -> tuple[int, float, str, str]:
    """(exit code, seconds, stdout, stderr); killed after LIMIT."""
    started = time.monotonic()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        out, err = proc.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running after {LIMIT:g}s\n{err[-3000:]}")
    return proc.returncode, time.monotonic() - started, out, err


def _bound(interval: int) -> float:
    return deadline(timedelta(seconds=interval)) + CLOSE_GRACE + EXIT_GRACE + STARTUP


def _sources(out: str) -> dict[str, tuple[bool, list[tuple[str, str]]]]:
    document = json.loads(out)
    return {
        s["target"]: (s["up"], [(e["reason"], e["message"]) for e in s["errors"]])
        for s in document["sources"]
    }


@pytest.mark.parametrize("command", ["check", "rotation"])
def test_a_bigip_that_drips_is_cut_at_the_cycle_deadline_and_the_others_reported(
    tmp_path: Path, command: str
) -> None:
    # the cycle's deadline 7.2 s, bigip-a's own budget 8 s: ample for the healthy sources'
    # first polls from a cold process on a loaded machine, while bigip-a drips for minutes
    interval = 8
    with running_world(DEMO, tmp_path / "world") as (world, world_config):
        config = _config(world_config, interval, timeout=interval)
        world.inject(Fault("bigip-a", "latency", count=1, delay=0.01))  # the login: answered
        world.inject(Fault("bigip-a", "drip", seconds=600, delay=1.0))  # then one byte a second
        code, took, out, err = _run([*CLI, command, "--config", str(config), "-o", "json"])
    print(f"{command}: exit {code} in {took:.2f}s")
    assert "Traceback" not in err, err
    assert "unexpected" not in err, err
    assert code == 2, err
    assert took < _bound(interval), f"{took:.1f}s\n{err}"
    sources = _sources(out)
    assert {name: up for name, (up, _) in sources.items()} == {**UP, "bigip-a": False}
    [(reason, message)] = sources["bigip-a"][1]
    assert reason == "timeout"
    assert "bigip-a: the poll did not end within the cycle's 7.2s" in message
    assert "sources down: bigip-a (timeout)" in err


@pytest.mark.parametrize("command", ["check", "rotation"])
def test_a_source_stuck_in_a_library_call_does_not_hold_the_exit(
    tmp_path: Path, command: str
) -> None:
    interval = 6
    with running_world(DEMO, tmp_path / "world") as (_, world_config):
        config = _config(world_config, interval, timeout=3, stuck=True)
        script = [sys.executable, "-c", textwrap.dedent(STUCK)]
        code, took, out, err = _run([*script, command, "--config", str(config), "-o", "json"])
    print(f"{command}: exit {code} in {took:.2f}s")
    assert "Traceback" not in err, err
    assert code == 2, err
    assert took < _bound(interval), f"{took:.1f}s\n{err}"
    sources = _sources(out)
    assert {name: up for name, (up, _) in sources.items()} == {**UP, "bigip-stuck": False}
    assert [reason for reason, _ in sources["bigip-stuck"][1]] == ["timeout"]
    assert "bigip-stuck: closing did not finish within 1.5s; abandoned" in err
    assert "exiting without waiting for 1 blocked threads (f5-bigip-stuck_0)" in err


def test_interrupted_while_a_source_is_stuck_exits_130_without_waiting_for_it(
    tmp_path: Path,
) -> None:
    with running_world(DEMO, tmp_path / "world") as (_, world_config):
        config = _config(world_config, 60, timeout=30, stuck=True)  # the deadline: 54 s
        err_file = tmp_path / "stderr"
        with err_file.open("w") as err_out:
            proc = subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(STUCK), "check", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=err_out,
                cwd=ROOT,
            )
        try:
            wait_until("the stuck poll", lambda: "stuck poll started" in err_file.read_text())
            proc.send_signal(signal.SIGINT)
            sent = time.monotonic()
            code = proc.wait(timeout=LIMIT)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = err_file.read_text()
    print(f"SIGINT to exit {took:.2f}s")
    assert "Traceback" not in err, err
    assert code == 130, err
    assert took < CLOSE_GRACE + EXIT_GRACE + STARTUP, err
    assert "interrupted" in err
    assert "exiting without waiting for 1 blocked threads (f5-bigip-stuck_0)" in err
