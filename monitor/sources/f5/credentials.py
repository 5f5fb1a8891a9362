"""A BIG-IP device's credentials, read fresh for every poll from files or the environment.

Owns where the username and password come from (`username` / `usernameFile` /
`usernameEnv`, `passwordFile` / `passwordEnv`; never an inline password), so that a
rotated Secret is picked up by the next poll, and how an unreadable one is reported
(`credentials_unreadable`, naming the file or variable, never its content).
`Credentials.__repr__` hides the password.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.config.schema import BigIPConfig
from monitor.sources.errors import failure


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


def _strip_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith("\n") else text


def secret_from_file(device: str, what: str, path: Path) -> str:
    try:
        value = _strip_newline(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise failure(
            "credentials_unreadable", f"{device}: cannot read the {what} file {path}: {why}"
        ) from None
    if not value:
        raise failure("credentials_unreadable", f"{device}: the {what} file {path} is empty")
    return value


def secret_from_env(device: str, what: str, name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    if not value:
        state = "is not set" if value is None else "is empty"
        raise failure("credentials_unreadable", f"{device}: the {what} variable {name} {state}")
    return value


def read_credentials(device: BigIPConfig, environ: Mapping[str, str]) -> Credentials:
    """The device's username and password as they are now; SourceFailure if unreadable."""
    if device.username is not None:
        user = device.username
    elif device.username_file is not None:
        user = secret_from_file(device.name, "username", device.username_file)
    elif device.username_env is not None:
        user = secret_from_env(device.name, "username", device.username_env, environ)
    else:
        raise failure("credentials_unreadable", f"{device.name}: no username configured")
    if device.password_file is not None:
        password = secret_from_file(device.name, "password", device.password_file)
    elif device.password_env is not None:
        password = secret_from_env(device.name, "password", device.password_env, environ)
    else:
        raise failure("credentials_unreadable", f"{device.name}: no password configured")
    return Credentials(user, password)
