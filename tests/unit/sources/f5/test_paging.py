"""F5Source over httpx.MockTransport: paging edge cases and error bodies (authentication:
test_client.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from monitor.config.schema import Config, parse_config
from monitor.model import F5State, SourceStatus
from monitor.sources.f5.source import COLLECTIONS, F5Source

URL = "https://bigip.test:8443"
TOKEN = "TOKENVALUE234567ABCDEFGHIJ"
PASSWORD = "pw-in-a-file"
Handler = Callable[[httpx.Request], httpx.Response]


SYNC = {
    "kind": "tm:cm:sync-status:sync-statusstats",
    "entries": {
        "https://localhost/mgmt/tm/cm/sync-status/0": {
            "nestedStats": {
                "entries": {
                    "color": {"description": "green"},
                    "mode": {"description": "standalone"},
                    "status": {"description": "Standalone"},
                    "summary": {"description": " "},
                }
            }
        }
    },
}
DEVICE = {"name": "bigip-a.test", "hostname": "bigip-a.test", "selfDevice": "true"}


def _config(tmp_path: Path, **device: Any) -> Config:
    password = tmp_path / "password"
    if not password.exists():
        password.write_text(PASSWORD + "\n")
    poll = {"f5PageSize": device.pop("page_size", 2), "f5Concurrency": 2}
    entry = {
        "name": "bigip-a",
        "url": URL,
        "username": "monitor",
        "passwordFile": str(password),
        "insecure": True,
        "partitions": ["Common"],
        **device,
    }
    return parse_config(
        {
            "bigip": [entry],
            "boundaries": [
                {
                    "name": "shop",
                    "mode": "plaintext",
                    "devices": ["bigip-a"],
                    "virtual": "/Common/shop",
                    "backend": {"service": {"namespace": "a", "name": "b", "port": 80}},
                }
            ],
            "poll": poll,
        },
        tmp_path,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeBigip:
    """A MockTransport handler: token login, and one handler per collection path."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Handler] = {
            "cm/sync-status": lambda r: httpx.Response(200, json=SYNC),
            "cm/device": lambda r: httpx.Response(200, json={"items": [DEVICE]}),
        }
        self.login: Handler = lambda r: httpx.Response(
            200, json={"token": {"token": TOKEN, "timeout": 1200}}
        )
        self.live = {TOKEN}
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        path = request.url.path
        if path == "/mgmt/shared/authn/login":
            return self.login(request)
        if request.method == "DELETE":
            return httpx.Response(200, json={"token": path.rsplit("/", 1)[-1]})
        token = request.headers.get("X-F5-Auth-Token")
        if token is not None and token not in self.live:
            return httpx.Response(
                401, json={"code": 401, "message": "X-F5-Auth-Token does not exist."}
            )
        route = self.routes.get(path.removeprefix("/mgmt/tm/"))
        if route is not None:
            return route(request)
        return httpx.Response(200, json={"kind": "x", "selfLink": "https://localhost/x?ver=17.1.0"})

    def gets(self, collection: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == f"/mgmt/tm/{collection}"]


def no_sleep(seconds: float) -> None:
    del seconds


def query(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(request.url)).query))


def poll(
    tmp_path: Path, fake: FakeBigip, clock: Clock | None = None, **device: Any
) -> tuple[F5State | None, SourceStatus]:
    cfg = _config(tmp_path, **device)
    source = F5Source(
        cfg.bigip[0],
        cfg,
        transport=httpx.MockTransport(fake),
        clock=clock or Clock(),
        sleep=no_sleep,
    )
    try:
        return source.poll()
    finally:
        source.close()


def pool_item(name: str) -> dict[str, Any]:
    return {"fullPath": f"/Common/{name}", "name": name, "partition": "Common"}


# -- paging ----------------------------------------------------------------------------


def test_missing_items_is_an_empty_page(tmp_path: Path) -> None:
    fake = FakeBigip()
    state, status = poll(tmp_path, fake)
    assert status.errors == ()
    assert state is not None
    assert state.pools == {}
    assert state.virtuals == {}
    assert state.failed == frozenset()
    assert state.version == "17.1.0"
    sent = [r for r in fake.requests if r.method != "DELETE"]  # close() deletes the token
    assert len(sent) == 1 + len(COLLECTIONS) + 2  # login + one page each + cm/device, sync


