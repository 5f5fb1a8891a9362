"""What the sources share about failure: the carrier exception and the common mappings.

A read that fails inside a source raises `SourceFailure`, which carries the one
`SourceError` (reason code + message) to report; it never leaves a source's
`poll()`.  An exception nobody expected (a bug, a `RecursionError` on hostile input) is
contained where it is caught: `internal_error` reports it by its type alone (its
arguments may quote what was being read: a URL with a token, a secret's bytes), and
`frames` gives its stack without the message, for the debug log; `Contained` guards a
parse boundary with them, and `FailureLog` warns of such failures once while they last.
`status_reason` maps HTTP statuses to the reason codes of `monitor.model.REASONS`, and
`body_text` takes the short error text a server put in its error body (a JSON `message`,
an HTML page's title), clipped, never the headers. `loads` is `json.loads` for outside
input: a text nested deeper than the decoder's stack is a `ValueError`, never a
`RecursionError`.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from monitor.model import REASONS, SourceError

T = TypeVar("T")
MAX_TEXT = 200  # characters of a server's error text kept in a message
FRAMES = (20, 40)  # outermost and innermost frames `frames` keeps of a deep stack
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


def loads(raw: bytes | str) -> Any:
    """`json.loads`, bounded in depth: a text nested deeper than the decoder's stack (a
    hostile body) raises `ValueError("nested too deeply")` like any other text that is not
    JSON, never `RecursionError`."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def body_text(raw: bytes, content_type: str = "") -> str:
    """A server's own short error text from an error body, or what kind of body it was."""
    if "html" in content_type.lower() or raw.lstrip()[:1] == b"<":
        title = _TITLE.search(raw[:4096].decode("latin-1"))
        return f'HTML error page "{clip(title.group(1))}"' if title else "HTML error page"
    if not raw.strip():
        return "empty body"
    try:
        body = loads(raw)
    except ValueError:
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


def internal_error(err: BaseException, target: str, what: str) -> SourceError:
    """An unexpected exception as an `internal_error`: `what` failed on `target`; the
    message names the exception's type, never its arguments."""
    kind = type(err).__name__
    message = f"{target}: {what} failed with an unexpected {kind} (stack in the debug log)"
    return SourceError("internal_error", message, target)


def frames(err: BaseException) -> str:
    """Where `err` was raised: its stack as `traceback` prints it, without the exception's
    message (which may quote secrets); a deep stack (a recursion) keeps its outermost and
    innermost frames."""
    stack = traceback.extract_tb(err.__traceback__)
    outer, inner = FRAMES
    if len(stack) > outer + inner:
        lines = traceback.format_list(stack[:outer])
        lines.append(f"  ... {len(stack) - outer - inner} frames left out ...\n")
        lines += traceback.format_list(stack[-inner:])
    else:
        lines = traceback.format_list(stack)
    return "Traceback (most recent call last):\n" + "".join(lines) + type(err).__name__


class FailureLog:
    """Warnings about unexpected exceptions, each once while it keeps happening.

    `failing` takes every failure of now, by key (what failed and the exception's type);
    a key that was not failing the last time is warned of as `message % (*key, where)`:
    `where` is the stack (`frames`) when `log` is at debug level, else a hint. Never the
    exception's own message (it may quote secrets)."""

    def __init__(self, log: logging.Logger, message: str) -> None:
        self._log, self._message = log, message
        self._failing: set[tuple[str, ...]] = set()

    def failing(self, failures: Mapping[tuple[str, ...], BaseException]) -> None:
        for key, err in failures.items():
            if key in self._failing:
                continue
            debug = self._log.isEnabledFor(logging.DEBUG)
            where = f"\n{frames(err)}" if debug else " (--log-level debug shows where)"
            self._log.warning(self._message, *key, where)
        self._failing = set(failures)


class Contained:
    """A parse boundary's guard: `run` calls a parser, and turns what it raises into an
    error of `errors` (a `SourceFailure`'s own, or `internal_error` for anything else,
    kept in `failures` for the shell's debug log) and the `default` it returns instead:
    the part it parses is unknown, the rest of the poll goes on. Pure: no logging."""

    def __init__(self, errors: list[SourceError]) -> None:
        self.errors = errors
        self.failures: list[Exception] = []

    def run(self, target: str, default: T, parse: Callable[..., T], *args: Any) -> T:
        try:
            return parse(*args)
        except SourceFailure as fail:
            self.errors.append(fail.error)
        except Exception as err:  # a bug, or input no parser foresaw: this part only
            self.errors.append(internal_error(err, target, "parsing"))
            self.failures.append(err)
        return default
