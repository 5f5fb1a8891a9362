"""BIG-IP login tokens: the protocol's paths and limits, the token, a denial vs a dead token.

Token auth (research/f5.md §1), as `client.F5Client` does it:
- `POST /mgmt/shared/authn/login` with the configured `loginProviderName` (default
  `tmos`); the token is kept across polls while it will outlive the next one (renewed
  when less than max(60 s, the poll budget) of its `timeout` is left, by the injected
  clock). A token renewed early is deleted, so one replica holds one live token per
  device. `logout()` deletes the current one.
- A 401 whose message names a user (`Authorization failed: user=…`) is a denial of that
  resource (RBAC): the token is fine and is not renewed. Any other 401 (`X-F5-Auth-Token
  does not exist.`) costs one re-login per poll, shared by the requests that met it, and
  each of them is sent once more; the replaced token is deleted unless the device said
  it no longer exists.
- 400 `… maximum active login tokens` at login: the user's 100 tokens are held by other
  clients; reported as `auth_failed` saying so.
- Tokens are not PATCHed to live longer: a token that outlives its process (a crash, a
  SIGKILL) keeps one of the user's 100 slots until it expires, so the default 1,200 s
  is kept and a re-login every ~19 minutes is the price.

Secrets: `Token`'s repr hides its value, and httpx's request log line of a token DELETE
shows `/mgmt/shared/authz/tokens/***` (a filter on the `httpx` logger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from monitor.policy.ports import ascii_number
from monitor.sources.http.transport import hide_in_logs
from monitor.sources.http_errors import response_text

LOGIN_PATH = "/mgmt/shared/authn/login"
TOKENS_PATH = "/mgmt/shared/authz/tokens/"
TOKEN_MARGIN = 60.0  # at least: renew this long before the token's own expiry
DEFAULT_TOKEN_TIMEOUT = 1200
DELETE_TIMEOUT = 5.0  # seconds for a best-effort token DELETE
TOKEN_LIMIT_TEXT = "maximum active login tokens"
LOGIN_RETRY_REASONS = frozenset({"connect_error"})


@dataclass(slots=True)
class Token:
    value: str = field(repr=False)
    username: str
    expires_at: float  # when to renew it, by the injected clock
    dies_at: float  # when the device forgets it


hide_in_logs(TOKENS_PATH)  # httpx logs the URL of a token DELETE, token and all


def is_denial(response: httpx.Response) -> bool:
    """A 401 that denies a resource to a known user (RBAC), not a bad token or password."""
    return response_text(response).startswith("Authorization failed: user=")


def header(token: Token) -> dict[str, str]:
    return {"X-F5-Auth-Token": token.value}


def issued(doc: Any) -> tuple[str, int]:
    """The token and its lifetime in seconds from a login's JSON answer (`{"token":
    {"token": …, "timeout": 1200}}`; the timeout may be a string of digits): "" when
    there is no token, `DEFAULT_TOKEN_TIMEOUT` when the timeout is missing or unusable."""
    token = doc.get("token") if isinstance(doc, dict) else None
    value = token.get("token") if isinstance(token, dict) else None
    timeout = token.get("timeout") if isinstance(token, dict) else None
    if isinstance(timeout, str):
        timeout = ascii_number(timeout, 9)
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        timeout = DEFAULT_TOKEN_TIMEOUT
    return (value if isinstance(value, str) else ""), timeout
