"""The Debian tools that the end-to-end tests drive are installed and runnable."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.tools import require_tool

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("tool", "flag", "expected"),
    [
        ("promtool", "--version", "promtool, version"),
        ("prometheus", "--version", "prometheus, version"),
        ("prometheus-alertmanager", "--version", "alertmanager, version"),
        ("amtool", "--version", "amtool, version"),
        ("chromium", "--version", "Chromium"),
    ],
)
def test_tool_runs(tool: str, flag: str, expected: str) -> None:
    path = require_tool(tool)
    result = subprocess.run([path, flag], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout + result.stderr
