"""Shared by the tests that start real servers: free ports, waiting with a deadline, and
reading an HTTP answer.

`wait_until` polls a condition instead of sleeping a fixed time; while a server is not up
yet (connection refused, a half-written answer) the condition's error counts as "not
yet", and the last one is part of the failure message with `context()` (logs).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    what: str,
    condition: Callable[[], bool],
    timeout: float = 60,
    context: Callable[[], str] = lambda: "",
    every: float = 0.2,
) -> None:
    """Poll `condition` every `every` seconds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError) as err:  # not up yet, half-written answer
            last_error = err
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout}s waiting for: {what} ({last_error})\n{context()}"
    )


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())
