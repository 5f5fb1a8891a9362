"""Kubernetes bodies are bounded like BIG-IP's: size, time and JSON depth."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from monitor.sources.errors import SourceFailure
from monitor.sources.kube import transport as http


class _Body:
    """A urllib3 response as `read_body` sees it: a plain (not chunked) body."""

    chunked = False

    def __init__(self, chunks: Iterator[bytes], headers: dict[str, str] | None = None) -> None:
        self._chunks = chunks
        self.headers = headers or {}

    def supports_chunked_reads(self) -> bool:
        return False

    def read1(self, size: int) -> bytes:
        return next(self._chunks, b"")


def _reason(call: object) -> str:
    assert callable(call)
    with pytest.raises(SourceFailure) as caught:
        call()
    return caught.value.reason


def test_a_body_over_the_limit_is_response_too_large_and_stops_reading() -> None:
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        while True:
            sent.append(1)
            yield b" " * 1024

    body = _Body(endless())
    assert _reason(lambda: http.read_body(body, "t", 10 * 1024, 5.0)) == "response_too_large"
    assert len(sent) == 11
    announced = _Body(iter([b"{}"]), {"content-length": str(10**9)})
    assert _reason(lambda: http.read_body(announced, "t", 1024, 5.0)) == "response_too_large"


def test_a_dripping_body_ends_by_its_deadline() -> None:
    def drip() -> Iterator[bytes]:
        while True:
            time.sleep(0.05)
            yield b" "

    started = time.monotonic()
    assert _reason(lambda: http.read_body(_Body(drip()), "t", 1024, 0.5)) == "timeout"
    assert time.monotonic() - started < 3.0  # unbounded otherwise; generous under load


def test_deep_json_is_bad_json() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    assert _reason(lambda: http.decode(deep, "t")) == "bad_json"


def test_a_small_body_is_read_whole() -> None:
    assert http.read_body(_Body(iter([b'{"a":', b" 1}"])), "t", 1024, 5.0) == b'{"a": 1}'
