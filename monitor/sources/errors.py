"""What the sources share about failure: the carrier exception and the common mappings.

A read that fails inside a source raises `SourceFailure`, which carries the one
`SourceError` (reason code + message) to report; it never leaves a source's
`poll()`.  `status_reason` maps HTTP statuses to the reason codes of
`monitor.model.REASONS`, and `body_text` takes the short error text a server put in
its error body (a JSON `message`, an HTML page's title), clipped, never the headers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from monitor.model import REASONS, SourceError

MAX_TEXT = 200  # characters of a server's error text kept in a message
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


class SourceFailure(Exception):
    """A read that failed; carries the `SourceError` to report."""

    def __init__(self, error: SourceError) -> None:
        super().__init__(error.message)
        self.error = error

    @property
    def reason(self) -> str:
        return self.error.reason


def failure(reason: str, message: str, target: str = "") -> SourceFailure:
    if reason not in REASONS:  # a programming error, not a remote fault
        raise ValueError(f"unknown reason code {reason!r}")
    return SourceFailure(SourceError(reason, message, target))


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
    return "protocol_error"  # 1xx/3xx: not what these APIs answer


def clip(text: str) -> str:
    """Whitespace folded, at most MAX_TEXT characters."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def body_text(raw: bytes, content_type: str = "") -> str:
    """A server's own short error text from an error body, or what kind of body it was."""
    if "html" in content_type.lower() or raw.lstrip()[:1] == b"<":
        title = _TITLE.search(raw[:4096].decode("latin-1"))
        return f'HTML error page "{clip(title.group(1))}"' if title else "HTML error page"
    if not raw.strip():
        return "empty body"
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply (hostile)
        return "body is not JSON"
    if isinstance(body, dict):
        for key in ("message", "errorMessage", "error"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return clip(value)
    return "no message in the error body"


def causes(err: BaseException) -> Iterator[BaseException]:
    """`err` and the exceptions behind it (`__cause__`, `__context__`, urllib3's `reason`)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)  # MaxRetryError keeps its cause here
        if isinstance(reason, BaseException) and id(reason) not in seen:
            current = reason
        else:
            current = current.__cause__ or current.__context__
