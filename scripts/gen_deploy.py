#!/usr/bin/env python3
"""Writes the copies of the alert rules that the deploy manifests embed (`make deploy`).

`deploy/prometheus/rules.yaml` is the one source of truth. This script writes, from its
text, with the leading comment block replaced by a "generated" header:
- `deploy/helm/f5-linkerd-monitor/files/rules.yaml`: a copy inside the chart, where
  `.Files.Get` can read it (Helm cannot read files outside the chart directory);
- `deploy/kustomize/base/prometheusrule.yaml`: a PrometheusRule whose `spec` is the rule
  file, indented (comments kept).

`--check` writes nothing and exits 1, naming the stale files, when a copy differs from
what would be written (tests/deploy/test_rules.py runs it). Standard library only.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("deploy/prometheus/rules.yaml")
HELM_COPY = Path("deploy/helm/f5-linkerd-monitor/files/rules.yaml")
KUSTOMIZE_RULE = Path("deploy/kustomize/base/prometheusrule.yaml")

_HEADER = (
    f"# Generated from {SOURCE} by `make deploy` (scripts/gen_deploy.py); do not edit.\n"
    "# tests/deploy/test_rules.py fails when this copy is stale.\n"
)

_PROMETHEUS_RULE = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: f5-linkerd-monitor
  namespace: f5-linkerd-monitor
  labels:
    app.kubernetes.io/name: f5-linkerd-monitor
    app.kubernetes.io/instance: f5-linkerd-monitor
spec:
"""


def rules_body(source: str) -> str:
    """The rule file without its leading comment block (and the blank lines after it)."""
    lines = source.splitlines(keepends=True)
    start = 0
    while start < len(lines) and (lines[start].startswith("#") or not lines[start].strip()):
        start += 1
    return "".join(lines[start:])


def helm_copy(source: str) -> str:
    return _HEADER + rules_body(source)


def prometheus_rule(source: str) -> str:
    return _HEADER + _PROMETHEUS_RULE + textwrap.indent(rules_body(source), "  ")


def outputs(root: Path) -> dict[Path, str]:
    """Each generated file (relative to `root`) and the text it must have."""
    source = (root / SOURCE).read_text(encoding="utf-8")
    return {HELM_COPY: helm_copy(source), KUSTOMIZE_RULE: prometheus_rule(source)}


def stale(root: Path) -> list[Path]:
    """The generated files that are missing or differ from what `outputs` says."""
    found = []
    for path, text in outputs(root).items():
        target = root / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale copies")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        behind = stale(args.root)
        for path in behind:
            print(f"{path} is stale: run `make deploy`", file=sys.stderr)
        return 1 if behind else 0
    for path, text in outputs(args.root).items():
        target = args.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
