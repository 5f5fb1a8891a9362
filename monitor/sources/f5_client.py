"""The HTTP side of one BIG-IP device: credentials, token or basic auth, and every request.

Owns the one `httpx.Client` of a device (created on first use and kept for keep-alive;
TLS verified against `caFile` unless `insecure`), the semaphore that keeps at most
`f5Concurrency` requests in flight, per-poll request counting, reading credentials
(files re-read every poll, so rotation works), and iControl REST authentication
(research/f5.md §1):
- token: `POST /mgmt/shared/authn/login`; the token is kept across polls until
  `timeout - margin` seconds after login by the injected clock, renewed after a 401 once
  per stale token (concurrent 401s share one login) and the request retried once; a
  token renewed early is deleted; `logout()` deletes the current one.
- basic: `Authorization: Basic` on every request.

Secrets: the password and the token live only in `Credentials` / `_Token`, whose reprs
hide them; every message built here is scrubbed of both.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from monitor.config import BigIPConfig
from monitor.model import SourceError
from monitor.sources.errors import SourceFailure, failure, status_reason
from monitor.sources.f5_errors import exception_reason, exception_text, response_text, scrub

log = logging.getLogger("f5_linkerd_monitor.f5")

LOGIN_PATH = "/mgmt/shared/authn/login"
TOKENS_PATH = "/mgmt/shared/authz/tokens/"
TOKEN_MARGIN = 60.0  # renew this long before the token's own expiry (e-Xpert does the same)
DEFAULT_TOKEN_TIMEOUT = 1200
# After one of these, the device's other requests of the poll are not sent.
FATAL = frozenset({"connect_error", "tls_error", "auth_failed"})
_EXCEPTION_WORDS = {
    "timeout": "timed out",
    "connect_error": "cannot connect",
    "tls_error": "TLS failure",
    "protocol_error": "broken response",
}


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def _strip_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def _from_file(device: str, what: str, path: Path) -> str:
    try:
        value = _strip_newline(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise failure(
            "credentials_unreadable", f"{device}: cannot read the {what} file {path}: {why}"
        ) from None
    if not value:
        raise failure("credentials_unreadable", f"{device}: the {what} file {path} is empty")
    return value


def _from_env(device: str, what: str, name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    if not value:
        state = "is not set" if value is None else "is empty"
        raise failure("credentials_unreadable", f"{device}: the {what} variable {name} {state}")
    return value


def read_credentials(device: BigIPConfig, environ: Mapping[str, str]) -> Credentials:
    """The device's username and password as they are now; SourceFailure if unreadable."""
    if device.username is not None:
        user = device.username
    elif device.username_file is not None:
        user = _from_file(device.name, "username", device.username_file)
    elif device.username_env is not None:
        user = _from_env(device.name, "username", device.username_env, environ)
    else:
        raise failure("credentials_unreadable", f"{device.name}: no username configured")
    if device.password_file is not None:
        password = _from_file(device.name, "password", device.password_file)
    elif device.password_env is not None:
        password = _from_env(device.name, "password", device.password_env, environ)
    else:
        raise failure("credentials_unreadable", f"{device.name}: no password configured")
    return Credentials(user, password)


