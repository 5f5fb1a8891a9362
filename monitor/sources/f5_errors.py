"""How a failed iControl REST exchange becomes a reason code and a message a person can read.

Owns the mapping from httpx exceptions and HTTP statuses to the fixed reason codes of
`monitor.model.REASONS` (DESIGN section 2), the short error text taken from BIG-IP's
error bodies (restjavad `{code, message, referer, restOperationId, kind}`, icrd
`{code, message, errorStack, apiError}`, Jetty's HTML pages; research/f5.md §1.3), and
`F5Failure`, the exception that carries one `SourceError` inside the source package
(it never leaves `F5Source.poll`). Pure: no I/O, no logging.

Messages never carry credentials or tokens: `scrub` replaces any secret the caller
knows of, and nothing here reads request headers.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Iterable

import httpx

from monitor.model import REASONS, SourceError

MAX_TEXT = 200  # characters of BIG-IP's error text kept in a message
_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")


class F5Failure(Exception):
    """A read that failed; carries the `SourceError` to report."""

    def __init__(self, error: SourceError) -> None:
        super().__init__(error.message)
        self.error = error

    @property
    def reason(self) -> str:
        return self.error.reason


def failure(reason: str, message: str, target: str = "") -> F5Failure:
    if reason not in REASONS:  # a programming error, not a remote fault
        raise ValueError(f"unknown reason code {reason!r}")
    return F5Failure(SourceError(reason, message, target))


def status_reason(status: int) -> str:
    """The reason code of a non-2xx HTTP status."""
    if status in (401, 403, 404):
        return f"http_{status}"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "http_4xx"
    if 500 <= status < 600:
        return "http_5xx"
    return "protocol_error"  # 1xx/3xx: not what iControl REST answers


def _causes(err: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_tls_failure(err: BaseException) -> bool:
    """Did `err` come from the TLS layer (certificate verification, handshake)?"""
    for e in _causes(err):
        if isinstance(e, ssl.SSLError):
            return True
        text = str(e)
        if "CERTIFICATE_VERIFY_FAILED" in text or "[SSL" in text:
            return True
    return False


def exception_reason(err: BaseException) -> str:
    """The reason code of a transport-level failure (no HTTP response)."""
    if isinstance(err, httpx.TimeoutException):
        return "timeout"
    if isinstance(err, httpx.ConnectError):  # the TLS handshake is part of connecting
        return "tls_error" if is_tls_failure(err) else "connect_error"
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in _causes(err)):
        return "tls_error"
    if isinstance(err, httpx.UnsupportedProtocol | httpx.ProxyError | ConnectionRefusedError):
        return "connect_error"
    return "protocol_error"  # RemoteProtocolError, ReadError, WriteError, incomplete bodies


def exception_text(err: BaseException) -> str:
    """A short description of a transport failure, without URLs' queries or secrets."""
    text = _SPACE.sub(" ", str(err)).strip()
    if not text:
        text = type(err).__name__
    return _clip(text)


def body_text(response: httpx.Response) -> str:
    """BIG-IP's own short error text from a response body, or what kind of body it was."""
    content_type = response.headers.get("content-type", "").lower()
    raw = response.content
    if "html" in content_type or raw.lstrip()[:1] == b"<":
        title = _TITLE.search(raw[:4096].decode("latin-1"))
        return f'HTML error page "{_clip(title.group(1))}"' if title else "HTML error page"
    if not raw.strip():
        return "empty body"
    try:
        body = json.loads(raw)
    except ValueError:
        return "body is not JSON"
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return _clip(_SPACE.sub(" ", message).strip())
        for key in ("errorMessage", "error"):
            if isinstance(body.get(key), str):
                return _clip(str(body[key]))
    return "no message in the error body"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret (password, token) replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
