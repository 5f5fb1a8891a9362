"""Shared test plumbing: where the captured fixtures live and which system tools exist.

The captured BIG-IP responses and Linkerd certificates live outside the repository
(`../shared/fixtures`, some under GPL-3.0); tests that read them skip with a clear
reason where that folder is absent, and fail instead when CI=true, because CI has it.
The same rule holds for the Debian tools the end-to-end tests run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def shared_fixtures(kind: str) -> Path:
    """`../shared/fixtures/<kind>`, or skip (fail under CI) when it is not there."""
    folder = SHARED_FIXTURES / kind
    if not folder.is_dir():
        message = f"{folder} not present (the captured fixtures live outside the repository)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return folder


def require_tool(name: str) -> str:
    """The path of a system tool, or skip (fail under CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make test installs it from Debian)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path
