"""Secrets (passwords, tokens) read from files or environment variables, for any source.

Owns how a secret is read fresh for each use (so a rotated Secret applies to the next
request) and how an unreadable one is reported: `credentials_unreadable`, naming the owner
and the file or variable, never its content. A secret file is read up to 64 KiB: a path
such as `/dev/zero` is an error, not a process that eats its memory. Used by the BIG-IP
credentials and the Alertmanager push.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from monitor.config.files import SECRET_LIMIT, read_limited
from monitor.sources.errors import failure


def _strip_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def secret_from_file(owner: str, what: str, path: Path) -> str:
    """The file's text without one trailing newline; SourceFailure (credentials_unreadable)
    naming `owner` and the file when it cannot be read or is empty."""
    try:
        value = _strip_newline(read_limited(path, SECRET_LIMIT).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise failure(
            "credentials_unreadable", f"{owner}: cannot read the {what} file {path}: {why}"
        ) from None
    if not value:
        raise failure("credentials_unreadable", f"{owner}: the {what} file {path} is empty")
    return value


def secret_from_env(owner: str, what: str, name: str, environ: Mapping[str, str]) -> str:
    """The variable's value; SourceFailure (credentials_unreadable) naming `owner` and the
    variable when it is unset or empty."""
    value = environ.get(name)
    if not value:
        state = "is not set" if value is None else "is empty"
        raise failure("credentials_unreadable", f"{owner}: the {what} variable {name} {state}")
    return value
