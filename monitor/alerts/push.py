"""The optional direct push to Alertmanager (`alertmanager:` in the config).

`AlertPusher` owns one background thread and one HTTP client. The daemon hands it each
new snapshot with `submit`, which only stores it (the latest wins; nothing queues), so a
slow or dead Alertmanager never delays a poll. The thread builds the alert list with the
pure `monitor.alerts.plan.alerts_for` and POSTs it as JSON to `<url>/api/v2/alerts`:
- at once when what the alerts say changed (a finding appeared, resolved, changed its
  message …), otherwise every `resend_interval` (firing alerts carry
  endsAt = now + 4 × resend interval, so Alertmanager needs the resends);
- each POST, from connecting to the last byte of the answer, ends by its deadline
  (`request_timeout`, or what `close` has left) however slowly Alertmanager or a proxy
  answers, and reads at most `MAX_ANSWER` bytes of the answer: a larger one is a failed
  push (`response_too_large`); proxies as `monitor.sources.http.proxy` says;
- after a failure (no answer, not 2xx, too large) again after a jittered exponential backoff
  (1 s, 2 s, 4 s … capped at the resend interval), every attempt rebuilt from the latest
  snapshot with a fresh endsAt; it never gives up and never raises into the daemon;
- a failure is logged once when the push starts failing (and when the reason changes),
  and the recovery once, never every retry.
`close` sends once more if the latest snapshot (or a failed attempt) is still unsent,
waits a bounded time, and stops the thread. `stats()` has the totals the metrics can
export. The Alertmanager docs recommend alerting rules in Prometheus over this API; the
shipped rules stay the primary path, this push is for sites without a rule pipeline.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import httpx

from monitor.alerts.auth import auth_headers, verify_context
from monitor.alerts.plan import (
    Alert,
    Entry,
    Pairs,
    Signature,
    alerts_for,
    signature,
)
from monitor.config.schema import AlertmanagerConfig
from monitor.sources.errors import SourceFailure, clip, loads, status_reason
from monitor.sources.http.proxy import bounded_client
from monitor.sources.http.transport import TooLarge, send
from monitor.sources.http_errors import exception_reason, exception_text, scrub
from monitor.state.snapshot import PushStats, Snapshot

__all__ = [
    "AlertPusher",
    "backoff",
]

log = logging.getLogger(__name__)

API_PATH: Final = "/api/v2/alerts"
REQUEST_TIMEOUT: Final = 10.0  # seconds for one POST, from connecting to the answer's last byte
MAX_ANSWER: Final = 64 * 1024  # bytes of Alertmanager's answer (it sends a few bytes of JSON)
FIRST_BACKOFF: Final = 1.0  # seconds before the first retry; doubles up to the resend interval
CLOSE_TIMEOUT: Final = 5.0  # seconds `close` may spend on its last send


def backoff(attempt: int, first: float, cap: float, jitter: Callable[[], float]) -> float:
    """Seconds before retry number `attempt` (1, 2, …): first × 2^(attempt-1), capped at
    `cap`, scaled by 0.5 + 0.5 × jitter() (jitter() in [0, 1]) so replicas spread out."""
    delay = min(cap, first * 2.0 ** min(attempt - 1, 30))
    return delay * (0.5 + 0.5 * min(1.0, max(0.0, jitter())))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def endpoint(url: str) -> str:
    """`<url>/api/v2/alerts`, keeping a path prefix (`--web.route-prefix`)."""
    return url.rstrip("/") + API_PATH


def display_url(url: str) -> str:
    """The URL without credentials or query, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class AlertPusher:
    """Pushes the findings of the latest snapshot to Alertmanager from its own thread.

    `transport`: an httpx transport for tests (default: the network, verifying HTTPS
    with the system's CA certificates); `clock`: the time source for startsAt/endsAt and
    the schedule; `jitter`: a number in [0, 1] per retry; `start=False` starts no thread
    (tests drive `step` themselves).
    """

    def __init__(
        self,
        cfg: AlertmanagerConfig,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = _utc_now,
        *,
        jitter: Callable[[], float] = random.random,
        request_timeout: float = REQUEST_TIMEOUT,
        first_backoff: float = FIRST_BACKOFF,
        start: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.cfg = cfg
        self._url = endpoint(cfg.url)
        self._shown = display_url(self._url)
        self._secrets = tuple(s for s in (urlsplit(cfg.url).password,) if s)
        self._clock = clock
        self._jitter = jitter
        self._request_timeout = request_timeout
        self._close_timeout = CLOSE_TIMEOUT
        self._first_backoff = first_backoff
        self._transport = transport
        self._environ = environ if environ is not None else os.environ
        self._client: httpx.Client | None = None  # made by the first push (`_http`)
        # Shared with `submit`, `stats` and `close`, under `_cond`:
        self._cond = threading.Condition()
        self._latest: Snapshot | None = None
        self._fresh = False  # `_latest` not looked at by the sender yet
        self._closing = False
        self._stats = PushStats()
        # The sender's own (only `step` touches them):
        self._state: dict[Pairs, Entry] = {}
        self._sent: Signature | None = None  # signature of the last accepted POST
        self._next_at: datetime | None = None  # next resend or retry; None: at once
        self._failures = 0  # consecutive failed POSTs
        self._error = ""  # reason of the current failure, for logging changes only
        self._thread = threading.Thread(target=self._run, name="alertmanager-push", daemon=True)
        self._threaded = start
        if start:
            self._thread.start()

    # -- what the daemon calls -------------------------------------------------------------

    def submit(self, snapshot: Snapshot) -> None:
        """Hand over the newest snapshot; returns at once (an unsent older one is dropped)."""
        with self._cond:
            if self._closing:
                return
            self._latest = snapshot
            self._fresh = True
            self._cond.notify_all()

    def stats(self) -> PushStats:
        with self._cond:
            return self._stats

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Send the latest snapshot once more if it is still unsent, then stop; returns
        within about `timeout` + 0.5 s even when Alertmanager does not answer."""
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._close_timeout = timeout
            self._cond.notify_all()
        if not self._threaded:
            self._finish()
            return
        self._thread.join(timeout + 0.5)
        if self._thread.is_alive():
            log.warning(
                "alertmanager push to %s: the last send did not finish within %.0fs; abandoned",
                self._shown,
                timeout,
            )

    # -- the sender ------------------------------------------------------------------------

    def step(self, *, flush: bool = False) -> float | None:
        """Do what is due now, at most one POST; the seconds until something is due next
        (None: nothing until a snapshot arrives). `flush`: send now if the latest list
        was not accepted yet, whatever the schedule says (used by `close`)."""
        with self._cond:
            snapshot, fresh = self._latest, self._fresh
            self._fresh = False
        if snapshot is None:
            return None
        now = self._clock()
        due = self._next_at is None or now >= self._next_at
        if not (fresh or due or flush):
            return self._remaining()
        alerts, self._state = alerts_for(snapshot, self._state, now, self.cfg)
        said = signature(alerts)
        changed = said != self._sent
        firing = sum(1 for a in alerts if not a.resolved)
        with self._cond:
            self._stats = replace(self._stats, firing=firing, resolved=len(alerts) - firing)
        retrying = self._failures > 0
        send = (changed or retrying) if flush else (due or (changed and not retrying))
        if not send:
            return self._remaining()
        if not alerts:  # nothing firing, nothing resolved lately: nothing to tell
            self._sent, self._failures = said, 0
            self._next_at = now + self.cfg.resend_interval
            return self._remaining()
        timeout = min(self._close_timeout, self._request_timeout) if flush else None
        error = self._post(alerts, timeout)
        after = self._clock()
        if error is None:
            self._sent, self._failures = said, 0
            self._next_at = after + self.cfg.resend_interval
        else:
            self._failures += 1
            cap = self.cfg.resend_interval.total_seconds()
            delay = backoff(self._failures, self._first_backoff, cap, self._jitter)
            self._next_at = after + timedelta(seconds=delay)
        return self._remaining()

    def _remaining(self) -> float:
        if self._next_at is None:
            return 0.0
        return max(0.0, (self._next_at - self._clock()).total_seconds())

    def _post(self, alerts: tuple[Alert, ...], timeout: float | None) -> str | None:
        """POST the list once; None when accepted, else the reason (logged on changes)."""
        body = [alert.to_json() for alert in alerts]
        try:
            client = self._http()
            headers = auth_headers(self.cfg, self._environ)
        except SourceFailure as err:
            return self._failed(err.reason, str(err))
        wait = self._request_timeout if timeout is None else timeout
        try:
            response = send(client, "POST", self._url, wait, MAX_ANSWER, headers, json=body)
        except TooLarge as err:
            size = f" ({err.announced} bytes announced)" if err.announced is not None else ""
            return self._failed(
                "response_too_large",
                f"response_too_large: the answer is larger than {err.limit} bytes{size}; not read",
            )
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as err:
            reason = exception_reason(err)
            text = scrub(exception_text(err), self._secrets)
            return self._failed(reason, f"{reason}: {text}")
        if not response.is_success:
            reason = status_reason(response.status_code)
            text = scrub(f"HTTP {response.status_code}: {_error_text(response)}", self._secrets)
            return self._failed(reason, text)
        with self._cond:
            self._stats = replace(
                self._stats, sent=self._stats.sent + 1, last_success=self._clock(), last_error=""
            )
        if self._error:
            log.info(
                "alertmanager push to %s works again (%d alerts sent)", self._shown, len(alerts)
            )
        self._error = ""
        return None

    def _http(self) -> httpx.Client:
        """The HTTP client, made once `caFile` could be loaded (SourceFailure until then)."""
        if self._client is None:
            verify = verify_context(self.cfg) if self._transport is None else True
            self._client = bounded_client(
                verify,
                httpx.Limits(max_connections=1, max_keepalive_connections=1),
                self._request_timeout,
                {"Content-Type": "application/json", "Accept": "application/json"},
                self._transport,
            )
        return self._client

    def _failed(self, reason: str, text: str) -> str:
        with self._cond:
            self._stats = replace(self._stats, failed=self._stats.failed + 1, last_error=reason)
        if reason != self._error:
            log.warning(
                "alertmanager push to %s failed (%s); retrying with backoff, the findings"
                " stay on /metrics and /api/findings",
                self._shown,
                text,
            )
        self._error = reason
        return reason

    def _run(self) -> None:
        while True:
            try:
                delay = self.step()
            except Exception:  # a bug must not kill the sender: log it, try again later
                log.exception("alertmanager push: unexpected error; trying again later")
                delay = self.cfg.resend_interval.total_seconds()
            with self._cond:
                if not self._closing and not self._fresh:
                    self._cond.wait(delay)
                if self._closing:
                    break
        self._finish()

    def _finish(self) -> None:
        try:
            self.step(flush=True)
        except Exception:
            log.exception("alertmanager push: unexpected error in the last send")
        finally:
            if self._client is not None:
                self._client.close()


def _error_text(response: httpx.Response) -> str:
    """Alertmanager's error text: its 400s carry a JSON string, others a JSON message."""
    try:
        body = loads(response.content)
    except ValueError:
        return clip(response.text) or "empty body"
    if isinstance(body, str):
        return clip(body)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return clip(body["message"])
    return clip(response.text)
