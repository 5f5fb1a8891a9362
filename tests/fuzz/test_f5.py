"""Fuzzing the BIG-IP side: every iControl REST JSON parser, the pager, the CA bundle and
certificate-file steps, and util/bash answers.

Contracts: an item parser returns its object or raises `Malformed`; `parse_items` never
raises (a bad item is a `bad_json` SourceError); the HA parsers return or raise
`Malformed`; `read_collection` returns or raises `SourceFailure`; the bundle, certfile and
bash steps never raise (what they cannot read is data).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.config.schema import BackendConfig, BoundaryConfig, ServiceRef
from monitor.model import SslCert
from monitor.sources.errors import SourceFailure
from monitor.sources.f5 import bundles, certfiles
from monitor.sources.f5.bash import BashReader
from monitor.sources.f5.exchange import retry_after
from monitor.sources.f5.ha import parse_device, parse_sync_status
from monitor.sources.f5.paging import read_collection
from monitor.sources.f5.parse import (
    Malformed,
    member_port,
    parse_ca_bundle_manager,
    parse_client_ssl,
    parse_items,
    parse_pool,
    parse_server_ssl,
    parse_ssl_cert,
    parse_virtual,
)
from monitor.sources.f5.paths import (
    decode_path,
    encode_path,
    filestore_glob,
    parse_destination,
    split_path,
)
from tests.fuzz import FUZZ
from tests.fuzz.samples import (
    JSON,
    ODD_TEXT,
    certificate_pems,
    device_collections,
    device_stats,
    expanded,
    mutated,
)

PARSERS: dict[str, Callable[[Any], Any]] = {
    "ltm/virtual": parse_virtual,
    "ltm/pool": parse_pool,
    "ltm/profile/server-ssl": parse_server_ssl,
    "ltm/profile/client-ssl": parse_client_ssl,
    "sys/file/ssl-cert": parse_ssl_cert,
    "sys/crypto/ca-bundle-manager": parse_ca_bundle_manager,
    "cm/device": parse_device,
}


@pytest.mark.parametrize("collection", sorted(PARSERS))
def test_item_parsers_raise_only_malformed(collection: str) -> None:
    """Each item alone (`Malformed` or a result), and the items as a page (`parse_items`:
    never raises, every bad item a `bad_json` error)."""
    parse = PARSERS[collection]
    key: Callable[[Any], str] = (
        (lambda obj: str(obj[0]))
        if "bundle-manager" in collection
        else (lambda obj: str(getattr(obj, "path", getattr(obj, "name", ""))))
    )

    @FUZZ
    @given(items=st.lists(mutated(expanded(collection)[0], most=5) | JSON, min_size=1, max_size=3))
    def check(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, dict):  # parse_items rejects non-objects before the parser
                with contextlib.suppress(Malformed):
                    parse(item)
        parsed, errors = parse_items(parse, [("k8s", i) for i in items], collection, "bigip-a", key)
        assert len(parsed) + len(errors) <= len(items)
        assert all(e.reason == "bad_json" for e in errors)

    check()


@pytest.mark.parametrize("document", ["cm/sync-status", "cm/failover-status"])
def test_stats_documents_raise_only_malformed(document: str) -> None:
    @FUZZ
    @given(doc=mutated(device_stats()[document], most=5))
    def check(doc: Any) -> None:
        with contextlib.suppress(Malformed):
            parse_sync_status(doc)

    check()


def _page(collection: str) -> dict[str, Any]:
    items = device_collections()[collection]
    return {
        "kind": "tm:sys:file:ssl-cert:ssl-certcollectionstate",
        "selfLink": "https://localhost/mgmt/tm/sys/file/ssl-cert?ver=15.1.10.2",
        "currentItemCount": len(items),
        "itemsPerPage": 2,
        "pageIndex": 1,
        "startIndex": 1,
        "totalItems": 5,
        "totalPages": 3,
        "nextLink": "https://localhost/mgmt/tm/sys/file/ssl-cert?%24top=2&%24skip=2&ver=15.1.10.2",
        "items": items,
    }


@FUZZ
@given(
    pages=st.lists(mutated(_page("sys/file/ssl-cert"), most=5) | JSON, min_size=1, max_size=6),
    page_size=st.integers(1, 5),
    partition=st.sampled_from([None, "k8s", "Common"]),
)
def test_pager_raises_only_source_failure(
    pages: list[Any], page_size: int, partition: str | None
) -> None:
    answers = iter(pages)

    def get(url: str, what: str) -> Any:
        try:
            return next(answers)
        except StopIteration:
            return {"items": []}

    sink: list[Any] = []
    with contextlib.suppress(SourceFailure):
        read_collection(get, "bigip-a", "sys/file/ssl-cert", partition, page_size,
                        [("$select", "name,fullPath")], on_page=sink.extend)  # fmt: skip


def _certs_and_profiles(
    certs_raw: list[Any], managers_raw: list[Any], server_raw: list[Any]
) -> tuple[dict[str, SslCert], dict[str, tuple[str, ...]], dict[str, Any]]:
    certs, _ = parse_items(parse_ssl_cert, [("k8s", c) for c in certs_raw], "c", "d")
    managers_list, _ = parse_items(
        parse_ca_bundle_manager, [("k8s", m) for m in managers_raw], "m", "d", lambda o: o[0]
    )
    server, _ = parse_items(parse_server_ssl, [("k8s", s) for s in server_raw], "s", "d")
    return certs, dict(managers_list.values()), server


@FUZZ
@given(
    certs_raw=st.lists(mutated(expanded("sys/file/ssl-cert")[0], most=3), max_size=4)
    | st.just(expanded("sys/file/ssl-cert")),
    managers_raw=st.lists(mutated(expanded("sys/crypto/ca-bundle-manager")[0], most=3), max_size=2),
    server_raw=st.lists(mutated(expanded("ltm/profile/server-ssl")[0], most=3), max_size=2),
    reader=st.sampled_from(["auto", "bash", "ca-bundle-manager", "none"]),
)
def test_bundles_never_raise(
    certs_raw: list[Any], managers_raw: list[Any], server_raw: list[Any], reader: str
) -> None:
    certs, managers, server = _certs_and_profiles(certs_raw, managers_raw, server_raw)
    found = bundles.build_bundles(server, certs, managers, ["Common", "k8s"], "", reader)
    assert set(found) == {p.ca_file for p in server.values() if p.ca_file is not None}


def _answers() -> st.SearchStrategy[Any]:
    pems = certificate_pems()
    raw = st.sampled_from(pems).map(str.encode) | st.binary(max_size=300)
    mangled = st.tuples(
        st.sampled_from(pems), st.integers(0, 2000), st.binary(min_size=1, max_size=4)
    ).map(lambda t: t[0].encode()[: t[1]] + t[2] + t[0].encode()[t[1] :])
    encoded = (raw | mangled).map(lambda b: {"commandResult": base64.b64encode(b).decode()})
    text = st.text(max_size=200).map(lambda t: {"commandResult": t})
    return encoded | text | JSON


@FUZZ
@given(answer=_answers(), fingerprint=st.none() | st.text(max_size=70))
def test_bash_answers_never_raise(answer: Any, fingerprint: str | None) -> None:
    reader = BashReader("bigip-a", "bash", lambda: 0.0)
    cert = SslCert("/k8s/Shared/x.crt", True, fingerprint, None, "", "")
    read = reader.read_one("/k8s/Shared/x.crt", cert, "SHA1:1:ab", lambda body, what: answer)
    assert (read.found is None) == bool(read.why) or read.found is not None
    reader.as_bundle(bundles.CaBundle(cert.path, None, "none", "unknown"), read)


@FUZZ
@given(
    virtuals_raw=st.lists(mutated(expanded("ltm/virtual")[0], most=3), max_size=2),
    client_raw=st.lists(mutated(expanded("ltm/profile/client-ssl")[0], most=3), max_size=2),
    server_raw=st.lists(mutated(expanded("ltm/profile/server-ssl")[0], most=3), max_size=2),
    certs_raw=st.lists(mutated(expanded("sys/file/ssl-cert")[0], most=3), max_size=3)
    | st.just(expanded("sys/file/ssl-cert")),
    answers=st.lists(_answers(), min_size=1, max_size=4),
)
def test_certfiles_never_raise(
    virtuals_raw: list[Any], client_raw: list[Any], server_raw: list[Any], certs_raw: list[Any],
    answers: list[Any],
) -> None:  # fmt: skip
    virtuals, _ = parse_items(parse_virtual, [("k8s", v) for v in virtuals_raw], "v", "d")
    client, _ = parse_items(parse_client_ssl, [("k8s", c) for c in client_raw], "c", "d")
    certs, _, server = _certs_and_profiles(certs_raw, [], server_raw)
    boundaries = [
        BoundaryConfig(
            name="shop",
            mode=mode,
            devices=("bigip-a",),
            virtual=path,
            backend=BackendConfig(ServiceRef("ingress", "nginx-ingress", 443)),
        )
        for path in [*virtuals, "/k8s/Shared/shop_443"]
        for mode in ("mesh-tls", "plaintext")
    ]
    need = certfiles.needed("bigip-a", boundaries, virtuals, server, client)
    need = certfiles.Needed(need.certs | frozenset(certs), need.chains | frozenset(list(certs)[:1]))
    reader = BashReader("bigip-a", "bash", lambda: 0.0)
    replies = iter(answers * 10)
    reads = {
        path: reader.read_one(path, cert, "", lambda body, what: next(replies))
        for path, cert in certs.items()
    }
    wanted = certfiles.to_read(need, certs, {})
    assert set(wanted) <= set(certs)
    new_certs, new_bundles, problems = certfiles.apply(need, reads, certs, {})
    assert set(new_certs) == set(certs)
    assert all(isinstance(p, str) for p in problems)
    assert set(new_bundles) <= set(certs)


@pytest.mark.parametrize("value", ["²", "١٢", "１２"])
def test_unicode_digits_are_no_expiry(value: str) -> None:
    """Found by fuzzing: `"²".isdigit()` is true and `int("²")` raises ValueError."""
    cert = parse_ssl_cert({"fullPath": "/Common/x.crt", "expirationDate": value})
    assert cert.not_after is None


_TEXT = st.text(max_size=40) | st.sampled_from(ODD_TEXT)
_ADDRESS = st.sampled_from(["10.0.0.1", "10.0.0.1%2", "2001:db8::1", "/Common/10.0.0.1", "vs"])


@FUZZ
@given(
    text=_TEXT | st.tuples(_ADDRESS, st.sampled_from([":", "."]), _TEXT).map("".join),
    header=_TEXT,
)
@example(text="10.0.0.1:²", header="²")
@example(text="10.0.0.1:" + "9" * 5000, header="9" * 5000)
def test_paths_and_headers_never_raise(text: str, header: str) -> None:
    """Destinations, member names, object paths and Retry-After: odd text never raises."""
    destination = parse_destination(text)
    assert destination is None or 0 <= destination.port <= 65535
    with contextlib.suppress(Malformed):
        assert 0 <= member_port(text) <= 65535
    if split_path(text) is not None:
        filestore_glob(text)
    decode_path(encode_path(text))
    raw = header.encode("utf-8", "surrogatepass").replace(b"\r", b"").replace(b"\n", b"")
    assert retry_after(httpx.Response(503, headers=[(b"retry-after", raw)])) >= 0
