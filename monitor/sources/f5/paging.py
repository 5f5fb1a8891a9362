"""Reading one iControl REST collection of one partition, page by page.

Owns the paging rules of research/f5.md §3: the first request carries
`$filter=partition eq <P>` (none for collections outside partitions, such as
`cm/device`), `$top=<page size>` and the caller's `$select` /
`expandSubcollections=true` (per page, never on a whole collection); then
- a `nextLink` is followed after replacing its `https://localhost` scheme and host with
  the device's (only its path and query are kept; options it lacks are added back); one
  whose path is not the collection's is a `protocol_error`, never followed;
- without a `nextLink`, a full page (and `totalItems`, when given, not yet reached)
  continues with `$skip=<items read so far>`;
- a missing `items` key is an empty page, and ends the collection;
- a page URL seen before, a full page holding only objects already read, or more than
  `MAX_PAGES` pages is a `paging_loop`.
Pages are read sequentially; the caller runs collections in parallel. `walk` applies these
rules to pages the caller reads (`read` gives each page's `Page`, what paging needs of it,
`summarize` makes one from a decoded body) and hands each over as it arrives (`accept`), so
a large collection's raw JSON is never held in memory all at once; `read_collection` is
`walk` over a getter of decoded pages.

The fewest requests a collection of `n` objects can be read with is `pages_needed(n)`:
ceil(n / page size), and one for an empty collection (the benchmark and the tests hold
the source to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from monitor.sources.errors import failure

MAX_PAGES = 10_000
_VERSION = re.compile(r"[?&]ver=([0-9][0-9A-Za-z.\-]*)")
_SAFE = ",'"

T = TypeVar("T")
Getter = Callable[[str, str], Any]  # (url, what) → parsed JSON; raises SourceFailure
PageSink = Callable[[list[Any]], None]


def pages_needed(count: int, page_size: int) -> int:
    """The fewest GETs that read a collection of `count` objects: at least one."""
    return max(1, -(-count // page_size))


def encode_query(pairs: list[tuple[str, str]]) -> str:
    """`$filter=partition+eq+k8s&$top=100`: `$` kept literal, as BIG-IP's own clients send."""
    return "&".join(f"{k}={quote(v, safe=_SAFE).replace('%20', '+')}" for k, v in pairs)


def _option(key: str) -> str:
    return unquote(key)


def _url_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return parts.path, tuple(sorted((_option(k), v) for k, v in pairs))


def next_url(link: str, base: list[tuple[str, str]]) -> str:
    """`nextLink` as a request path on the device: BIG-IP's `https://localhost` (or any
    other scheme and host) dropped, options it lacks added back from `base`."""
    parts = urlsplit(link)
    pairs = [(_option(k), v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    have = {k for k, _ in pairs}
    pairs += [(k, v) for k, v in base if k not in have and k != "$skip"]
    return f"{parts.path}?{encode_query(pairs)}"


def version_of(body: dict[str, Any], page: list[Any]) -> str:
    """The TMOS version from the `?ver=` of the collection's or an item's selfLink."""
    links = [body.get("selfLink")] + [i.get("selfLink") for i in page[:1] if isinstance(i, dict)]
    for link in links:
        if isinstance(link, str) and (match := _VERSION.search(link)):
            return match.group(1)
    return ""


def _path_of(item: Any) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("fullPath"), str):
        return str(item["fullPath"])
    return None


@dataclass(frozen=True, slots=True)
class Page:
    """What paging needs of one page: how many items, their `fullPath`s, where the
    next page is, `totalItems` and the TMOS version its selfLinks give ("" when none)."""

    count: int
    paths: tuple[str, ...]
    next_link: str | None
    total: int | None
    version: str


def summarize(body: Any, device: str, collection: str, what: str) -> tuple[Page, list[Any]]:
    """The `Page` of a decoded page body, and its items; SourceFailure when the body is
    not a collection page (not an object, `items` not a list)."""
    if not isinstance(body, dict):
        raise failure("bad_json", f"{device}: {what}: expected a JSON object", collection)
    items = body.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise failure("bad_json", f"{device}: {what}: `items` is not a list", collection)
    total = body.get("totalItems")
    link = body.get("nextLink")
    page = Page(
        count=len(items),
        paths=tuple(p for p in map(_path_of, items) if p is not None),
        next_link=link.strip() if isinstance(link, str) and link.strip() else None,
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        version=version_of(body, items),
    )
    return page, items


# (url, what, offset: the items of the collection read before this page) → the page and
# what the caller makes of it; raises SourceFailure.
PageReader = Callable[[str, str, int], tuple[Page, T]]
PageAccept = Callable[[T, int], None]  # (what the reader made of it, offset)


def walk(
    read: PageReader[T],
    accept: PageAccept[T],
    device: str,
    collection: str,
    partition: str | None,
    page_size: int,
    options: list[tuple[str, str]],
) -> str:
    """Read `collection` in `partition` (None: no partition filter) page by page: `read`
    gets a page, `accept` takes it once paging has checked it. Returns the TMOS version;
    SourceFailure on error."""
    what = collection if partition is None else f"{collection} (partition {partition})"
    base = [("$top", str(page_size)), *options]
    if partition is not None:
        base.insert(0, ("$filter", f"partition eq {partition}"))
    path = f"/mgmt/tm/{collection}"
    url = f"{path}?{encode_query(base)}"
    seen_urls: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    seen_paths: set[str] = set()
    count = 0
    version = ""
    for number in range(1, MAX_PAGES + 1):
        key = _url_key(url)
        if key in seen_urls:
            raise failure(
                "paging_loop",
                f"{device}: {what}: page {number} would repeat {url}, a page already read",
                collection,
            )
        seen_urls.add(key)
        page_what = what if number == 1 else f"{what} page {number}"
        page, made = read(url, page_what, count)
        paths = set(page.paths)
        if page.count >= page_size and paths and paths <= seen_paths:
            raise failure(
                "paging_loop",
                f"{device}: {page_what}: the page repeats objects already read",
                collection,
            )
        seen_paths |= paths
        accept(made, count)
        count += page.count
        version = version or page.version
        if page.next_link is not None:
            url = next_url(page.next_link, base)
            if urlsplit(url).path.rstrip("/") != path:
                raise failure(
                    "protocol_error",
                    f"{device}: {page_what}: its nextLink leaves the collection"
                    f" ({urlsplit(url).path[:120]})",
                    collection,
                )
        elif page.count and page.count >= page_size and not _complete(page.total, count):
            url = f"{path}?{encode_query([*base, ('$skip', str(count))])}"
        else:
            return version
    raise failure("paging_loop", f"{device}: {what}: more than {MAX_PAGES} pages", collection)


def _complete(total: int | None, count: int) -> bool:
    return total is not None and count >= total


def read_collection(
    get: Getter,
    device: str,
    collection: str,
    partition: str | None,
    page_size: int,
    options: list[tuple[str, str]],
    on_page: PageSink | None = None,
) -> tuple[list[Any], str]:
    """Every item of `collection` in `partition` (None: no partition filter) and the TMOS
    version; with `on_page`, the items go there page by page and the list is empty.
    SourceFailure on error."""
    items: list[Any] = []

    def read(url: str, what: str, offset: int) -> tuple[Page, list[Any]]:
        return summarize(get(url, what), device, collection, what)

    def accept(page: list[Any], offset: int) -> None:
        if on_page is not None:
            on_page(page)
        else:
            items.extend(page)

    version = walk(read, accept, device, collection, partition, page_size, options)
    return items, version
