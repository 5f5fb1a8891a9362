"""The HTTP side of one BIG-IP device: token or basic auth, and every request.

Owns the one `httpx.Client` of a device (created on first use and kept for keep-alive;
TLS verified against `caFile` unless `insecure`), the semaphore that keeps at most
`f5Concurrency` requests in flight (a retry waits outside it), and iControl REST
authentication (research/f5.md §1). Budget, retries and counting are the poll's
`Exchange` (`exchange`).

Every request, from connecting to the last byte of its body, ends by its own deadline
(min(`poll.timeout`, what is left of the poll's budget)) whatever the peer's pace, and
reads at most `poll.maxResponseMiB` of body (`monitor.sources.http`): a larger one is
`response_too_large` and is not parsed. A body that JSON cannot decode, however deeply
nested, is `bad_json`.

Token auth (the login, renewal and deletion of tokens) is done here with the protocol
facts of `tokens`. Basic auth: `Authorization: Basic` on every request; a 401 is
`auth_failed`.

Secrets: the password and the token live only in `Credentials` / `Token`, whose reprs
hide them; every message built here is scrubbed of both.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from typing import Any

import httpx

from monitor.config.files import ca_context
from monitor.config.schema import BigIPConfig
from monitor.model import SourceError
from monitor.sources.errors import SourceFailure, failure, loads, status_reason
from monitor.sources.f5.exchange import RETRY_REASONS, RETRY_STATUSES, Exchange
from monitor.sources.f5.tokens import (
    DELETE_TIMEOUT,
    LOGIN_PATH,
    LOGIN_RETRY_REASONS,
    TOKEN_LIMIT_TEXT,
    TOKEN_MARGIN,
    TOKENS_PATH,
    Token,
    header,
    is_denial,
    issued,
)
from monitor.sources.http.proxy import bounded_client
from monitor.sources.http.transport import TooLarge, send
from monitor.sources.http_errors import exception_reason, exception_text, response_text, scrub

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # bytes of one response (poll.maxResponseMiB)
# After one of these, the device's other requests of the poll are not sent.
FATAL = frozenset({"connect_error", "tls_error", "auth_failed"})
_EXCEPTION_WORDS = {
    "timeout": "timed out",
    "connect_error": "cannot connect",
    "tls_error": "TLS failure",
    "protocol_error": "broken response",
}


class F5Client:
    """Requests to one device, authenticated, bounded, retried and counted."""

    def __init__(
        self,
        device: BigIPConfig,
        timeout: float,
        concurrency: int,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
        budget: float = 0.0,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.device = device
        self._max_body = max_body
        self._timeout = timeout
        self._concurrency = concurrency
        self._transport = transport
        self._clock = clock
        self._margin = max(TOKEN_MARGIN, budget)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._auth_lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._token: Token | None = None

    def __repr__(self) -> str:
        return f"F5Client(device={self.device.name!r}, url={self.device.url!r})"

    # -- setup ---------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            limits = httpx.Limits(
                max_connections=self._concurrency,
                max_keepalive_connections=self._concurrency,
            )
            self._http = bounded_client(
                self._verify(),
                limits,
                self._timeout,
                {"Accept": "application/json"},
                self._transport,
                base_url=self.device.url,
            )
        return self._http

    def _verify(self) -> ssl.SSLContext | bool:
        if self.device.insecure:
            return False
        ca_file = self.device.ca_file
        try:
            return ca_context(ca_file)
        except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
            why = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise failure(
                "tls_error", f"{self.device.name}: cannot load caFile {ca_file}: {why}"
            ) from None

    def prepare(self, ex: Exchange) -> None:
        """Make the client and, for token auth, a valid token; SourceFailure if impossible."""
        self._client()
        if self.device.auth_type != "token":
            return
        with self._auth_lock:
            old = self._token
            same_user = old is not None and old.username == ex.creds.username
            if old is not None and same_user and self._clock() < old.expires_at:
                return
            if old is not None:
                ex.old_tokens.add(old.value)
            self._token = self._login(ex)
        if old is not None and self._clock() < old.dies_at:
            # renewed early, or the username changed: the old one is still live; it may
            # delete itself (a token can always delete its own), so one live token remains
            self._delete(ex, old.value, old.value)

    # -- one request ---------------------------------------------------------------------

    def _secrets(self, ex: Exchange | None) -> tuple[str, ...]:
        token = self._token.value if self._token else ""
        return (token, ex.creds.password, *ex.old_tokens) if ex else (token,)

    def _send(
        self, ex: Exchange, method: str, url: str, what: str, target: str, **kwargs: Any
    ) -> httpx.Response:
        """One attempt, within the poll's budget; SourceFailure without a response."""
        name = self.device.name
        if ex.fatal is not None:
            raise failure(
                ex.fatal.reason,
                f"{name}: {what} not read: gave up after {ex.fatal.reason} on an earlier request",
                target,
            )
        with self._slots:
            left = ex.remaining()
            if left <= 0:
                raise failure(
                    "timeout",
                    f"{name}: {what} not read: the poll's time budget ({ex.budget:g}s) ran out",
                    target,
                )
            timeout = min(self._timeout, left)
            try:
                response = send(self._client(), method, url, timeout, self._max_body, **kwargs)
            except TooLarge as err:
                ex.count("error")
                size = f" ({err.announced} bytes announced)" if err.announced is not None else ""
                raise failure(
                    "response_too_large",
                    f"{name}: {what}: the response is larger than the limit of"
                    f" {err.limit} bytes{size} (poll.maxResponseMiB); not read",
                    target,
                ) from None
            except (httpx.HTTPError, OSError) as err:
                ex.count("error")
                reason = exception_reason(err)
                text = scrub(exception_text(err), self._secrets(ex))
                words = _EXCEPTION_WORDS.get(reason, reason)
                raise failure(reason, f"{name}: {what}: {words}: {text}", target) from None
        ex.count(str(response.status_code))
        return response

    def _attempts(
        self,
        ex: Exchange,
        method: str,
        url: str,
        what: str,
        target: str,
        retry: frozenset[str] = RETRY_REASONS,
        **kwargs: Any,
    ) -> httpx.Response:
        """`_send`, retried after transient faults (see `exchange`); `retry`: the
        transport failures that may be retried."""
        attempt = 1
        while True:
            try:
                response = self._send(ex, method, url, what, target, **kwargs)
            except SourceFailure as err:
                if err.reason in retry and ex.wait_to_retry(attempt):
                    log.debug("%s: retrying %s after %s", self.device.name, what, err.reason)
                    attempt += 1
                    continue
                if err.reason in FATAL:
                    ex.give_up(err.error)
                raise
            if response.status_code in RETRY_STATUSES and ex.wait_to_retry(attempt, response):
                log.debug(
                    "%s: retrying %s after HTTP %s", self.device.name, what, response.status_code
                )
                attempt += 1
                continue
            return response

    def _http_failure(
        self, ex: Exchange, response: httpx.Response, what: str, target: str, reason: str = ""
    ) -> SourceFailure:
        status = response.status_code
        text = scrub(response_text(response), self._secrets(ex))
        reason = reason or status_reason(status)
        return failure(reason, f"{self.device.name}: {what}: HTTP {status}: {text}", target)

    def decode(self, ex: Exchange, body: bytes, status: int, what: str, target: str) -> Any:
        """`body` (of an HTTP `status` answer) as JSON; SourceFailure `bad_json` if it is not."""
        try:
            return loads(body)
        except ValueError as err:
            text = scrub(str(err), self._secrets(ex))
            raise failure(
                "bad_json",
                f"{self.device.name}: {what}: HTTP {status} with a body that is"
                f" not valid JSON ({text})",
                target,
            ) from None

    def _request(
        self, ex: Exchange, method: str, url: str, what: str, target: str, **kwargs: Any
    ) -> httpx.Response:
        """An authenticated request (re-login once after a token 401)."""
        if self.device.auth_type != "token":
            auth = (ex.creds.username, ex.creds.password)
            response = self._attempts(ex, method, url, what, target, auth=auth, **kwargs)
            if response.status_code == 401 and not is_denial(response):
                err = self._http_failure(ex, response, what, target, "auth_failed")
                ex.give_up(err.error)
                raise err
            return response
        token = self._token or self._renew(ex, None, what, target)
        if token is None:  # cannot happen: a login without a stale token returns one
            raise failure("auth_failed", f"{self.device.name}: {what}: no token", target)
        response = self._attempts(ex, method, url, what, target, headers=header(token), **kwargs)
        if response.status_code == 401 and not is_denial(response):
            gone = "does not exist" in response_text(response)
            fresh = self._renew(ex, token, what, target, gone)
            if fresh is not None:
                headers = header(fresh)
                response = self._attempts(ex, method, url, what, target, headers=headers, **kwargs)
        return response

    def _document(
        self, ex: Exchange, method: str, url: str, what: str, target: str, **kwargs: Any
    ) -> Any:
        response = self._success(ex, method, url, what, target, **kwargs)
        return self.decode(ex, response.content, response.status_code, what, target)

    def _success(
        self, ex: Exchange, method: str, url: str, what: str, target: str, **kwargs: Any
    ) -> httpx.Response:
        response = self._request(ex, method, url, what, target, **kwargs)
        if not 200 <= response.status_code < 300:
            raise self._http_failure(ex, response, what, target)
        return response

    def get(self, ex: Exchange, url: str, what: str, target: str) -> Any:
        """The JSON document at `url` (relative to the device URL); SourceFailure otherwise."""
        return self._document(ex, "GET", url, what, target)

    def get_body(self, ex: Exchange, url: str, what: str, target: str) -> tuple[bytes, int]:
        """The body and HTTP status of a successful GET of `url`, not decoded (`decode`
        does that); SourceFailure otherwise."""
        response = self._success(ex, "GET", url, what, target)
        return response.content, response.status_code

    def post(self, ex: Exchange, url: str, body: Any, what: str, target: str) -> Any:
        """POST `body` as JSON (a read-only command: util/bash `cat`); the JSON answer."""
        return self._document(ex, "POST", url, what, target, json=body)

    # -- tokens --------------------------------------------------------------------------

    def _login(self, ex: Exchange) -> Token:
        started = self._clock()
        creds = ex.creds
        body = {
            "username": creds.username,
            "password": creds.password,
            "loginProviderName": self.device.login_provider_name,
        }
        what = f"login as {creds.username!r}"
        # A login that timed out or was cut off may have made a token on the device that
        # we never learn (and cannot delete): only a refused connection is tried again.
        response = self._attempts(
            ex, "POST", LOGIN_PATH, what, "login", retry=LOGIN_RETRY_REASONS, json=body
        )
        limit = response.status_code == 400 and TOKEN_LIMIT_TEXT in response_text(response)
        if response.status_code == 401 or limit:
            why = (
                f"{what} refused: the user holds BIG-IP's maximum of 100 login tokens (taken by"
                " other clients of this user; use a dedicated user or authType basic)"
                if limit
                else f"{what} refused"
            )
            err = self._http_failure(ex, response, why, "login", "auth_failed")
            ex.give_up(err.error)
            raise err
        if not 200 <= response.status_code < 300:
            raise self._http_failure(ex, response, what, "login")
        doc = self.decode(ex, response.content, response.status_code, what, "login")
        value, timeout = issued(doc)
        if not value:
            raise failure(
                "bad_json", f"{self.device.name}: {what}: no token in the response", "login"
            )
        log.debug(
            "%s: logged in as %s (token timeout %ss)", self.device.name, creds.username, timeout
        )
        margin = min(self._margin, timeout / 2)
        return Token(value, creds.username, started + timeout - margin, started + timeout)

    def _renew(
        self, ex: Exchange, stale: Token | None, what: str, target: str, gone: bool = True
    ) -> Token | None:
        """A token to use instead of `stale` (refused with a 401, or None: there was none):
        the one another thread already got, or a new login; None when `stale` itself came
        from a re-login of this poll (the 401 is then not about the token)."""
        with self._auth_lock:
            if self._token is not None and self._token is not stale:
                return self._token
            if stale is not None and stale is ex.renewed:
                return None
            if ex.relogin_error is not None:
                raise SourceFailure(ex.relogin_error)
            if stale is not None:
                ex.old_tokens.add(stale.value)
                log.info(
                    "%s: token refused (HTTP 401 on %s); logging in again", self.device.name, what
                )
            self._token = None
            try:
                self._token = ex.renewed = self._login(ex)
            except SourceFailure as err:
                ex.relogin_error = SourceError(
                    err.reason, f"{err.error.message} (needed for {what})", target
                )
                raise SourceFailure(ex.relogin_error) from None
            fresh = self._token
        if stale is not None and not gone:  # the device may still hold it: one live token
            self._delete(ex, stale.value, fresh.value)
        return fresh

    def _delete(self, ex: Exchange | None, value: str, auth_token: str) -> None:
        """Delete token `value`, ignoring every failure."""
        wait = min(self._timeout, DELETE_TIMEOUT)
        headers = {"X-F5-Auth-Token": auth_token}
        try:
            with self._slots:  # the answer's body is not needed: 0 bytes of it are read
                response = send(self._client(), "DELETE", TOKENS_PATH + value, wait, 0, headers)
            if ex is not None:
                ex.count(str(response.status_code))
        except (httpx.HTTPError, OSError):
            if ex is not None:
                ex.count("error")

    def logout(self) -> None:
        """Delete the current token on the device (best effort) and forget it."""
        with self._auth_lock:
            token, self._token = self._token, None
        if token is not None and self._http is not None:
            self._delete(None, token.value, token.value)

    def close(self) -> None:
        self.logout()
        if self._http is not None:
            self._http.close()
            self._http = None
