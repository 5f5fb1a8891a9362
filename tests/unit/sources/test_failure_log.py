"""`FailureLog`: each failure warned of once while it lasts, never with its message."""

from __future__ import annotations

import logging

import pytest

from monitor.sources.errors import FailureLog

LOG = logging.getLogger("tests.failure_log")


def _raised(err: Exception) -> Exception:
    try:
        raise err
    except Exception as caught:
        return caught


def test_a_failure_is_warned_of_once_while_it_lasts_and_again_when_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = FailureLog(LOG, "%s failed with %s%s")
    boom = _raised(ValueError("secret-token"))
    with caplog.at_level(logging.INFO, LOG.name):
        failing.failing({("a", "ValueError"): boom})
        failing.failing({("a", "ValueError"): boom, ("b", "KeyError"): boom})
        failing.failing({})
        failing.failing({("a", "ValueError"): boom})
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" (")[0] for line in lines] == [
        "a failed with ValueError",
        "b failed with KeyError",
        "a failed with ValueError",
    ]
    assert all("secret-token" not in line for line in lines)


def test_the_stack_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    boom = _raised(ValueError("secret-token"))
    with caplog.at_level(logging.DEBUG, LOG.name):
        FailureLog(LOG, "%s%s").failing({("x",): boom})
    (line,) = [r.getMessage() for r in caplog.records]
    assert "Traceback" in line
    assert "_raised" in line
    assert "secret-token" not in line
