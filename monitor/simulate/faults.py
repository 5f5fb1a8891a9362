"""Fault injection for the simulated APIs: what goes wrong with the next requests.

A scenario (or a test) arms faults on a target; each incoming request asks the
target's `FaultPlan` which fault, if any, applies to it.  A fault lasts for a
number of requests (`count`) or for a span of time (`seconds`), whichever the
scenario gave; one-shot faults (`expireTokens`, `watchExpire`) are handled by the
simulators when the fault is armed and never reach the plan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from monitor.simulate.spec import Node

# Answered by both simulated APIs.
COMMON_FAULTS = ("http503", "http500html", "latency", "reset", "truncate")
# What a broken or hostile BIG-IP management plane (or a proxy in front of it) answers.
BIGIP_FAULTS = (
    "html200",
    "redirect",
    "denied",
    "tokenLimit",
    "nextLinkLoop",
    "nextLinkForeign",
    "deepJson",
    "drip",
    "hugeBody",
    "clockSkew",
)
# What a Kubernetes API server answers when RBAC or the server is in the way.
KUBE_FAULTS = ("http403",)
REQUEST_FAULTS = COMMON_FAULTS + BIGIP_FAULTS + KUBE_FAULTS
ONE_SHOT_FAULTS = ("expireTokens", "watchExpire", "watchDrop")
FAULT_TYPES = REQUEST_FAULTS + ONE_SHOT_FAULTS


@dataclass(frozen=True, slots=True)
class Fault:
    """One armed fault; exactly one of `count` and `seconds` bounds it (one-shots use neither)."""

    target: str
    type: str
    count: int | None = None
    seconds: float | None = None
    delay: float = 0.0  # latency: seconds; drip: seconds between bytes; clockSkew: offset

    @staticmethod
    def parse(node: Node) -> Fault:
        """Read `{target, type, count|seconds, delay}` from a scenario node."""
        node.mapping(("target", "type", "count", "seconds", "delay"))
        target = node.require("target").text()
        kind = node.require("type").choice(FAULT_TYPES)
        count = node.get("count").value
        seconds = node.get("seconds").value
        delay = float(node.get("delay").of(float)) if node.get("delay").value is not None else 0.0
        if kind in REQUEST_FAULTS:
            if (count is None) == (seconds is None):
                raise node.fail(f"a {kind} fault needs exactly one of count or seconds")
            if count is not None and node.get("count").integer() < 1:
                raise node.get("count").fail("must be at least 1")
            if seconds is not None and node.get("seconds").of(float) <= 0:
                raise node.get("seconds").fail("must be positive")
        if kind == "latency" and delay <= 0:
            raise node.get("delay").fail("a latency fault needs a positive delay (seconds)")
        if kind == "drip" and delay <= 0:
            delay = 1.0  # one byte a second
        if kind == "clockSkew" and delay == 0:
            raise node.get("delay").fail("a clockSkew fault needs a non-zero delay (seconds)")
        return Fault(
            target=target,
            type=kind,
            count=None if count is None else node.get("count").integer(),
            seconds=None if seconds is None else float(node.get("seconds").of(float)),
            delay=delay,
        )


class FaultPlan:
    """The armed request faults of one target, consumed request by request (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # each entry: [fault, remaining count or None, deadline or None]
        self._armed: list[list[object]] = []

    def arm(self, fault: Fault) -> None:
        if fault.type not in REQUEST_FAULTS:
            raise ValueError(f"{fault.type} is not a per-request fault")
        deadline = None if fault.seconds is None else self._clock() + fault.seconds
        with self._lock:
            self._armed.append([fault, fault.count, deadline])

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self) -> Fault | None:
        """The fault that applies to the request being served now, if any."""
        now = self._clock()
        with self._lock:
            keep: list[list[object]] = []
            chosen: Fault | None = None
            for entry in self._armed:
                fault, remaining, deadline = entry
                assert isinstance(fault, Fault)
                if isinstance(deadline, float) and now >= deadline:
                    continue  # expired by time
                if chosen is None:
                    chosen = fault
                    if isinstance(remaining, int):
                        remaining -= 1
                        entry[1] = remaining
                        if remaining <= 0:
                            continue
                keep.append(entry)
            self._armed = keep
            return chosen
