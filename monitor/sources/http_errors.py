"""How a failed iControl REST exchange becomes a reason code and a message a person can read.

Owns the mapping from httpx exceptions and HTTP statuses to the fixed reason codes of
`monitor.model.REASONS` (DESIGN section 2), the short error text taken from BIG-IP's
error bodies (restjavad `{code, message, referer, restOperationId, kind}`, icrd
`{code, message, errorStack, apiError}`, Jetty's HTML pages; research/f5.md §1.3), and
the scrubbing of secrets. Failures travel as `monitor.sources.errors.SourceFailure`.
Pure: no I/O, no logging.

Messages never carry credentials or tokens: `scrub` replaces any secret the caller
knows of, and nothing here reads request headers.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable

import httpx

from monitor.sources.errors import body_text, causes, clip


def is_tls_failure(err: BaseException) -> bool:
    """Did `err` come from the TLS layer (certificate verification, handshake)?"""
    for e in causes(err):
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
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in causes(err)):
        return "tls_error"
    if isinstance(err, httpx.UnsupportedProtocol | httpx.ProxyError | ConnectionRefusedError):
        return "connect_error"
    return "protocol_error"  # RemoteProtocolError, ReadError, WriteError, incomplete bodies


def exception_text(err: BaseException) -> str:
    """A short description of a transport failure, without URLs' queries or secrets."""
    return clip(str(err)) or type(err).__name__


def response_text(response: httpx.Response) -> str:
    """BIG-IP's own short error text from a response body, or what kind of body it was."""
    return body_text(response.content, response.headers.get("content-type", ""))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every known secret (password, token) replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
