"""What a LIST page holds and how an object is stored: hostile input, checked as it is read.

`stream_page` reads a LIST page's items one at a time as it parses the page's text (the
page is never decoded whole); `page_items` yields (key, object) for every object of a
decoded LIST page (typed lists leave out each item's `kind` and `apiVersion`: they are
put back); `prepared` applies a watch spec's transform (which keeps only what the checks
need, or drops the object), turning any failure of it into a `bad_json` that names the
object, never its content.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Generator, Iterator
from typing import Any

from monitor.model import SourceError
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.spec import object_key

Json = dict[str, Any]


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def _bad(target: str, why: str = "not a JSON object") -> SourceFailure:
    return SourceFailure(SourceError("bad_json", f"{target}: {why}", target))


def stream_page(raw: bytes | bytearray, target: str) -> tuple[Json, Iterator[tuple[str, Json]]]:
    """A LIST page parsed as it is read: (the page without its `items`, an iterator of
    (key, object) as `page_items` gives them, each item decoded only when it is reached).

    The page's top level is read key by key, and its `items` array one item at a time,
    so a page of thousands of objects is never held decoded whole: only its text and the
    item at hand. The top-level keys before `items` (an API server writes `kind`,
    `apiVersion`, `metadata`, then `items`) are known when the items come; the iterator
    must be run to its end before the returned page is complete. `bad_json` for anything
    `json.loads` would refuse (the message never quotes the text)."""
    try:
        text = raw.decode("utf-8") if not isinstance(raw, str) else raw
    except UnicodeDecodeError:
        raise _bad(target, "response is not JSON (not UTF-8)") from None
    top: Json = {}

    def scan() -> Iterator[tuple[str, Json]]:
        try:
            yield from _scan(text, top, target)
        except ValueError:  # JSONDecodeError, or a misplaced token
            raise _bad(target, "response is not JSON") from None
        except RecursionError:
            raise _bad(target, "response is not JSON (nested too deeply)") from None

    return top, scan()


def _scan(text: str, top: Json, target: str) -> Iterator[tuple[str, Json]]:
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != "{":
        raise _bad(target)
    pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] == "}":
        pos += 1
    else:
        while True:
            key, pos = _DECODER.raw_decode(text, pos)
            if not isinstance(key, str):
                raise ValueError("key")
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos : pos + 1] != ":":
                raise ValueError(":")
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
            if key == "items" and text[pos : pos + 1] == "[":
                top[key] = []
                pos = yield from _items(text, pos + 1, top, target)
            else:
                top[key], pos = _DECODER.raw_decode(text, pos)
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            mark, pos = text[pos : pos + 1], pos + 1
            if mark == "}":
                break
            if mark != ",":
                raise ValueError(",")
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
    if _SPACE.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        raise ValueError("extra data")
    if top.get("items") is not None and not isinstance(top["items"], list):
        raise _bad(target, "LIST items is not a list")


def _items(text: str, pos: int, top: Json, target: str) -> Generator[tuple[str, Json], None, int]:
    """The items of the array opening before `pos`, as `page_items` gives them; returns
    the position after the array."""
    pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] == "]":
        return pos + 1
    while True:
        item, pos = _DECODER.raw_decode(text, pos)
        yield from page_items({"kind": top.get("kind"), "apiVersion": top.get("apiVersion"),
                               "items": [item]}, target)  # fmt: skip
        del item
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        mark, pos = text[pos : pos + 1], pos + 1
        if mark == "]":
            return pos
        if mark != ",":
            raise ValueError(",")
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]


def page_items(doc: Json, target: str) -> Iterator[tuple[str, Json]]:
    """(key, object) of every item of one LIST page; `bad_json` when `items` is no list."""
    items = doc.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise SourceFailure(SourceError("bad_json", f"{target}: LIST items is not a list", target))
    kind = str(doc.get("kind") or "").removesuffix("List")
    api_version = doc.get("apiVersion")
    for item in items:
        if not isinstance(item, dict):
            continue
        if kind and "kind" not in item:  # typed lists leave them out of their items
            item = {"apiVersion": api_version, "kind": kind, **item}
        key = object_key(item)
        if key is not None:
            yield key, item


def prepared(transform: Callable[[Json], Any] | None, obj: Json, key: str, target: str) -> Any:
    """`obj` as stored: after `transform` (None: not kept), whose failure is a `bad_json`
    naming `key`."""
    if transform is None:
        return obj
    try:
        return transform(obj)
    except Exception as err:  # the message names the object, never its content
        message = f"{target}: {key} could not be read ({type(err).__name__})"
        raise SourceFailure(SourceError("bad_json", message, target)) from None
