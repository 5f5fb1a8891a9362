"""One identity provider's poll: its discovery document, then its `jwks_uri`.

`OidcSource.poll()` returns `(IdpState | None, SourceStatus)` like the other sources:
None when either document could not be read completely (the checks then say `unknown`,
never pass), with one `SourceError` of a fixed reason code (`timeout`, `connect_error`,
`tls_error`, `http_404`, `http_5xx`, `bad_json`, `response_too_large`, `protocol_error`,
...). The source is named `oidc:<provider>` and is of kind `oidc`.

Bounded like the BIG-IP source: each request ends by its own deadline
(min(`poll.timeout`, what is left of the poll's budget)) whatever the peer's pace, reads at
most `MAX_BODY` bytes, follows no redirect, and must answer `application/json`.
`Cache-Control` is respected: a document whose `max-age` has not run out is not fetched
again (the poll then makes no request at all); `no-cache`/`no-store`, or no max-age, means
every poll fetches. A failed fetch never serves an expired copy. TLS is verified against
`caFile`, or the system's CA certificates. Nothing secret is sent or kept: both documents
are public.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx

from monitor.config.files import ca_context
from monitor.config.identity import IdentityProviderConfig
from monitor.config.schema import Config
from monitor.model import IdpState, SourceError, SourceStatus
from monitor.sources.errors import SourceFailure, failure, loads, status_reason
from monitor.sources.f5.exchange import poll_budget
from monitor.sources.http.proxy import bounded_client
from monitor.sources.http.transport import TooLarge, send
from monitor.sources.http_errors import exception_reason, exception_text, response_text
from monitor.sources.oidc.documents import Malformed, max_age, parse_discovery, parse_jwks

MAX_BODY: Final = 512 * 1024  # bytes of one document (APM's own limit is 128 KiB)
DISCOVERY: Final = "discovery"
JWKS: Final = "jwks"


@dataclass(frozen=True, slots=True)
class _Cached:
    url: str
    body: Any
    until: float  # clock seconds after which it is fetched again


class OidcSource:
    """Polls one identity provider; `poll()` is not reentrant (the daemon never overlaps)."""

    def __init__(
        self,
        idp: IdentityProviderConfig,
        cfg: Config,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.idp = idp
        self.name = idp.source
        self._timeout = cfg.poll.timeout.total_seconds()
        self._budget = poll_budget(cfg.poll.interval, cfg.poll.timeout)
        self._transport = transport
        self._clock = clock
        self._http: httpx.Client | None = None
        self._cache: dict[str, _Cached] = {}
        self._requests: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"OidcSource(name={self.name!r}, issuer={self.idp.issuer!r})"

    def _client(self) -> httpx.Client:
        if self._http is None:
            try:
                verify = ca_context(self.idp.ca_file)
            except (OSError, ValueError) as err:
                why = getattr(err, "strerror", None) or str(err) or type(err).__name__
                raise failure(
                    "tls_error", f"{self.name}: cannot load caFile {self.idp.ca_file}: {why}"
                ) from None
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
            self._http = bounded_client(
                verify, limits, self._timeout, {"Accept": "application/json"}, self._transport
            )
        return self._http

    def poll(self) -> tuple[IdpState | None, SourceStatus]:
        started = time.monotonic()
        self._requests = {}
        state: IdpState | None = None
        errors: list[SourceError] = []
        try:
            discovery = self._document(DISCOVERY, self.idp.discovery_url, started)
            issuer, jwks_uri, algs = _parsed(parse_discovery, discovery, self.name, DISCOVERY)
            jwks = self._document(JWKS, jwks_uri, started)
            keys, notes = _parsed(parse_jwks, jwks, self.name, JWKS)
            state = IdpState(
                provider=self.idp.name,
                discovery_url=self.idp.discovery_url,
                issuer=issuer,
                jwks_uri=jwks_uri,
                algs=algs,
                keys=keys,
                fetched_at=datetime.fromtimestamp(self._clock(), UTC),
                max_age=self._fresh_for(JWKS),
                notes=notes,
            )
        except SourceFailure as err:
            errors.append(err.error)
            self._cache.pop(JWKS, None)  # a failed poll re-reads both next time
            self._cache.pop(DISCOVERY, None)
        status = SourceStatus(
            source=self.name,
            kind="oidc",
            up=not errors,
            errors=tuple(errors),
            duration_seconds=time.monotonic() - started,
            requests=dict(self._requests),
        )
        return state, status

    def _fresh_for(self, what: str) -> timedelta | None:
        cached = self._cache.get(what)
        left = cached.until - self._clock() if cached else 0.0
        return timedelta(seconds=left) if left > 0 else None

    def _document(self, what: str, url: str, started: float) -> Any:
        """The JSON document at `url`, from the cache while its max-age lasts."""
        cached = self._cache.get(what)
        if cached is not None and cached.url == url and self._clock() < cached.until:
            return cached.body
        left = self._budget - (time.monotonic() - started)
        if left <= 0:
            raise failure(
                "timeout", f"{self.name}: {what} not read: the poll's time budget ran out", what
            )
        try:
            response = send(self._client(), "GET", url, min(self._timeout, left), MAX_BODY)
        except TooLarge:
            self._count("error")
            raise failure(
                "response_too_large",
                f"{self.name}: {what}: larger than {MAX_BODY} bytes; not read",
                what,
            ) from None
        except (httpx.HTTPError, OSError) as err:
            self._count("error")
            reason = exception_reason(err)
            raise failure(reason, f"{self.name}: {what}: {exception_text(err)}", what) from None
        self._count(str(response.status_code))
        if response.status_code != 200:
            raise failure(
                status_reason(response.status_code),
                f"{self.name}: {what}: HTTP {response.status_code}: {response_text(response)}",
                what,
            )
        kind = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json" and not kind.endswith("+json"):
            raise failure(
                "bad_json",
                f"{self.name}: {what}: answered {kind or 'no content type'}, not application/json",
                what,
            )
        try:
            body = loads(response.content)
        except ValueError:
            raise failure("bad_json", f"{self.name}: {what}: not valid JSON", what) from None
        fresh = max_age(response.headers.get("cache-control"))
        if fresh is not None:
            self._cache[what] = _Cached(url, body, self._clock() + fresh.total_seconds())
        else:
            self._cache.pop(what, None)
        return body

    def _count(self, key: str) -> None:
        self._requests[key] = self._requests.get(key, 0) + 1

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


def _parsed(parse: Callable[[Any], Any], body: Any, name: str, what: str) -> Any:
    try:
        return parse(body)
    except Malformed as err:
        raise failure("bad_json", f"{name}: {what}: {err}", what) from None
