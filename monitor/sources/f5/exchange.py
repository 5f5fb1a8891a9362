"""One poll of one BIG-IP as the HTTP layer sees it: budget, retries, counts, give-up.

Owns the per-poll state every request of a poll shares, and the retry policy:
- the **time budget**: a device's poll must end by its deadline (`poll_budget`: the
  larger of `poll.timeout` and 80 % of `poll.interval`, so with the defaults 48 s of
  every 60 s; devices are polled in parallel, so the cycle stays within the interval
  and the rest is left for Kubernetes, the checks and rendering). No request is sent
  after the deadline, and each request's timeout (`poll.timeout`) is clipped so that it
  cannot run past it;
- **retries**: a request that met a transient fault (HTTP 429, 502, 503, 504, a timeout,
  a reset or refused connection) is sent again after a jittered exponential backoff
  (0.25–0.5 s, 0.5–1 s, 1–2 s; a `Retry-After` in seconds is honoured), at most
  `MAX_ATTEMPTS` times in all, only while the wait leaves `MIN_TIME_LEFT` of the
  budget, and at most `RETRIES_PER_POLL` retries per poll in total, so a device that
  answers 503 to everything gets a bounded number of extra requests, not a storm;
- counts of the responses by HTTP status (`"error"` when there was none), which
  become `SourceStatus.requests`;
- the fatal error after which the rest of the poll is not sent (`give_up`);
- token bookkeeping: the re-login of this poll, and the tokens it replaced (scrubbed
  from messages).
Thread-safe: a poll's requests run on several threads.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import httpx

from monitor.model import SourceError
from monitor.sources.f5.credentials import Credentials

RETRY_STATUSES = frozenset({429, 502, 503, 504})
RETRY_REASONS = frozenset({"timeout", "connect_error", "protocol_error"})
MAX_ATTEMPTS = 4  # the first request and up to three retries
RETRIES_PER_POLL = 24
BASE_DELAY = 0.5
MAX_DELAY = 8.0
MIN_TIME_LEFT = 0.5  # a retry must leave at least this many seconds of the budget
BUDGET_SHARE = 0.8  # of poll.interval


def poll_budget(interval: timedelta, timeout: timedelta) -> float:
    """Seconds one device's poll may take: max(timeout, 80 % of the interval)."""
    return max(timeout.total_seconds(), BUDGET_SHARE * interval.total_seconds())


def backoff(attempt: int, rng: random.Random) -> float:
    """The wait before retry `attempt` (1, 2, …): half fixed, half random ("equal jitter")."""
    ceiling = min(MAX_DELAY, BASE_DELAY * 2.0 ** (attempt - 1))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_after(response: httpx.Response | None) -> float:
    """A `Retry-After: <seconds>` header's value, else 0 (HTTP dates are ignored)."""
    value = str(response.headers.get("retry-after", "")) if response is not None else ""
    value = value.strip()
    return float(value) if value.isascii() and value.isdigit() else 0.0  # not "²"


class Exchange:
    """One poll's requests to one device."""

    def __init__(
        self,
        creds: Credentials,
        budget: float,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.creds = creds
        self.budget = budget
        self._monotonic = monotonic
        self.deadline = monotonic() + budget
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._retries = RETRIES_PER_POLL
        self.fatal: SourceError | None = None
        self.renewed: object | None = None  # the token a re-login of this poll produced
        self.relogin_error: SourceError | None = None  # the re-login of this poll failed
        self.old_tokens: set[str] = set()  # replaced during this poll: scrubbed from messages

    def remaining(self) -> float:
        return self.deadline - self._monotonic()

    def count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def give_up(self, error: SourceError) -> None:
        with self._lock:
            if self.fatal is None:
                self.fatal = error

    def wait_to_retry(self, attempt: int, response: httpx.Response | None = None) -> bool:
        """Sleep before retry `attempt` and return True, or False when it may not happen
        (attempts or the poll's retries used up, not enough budget left, given up)."""
        if attempt >= MAX_ATTEMPTS or self.fatal is not None:
            return False
        with self._lock:
            delay = max(backoff(attempt, self._rng), retry_after(response))
            if self._retries <= 0 or self.remaining() - delay < MIN_TIME_LEFT:
                return False
            self._retries -= 1
        self._sleep(delay)
        return True
