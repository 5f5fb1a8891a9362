"""Who a request to the simulated BIG-IP is, and the answers of its authentication endpoints
(research/f5.md §1.2–1.3); the tokens themselves live in `auth.TokenStore`.

- `POST /mgmt/shared/authn/login` with `{username, password, loginProviderName: tmos}`:
  the token document, or restjavad's 401 `Authentication failed.`;
- `/mgmt/shared/authz/tokens/<t>`: GET, PATCH (the timeout) and DELETE of one's own token;
- any other request: its `X-F5-Auth-Token` (401 `X-F5-Auth-Token does not exist.` once
  gone) or its basic `Authorization` (401 with `WWW-Authenticate: Basic realm="Enterprise
  Manager"` when wrong); with neither, 401 `Authorization failed: no user authentication
  header or token detected`.

Credentials are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.simulate.bigip.auth import AuthError, TokenStore, login_json
from monitor.simulate.bigip.model import BigipCredentials

Response = tuple[int, Any, dict[str, str]]


def parse_json(body: bytes) -> Any:
    """A request body as JSON; None when it is not JSON."""
    try:
        return json.loads(body or b"null")
    except ValueError:
        return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Authn:
    """The authentication of one request to one device."""

    tokens: TokenStore
    credentials: BigipCredentials
    ip: str  # the client's address, as restjavad's errors name it
    error: Callable[[int, str], Response]  # restjavad's error answer

    def login(self, body: bytes, timeout: int) -> Response:
        req = parse_json(body)
        creds = self.credentials
        ok = (
            isinstance(req, dict)
            and isinstance(req.get("username"), str)
            and isinstance(req.get("password"), str)
            and req.get("loginProviderName", "tmos") == "tmos"
            and _same(req["username"], creds.username)
            and _same(req["password"], creds.password)
        )
        if not ok:
            return self.error(401, "Authentication failed.")
        try:
            token = self.tokens.login(creds.username, self.ip, timeout)
        except AuthError as err:
            return self.error(err.status, err.message)
        return 200, login_json(creds.username, token), {}

    def user(self, token: str | None, authorization: str, path: str) -> str | Response:
        """The user a request with these headers is, or the answer refusing it."""
        if token:
            user = self.tokens.user_of(token)
            return user if user is not None else self.error(401, "X-F5-Auth-Token does not exist.")
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode()
                user, _, password = decoded.partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            creds = self.credentials
            if _same(user, creds.username) and _same(password, creds.password):
                return user
            status, payload, _ = self.error(401, "Authentication failed.")
            return status, payload, {"WWW-Authenticate": 'Basic realm="Enterprise Manager"'}
        return self.error(
            401,
            "Authorization failed: no user authentication header or token detected. "
            f"Uri:http://localhost:8100{path} Referrer:{self.ip} Sender:{self.ip}",
        )

    def token(self, method: str, value: str, user: str, body: bytes) -> Response:
        """`/mgmt/shared/authz/tokens/<value>` asked by `user`."""
        try:
            if method == "GET":
                return 200, self.tokens.get(value, user), {}
            if method == "PATCH":
                return 200, self.tokens.patch(value, user, parse_json(body)), {}
            if method == "DELETE":
                return 200, self.tokens.delete(value, user), {}
        except AuthError as err:
            return self.error(err.status, err.message)
        return self.error(405, f"Method {method} not allowed")
