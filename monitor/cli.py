"""Command line: argument parsing and dispatch to the subcommands, nothing else.

Exit codes: 0 success, 1 runtime failure (or, for `check`, findings at or above
`--fail-on`; for `rotation`, a boundary whose rotation is `broken`), 2 bad input or an
incomplete answer — always with a one-line
message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import __version__

if TYPE_CHECKING:
    from monitor.config.schema import Config
    from monitor.daemon.shard import Shard
    from monitor.state.snapshot import Snapshot


_BOUNDED = (
    " Each source is awaited at most 90% of poll.interval (the daemon's cycle deadline); one"
    " that has not answered by then is reported down (timeout) beside the others' results,"
    " and the command exits without waiting for it."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="f5-linkerd-monitor",
        description="Watch the trust boundary between F5 BIG-IP and a Linkerd service mesh.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--log-level", default="info", choices=("debug", "info", "warning", "error")
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="poll, check and serve metrics until SIGTERM (SIGHUP reloads the config file)",
    )
    run.add_argument("--config", type=Path, required=True, metavar="FILE")
    _shard_option(run)

    check = sub.add_parser(
        "check",
        help="run one cycle (sources awaited at most 90%% of poll.interval), print the"
        " findings, exit 0/1/2",
        description="Run one cycle and print the findings." + _BOUNDED + " Exit codes: 0"
        " nothing at or above --fail-on, 1 findings at or above it, 2 bad config or a"
        " source down or timed out (the answer is incomplete).",
    )
    check.add_argument("--config", type=Path, required=True, metavar="FILE")
    _output_options(check)
    _shard_option(check)

    rotation = sub.add_parser(
        "rotation",
        help="run one cycle, print each boundary's trust-anchor rotation phase and next step",
        description="Run one cycle and print each boundary's trust-anchor rotation phase and"
        " next step." + _BOUNDED + " Exit codes: 0, 1 a boundary is broken, 2 bad config or a"
        " source down or timed out.",
    )
    rotation.add_argument("--config", type=Path, required=True, metavar="FILE")
    rotation.add_argument("-o", "--output", choices=("table", "json"), default="table")
    _shard_option(rotation)

    doctor = sub.add_parser(
        "doctor",
        help="try every source with the configured accounts and say which checks will run;"
        " exit 0 (all granted), 1 (checks will be unknown) or 2",
    )
    doctor.add_argument("--config", type=Path, required=True, metavar="FILE")
    doctor.add_argument("-o", "--output", choices=("text", "json"), default="text")

    demo = sub.add_parser(
        "demo", help="run the monitor against the bundled simulated world (no real systems)"
    )
    demo.add_argument("--listen", default="127.0.0.1:9879", metavar="HOST:PORT")
    demo.add_argument("--once", action="store_true", help="one cycle, print, exit like check")
    demo.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write the simulated world's kubeconfig, CA and config",
    )
    _output_options(demo)

    validate = sub.add_parser(
        "validate-config", help="check an expected-state file offline and exit 0 (valid) or 2"
    )
    validate.add_argument("file", type=Path, metavar="FILE")

    simulate = sub.add_parser(
        "simulate", help="serve a simulated BIG-IP and Kubernetes API from a scenario file"
    )
    simulate.add_argument("--scenario", type=Path, required=True, metavar="FILE")
    simulate.add_argument(
        "--out",
        type=Path,
        default=Path(".simulate"),
        metavar="DIR",
        help="where to write kubeconfig, bigip-ca.pem, credentials and config.yaml"
        " (default: .simulate)",
    )
    simulate.add_argument(
        "--manual-timeline",
        action="store_true",
        help="apply the scenario's timeline one event per SIGUSR1 instead of by the clock",
    )
    return parser


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")
    parser.add_argument(
        "--fail-on",
        choices=("warning", "critical"),
        default="critical",
        help="exit 1 when a finding of this severity or worse exists (default: critical)",
    )


def _shard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shard",
        metavar="i/N",
        default=None,
        help="only the devices and boundaries that hash to shard i of N (default: all)",
    )


def _load(path: Path, shard: Shard | None = None) -> Config | None:
    """The config (with `shard`: that shard's part of it); None after a one-line error."""
    from monitor.config.schema import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as err:
        print(f"{path}: {err}", file=sys.stderr)
        return None
    if shard is None:
        return config
    from monitor.daemon.shard import shard_config

    return shard_config(config, shard)


def _validate_config(path: Path) -> int:
    config = _load(path)
    if config is None:
        return 2
    from monitor.config.named_files import file_problems

    problems = file_problems(config)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        return 2
    if config.server.web_config is not None:  # the one file `run` cannot start without
        from monitor.web.config import WebConfigError, load_web_config

        try:
            load_web_config(config.server.web_config)
        except WebConfigError as err:
            print(f"{path}: server.webConfig: {err}", file=sys.stderr)
            return 2
    print(
        f"{path}: valid ({len(config.bigip)} BIG-IP device(s), "
        f"{len(config.boundaries)} boundar{'y' if len(config.boundaries) == 1 else 'ies'})"
    )
    return 0


def _run(path: Path, shard: Shard | None) -> int:
    from monitor.daemon.serve import serve
    from monitor.daemon.stopping import abandon_stuck_threads

    config = _load(path)  # the whole file: `serve` cuts out the shard, and logs it
    if config is None:
        return 2
    return abandon_stuck_threads(serve(config, config_path=path, shard=shard))


def _check(path: Path, output: str, fail_on: str, shard: Shard | None) -> int:
    from monitor.render.findings import print_report

    return _one_shot(path, shard, lambda snapshot: print_report(snapshot, output, fail_on))


def _rotation(path: Path, output: str, shard: Shard | None) -> int:
    from monitor.render.rotation import print_rotation

    return _one_shot(path, shard, lambda snapshot: print_rotation(snapshot, output))


def _one_shot(path: Path, shard: Shard | None, show: Callable[[Snapshot], int]) -> int:
    """`check` and `rotation`: one cycle of the daemon's (each source awaited no longer than
    the cycle's deadline, a source still polling then reported down with reason `timeout`),
    shown by `show`, whose code is the exit code. Like `run`, the process then exits
    without waiting for a poll stuck in a request (`abandon_stuck_threads`): the answer is
    printed, the threads still blocked are left behind. Interrupted (SIGINT), the same."""
    from monitor.daemon.cycle import check_once
    from monitor.daemon.stopping import abandon_stuck_threads

    config = _load(path, shard)
    if config is None:
        return 2
    _log_shard(config, shard)
    others = frozenset(threading.enumerate())  # not this command's to leave behind
    try:
        snapshot = check_once(config)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return abandon_stuck_threads(130, others=others)
    code = show(snapshot)
    _stopped_world(path, snapshot)
    return abandon_stuck_threads(code, others=others)


def _stopped_world(path: Path, snapshot: Snapshot) -> None:
    """Say so when `path` is a simulated world's config and that world is not running."""
    if snapshot.sources and not any(s.up for s in snapshot.sources):
        from monitor.demo import stopped_world

        reasons = {e.reason for s in snapshot.sources for e in s.errors}
        if hint := stopped_world(path, reasons):
            print(hint, file=sys.stderr)


def _log_shard(config: Config, shard: Shard | None) -> None:
    if shard is not None:
        from monitor.daemon.serve import log_shard

        log_shard(config, shard)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if args.log_level != "debug":  # one line per cycle, not one per HTTP request
        for noisy in ("httpx", "httpcore", "urllib3", "kubernetes", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "validate-config":
        return _validate_config(args.file)
    shard = None
    if getattr(args, "shard", None) is not None:
        from monitor.daemon.shard import ShardError, parse_shard

        try:
            shard = parse_shard(args.shard)
        except ShardError as err:
            print(f"f5-linkerd-monitor {args.command}: --shard: {err}", file=sys.stderr)
            return 2
    if args.command == "run":
        return _run(args.config, shard)
    if args.command == "check":
        return _check(args.config, args.output, args.fail_on, shard)
    if args.command == "rotation":
        return _rotation(args.config, args.output, shard)
    if args.command == "doctor":
        from monitor.doctor import run_doctor

        return run_doctor(args.config, args.output)
    if args.command == "demo":
        from monitor.demo import run_demo

        return run_demo(args.listen, args.once, args.output, args.fail_on, args.out)
    if args.command == "simulate":
        from monitor.simulate.run import run_simulate

        return run_simulate(args.scenario, args.out, manual_timeline=args.manual_timeline)
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects others


if __name__ == "__main__":
    sys.exit(main())