def test_first_request_carries_filter_top_select_and_expand(tmp_path: Path) -> None:
    fake = FakeBigip()
    poll(tmp_path, fake)
    [virtual] = fake.gets("ltm/virtual")
    assert virtual.url.raw_path.decode().startswith(
        "/mgmt/tm/ltm/virtual?$filter=partition+eq+Common&$top=2&expandSubcollections=true"
    )
    assert query(virtual) == {
        "$filter": "partition eq Common",
        "$top": "2",
        "expandSubcollections": "true",
    }
    [cert] = fake.gets("sys/file/ssl-cert")
    selected = query(cert)["$select"].split(",")
    assert {"fullPath", "isBundle", "fingerprint", "expirationDate"} <= set(selected)
    assert "expandSubcollections" not in query(cert)
    assert {r.method for r in fake.requests} == {"POST", "GET", "DELETE"}  # read-only


def test_next_link_host_is_rewritten_to_the_device(tmp_path: Path) -> None:
    fake = FakeBigip()

    def pools(request: httpx.Request) -> httpx.Response:
        if "$skip" not in query(request):
            return httpx.Response(
                200,
                json={
                    "items": [pool_item("a"), pool_item("b")],
                    "nextLink": "https://localhost/mgmt/tm/ltm/pool?%24top=2&%24skip=2"
                    "&%24filter=partition+eq+Common&expandSubcollections=true&ver=17.1.0",
                },
            )
        return httpx.Response(200, json={"items": [pool_item("c")]})

    fake.routes["ltm/pool"] = pools
    state, status = poll(tmp_path, fake)
    assert status.errors == ()
    assert state is not None
    assert sorted(state.pools) == ["/Common/a", "/Common/b", "/Common/c"]
    second = fake.gets("ltm/pool")[1]
    assert (second.url.scheme, second.url.host, second.url.port) == ("https", "bigip.test", 8443)
    assert query(second)["$skip"] == "2"
    assert query(second)["$filter"] == "partition eq Common"
    assert all(r.url.host == "bigip.test" for r in fake.requests)


def test_next_link_without_the_options_gets_them_back(tmp_path: Path) -> None:
    fake = FakeBigip()
    pages = iter(
        [
            {
                "items": [pool_item("a"), pool_item("b")],
                "nextLink": "https://localhost/mgmt/tm/ltm/pool?%24top=2&%24skip=2",
            },
            {"items": [pool_item("c")]},
        ]
    )
    fake.routes["ltm/pool"] = lambda r: httpx.Response(200, json=next(pages))
    state, _ = poll(tmp_path, fake)
    assert state is not None
    assert len(state.pools) == 3
    second = query(fake.gets("ltm/pool")[1])
    assert second["$filter"] == "partition eq Common"
    assert second["expandSubcollections"] == "true"
    assert second["$skip"] == "2"


def test_repeating_next_link_is_paging_loop(tmp_path: Path) -> None:
    fake = FakeBigip()
    loop = "https://localhost/mgmt/tm/ltm/pool?%24top=2&%24skip=2&%24filter=partition+eq+Common"

    def pools(request: httpx.Request) -> httpx.Response:
        skip = query(request).get("$skip", "0")
        items = [pool_item(f"p{skip}a"), pool_item(f"p{skip}b")]
        return httpx.Response(200, json={"items": items, "nextLink": loop})

    fake.routes["ltm/pool"] = pools
    state, status = poll(tmp_path, fake)
    assert state is not None
    assert state.failed == frozenset({"ltm/pool"})
    [error] = status.errors
    assert (error.reason, error.target) == ("paging_loop", "ltm/pool")
    assert "bigip-a: ltm/pool (partition Common)" in error.message
    assert len(fake.gets("ltm/pool")) == 2


def test_a_next_link_to_another_path_is_not_followed(tmp_path: Path) -> None:
    fake = FakeBigip()
    elsewhere = "https://localhost/mgmt/tm/auth/user?%24top=2&%24skip=2"

    def pools(request: httpx.Request) -> httpx.Response:
        items = [pool_item("p1"), pool_item("p2")]
        return httpx.Response(200, json={"items": items, "nextLink": elsewhere})

    fake.routes["ltm/pool"] = pools
    state, status = poll(tmp_path, fake)
    assert state is not None
    assert state.failed == frozenset({"ltm/pool"})
    [error] = status.errors
    assert (error.reason, error.target) == ("protocol_error", "ltm/pool")
    assert "nextLink leaves the collection (/mgmt/tm/auth/user)" in error.message
    assert fake.gets("auth/user") == []