class Exchange:
    """One poll's requests: the credentials, the counts by status, and the give-up signal."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self.fatal: SourceError | None = None
        self.renewed: object | None = None  # the token a re-login of this poll produced
        self.old_tokens: set[str] = set()  # replaced during this poll: scrubbed from messages

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


@dataclass(slots=True)
class _Token:
    value: str = field(repr=False)
    username: str
    expires_at: float  # when to renew it, by the injected clock
    dies_at: float  # when the device forgets it


class F5Client:
    """Requests to one device, authenticated, bounded and counted."""

    def __init__(
        self,
        device: BigIPConfig,
        timeout: float,
        concurrency: int,
        transport: httpx.BaseTransport | None,
        clock: Callable[[], float],
    ) -> None:
        self.device = device
        self._timeout = timeout
        self._concurrency = concurrency
        self._transport = transport
        self._clock = clock
        self._slots = threading.BoundedSemaphore(concurrency)
        self._auth_lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._token: _Token | None = None

    def __repr__(self) -> str:
        return f"F5Client(device={self.device.name!r}, url={self.device.url!r})"

    # -- setup ---------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.device.url,
                verify=self._verify(),
                timeout=self._timeout,
                transport=self._transport,
                limits=httpx.Limits(
                    max_connections=self._concurrency,
                    max_keepalive_connections=self._concurrency,
                ),
                headers={"Accept": "application/json"},
                follow_redirects=False,
            )
        return self._http

    def _verify(self) -> ssl.SSLContext | bool:
        if self.device.insecure:
            return False
        ca_file = self.device.ca_file
        try:
            return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        except (OSError, ssl.SSLError) as err:
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
        if old is not None and same_user and self._clock() < old.dies_at:
            self._delete(ex, old.value, self._token.value)  # renewed early: still live

    # -- requests ------------------------------------------------------------------------

    def _secrets(self, ex: Exchange | None) -> tuple[str, ...]:
        token = self._token.value if self._token else ""
        return (token, ex.creds.password, *ex.old_tokens) if ex else (token,)

    def _send(
        self, ex: Exchange, method: str, url: str, what: str, target: str, **kwargs: Any
    ) -> httpx.Response:
        if ex.fatal is not None:
            raise failure(
                ex.fatal.reason,
                f"{self.device.name}: {what} not read: gave up after {ex.fatal.reason}"
                " on an earlier request",
                target,
            )
        with self._slots:
            try:
                response = self._client().request(method, url, **kwargs)
            except (httpx.HTTPError, OSError) as err:
                ex.count("error")
                reason = exception_reason(err)
                text = scrub(exception_text(err), self._secrets(ex))
                words = _EXCEPTION_WORDS.get(reason, reason)
                error = SourceError(reason, f"{self.device.name}: {what}: {words}: {text}", target)
                if reason in FATAL:
                    ex.give_up(error)
                raise SourceFailure(error) from None
        ex.count(str(response.status_code))
        return response

    def _http_failure(
        self, ex: Exchange, response: httpx.Response, what: str, target: str, reason: str = ""
    ) -> SourceFailure:
        status = response.status_code
        text = scrub(response_text(response), self._secrets(ex))
        reason = reason or status_reason(status)
        return failure(reason, f"{self.device.name}: {what}: HTTP {status}: {text}", target)

    def _json(self, ex: Exchange, response: httpx.Response, what: str, target: str) -> Any:
        try:
            return json.loads(response.content)
        except ValueError as err:
            text = scrub(str(err), self._secrets(ex))
            raise failure(
                "bad_json",
                f"{self.device.name}: {what}: HTTP {response.status_code} with a body that is"
                f" not valid JSON ({text})",
                target,
            ) from None

    def get(self, ex: Exchange, url: str, what: str, target: str) -> Any:
        """The JSON document at `url` (relative to the device URL); SourceFailure otherwise."""
        if self.device.auth_type == "token":
            token = self._token or self._renew(ex, None, what, target)
            if token is None:  # cannot happen: a login without a stale token returns one
                raise failure("auth_failed", f"{self.device.name}: {what}: no token", target)
            response = self._send(ex, "GET", url, what, target, headers=_header(token))
            if response.status_code == 401 and (fresh := self._renew(ex, token, what, target)):
                response = self._send(ex, "GET", url, what, target, headers=_header(fresh))
        else:
            auth = (ex.creds.username, ex.creds.password)
            response = self._send(ex, "GET", url, what, target, auth=auth)
            if response.status_code == 401 and not _is_authorization(response):
                err = self._http_failure(ex, response, what, target, "auth_failed")
                ex.give_up(err.error)
                raise err
        if not 200 <= response.status_code < 300:
            raise self._http_failure(ex, response, what, target)
        return self._json(ex, response, what, target)

    # -- tokens --------------------------------------------------------------------------

    def _login(self, ex: Exchange) -> _Token:
        started = self._clock()
        creds = ex.creds
        body = {
            "username": creds.username,
            "password": creds.password,
            "loginProviderName": self.device.login_provider_name,
        }
        what = f"login as {creds.username!r}"
        response = self._send(ex, "POST", LOGIN_PATH, what, "login", json=body)
        if response.status_code == 401:
            err = self._http_failure(ex, response, f"{what} refused", "login", "auth_failed")
            ex.give_up(err.error)
            raise err
        if not 200 <= response.status_code < 300:
            raise self._http_failure(ex, response, what, "login")
        doc = self._json(ex, response, what, "login")
        token = doc.get("token") if isinstance(doc, dict) else None
        value = token.get("token") if isinstance(token, dict) else None
        if not isinstance(value, str) or not value:
            raise failure(
                "bad_json", f"{self.device.name}: {what}: no token in the response", "login"
            )
        timeout = token.get("timeout") if isinstance(token, dict) else None
        if isinstance(timeout, str) and timeout.isdigit():
            timeout = int(timeout)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
            timeout = DEFAULT_TOKEN_TIMEOUT
        log.debug(
            "%s: logged in as %s (token timeout %ss)", self.device.name, creds.username, timeout
        )
        margin = min(TOKEN_MARGIN, timeout / 4)
        return _Token(value, creds.username, started + timeout - margin, started + timeout)

    def _renew(self, ex: Exchange, stale: _Token | None, what: str, target: str) -> _Token | None:
        """A token to use instead of `stale` (refused with a 401, or None: there was none):
        the one another thread already got, or a new login; None when `stale` itself came
        from a re-login of this poll (the 401 is then not about the token)."""
        with self._auth_lock:
            if self._token is not None and self._token is not stale:
                return self._token
            if stale is not None and stale is ex.renewed:
                return None
            if stale is not None:
                ex.old_tokens.add(stale.value)
                log.info(
                    "%s: token refused (HTTP 401 on %s); logging in again", self.device.name, what
                )
            self._token = None
            try:
                self._token = ex.renewed = self._login(ex)
            except SourceFailure as err:
                raise failure(
                    err.reason, f"{err.error.message} (needed for {what})", target
                ) from None
            return self._token

    def _delete(self, ex: Exchange | None, value: str, auth_token: str) -> None:
        """Delete token `value`, ignoring every failure."""
        try:
            with self._slots:
                response = self._client().delete(
                    TOKENS_PATH + value, headers={"X-F5-Auth-Token": auth_token}
                )
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


def _is_authorization(response: httpx.Response) -> bool:
    """A 401 that denies a resource to a known user (RBAC), not bad credentials."""
    return response_text(response).startswith("Authorization failed: user=")


def _header(token: _Token) -> dict[str, str]:
    return {"X-F5-Auth-Token": token.value}
