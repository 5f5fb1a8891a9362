"""Reading the files a config names, bounded in size: secrets, CA bundles, the config itself.

A path in the config may point anywhere (`/dev/zero`, a log file, a mistaken mount), so
nothing is read whole on trust: `read_limited` reads at most its limit and fails with
`FileTooLarge` (an `OSError` whose `strerror` says so) beyond it. The limits: secret files
(passwords, tokens, usernames) 64 KiB, CA files and the config file 4 MiB, far above any
real one. `ca_context` builds a TLS client context from a bounded read of a PEM bundle.
"""

from __future__ import annotations

import errno
import ssl
from pathlib import Path

SECRET_LIMIT = 64 * 1024
CA_LIMIT = 4 * 1024 * 1024
CONFIG_LIMIT = 4 * 1024 * 1024


class FileTooLarge(OSError):
    """The file holds more than the limit allows; `strerror` says how much."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {_size(limit)}", str(path))


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


def read_limited(path: Path, limit: int) -> bytes:
    """The file's bytes; `FileTooLarge` if it has more than `limit`, OSError if unreadable."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data


def ca_context(path: Path | None) -> ssl.SSLContext:
    """A verifying TLS client context trusting the PEM certificates in `path` (at most
    `CA_LIMIT`), or the system's CA certificates when `path` is None.

    Raises OSError (unreadable, too large), or ssl.SSLError / ValueError when the file
    holds no usable PEM certificate.
    """
    if path is None:
        return ssl.create_default_context()
    text = read_limited(path, CA_LIMIT).decode("ascii", errors="replace")
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ValueError("no PEM certificate in it")
    return ssl.create_default_context(cadata=text)
