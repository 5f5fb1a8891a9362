"""What the simulated BIG-IP's REST framework answers around the `/mgmt/tm` objects.

Owns the answers that do not come from one collection of the configuration:

- `GET /mgmt/tm/sys/`, the `sys` organizing collection: a `tm:sys:syscollectionstate`
  whose items are references to the `sys` collections the device serves.  f5-sdk's
  `ManagementRoot` reads the TMOS version from the `ver=` of its `selfLink`
  (F5Networks/f5-common-python `f5/bigip/__init__.py`, `_get_tmos_version`);
- `GET /mgmt/shared/echo-query`, which bigrest's basic-auth constructor calls to test
  the connection (bigrest `big.py`, `_connect`; only the status is read);
- the role check on writes: a read-only role (`guest`, `auditor`) gets restjavad's
  401 `Authorization failed: user=… resource=… verb=POST …` (research/f5.md §1.4, the
  same shape as the util/bash refusal); a role that may write gets the simulator's 405
  (the monitor must never change a BIG-IP, and writes are not simulated);
- trailing-slash tolerance: `/mgmt/tm/util/bash/` is `/mgmt/tm/util/bash` (f5-sdk
  posts there), `/mgmt/tm/ltm/virtual/` is the collection.

UNVERIFIED and chosen here: the body of `echo-query` (a `selfLink` only) and the items
of the `sys` organizing collection (only the served ones, not every `sys` module).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.simulate.bigip.links import LOCALHOST, link, reference

ECHO_QUERY = "/mgmt/shared/echo-query"
READ_ONLY_ROLES = ("guest", "auditor")
WRITE_ROLES = ("operator", "application-editor", "manager", "resource-admin", "admin")
ROLES = READ_ONLY_ROLES + WRITE_ROLES
BASH_ROLES = ("resource-admin", "admin")  # util/bash needs an administrator role
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def normal_path(path: str) -> str:
    """The path without trailing slashes (`/mgmt/tm/util/bash/` → `/mgmt/tm/util/bash`)."""
    stripped = path.rstrip("/")
    return stripped if stripped.count("/") >= 2 else path


def authorization_failed(user: str, path: str, verb: str, ip: str) -> str:
    """restjavad's RBAC refusal message (a 401 `:resterrorresponse`)."""
    return (
        f"Authorization failed: user=https://localhost/mgmt/shared/authz/users/{user} "
        f"resource={path} verb={verb} uri:http://localhost:8100{path} "
        f"referrer:{ip} sender:{ip}"
    )


def write_refusal(role: str, user: str, path: str, method: str, ip: str) -> str | None:
    """The 401 message a write by a read-only role gets, or None when the role may write."""
    if method in WRITES and role in READ_ONLY_ROLES:
        return authorization_failed(user, path, method, ip)
    return None


def echo_query() -> dict[str, Any]:
    return {"selfLink": f"{LOCALHOST}{ECHO_QUERY}"}


def organizing_collection(
    module: str, served: Iterable[str], version: str
) -> dict[str, Any] | None:
    """`GET /mgmt/tm/<module>/`: references to the served collections below it, or None."""
    module = module.strip("/")
    if not module or "/" in module:
        return None
    prefix = f"{module}/"
    heads = sorted({p[len(prefix) :].split("/", 1)[0] for p in served if p.startswith(prefix)})
    if not heads:
        return None
    return {
        "kind": f"tm:{module}:{module}collectionstate",
        "selfLink": link(module, version),
        "items": [{"reference": reference(f"{module}/{head}", version)} for head in heads],
    }
