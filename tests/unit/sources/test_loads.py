"""`loads`: a body nested too deeply is not JSON like any other, never a RecursionError."""

from __future__ import annotations

import pytest

from monitor.sources.errors import SourceFailure, body_text, loads
from monitor.sources.kube.transport import decode

DEEP = b"[" * 200_000 + b"]" * 200_000


def test_a_deep_body_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        loads(DEEP)
    assert loads(b'{"a": [1]}') == {"a": [1]}


def test_the_parse_sites_say_not_json() -> None:
    assert body_text(DEEP) == "body is not JSON"
    with pytest.raises(SourceFailure) as caught:
        decode(DEEP, "pods")
    assert caught.value.error.reason == "bad_json"
    assert caught.value.error.message == "pods: response is not JSON (nested too deeply)"
