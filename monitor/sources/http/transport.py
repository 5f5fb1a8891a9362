"""An HTTP transport whose every socket operation ends by the request's deadline.

httpx applies its timeouts per socket operation: a peer that sends one byte a second
never trips a read timeout, and the response headers or body of such a peer arrive
after hours. Here each request gets one monotonic deadline (`deadline`, set by the
client around a request and the reading of its body, per thread: a sync httpx request
runs entirely in the calling thread), and every connect, TLS handshake, write and
read of the connection is given at most what is left of it; once it has passed, the
operation fails at once with httpcore's own timeout, which httpx reports as
`httpx.TimeoutException` (reason `timeout`). This covers keep-alive connections too,
because the check is made by the stream on every operation, not when connecting, and
the connection to a proxy (its CONNECT answer included) when there is one.

`send` makes one request so bounded, and `read_body` reads its streamed response in chunks
against the same deadline and a size cap, returning it as a complete response (decoded
body, no `Content-Encoding`). `hide_in_logs` keeps a secret that is part of a URL path
(a token DELETE's) out of httpx's request log line.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

_local = threading.local()


class TooLarge(Exception):
    """The response body is larger than the cap (its headers say so, or it was read)."""

    def __init__(self, limit: int, announced: int | None) -> None:
        super().__init__(limit)
        self.limit = limit
        self.announced = announced


@contextlib.contextmanager
def deadline(at: float) -> Iterator[None]:
    """Socket operations of this thread end by `at` (`time.monotonic()` seconds)."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = at
    try:
        yield
    finally:
        _local.deadline = previous


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at: float | None = getattr(_local, "deadline", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = _clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """`httpx.HTTPTransport` (HTTP/1.1) over streams bounded by `deadline`: direct, or
    through `proxy` (an `http://` or `https://` one: plain requests in absolute form,
    HTTPS ones tunnelled with CONNECT; the proxy's connection is bounded the same way)."""

    def __init__(
        self,
        verify: ssl.SSLContext | bool,
        limits: httpx.Limits,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        context = httpx.create_ssl_context(verify=verify)
        if proxy is None:
            self._pool = httpcore.ConnectionPool(
                ssl_context=context,
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
                network_backend=_Backend(),
            )
            return
        if proxy.url.scheme not in ("http", "https"):
            raise ValueError(f"proxy scheme {proxy.url.scheme!r}: only http and https")
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            ssl_context=context,
            proxy_ssl_context=proxy.ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )


def send(
    client: httpx.Client,
    method: str,
    url: str,
    timeout: float,
    limit: int,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """One request through `client`, ended by `timeout` seconds from now, its body read
    whole (at most `limit` bytes; `limit` 0: closed unread, the response has no body)."""
    at = time.monotonic() + timeout
    with deadline(at):
        request = client.build_request(method, url, headers=headers, timeout=timeout, **kwargs)
        response = client.send(request, stream=True, auth=auth)
        if limit == 0:
            response.close()
            return response
        return read_body(response, limit, at)


def read_body(response: httpx.Response, limit: int, at: float) -> httpx.Response:
    """The streamed `response` read whole: at most `limit` bytes (decoded), by `at`.

    Raises `TooLarge`, or `httpx.ReadTimeout` when the deadline passes between chunks
    (a read blocked inside a chunk is ended by `DeadlineTransport`). Closes `response`.
    """
    try:
        announced = _content_length(response)
        if announced is not None and announced > limit:
            raise TooLarge(limit, announced)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise TooLarge(limit, None)
            chunks.append(chunk)
            if time.monotonic() > at:
                raise httpx.ReadTimeout("the request's deadline passed while reading the body")
    finally:
        response.close()
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "content-encoding"]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=b"".join(chunks),
        request=response.request,
    )


class _HidePaths(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self._prefix, self._pattern = prefix, re.compile(re.escape(prefix) + r"[^\s\"'?#/]+")

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if self._prefix in text:
            record.msg, record.args = self._pattern.sub(self._prefix + "***", text), ()
        return True


def hide_in_logs(prefix: str) -> None:
    """httpx logs each request's URL (at INFO): show what follows `prefix` in a path as
    `***`. On httpx's own logger, so it holds whatever logging is configured."""
    logging.getLogger("httpx").addFilter(_HidePaths(prefix))


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None
