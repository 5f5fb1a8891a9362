"""The files a valid config names, opened and parsed offline, as `validate-config` does.

Owns `file_problems`: for every file the config points at, what the daemon would find
wrong with it at its first cycle, now, each as a `ConfigError` naming the key
(`bigip[0].passwordFile: cannot read /run/secrets/pw: Permission denied`). Secret files
must be readable UTF-8, non-empty and at most 64 KiB; CA files PEM certificates that TLS
can load; the kubeconfig a YAML mapping, and the files it names for the context in use
(`monitor.config.kubeconfig`) readable within their limits. Nothing is contacted, and no
file's content is ever part of a message. The web config is checked by
`monitor.web.config`; the state file is the daemon's own and may not exist yet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import yaml

from monitor.config import kubeconfig
from monitor.config.decode import ConfigError
from monitor.config.files import CONFIG_LIMIT, SECRET_LIMIT, ca_context, read_limited
from monitor.config.schema import Config


def _why(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def _secret(key: str, path: Path) -> ConfigError | None:
    try:
        text = read_limited(path, SECRET_LIMIT).decode("utf-8")
    except UnicodeDecodeError:
        return ConfigError(key, f"{path} is not UTF-8 text")
    except OSError as err:
        return ConfigError(key, f"cannot read {path}: {_why(err)}")
    if not text.strip():
        return ConfigError(key, f"{path} is empty")
    return None


def _ca(key: str, path: Path) -> ConfigError | None:
    try:
        ca_context(path)
    except OSError as err:  # ssl.SSLError too: the PEM does not load
        return ConfigError(key, f"cannot use {path} as CA certificates: {_why(err)}")
    except ValueError as err:
        return ConfigError(key, f"cannot use {path} as CA certificates: {err}")
    return None


def _kubeconfig(key: str, path: Path, context: str | None) -> list[ConfigError]:
    try:
        text = read_limited(path, CONFIG_LIMIT).decode("utf-8")
    except UnicodeDecodeError:
        return [ConfigError(key, f"{path} is not UTF-8 text")]
    except OSError as err:
        return [ConfigError(key, f"cannot read {path}: {_why(err)}")]
    try:
        doc = yaml.safe_load(text)  # as the Kubernetes client loads it
    # a position only, never the content; ValueError…: a scalar the loader cannot build
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError) as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        return [ConfigError(key, f"{path} is not valid YAML{where}")]
    if not isinstance(doc, dict) or not isinstance(doc.get("clusters"), list):
        return [ConfigError(key, f"{path} is not a kubeconfig (no clusters list)")]
    base = os.path.dirname(os.path.abspath(path))
    return [ConfigError(key, f"{path}: {why}") for why in kubeconfig.problems(doc, base, context)]


def _named(config: Config) -> Iterator[tuple[str, str, Path]]:
    """(key, kind, path) of every file the config names."""
    for index, device in enumerate(config.bigip):
        at = f"bigip[{index}]"
        if device.username_file is not None:
            yield f"{at}.usernameFile", "secret", device.username_file
        if device.password_file is not None:
            yield f"{at}.passwordFile", "secret", device.password_file
        if device.ca_file is not None:
            yield f"{at}.caFile", "ca", device.ca_file
    if config.mesh.kubeconfig is not None:
        yield "mesh.kubeconfig", "kubeconfig", config.mesh.kubeconfig
    am = config.alertmanager
    if am is not None:
        if am.ca_file is not None:
            yield "alertmanager.caFile", "ca", am.ca_file
        if am.password_file is not None:
            yield "alertmanager.passwordFile", "secret", am.password_file
        if am.bearer_token_file is not None:
            yield "alertmanager.bearerTokenFile", "secret", am.bearer_token_file


_CHECKS = {"secret": _secret, "ca": _ca}


def file_problems(config: Config) -> list[ConfigError]:
    """What is wrong with the files `config` names, one error per file (none: all good)."""
    problems = []
    for key, kind, path in _named(config):
        if kind == "kubeconfig":
            problems.extend(_kubeconfig(key, path, config.mesh.context))
            continue
        problem = _CHECKS[kind](key, path)
        if problem is not None:
            problems.append(problem)
    return problems
