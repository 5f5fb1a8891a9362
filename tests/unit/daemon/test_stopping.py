"""`abandon_stuck_threads`: the exit of `run`, `check` and `rotation` never waits for a
thread stuck in a request, although the interpreter would join it (a `concurrent.futures`
worker, daemon or not, or a non-daemon thread); with nothing stuck it returns and the exit
is the usual one, and so it does when what runs was running before the command (`others`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from tests.support.paths import ROOT

SCRIPT = """
import logging, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from monitor.daemon.stopping import abandon_stuck_threads

logging.basicConfig(level=logging.INFO, format="%(message)s")
kind = sys.argv[1]
if kind == "pool":  # a worker stuck in a read, spawned from a daemon thread
    pool = ThreadPoolExecutor(1, thread_name_prefix="f5-bigip-a")
    starter = threading.Thread(target=lambda: pool.submit(time.sleep, 60), daemon=True)
    starter.start()
    starter.join()
elif kind == "thread":
    threading.Thread(target=time.sleep, args=(60,), name="stuck").start()
elif kind == "others":  # running before the command started: the embedding process's
    release = threading.Event()
    threading.Thread(target=release.wait, name="theirs").start()
    code = abandon_stuck_threads(0, others=frozenset(threading.enumerate()))
    print(f"returned {code}", flush=True)
    release.set()
    sys.exit(code)
print("state written", flush=True)
sys.exit(abandon_stuck_threads(0))
"""


def _run(kind: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), kind],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    return done, time.monotonic() - started


@pytest.mark.parametrize("kind", ["pool", "thread"])
def test_a_stuck_thread_does_not_hold_the_exit(kind: str) -> None:
    done, took = _run(kind)
    assert done.returncode == 0, done.stderr
    assert took < 10  # the stuck thread sleeps 60 s
    assert done.stdout == "state written\n"  # what was printed before is not lost
    assert "exiting without waiting for 1 blocked threads" in done.stderr


def test_nothing_stuck_exits_as_usual() -> None:
    done, _ = _run("none")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_threads_running_before_the_command_are_not_its_to_leave() -> None:
    done, _ = _run("others")
    assert (done.returncode, done.stdout, done.stderr) == (0, "returned 0\n", "")