def test_full_page_without_next_link_continues_with_skip(tmp_path: Path) -> None:
    fake = FakeBigip()
    names = ["a", "b", "c", "d", "e"]

    def pools(request: httpx.Request) -> httpx.Response:
        skip = int(query(request).get("$skip", "0"))
        return httpx.Response(200, json={"items": [pool_item(n) for n in names[skip : skip + 2]]})

    fake.routes["ltm/pool"] = pools
    state, status = poll(tmp_path, fake)
    assert status.errors == ()
    assert state is not None
    assert sorted(p.removeprefix("/Common/") for p in state.pools) == names
    assert [query(r).get("$skip") for r in fake.gets("ltm/pool")] == [None, "2", "4"]


def test_server_ignoring_skip_is_paging_loop(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(
        200, json={"items": [pool_item("a"), pool_item("b")]}
    )
    state, status = poll(tmp_path, fake)
    assert [e.reason for e in status.errors] == ["paging_loop"]
    assert state is not None
    assert "ltm/pool" in state.failed


def test_total_items_saves_the_extra_request(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(
        200, json={"items": [pool_item("a"), pool_item("b")], "totalItems": 2}
    )
    state, _ = poll(tmp_path, fake)
    assert state is not None
    assert len(state.pools) == 2
    assert len(fake.gets("ltm/pool")) == 1


# -- error bodies and statuses ------------------------------------------------------------

JETTY = (
    "<html><head><title>Error 500 AsyncContext timeout</title></head>"
    "<body><h2>HTTP ERROR 500</h2></body></html>"
)


@pytest.mark.parametrize(
    ("response", "reason", "text"),
    [
        (
            httpx.Response(500, text=JETTY, headers={"content-type": "text/html"}),
            "http_5xx",
            'HTTP 500: HTML error page "Error 500 AsyncContext timeout"',
        ),
        (
            httpx.Response(
                400,
                json={
                    "code": 400,
                    "message": "java.net.ConnectException: Connection refused",
                    "referer": "10.0.0.1",
                    "restOperationId": 18164160,
                    "kind": ":resterrorresponse",
                },
            ),
            "http_4xx",
            "HTTP 400: java.net.ConnectException: Connection refused",
        ),
        (
            httpx.Response(
                400,
                json={
                    "code": 400,
                    "message": "can't get object count from mcpd",
                    "errorStack": [],
                    "apiError": 26214401,
                },
            ),
            "http_4xx",
            "HTTP 400: can't get object count from mcpd",
        ),
        (httpx.Response(403, json={"code": 403, "message": "Forbidden"}), "http_403", "HTTP 403"),
        (
            httpx.Response(
                404, json={"code": 404, "message": "01020036:3: The requested Pool was not found."}
            ),
            "http_404",
            "HTTP 404: 01020036:3",
        ),
        (httpx.Response(429, text="Too many requests"), "rate_limited", "HTTP 429"),
        (httpx.Response(503, content=b""), "http_5xx", "HTTP 503: empty body"),
        (httpx.Response(200, text="{not json"), "bad_json", "not valid JSON"),
        (httpx.Response(200, json=["a list"]), "bad_json", "expected a JSON object"),
        (httpx.Response(200, json={"items": {"a": 1}}), "bad_json", "`items` is not a list"),
    ],
)
def test_error_responses_map_to_reason_codes(
    tmp_path: Path, response: httpx.Response, reason: str, text: str
) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: response
    state, status = poll(tmp_path, fake)
    assert state is not None
    assert state.failed == frozenset({"ltm/pool"})
    [error] = status.errors
    assert (error.reason, error.target) == (reason, "ltm/pool")
    assert error.message.startswith("bigip-a: ltm/pool (partition Common): ")
    assert text in error.message


def test_malformed_item_is_skipped_and_named(tmp_path: Path) -> None:
    fake = FakeBigip()
    bad = {**pool_item("bad"), "membersReference": {"items": [{"name": "x:80"}]}}
    fake.routes["ltm/pool"] = lambda r: httpx.Response(
        200, json={"items": [pool_item("good"), bad, "junk"]}
    )
    state, status = poll(tmp_path, fake, page_size=10)
    assert state is not None
    assert list(state.pools) == ["/Common/good"]
    assert state.failed == frozenset({"ltm/pool"})
    assert [(e.reason, e.target) for e in status.errors] == [("bad_json", "ltm/pool")] * 2
    assert status.errors[0].message == (
        "bigip-a: item 2 of ltm/pool (partition Common) (/Common/bad): member 1: no address"
    )
    assert status.errors[1].message.startswith("bigip-a: item 3 of ltm/pool (partition Common)")
