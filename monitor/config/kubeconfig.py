"""The files a kubeconfig names for the context in use, checked before the Kubernetes
client reads them.

The client opens what a kubeconfig's entries point at (`certificate-authority` of the
cluster; `client-certificate`, `client-key`, `tokenFile` and an OIDC auth-provider's
`idp-certificate-authority` of the user) whole and on trust, so a path to `/dev/zero`, a
log file or a missing mount would hang, exhaust memory or fail deep in the client. For
the context the monitor uses (`mesh.context`, else the kubeconfig's `current-context`),
`referenced` lists those files as the client resolves them (relative to the kubeconfig's
directory; an inline `…-data` / `token` wins over the file, as in the client; certificate
files only for an `https://` server), and `problems` says which cannot be read within
their limit: certificates 4 MiB, the key and the token 64 KiB (`monitor.config.files`).
A kubeconfig whose context does not resolve names no file here: the client reports that
itself. Messages name the entry and the path, never a file's content.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from monitor.config.files import CA_LIMIT, CONFIG_LIMIT, SECRET_LIMIT, read_limited


class Referenced(NamedTuple):
    where: str  # the entry and field, e.g. `user "dev" client-key`
    path: Path
    limit: int


class UnusableFile(Exception):
    """A file the kubeconfig names cannot be read within its limit; says which and why."""


def _named(items: Any, name: Any) -> dict[str, Any] | None:
    """The body (`cluster`, `user`, `context`) of the entry called `name` in a list."""
    if not isinstance(items, list):
        return None
    for item in items:
        if isinstance(item, dict) and item.get("name") == name:
            for key in ("cluster", "user", "context"):
                if isinstance(item.get(key), dict):
                    body: dict[str, Any] = item[key]
                    return body
    return None


def _file(section: dict[str, Any], key: str, data_key: str, base: str | None) -> Path | None:
    """The file `section[key]` as the client resolves it (None: none, or inline data)."""
    value = section.get(key)
    if data_key in section or not isinstance(value, str) or not value:
        return None
    return Path(value if base is None else os.path.normpath(os.path.join(base, value)))


def referenced(doc: Any, base: str, context: str | None) -> list[Referenced]:
    """The files the client would read for `context` (None: `current-context`)."""
    if not isinstance(doc, dict):
        return []
    chosen = _named(doc.get("contexts"), context or doc.get("current-context"))
    if chosen is None:
        return []
    found: list[Referenced] = []
    cluster_name, user_name = chosen.get("cluster"), chosen.get("user")
    cluster = _named(doc.get("clusters"), cluster_name) or {}
    user = _named(doc.get("users"), user_name) or {}
    https = str(cluster.get("server", "")).startswith("https")
    fields = [
        (cluster, f"cluster {cluster_name!r}", "certificate-authority", None, CA_LIMIT, https),
        (user, f"user {user_name!r}", "client-certificate", None, CA_LIMIT, https),
        (user, f"user {user_name!r}", "client-key", None, SECRET_LIMIT, https),
        (user, f"user {user_name!r}", "tokenFile", "token", SECRET_LIMIT, True),
    ]
    for section, owner, key, data_key, limit, read in fields:
        path = _file(section, key, data_key or f"{key}-data", base) if read else None
        if path is not None:
            found.append(Referenced(f"{owner} {key}", path, limit))
    provider = user.get("auth-provider")
    if isinstance(provider, dict) and provider.get("name") == "oidc":
        settings = provider.get("config")
        key = "idp-certificate-authority"
        # the client takes this path as written, not relative to the kubeconfig
        path = _file(settings, key, f"{key}-data", None) if isinstance(settings, dict) else None
        if path is not None:
            found.append(Referenced(f"user {user_name!r} {key}", path, CA_LIMIT))
    return found


def problems(doc: Any, base: str, context: str | None) -> list[str]:
    """What is wrong with the files `referenced` names, one message per file."""
    found = []
    for ref in referenced(doc, base, context):
        try:
            read_limited(ref.path, ref.limit)
        except OSError as err:
            why = err.strerror or type(err).__name__
            found.append(f"{ref.where}: cannot read {ref.path}: {why}")
    return found


def check_referenced(kubeconfig: Path, context: str | None) -> None:
    """Raise `UnusableFile` (the first problem) when a file `kubeconfig` names for
    `context` cannot be read within its limit. A kubeconfig that cannot be read or parsed
    here is left to the client, which reports it its own way."""
    try:
        doc = yaml.safe_load(read_limited(kubeconfig, CONFIG_LIMIT).decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return
    except (ValueError, TypeError, OverflowError):  # a scalar the loader cannot build
        return
    found = problems(doc, os.path.dirname(os.path.abspath(kubeconfig)), context)
    if found:
        raise UnusableFile(found[0])
