"""Where things are, for every test: the repository, the tests' data, the demo scenario, and
the command line that runs the CLI as a process.

Computed from this file once, so a test file can move without its paths changing.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
TESTDATA = TESTS / "testdata"
SCENARIOS = TESTS / "scenarios"
DEMO = ROOT / "monitor" / "simulate" / "scenarios" / "demo.yaml"
CLI = [sys.executable, "-m", "monitor"]
