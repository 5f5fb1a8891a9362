"""Shared test plumbing: where the captured fixtures live.

The captured BIG-IP responses and Linkerd certificates live outside the repository
(`../shared/fixtures`, some under GPL-3.0); tests that read them skip with a clear
reason where that folder is absent, and fail instead when CI=true, because CI has it.
The same rule holds for the tools the tests run (`tests.support.tools`).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.tools import unavailable

SHARED_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


def shared_fixtures(kind: str) -> Path:
    """`../shared/fixtures/<kind>`, or skip (fail under CI) when it is not there."""
    folder = SHARED_FIXTURES / kind
    if not folder.is_dir():
        unavailable(f"{folder} not present (the captured fixtures live outside the repository)")
    return folder
