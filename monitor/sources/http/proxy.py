"""Which way a request goes: straight to its host, or through the environment's proxy.

`bounded_client` makes every `httpx.Client` the monitor uses to reach a BIG-IP, an identity
provider or Alertmanager. httpx honours `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` only when
it builds its own transports (an explicit `transport=` turns the environment off), and
those have no per-request deadline. So the client here never trusts the environment
itself (`trust_env=False`); `ProxyRoutes` reads it once, as Python's `urllib` does
(`urllib.request.getproxies`, `proxy_bypass` for `NO_PROXY`, plus networks in
`NO_PROXY`), and sends each request
through a `DeadlineTransport`, direct or through the proxy for its scheme (`ALL_PROXY`
when there is none), so a slow proxy is bounded like a slow peer. A proxy URL without a
scheme is `http://`; a scheme other than `http`/`https` (SOCKS) fails each request it
would carry with `httpx.ProxyError` (reason `connect_error`) naming the variable's
scheme, never the URL (it may hold credentials).
"""

from __future__ import annotations

import ipaddress
import ssl
import urllib.request
from collections.abc import Mapping

import httpx

from monitor.sources.http.transport import DeadlineTransport

SCHEMES = ("http", "https")
_MAX_ENTRIES = 1000  # of NO_PROXY read for networks


def environment_proxies() -> dict[str, str]:
    """The proxy URL per request scheme (`http`, `https`) from the environment, `ALL_PROXY`
    where the scheme has none; a URL without a scheme gets `http://`."""
    found = urllib.request.getproxies()
    proxies: dict[str, str] = {}
    for scheme in SCHEMES:
        url = found.get(scheme) or found.get("all") or ""
        if url:
            proxies[scheme] = url if "://" in url else f"http://{url}"
    return proxies


def bypassed(host: str) -> bool:
    """Does `NO_PROXY` (or the system's settings) exempt `host` from the proxy? An address
    is also exempt when an entry is a network holding it (`10.0.0.0/8`, `fd00::/8`), as Go's
    `httpproxy` (kubectl, Prometheus) and curl read `NO_PROXY`; `urllib` alone does not."""
    return _in_listed_network(host) or bool(urllib.request.proxy_bypass(host))


def _in_listed_network(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    listed = urllib.request.getproxies_environment().get("no", "")
    for entry in listed.split(",")[:_MAX_ENTRIES]:
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return True
    return False


class ProxyRoutes(httpx.BaseTransport):
    """A `DeadlineTransport` per way out: direct, or through the proxy of the scheme."""

    def __init__(
        self,
        verify: ssl.SSLContext | bool,
        limits: httpx.Limits,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._direct = DeadlineTransport(verify, limits)
        self._via: dict[str, httpx.BaseTransport] = {}
        self._refused: dict[str, str] = {}
        wanted = environment_proxies() if proxies is None else proxies
        for scheme, url in wanted.items():
            try:
                kind = httpx.URL(url).scheme
                if kind not in SCHEMES:
                    self._refused[scheme] = f"scheme {kind!r} (only http and https)"
                    continue
                self._via[scheme] = DeadlineTransport(verify, limits, httpx.Proxy(url))
            except (httpx.InvalidURL, ValueError):
                self._refused[scheme] = "not a URL"

    def route(self, url: httpx.URL) -> str:
        """`direct`, or the scheme whose proxy carries a request to `url`."""
        scheme = url.scheme
        if scheme not in self._via and scheme not in self._refused:
            return "direct"
        return "direct" if bypassed(url.host) else scheme

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        way = self.route(request.url)
        if way in self._refused:
            raise httpx.ProxyError(
                f"the {way} proxy of the environment is not usable: {self._refused[way]}",
                request=request,
            )
        transport = self._direct if way == "direct" else self._via[way]
        return transport.handle_request(request)

    def close(self) -> None:
        self._direct.close()
        for transport in self._via.values():
            transport.close()


def bounded_client(
    verify: ssl.SSLContext | bool,
    limits: httpx.Limits,
    timeout: float,
    headers: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
    base_url: str = "",
) -> httpx.Client:
    """A client whose requests are bounded by `transport.deadline`, through the
    environment's proxy where it names one; `transport` (tests) replaces the routing.
    Follows no redirect."""
    return httpx.Client(
        base_url=base_url,
        verify=verify,
        timeout=timeout,
        transport=transport or ProxyRoutes(verify, limits),
        limits=limits,
        headers=dict(headers),
        follow_redirects=False,
        trust_env=False,
    )
