"""Token authentication of the simulated BIG-IP (research/f5.md §1.2–1.3).

`POST /mgmt/shared/authn/login` issues a token (`X-F5-Auth-Token`) that lives
`timeout` seconds from its `startTime` (default 1,200; PATCH
`/mgmt/shared/authz/tokens/<t>` raises it up to 36,000, beyond that 406); DELETE
removes it.  Each user may hold 100 live tokens (not `admin`); the 101st login is
refused with 400.  Expiry is judged with the injected clock, so tests can age
tokens without waiting.  Thread-safe.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.simulate.bigip.links import LOCALHOST

MAX_TOKENS_PER_USER = 100
MAX_TIMEOUT = 36000
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class AuthError(Exception):
    """Answered with the restjavad error shape and this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Token:
    token: str
    user: str
    address: str
    start: float
    timeout: int
    generation: int
    last_update: float

    @property
    def expires(self) -> float:
        return self.start + self.timeout


def _micros(t: float) -> int:
    return round(t * 1_000_000)


def start_time(t: float) -> str:
    """`2019-12-03T05:25:10.321+0000` (milliseconds and a numeric offset)."""
    moment = datetime.fromtimestamp(t, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def token_json(t: _Token) -> dict[str, Any]:
    return {
        "token": t.token,
        "name": t.token,
        "userName": t.user,
        "authProviderName": "tmos",
        "user": {"link": f"{LOCALHOST}/mgmt/shared/authz/users/{t.user}"},
        "timeout": t.timeout,
        "startTime": start_time(t.start),
        "address": t.address,
        "partition": "[All]",
        "generation": t.generation,
        "lastUpdateMicros": _micros(t.last_update),
        "expirationMicros": _micros(t.expires),
        "kind": "shared:authz:tokens:authtokenitemstate",
        "selfLink": f"{LOCALHOST}/mgmt/shared/authz/tokens/{t.token}",
    }


def login_json(user: str, token: dict[str, Any]) -> dict[str, Any]:
    provider = uuid.uuid5(uuid.NAMESPACE_URL, "tmos")
    return {
        "username": user,
        "loginReference": {
            "link": f"{LOCALHOST}/mgmt/cm/system/authn/providers/tmos/{provider}/login"
        },
        "loginProviderName": "tmos",
        "token": token,
        "generation": 0,
        "lastUpdateMicros": 0,
    }


class TokenStore:
    """The live tokens of one device."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}

    def _purge(self, now: float) -> None:
        for key in [k for k, t in self._tokens.items() if t.expires <= now]:
            del self._tokens[key]

    def login(self, user: str, address: str, timeout: int) -> dict[str, Any]:
        now = self._clock()
        with self._lock:
            self._purge(now)
            mine = sum(1 for t in self._tokens.values() if t.user == user)
            if user != "admin" and mine >= MAX_TOKENS_PER_USER:
                raise AuthError(400, f"user {user} has reached maximum active login tokens")
            value = "".join(secrets.choice(_ALPHABET) for _ in range(26))
            token = _Token(value, user, address, now, timeout, 1, now)
            self._tokens[value] = token
            return token_json(token)

    def user_of(self, value: str) -> str | None:
        """The user a live token belongs to, or None (unknown, expired or deleted)."""
        now = self._clock()
        with self._lock:
            token = self._tokens.get(value)
            if token is None or token.expires <= now:
                self._tokens.pop(value, None)
                return None
            return token.user

    def _own(self, value: str, user: str) -> _Token:
        self._purge(self._clock())
        token = self._tokens.get(value)
        if token is None:
            raise AuthError(404, f"Object not found - {LOCALHOST}/mgmt/shared/authz/tokens/{value}")
        if token.user != user:
            raise AuthError(400, "Authorization failed")
        return token

    def get(self, value: str, user: str) -> dict[str, Any]:
        with self._lock:
            return token_json(self._own(value, user))

    def patch(self, value: str, user: str, body: Any) -> dict[str, Any]:
        raw = body.get("timeout") if isinstance(body, dict) else None
        try:
            timeout = int(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else 0
        except ValueError:
            timeout = 0
        if timeout < 1:
            raise AuthError(400, "Invalid timeout value")
        if timeout > MAX_TIMEOUT:
            raise AuthError(406, f"Auth-token absolute timeout ({MAX_TIMEOUT} seconds) exceeded")
        with self._lock:
            token = self._own(value, user)
            token.timeout = timeout
            token.generation += 1
            token.last_update = self._clock()
            return token_json(token)

    def delete(self, value: str, user: str) -> dict[str, Any]:
        with self._lock:
            token = self._own(value, user)
            del self._tokens[value]
            return token_json(token)

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()

    def live(self) -> int:
        with self._lock:
            self._purge(self._clock())
            return len(self._tokens)
