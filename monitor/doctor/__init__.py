"""The `doctor` command: what the configured accounts may read, before the first cycle.

Owns `diagnose` (the config's sources probed: every BIG-IP (`bigip`) in parallel, and the
Kubernetes API (`kube`)), the verdict per check of the catalogue from what each source
does not grant (`result`, through the table of `monitor.requirements`), and the report
(`output`). Reads only: the probes are GETs, SelfSubjectAccessReviews, one util/bash `cat`
and a login whose token is deleted afterwards. May import `monitor.sources`,
`monitor.config`, `monitor.requirements`, `monitor.catalogue`, `monitor.checks` (which
checks apply), `monitor.daemon` (the Lease's namespace) and `monitor.demo` (a stopped
simulated world).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from monitor.config.schema import BigIPConfig, Config, ConfigError, load_config
from monitor.demo import stopped_world
from monitor.doctor.bigip import probe_device
from monitor.doctor.kube import probe_kubernetes
from monitor.doctor.output import render
from monitor.doctor.result import Report, SourceReport, verdicts

__all__ = ["diagnose", "run_doctor"]

ProbeDevice = Callable[[BigIPConfig, Config, Mapping[str, str]], SourceReport]
ProbeKube = Callable[[Config], SourceReport]


def diagnose(
    cfg: Config,
    environ: Mapping[str, str] | None = None,
    device_probe: ProbeDevice = probe_device,
    kube_probe: ProbeKube = probe_kubernetes,
) -> Report:
    """Probe every source of `cfg` and judge every check."""
    env = os.environ if environ is None else environ
    with ThreadPoolExecutor(max_workers=len(cfg.bigip) + 1, thread_name_prefix="doctor") as pool:
        kube = pool.submit(kube_probe, cfg)
        devices = [pool.submit(device_probe, d, cfg, env) for d in cfg.bigip]
        reports = (*(f.result() for f in devices), kube.result())
    return Report(reports, verdicts(reports, cfg))


def run_doctor(path: Path, output: str) -> int:
    """`f5-linkerd-monitor doctor --config FILE`: print the report, return the exit code."""
    try:
        cfg = load_config(path)
    except ConfigError as err:
        print(f"{path}: {err}", file=sys.stderr)
        return 2
    noisy = logging.getLogger("monitor.sources")  # the probes report failures themselves
    level = noisy.level
    noisy.setLevel(logging.ERROR)
    try:
        report = diagnose(cfg)
    finally:
        noisy.setLevel(level)
    sys.stdout.write(render(report, output))
    failed = [p.name for s in report.sources for p in s.probes if p.status == "failed"]
    refused = not any(s.reachable for s in report.sources) and set(failed) <= {"TCP", "API server"}
    hint = stopped_world(path, {"connect_error"}) if refused else ""
    if hint:  # every source refused the connection, and the config is a simulated world's
        print(hint, file=sys.stderr)
    return report.exit_code()
