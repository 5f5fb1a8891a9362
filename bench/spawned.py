"""One function run in a fresh spawned process, its answer sent back on a pipe.

`answer(target, args, what)` starts `target(conn, *args)` in a spawned process (so its
peak RSS is its own), waits for what it sends on `conn` (an exception it sends is raised
here, chained), and fails at once if the process dies without answering.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def answer(target: Callable[..., None], args: tuple[Any, ...], what: str) -> Any:
    """What `target(conn, *args)`, run in a spawned process, sent on `conn`."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args))
    proc.start()
    while not parent.poll(1.0):
        if not proc.is_alive():
            raise RuntimeError(f"the {what} process exited ({proc.exitcode})")
    result = parent.recv()
    proc.join()
    if isinstance(result, BaseException):
        raise RuntimeError(f"{what} failed") from result
    return result
