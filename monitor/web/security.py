"""Who may talk to the web server: the web config in force (`Security`, reloaded when its
files change), client certificate SANs (`peer_allowed`) and basic auth against bcrypt
hashes (`Authenticator`). `monitor.web.server` applies them to every connection and request;
`monitor.web.config` reads the file. Credentials are never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import secrets
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Final

import bcrypt
from cryptography import x509

from monitor.certs import DECODE_ERRORS
from monitor.web.config import WebConfig, WebConfigError, load_web_config

log = logging.getLogger(__name__)

RELOAD_CHECK: Final = 1.0  # seconds between checks of the web config files for changes


class Security:
    """The web config in force and its TLS context, reloaded when its files change."""

    def __init__(self, config: WebConfig, reload_check: float = RELOAD_CHECK) -> None:
        self._reload_check = reload_check  # seconds between looks at the files
        self._config = config
        self._context = config.tls.context() if config.tls is not None else None
        self._lock = threading.Lock()
        self._stamp = _stamp(config)
        self._checked = time.monotonic()
        self.auth = Authenticator()
        self.tls = config.tls is not None

    def current(self) -> tuple[WebConfig, ssl.SSLContext | None]:
        with self._lock:
            if time.monotonic() - self._checked >= self._reload_check:
                self._checked = time.monotonic()
                self._reload()
            return self._config, self._context

    def _reload(self) -> None:
        path = self._config.path
        stamp = _stamp(self._config)
        if path is None or stamp == self._stamp:
            return
        self._stamp = stamp  # a broken file is reported once, until it changes again
        try:
            config = load_web_config(path)
            if (config.tls is not None) != self.tls:
                raise WebConfigError("tls_server_config", "turning TLS on or off needs a restart")
            context = config.tls.context() if config.tls is not None else None
        except WebConfigError as err:
            log.warning("web config not reloaded, the previous one stays in force: %s", err)
            return
        self._config, self._context = config, context
        self._stamp = _stamp(config)
        log.info("web config %s reloaded: %s", path, config.summary())
        for warning in config.warnings:
            log.warning("web config %s: %s", path, warning)


def _stamp(config: WebConfig) -> tuple[tuple[str, int, int, int], ...]:
    """What identifies the files' contents cheaply: path, inode, size, mtime (ns)."""
    stamps = []
    for path in config.files():
        try:
            st = path.stat()
            stamps.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            stamps.append((str(path), -1, -1, -1))
    return tuple(stamps)


def peer_allowed(der: bytes | None, allowed: tuple[str, ...]) -> bool:
    """True when `allowed` is empty or the client certificate has one of these SANs exactly
    (DNS, IP address, e-mail or URI, as the toolkit's `client_allowed_sans`)."""
    if not allowed:
        return True
    if der is None:
        return False
    try:
        sans = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except (*DECODE_ERRORS, x509.ExtensionNotFound):  # what cryptography raises for bad DER
        return False
    names: list[str] = []
    names += sans.value.get_values_for_type(x509.DNSName)
    names += sans.value.get_values_for_type(x509.RFC822Name)
    names += sans.value.get_values_for_type(x509.UniformResourceIdentifier)
    names += [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)]
    return any(_same_name(name, wanted) for name in names for wanted in allowed)


def _same_name(name: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(name) == ipaddress.ip_address(wanted)
    except ValueError:
        return name == wanted


# bcrypt (cost 10) of a random password nobody knows: unknown users cost as much as known ones.
_NO_USER_HASH: Final = b"$2b$10$UIc8G9aHJv0voUceEXKlUOiGX6WNejWwCv3AExNLVAAMiOrkr.75G"


class Authenticator:
    """Checks `Authorization: Basic` against bcrypt hashes.

    bcrypt is slow on purpose (about 70 ms at cost 10), so results are cached, both ways,
    under an HMAC (keyed per process) of user, hash and password: a scrape with the same
    credentials costs one HMAC. A changed hash in the file misses the cache. bcrypt runs one
    at a time, so a flood of wrong passwords costs one core at most. Unknown users are
    checked against a fixed hash, so their answer takes as long as a wrong password.
    """

    def __init__(
        self, max_entries: int = 256, checkpw: Callable[[bytes, bytes], bool] = bcrypt.checkpw
    ) -> None:
        self._checkpw = checkpw
        self._key = secrets.token_bytes(32)
        self._max = max_entries
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._bcrypt_lock = threading.Lock()

    def check(self, users: Mapping[str, bytes], authorization: str | None) -> bool:
        """True when no users are configured, or the header names a user and their password."""
        if not users:
            return True
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return False
        user, password = credentials
        stored = users.get(user)
        hashed = stored if stored is not None else _NO_USER_HASH
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (user.encode(), hashed, password):
            mac.update(len(part).to_bytes(4, "big") + part)
        key = mac.digest()
        with self._cache_lock:
            known = self._cache.get(key)
            if known is not None:
                self._cache.move_to_end(key)
        if known is None:
            with self._bcrypt_lock:
                try:
                    known = self._checkpw(password, hashed)
                except ValueError:  # e.g. a password bcrypt refuses
                    known = False
            with self._cache_lock:
                self._cache[key] = known
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        return known and stored is not None


def _basic_credentials(header: str | None) -> tuple[str, bytes] | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = raw.partition(b":")
    if not colon:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None
