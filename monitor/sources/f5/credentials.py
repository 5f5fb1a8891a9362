"""A BIG-IP device's credentials, read fresh for every poll from files or the environment.

Owns where the username and password come from (`username` / `usernameFile` /
`usernameEnv`, `passwordFile` / `passwordEnv`; never an inline password), so that a
rotated Secret is picked up by the next poll. Each is read with `monitor.sources.secrets`,
which reports an unreadable one (`credentials_unreadable`, naming the file or variable,
never its content).
`Credentials.__repr__` hides the password.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.config.schema import BigIPConfig
from monitor.sources.errors import failure
from monitor.sources.secrets import secret_from_env, secret_from_file


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


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
