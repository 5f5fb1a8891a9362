"""Unchanged pages are taken from the last poll, not decoded nor parsed again (`pages`);
what changed, failed or moved is read afresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.sources.f5.client import F5Client
from monitor.sources.f5.exchange import Exchange
from monitor.sources.f5.pages import PageMemory, Parsed, digest
from monitor.sources.f5.paging import Page
from monitor.sources.f5.source import F5Source
from tests.unit.sources.f5.test_paging import Clock, FakeBigip, _config, no_sleep, query
from tests.unit.sources.f5.test_source import ok


def pool(name: str, *addresses: str) -> dict[str, Any]:
    members = [
        {"name": f"{a}:80", "address": a, "partition": "Common", "state": "up"} for a in addresses
    ]
    return {
        "fullPath": f"/Common/{name}",
        "name": name,
        "partition": "Common",
        "membersReference": {"items": members},
    }


class Device(FakeBigip):
    """`pools` served two per page (the page size of `_config`) by `$skip`."""

    def __init__(self) -> None:
        super().__init__()
        self.pools = [pool("a", "10.0.0.1"), pool("b", "10.0.0.2"), pool("c", "10.0.0.3")]
        self.fail_skip: str | None = None  # the page that answers HTTP 500
        self.routes["ltm/pool"] = self._pools
        self.routes["ltm/virtual"] = lambda r: httpx.Response(
            200, json={"items": [{"fullPath": "/Common/shop", "pool": "/Common/a"}]}
        )

    def _pools(self, request: httpx.Request) -> httpx.Response:
        skip = query(request).get("$skip", "0")
        if skip == self.fail_skip:
            return httpx.Response(500, text="busy")
        return httpx.Response(200, json={"items": self.pools[int(skip) : int(skip) + 2]})


class Decodes:
    """Counts the bodies the source decodes, by request path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real = F5Client.decode

        def decode(
            client: F5Client, ex: Exchange, body: bytes, status: int, what: str, target: str
        ) -> Any:
            self.paths.append(target)
            return real(client, ex, body, status, what, target)

        monkeypatch.setattr(F5Client, "decode", decode)

    def take(self) -> list[str]:
        paths, self.paths = self.paths, []
        return sorted(paths)


@contextmanager
def source(tmp_path: Path, fake: FakeBigip) -> Iterator[F5Source]:
    cfg = _config(tmp_path)
    src = F5Source(
        cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), clock=Clock(), sleep=no_sleep
    )
    try:
        yield src
    finally:
        src.close()


def test_a_poll_decodes_only_the_pages_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, decodes = Device(), Decodes(monkeypatch)
    with source(tmp_path, fake) as src:
        first = ok(src.poll())
        assert decodes.take().count("ltm/pool") == 2  # both pages of pools
        second = ok(src.poll())
        # every page was requested again, and only the sync-status document decoded
        assert len(fake.gets("ltm/pool")) == 4
        assert decodes.take() == ["cm/sync-status"]
        # nothing changed: last poll's state, the same object, so a reader can tell at once
        assert second is first

        fake.pools[2] = pool("c", "10.0.0.3", "10.0.0.4")  # on the second page
        third = ok(src.poll())
        assert decodes.take() == ["cm/sync-status", "ltm/pool"]
    assert [m.address for m in third.pools["/Common/c"].members] == ["10.0.0.3", "10.0.0.4"]
    assert third.pools is not first.pools
    assert third.pools["/Common/a"] is first.pools["/Common/a"]  # its page did not change
    assert third.virtuals is first.virtuals  # unchanged collections keep their mapping
    assert third.server_ssl is first.server_ssl


def test_a_failed_read_leaves_nothing_for_the_next_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, decodes = Device(), Decodes(monkeypatch)
    with source(tmp_path, fake) as src:
        first = ok(src.poll())
        fake.fail_skip = "2"
        state, status = src.poll()
        assert state is not None
        assert state.failed == frozenset({"ltm/pool"})
        assert [e.reason for e in status.errors] == ["http_5xx"]
        assert state.pools == {}  # nothing of a failed collection, reused or not
        decodes.take()
        fake.fail_skip = None
        third = ok(src.poll())
        assert decodes.take().count("ltm/pool") == 2  # read afresh, page 1 included
    assert third == first
    assert third.pools is not first.pools


def test_the_item_errors_of_a_reused_page_are_reported_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, decodes = Device(), Decodes(monkeypatch)
    fake.pools[1]["membersReference"]["items"][0]["address"] = ""
    with source(tmp_path, fake) as src:
        _, first = src.poll()
        decodes.take()
        state, second = src.poll()
        assert decodes.take() == ["cm/sync-status"]
    assert state is not None
    assert state.failed == frozenset({"ltm/pool"})
    assert [e.message for e in second.errors] == [e.message for e in first.errors]
    assert "item 2 of ltm/pool (partition Common) (/Common/b): member 1:" in first.errors[0].message


def _page(*paths: str) -> Page:
    return Page(len(paths), paths, None, None, "")


def test_a_page_is_reused_only_at_the_same_url_offset_and_bytes() -> None:
    memory = PageMemory()
    body = json.dumps({"items": []}).encode()
    pages = memory.start("ltm/pool", "Common")
    assert pages.reuse("/p?a", body, 0) == digest(body)  # nothing from before
    parsed = Parsed(())
    pages.add("/p?a", digest(body), 0, _page("/Common/a"), parsed)
    memory.keep("ltm/pool", "Common", pages)

    again = memory.start("ltm/pool", "Common")
    assert again.reuse("/p?a", body, 0) == (_page("/Common/a"), parsed)
    assert again.reuse("/p?a", body, 2) == digest(body)  # another offset numbers items anew
    assert again.reuse("/p?a", body + b" ", 0) == digest(body + b" ")
    assert again.reuse("/p?b", body, 0) == digest(body)
    assert memory.start("ltm/pool", "k8s").reuse("/p?a", body, 0) == digest(body)
    # a read that is not kept (it failed) leaves nothing behind
    assert memory.start("ltm/pool", "Common").reuse("/p?a", body, 0) == digest(body)
