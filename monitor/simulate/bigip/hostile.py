"""What a broken or hostile BIG-IP management plane sends instead of iControl REST.

Each function answers one request under a fault of `monitor.simulate.faults.BIGIP_FAULTS`
(the common ones, such as `http503` and `reset`, are in `server`). Shapes and sources:

| fault           | what the client sees                                                       |
|-----------------|----------------------------------------------------------------------------|
| html200         | 200 `text/html`: a login page, as a captive proxy or a load balancer in    |
|                 | front of the management address answers                                   |
| redirect        | 302 to `/tmui/login.jsp`, as a web front end sends to an unknown client    |
| denied          | 401 `Authorization failed: user=… resource=… verb=GET`: the role may not   |
|                 | read this resource (research/f5.md §1, restjavad's RBAC denial)            |
| tokenLimit      | login only: 400 "… maximum active login tokens" (research/f5.md §1)        |
| nextLinkLoop    | a collection page whose `nextLink` points at the page itself               |
| nextLinkForeign | every `nextLink` names another host (`https://evil.example.net`); only its |
|                 | path may be followed (the real device writes `https://localhost`)          |
| deepJson        | 200 with a JSON array nested 200,000 levels deep                           |
| drip            | the normal answer, its body sent one byte every `delay` seconds            |
| hugeBody        | 200 with a 300 MiB JSON object (one huge string)                           |
| clockSkew       | the normal answer, with `Date` and the token's times off by `delay` s      |

A drip or a huge body stops as soon as the client hangs up, so a test's server threads end
with the client's patience.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

from monitor.simulate.httpserver import SimHandler

DEEP_LEVELS = 200_000
HUGE_BYTES = 300 * 1024 * 1024
FOREIGN = "https://evil.example.net"
LOGIN_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>BIG-IP&reg;- Configuration Utility</title></head>\n"
    '<body><form name="loginform" method="post" action="/tmui/logmein.html">'
    '<input type="text" name="username"/><input type="password" name="passwd"/>'
    "</form></body></html>\n"
)

JETTY_500 = (
    "<html>\n<head>\n"
    '<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
    "<title>Error 500 AsyncContext timeout</title>\n</head>\n"
    "<body><h2>HTTP ERROR 500</h2>\n<p>Problem accessing {path}. Reason:\n"
    "<pre>    AsyncContext timeout</pre></p><hr>"
    '<a href="http://eclipse.org/jetty">Powered by Jetty:// 9.2.22.v20170606</a><hr/>\n'
    "</body>\n</html>\n"
)
NOT_REST = frozenset({"http500html", "html200", "redirect", "deepJson", "hugeBody"})


def deep_json() -> bytes:
    return b"[" * DEEP_LEVELS + b"]" * DEEP_LEVELS


def refusal(kind: str, login: bool, user: str, path: str, ip: str) -> tuple[int, str] | None:
    """The restjavad error (status, message) a `tokenLimit` login or a `denied` read gets."""
    if kind == "tokenLimit" and login:
        return 400, f"Bad Request: user {user} has reached maximum active login tokens"
    if kind == "denied" and not login:
        return 401, (
            f"Authorization failed: user=https://localhost/mgmt/shared/authz/users/{user} "
            f"resource={path} verb=GET uri:http://localhost:8100{path} "
            f"referrer:{ip} sender:{ip}"
        )
    return None


def rewrite_links(payload: Any, path: str, query: str, fault: str) -> Any:
    """A collection page with its `nextLink` made to loop, or to name a foreign host."""
    if not isinstance(payload, dict) or "items" not in payload:
        return payload
    page = dict(payload)
    if fault == "nextLinkLoop":
        page["nextLink"] = f"https://localhost{path}" + (f"?{query}" if query else "")
    elif isinstance(page.get("nextLink"), str):
        link = str(page["nextLink"])
        page["nextLink"] = FOREIGN + link.removeprefix("https://localhost")
    return page


def skew_times(payload: Any, skew: float) -> Any:
    """A login answer as a device whose clock is `skew` seconds off writes it."""
    if not isinstance(payload, dict) or not isinstance(payload.get("token"), dict):
        return payload
    token = dict(payload["token"])
    for key in ("lastUpdateMicros", "expirationMicros"):
        if isinstance(token.get(key), int):
            token[key] += int(skew * 1_000_000)
    return {**payload, "token": token}


def skewed_date(skew: float) -> str:
    return formatdate(time.time() + skew, usegmt=True)


def answer(handler: SimHandler, kind: str, path: str) -> None:
    """The answers of `NOT_REST`, which no iControl REST route is asked for."""
    if kind == "http500html":
        page = JETTY_500.format(path=path).encode("latin-1")
        handler.send_bytes(500, page, content_type="text/html;charset=iso-8859-1")
    elif kind == "html200":
        handler.send_bytes(200, LOGIN_PAGE.encode(), content_type="text/html; charset=UTF-8")
    elif kind == "redirect":
        headers = {"Location": "/tmui/login.jsp"}
        handler.send_bytes(302, b"", content_type="text/html", headers=headers)
    elif kind == "deepJson":
        handler.send_bytes(200, deep_json())
    else:
        _huge(handler)


def drip(
    handler: SimHandler, status: int, data: bytes, every: float, headers: dict[str, str]
) -> None:
    """Send `data` one byte every `every` seconds; stop when the client hangs up."""
    handler.send_head(status, len(data), headers=headers)
    handler.close_connection = True
    try:
        for i in range(len(data)):
            handler.write_now(data[i : i + 1])
            time.sleep(every)
    except OSError:
        return


def _huge(handler: SimHandler) -> None:
    """A JSON object of `HUGE_BYTES` bytes in 1 MiB chunks; stop when the client hangs up."""
    head, tail = b'{"kind":"tm:ltm:virtual:virtualcollectionstate","pad":"', b'"}'
    chunk = b"x" * (1 << 20)
    left = HUGE_BYTES - len(head) - len(tail)
    handler.send_head(200, HUGE_BYTES)
    handler.close_connection = True
    try:
        handler.write_now(head)
        while left > 0:
            piece = chunk[: min(left, len(chunk))]
            handler.write_now(piece)
            left -= len(piece)
        handler.write_now(tail)
    except OSError:
        return
